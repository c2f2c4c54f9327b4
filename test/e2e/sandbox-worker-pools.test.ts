// End to end: the built binauthz CLI + the REAL gcloud (528) against the sandbox for Cloud Run worker pools
// (`binauthz deploy worker-pool` → `gcloud beta run worker-pools deploy`), which gcloud speaks to Cloud Run v2 over
// gRPC (surface/run/worker_pools/deploy.py apis.GetGapicClientInstance('run', 'v2')): through the sandbox's CONNECT
// tunnel, TLS with the sandbox's CA (src/sandbox/grpc.ts, tls.ts). gcloud alone is refused by the deny-all policy;
// binauthz's one entry (cloud-run-source-deploy of the region) admits the first deploy; the redeploy reads the
// policy once and writes nothing; a blocked prebuilt --image is refused before any write; the sandbox judges every
// update. Skipped, with the reason shown, when gcloud is not installed.
import {expect} from 'chai'
import {rmSync} from 'node:fs'
import {join} from 'node:path'

import {type ImageRecord, type SandboxState, STATE_FILES} from '../../src/sandbox/index.js'
import {WORKER_POOL_FILES} from '../../src/sandbox/worker-pools.js'
import {
  allowlistOf, binauthzAgainst, denyAllBut, type ExitRun, gcloudAgainst, policyWrites, writeHelloSource,
} from '../helpers/e2e.js'
import {installedGcloud} from '../helpers/installed-gcloud.js'
import {type CliSandbox, startSandboxCli} from '../helpers/sandbox-cli.js'
import {tempDir} from '../helpers/tmp.js'

const GCLOUD = installedGcloud()
const SKIP_NOTE = GCLOUD ? '' : ' (skipped: no gcloud executable on PATH or in BINAUTHZ_GCLOUD; install the Google Cloud CLI to run these)'
const OTHER_ADMIN = 'gcr.io/other-team/*'
const PROJECT = 'sandbox-project'
const PREBUILT = 'us-docker.pkg.dev/cloudrun/container/worker-pool:latest'
const repoPattern = (region: string): string => `${region}-docker.pkg.dev/${PROJECT}/cloud-run-source-deploy/**`

/** A pool as the sandbox stores it: the proto-loader JSON form of google.cloud.run.v2.WorkerPool. */
interface PoolRecord {
  binaryAuthorization?: {useDefault?: boolean}
  generation: string
  template: {containers: {image: string; name?: string}[]}
  terminalCondition: {message?: string; state: string}
}

describe(`e2e: binauthz deploy worker-pool with the real gcloud 528 (Cloud Run v2 over gRPC)${SKIP_NOTE}`, function () {
  this.timeout(300_000)
  const gcloud = GCLOUD
  let dir: string
  let source: string
  let sandbox: CliSandbox
  let state: SandboxState

  before(function () {
    if (!gcloud) this.skip() // gcloud is not on PATH: these tests need the real Google Cloud CLI.
    dir = tempDir('binauthz-e2e-pools-')
    source = writeHelloSource(dir)
  })

  afterEach(async () => {
    await sandbox?.stop()
  })

  after(() => {
    if (dir) rmSync(dir, {force: true, recursive: true})
  })

  async function start(patterns: string[] = [OTHER_ADMIN]): Promise<void> {
    sandbox = await startSandboxCli({policy: denyAllBut(patterns), stateDir: join(dir, `state-${Date.now()}`)})
    state = sandbox.state
  }

  const against = () => ({
    dir, gcloud: gcloud ?? 'gcloud', sandboxEnv: sandbox.env, timeoutMs: 240_000,
  })
  const binauthz = (args: string[]): Promise<ExitRun> => binauthzAgainst(against(), args)
  const gcloudRun = (args: string[]): Promise<ExitRun> => gcloudAgainst(against(), args, source)
  const pool = (region: string, name: string): PoolRecord | undefined => state.readMap(WORKER_POOL_FILES.pools)[`${region}/${name}`] as PoolRecord | undefined
  const condition = (region: string, name: string): string | undefined => pool(region, name)?.terminalCondition.state
  const policyReads = (): number => state.requests().filter(r => r.api === 'binaryauthorization' && r.method === 'GET').length
  const poolCalls = (): string[] => state.requests().filter(r => r.path.startsWith('/google.cloud.run.v2.WorkerPools/')).map(r => r.path.split('/').at(-1) ?? '')

  it('gcloud alone is denied; binauthz adds cloud-run-source-deploy/** and the first deploy is admitted; the redeploy reads once, writes nothing; every update is judged', async () => {
    await start()
    const denied = await gcloudRun(['beta', 'run', 'worker-pools', 'deploy', 'p0', '--source=.', '--region=us-central1', '--binary-authorization=default'])
    expect(denied.exitCode, denied.stderr).to.not.equal(0)
    expect(denied.stderr).to.match(/denied by Binary Authorization/)
    expect(condition('us-central1', 'p0')).to.equal('CONDITION_FAILED')
    // What gcloud 528 called over gRPC (the build in between is the REST source-deploy path): get (absent), upsert.
    expect(poolCalls()).to.deep.equal(['GetWorkerPool', 'UpdateWorkerPool'])

    const first = await binauthz(['deploy', 'worker-pool', 'p1', '--region', 'us-central1', '--yes', '--json', '--', `--source=${source}`])
    expect(first.exitCode, first.stderr).to.equal(0)
    const result = JSON.parse(first.stdout) as {builds: {image: string; source: string}[]; command: string; deploys: {argv: string[]}[]; patterns: {added: string[]}}
    expect(result.command).to.equal('deploy worker-pool')
    expect(result.patterns.added).to.deep.equal([repoPattern('us-central1')])
    expect(result.builds.map(b => [b.image, b.source])).to.deep.equal([[`us-central1-docker.pkg.dev/${PROJECT}/cloud-run-source-deploy/p1`, 'default']])
    expect(result.deploys[0]?.argv.slice(0, 7)).to.deep.equal(['gcloud', 'beta', 'run', 'worker-pools', 'deploy', 'p1', `--project=${PROJECT}`])
    expect(allowlistOf(state)).to.deep.equal([OTHER_ADMIN, repoPattern('us-central1')])
    expect(condition('us-central1', 'p1')).to.equal('CONDITION_SUCCEEDED')
    expect(pool('us-central1', 'p1')?.binaryAuthorization?.useDefault).to.equal(true)
    const pushed = state.readJson<ImageRecord[]>(STATE_FILES.images, []).at(-1)
    expect(pushed?.image).to.match(new RegExp(`^us-central1-docker\\.pkg\\.dev/${PROJECT}/cloud-run-source-deploy/p1@sha256:`))
    expect(pool('us-central1', 'p1')?.template.containers[0]?.image).to.equal(pushed?.image)

    const readsBefore = policyReads()
    const writesBefore = policyWrites(state)
    const again = await binauthz(['deploy', 'worker-pool', 'p1', '--region', 'us-central1', '--yes', '--json', '--', `--source=${source}`])
    expect(again.exitCode, again.stderr).to.equal(0)
    expect((JSON.parse(again.stdout) as {policy: {written: boolean}}).policy.written).to.equal(false)
    expect(policyReads() - readsBefore).to.equal(1)
    expect(policyWrites(state)).to.equal(writesBefore)
    // The redeploy found the stored pool (gcloud updates it: a second generation, not a second create).
    expect([pool('us-central1', 'p1')?.generation, condition('us-central1', 'p1')]).to.deep.equal(['2', 'CONDITION_SUCCEEDED'])

    // Every update is judged: with the entry gone, gcloud alone redeploying the built image is refused.
    state.writeJson(STATE_FILES.policy, denyAllBut([OTHER_ADMIN]))
    const built = pool('us-central1', 'p1')?.template.containers[0]?.image ?? ''
    const replaced = await gcloudRun(['beta', 'run', 'worker-pools', 'deploy', 'p1', `--image=${built}`, '--region=us-central1', '--binary-authorization=default'])
    expect(replaced.exitCode).to.not.equal(0)
    expect(replaced.stderr).to.match(/denied by Binary Authorization/)
    expect([pool('us-central1', 'p1')?.generation, condition('us-central1', 'p1')]).to.deep.equal(['3', 'CONDITION_FAILED'])
  })

  it('a blocked prebuilt --image is refused before any write (exit 3); an allowlisted one is judged and deploys without a policy write', async () => {
    await start()
    const blocked = await binauthz(['deploy', 'worker-pool', 'p2', '--region', 'us-central1', '--yes', '--json', '--', `--image=${PREBUILT}`])
    expect(blocked.exitCode, blocked.stderr).to.equal(3)
    expect((JSON.parse(blocked.stdout) as {error: {code: string}}).error.code).to.equal('IMAGE_NOT_ADMITTED')
    expect(policyWrites(state)).to.equal(0)
    expect(poolCalls()).to.deep.equal([])

    await sandbox.stop()
    await start([OTHER_ADMIN, PREBUILT])
    const admitted = await binauthz(['deploy', 'worker-pool', 'p2', '--region', 'us-central1', '--yes', '--json', '--', `--image=${PREBUILT}`])
    expect(admitted.exitCode, admitted.stderr).to.equal(0)
    expect((JSON.parse(admitted.stdout) as {images: {admitted: boolean}[]}).images.map(i => i.admitted)).to.deep.equal([true])
    expect(policyWrites(state)).to.equal(0)
    expect(pool('us-central1', 'p2')?.template.containers.map(c => c.image)).to.deep.equal([PREBUILT])
    expect(condition('us-central1', 'p2')).to.equal('CONDITION_SUCCEEDED')
  })

  it('two regions: one policy write with both entries, then a pool in each region (each over its own regional gRPC host)', async () => {
    await start()
    const run = await binauthz(['deploy', 'worker-pool', 'p3', '--region', 'us-central1,europe-west1', '--yes', '--json', '--', `--source=${source}`])
    expect(run.exitCode, run.stderr).to.equal(0)
    expect(policyWrites(state)).to.equal(1)
    expect(allowlistOf(state)).to.deep.equal([OTHER_ADMIN, repoPattern('us-central1'), repoPattern('europe-west1')])
    expect([condition('us-central1', 'p3'), condition('europe-west1', 'p3')]).to.deep.equal(['CONDITION_SUCCEEDED', 'CONDITION_SUCCEEDED'])
    const tunnels = state.requests().filter(r => r.method === 'CONNECT').map(r => r.host.replace(/:\d+$/, ''))
    expect(tunnels).to.include.members(['us-central1-127.0.0.1', 'europe-west1-127.0.0.1'])
  })

  it('deploy worker-pool --dry-run: the same entry and gcloud beta run worker-pools deploy, nothing written', async () => {
    await start()
    const run = await binauthz(['deploy', 'worker-pool', 'pool1', '--region', 'us-central1', '--dry-run', '--json', '--', `--source=${source}`])
    expect(run.exitCode, run.stderr).to.equal(0)
    const result = JSON.parse(run.stdout) as {command: string; deploys: {argv: string[]}[]; patterns: {added: string[]}}
    expect(result.command).to.equal('deploy worker-pool')
    expect(result.patterns.added).to.deep.equal([repoPattern('us-central1')])
    expect(result.deploys[0]?.argv).to.deep.equal([
      'gcloud', 'beta', 'run', 'worker-pools', 'deploy', 'pool1', `--project=${PROJECT}`, '--region=us-central1', `--source=${source}`, '--binary-authorization=default',
    ])
    expect(policyWrites(state)).to.equal(0)
    expect(poolCalls()).to.deep.equal([])
  })

  it('--container: a blocked sidecar is refused before any write; allowlisted, gcloud 528 takes binauthz\'s argv, builds the one container from source and both are judged', async () => {
    const sidecar = 'us-docker.pkg.dev/cloudrun/container/hello:latest'
    await start()
    const plan = await binauthz(['deploy', 'worker-pool', 'pool2', '--region', 'us-central1', '--dry-run', '--json', '--', '--container=app', '--source=.', '--container=side', `--image=${sidecar}`])
    expect(plan.exitCode, plan.stderr).to.equal(3) // the sidecar is blocked by the deny-all policy: refused before any write
    await sandbox.stop()
    await start([OTHER_ADMIN, sidecar])
    const admitted = await binauthz(['deploy', 'worker-pool', 'pool2', '--region', 'us-central1', '--yes', '--json', '--', '--container=app', `--source=${source}`, '--container=side', `--image=${sidecar}`])
    expect(admitted.exitCode, admitted.stderr).to.equal(0)
    const argv = (JSON.parse(admitted.stdout) as {deploys: {argv: string[]}[]}).deploys[0]?.argv ?? []
    expect(argv.slice(0, 5)).to.deep.equal(['gcloud', 'beta', 'run', 'worker-pools', 'deploy'])
    expect(policyWrites(state)).to.equal(1)
    const images = pool('us-central1', 'pool2')?.template.containers.map(c => [c.name, c.image]) ?? []
    expect(images[1]).to.deep.equal(['side', sidecar])
    expect(images[0]?.[1]).to.match(new RegExp(`^us-central1-docker\\.pkg\\.dev/${PROJECT}/cloud-run-source-deploy/pool2@sha256:`))
    expect(condition('us-central1', 'pool2')).to.equal('CONDITION_SUCCEEDED')
  })
})
