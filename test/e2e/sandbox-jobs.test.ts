// End to end: the built binauthz CLI + the REAL gcloud (528) against the sandbox for Cloud Run jobs
// (`binauthz deploy job`): gcloud alone is refused by the deny-all policy; binauthz's one entry (cloud-run-source-deploy
// of the region, as surface/run/jobs/deploy.py builds) admits the first deploy; a redeploy with --execute-now reads the
// policy once and writes nothing; a blocked prebuilt --image is refused before any write; two regions take one write;
// the sandbox judges every execution. Worker pools: sandbox-worker-pools.test.ts. Skipped, with the reason shown,
// when gcloud is not installed.
import {expect} from 'chai'

import {type ImageRecord, STATE_FILES} from '../../src/sandbox/index.js'
import {JOB_FILES} from '../../src/sandbox/jobs.js'
import {
  allowlistOf, denyAllBut, type ExitRun, gcloudSandboxSuite, policyWrites,
} from '../helpers/e2e.js'
import {installedGcloud, skipNoteFor} from '../helpers/installed-gcloud.js'

const GCLOUD = installedGcloud()
const SKIP_NOTE = skipNoteFor(GCLOUD)
const OTHER_ADMIN = 'gcr.io/other-team/*'
const PROJECT = 'sandbox-project'
const repoPattern = (region: string): string => `${region}-docker.pkg.dev/${PROJECT}/cloud-run-source-deploy/**`

interface JobRecord {
  metadata: {annotations: Record<string, string>; generation: number}
  spec: {template: {spec: {template: {spec: {containers: {image: string}[]}}}}}
  status: {conditions: {message?: string; status: string; type: string}[]; executionCount?: number}
}

describe(`e2e: binauthz deploy job with the real gcloud 528${SKIP_NOTE}`, function () {
  this.timeout(300_000)
  const e2e = gcloudSandboxSuite({
    gcloud: GCLOUD, prefix: 'binauthz-e2e-jobs-', sandboxPer: 'test', timeoutMs: 240_000,
  })

  before(e2e.beforeSuite)

  afterEach(e2e.stopSandbox)

  after(e2e.afterSuite)

  const start = (patterns = [OTHER_ADMIN]): Promise<void> => e2e.start({patterns})
  const binauthz = (args: string[]): Promise<ExitRun> => e2e.binauthz(args)
  const gcloudRun = (args: string[]): Promise<ExitRun> => e2e.gcloud(args, e2e.source)
  const job = (region: string, name: string): JobRecord | undefined => e2e.state.readMap(JOB_FILES.jobs)[`${region}/${name}`] as JobRecord | undefined
  const ready = (region: string, name: string): string | undefined => job(region, name)?.status.conditions.find(c => c.type === 'Ready')?.status
  const policyReads = (): number => e2e.state.requests().filter(r => r.api === 'binaryauthorization' && r.method === 'GET').length
  const jobWrites = (): string[] => e2e.state.requests().filter(r => r.path.includes('/jobs') && r.method !== 'GET').map(r => `${r.method} ${r.path}`)

  it('gcloud alone is denied; binauthz adds cloud-run-source-deploy/** and the first deploy is admitted; the redeploy with --execute-now reads once, writes nothing', async () => {
    await start()
    const denied = await gcloudRun(['run', 'jobs', 'deploy', 'j0', '--source=.', '--region=us-central1', '--binary-authorization=default'])
    expect(denied.exitCode, denied.stderr).to.not.equal(0)
    expect(denied.stderr).to.match(/denied by Binary Authorization/)
    expect(ready('us-central1', 'j0')).to.equal('False')

    const first = await binauthz(['deploy', 'job', 'j1', '--region', 'us-central1', '--yes', '--json', '--', `--source=${e2e.source}`])
    expect(first.exitCode, first.stderr).to.equal(0)
    const result = JSON.parse(first.stdout) as {builds: {image: string; source: string}[]; command: string; deploys: {argv: string[]}[]; patterns: {added: string[]}}
    expect(result.command).to.equal('deploy job')
    expect(result.patterns.added).to.deep.equal([repoPattern('us-central1')])
    expect(result.builds.map(b => [b.image, b.source])).to.deep.equal([[`us-central1-docker.pkg.dev/${PROJECT}/cloud-run-source-deploy/j1`, 'default']])
    expect(result.deploys[0]?.argv.slice(0, 6)).to.deep.equal(['gcloud', 'run', 'jobs', 'deploy', 'j1', `--project=${PROJECT}`])
    expect(storedPatterns()).to.deep.equal([OTHER_ADMIN, repoPattern('us-central1')])
    expect(ready('us-central1', 'j1')).to.equal('True')
    expect(job('us-central1', 'j1')?.metadata.annotations['run.googleapis.com/binary-authorization']).to.equal('default')
    const pushed = e2e.state.readJson<ImageRecord[]>(STATE_FILES.images, []).at(-1)
    expect(pushed?.image).to.match(new RegExp(`^us-central1-docker\\.pkg\\.dev/${PROJECT}/cloud-run-source-deploy/j1@sha256:`))

    // `sandbox status` lists both jobs under their own heading: the one gcloud alone deployed as FAILED with the denial.
    const status = await binauthz(['sandbox', 'status'])
    expect(status.exitCode, status.stderr).to.equal(0)
    const jobLines = status.stdout.split('\n').filter(line => /^ {2}(?:ready |FAILED) {2}us-central1\/j[01]\b/.test(line))
    expect(status.stdout).to.match(/^Jobs: *$/m)
    expect(jobLines.map(line => line.slice(0, 24))).to.deep.equal(['  FAILED  us-central1/j0', '  ready   us-central1/j1'])
    expect(jobLines[0]).to.match(/denied by Binary Authorization/)

    const readsBefore = policyReads()
    const writesBefore = policyWrites(e2e.state)
    const again = await binauthz(['deploy', 'job', 'j1', '--region', 'us-central1', '--yes', '--json', '--', `--source=${e2e.source}`, '--execute-now'])
    expect(again.exitCode, again.stderr).to.equal(0)
    expect((JSON.parse(again.stdout) as {policy: {written: boolean}}).policy.written).to.equal(false)
    expect(policyReads() - readsBefore).to.equal(1)
    expect(policyWrites(e2e.state)).to.equal(writesBefore)
    expect(job('us-central1', 'j1')?.metadata.generation).to.equal(2)
    expect(job('us-central1', 'j1')?.status.executionCount).to.equal(1)

    // The sandbox judges every execution: with the entry gone, running the stored job is refused.
    e2e.state.writeJson(STATE_FILES.policy, denyAllBut([OTHER_ADMIN]))
    const execute = await gcloudRun(['run', 'jobs', 'execute', 'j1', '--region=us-central1'])
    expect(execute.exitCode).to.not.equal(0)
    expect(execute.stderr).to.match(/denied by Binary Authorization/)
    expect(job('us-central1', 'j1')?.status.executionCount).to.equal(1)

    // …and every replace: the stored build image, redeployed by gcloud alone, is judged again (Ready False).
    const built = job('us-central1', 'j1')?.spec.template.spec.template.spec.containers[0]?.image ?? ''
    const replaced = await gcloudRun(['run', 'jobs', 'deploy', 'j1', `--image=${built}`, '--region=us-central1', '--binary-authorization=default'])
    expect(replaced.exitCode).to.not.equal(0)
    expect(replaced.stderr).to.match(/denied by Binary Authorization/)
    expect([job('us-central1', 'j1')?.metadata.generation, ready('us-central1', 'j1')]).to.deep.equal([3, 'False'])
  })

  function storedPatterns(): string[] {
    return allowlistOf(e2e.state)
  }

  it('a blocked prebuilt --image is refused before any write (exit 3); --clear-binary-authorization and --source with --image before any request', async () => {
    await start()
    const blocked = await binauthz(['deploy', 'job', 'j2', '--region', 'us-central1', '--yes', '--json', '--', '--image=us-docker.pkg.dev/cloudrun/container/job:latest'])
    expect(blocked.exitCode, blocked.stderr).to.equal(3)
    expect((JSON.parse(blocked.stdout) as {error: {code: string}}).error.code).to.equal('IMAGE_NOT_ADMITTED')
    expect(policyWrites(e2e.state)).to.equal(0)
    expect(jobWrites()).to.deep.equal([])

    const requests = e2e.state.requests().length
    const clear = await binauthz(['deploy', 'job', 'j2', '--region', 'us-central1', '--yes', '--json', '--', `--source=${e2e.source}`, '--clear-binary-authorization'])
    expect(clear.exitCode).to.equal(2)
    expect((JSON.parse(clear.stdout) as {error: {code: string}}).error.code).to.equal('PASSTHROUGH_REFUSED')
    const both = await binauthz(['deploy', 'job', 'j2', '--region', 'us-central1', '--yes', '--json', '--', `--source=${e2e.source}`, '--image=us-docker.pkg.dev/cloudrun/container/job:latest'])
    expect(both.exitCode).to.equal(2)
    expect((JSON.parse(both.stdout) as {error: {code: string}}).error.code).to.equal('GCLOUD_WOULD_REFUSE')
    expect(e2e.state.requests().length).to.equal(requests)
  })

  it('two regions: one policy write with both entries, then a job in each region', async () => {
    await start()
    const run = await binauthz(['deploy', 'job', 'j3', '--region', 'us-central1,europe-west1', '--yes', '--json', '--', `--source=${e2e.source}`])
    expect(run.exitCode, run.stderr).to.equal(0)
    expect(policyWrites(e2e.state)).to.equal(1)
    expect(storedPatterns()).to.deep.equal([OTHER_ADMIN, repoPattern('us-central1'), repoPattern('europe-west1')])
    expect([ready('us-central1', 'j3'), ready('europe-west1', 'j3')]).to.deep.equal(['True', 'True'])
  })

  it('--container: a job from source with a sidecar crashes gcloud 528 after the build, so binauthz refuses it before any write; all-prebuilt containers are judged and deploy', async () => {
    const sidecar = 'us-docker.pkg.dev/cloudrun/container/job:latest'
    await start([OTHER_ADMIN, sidecar])
    const containers = ['--container=app', '--source=.', '--container=side', `--image=${sidecar}`]
    const crash = await gcloudRun(['run', 'jobs', 'deploy', 'm0', '--region=us-central1', '--binary-authorization=default', ...containers])
    expect(crash.exitCode).to.not.equal(0)
    expect(crash.stderr).to.include('the target job has multiple containers')

    const requests = e2e.state.requests().length
    const refused = await binauthz(['deploy', 'job', 'multi', '--region', 'us-central1', '--yes', '--json', '--', '--container=app', `--source=${e2e.source}`, '--container=side', `--image=${sidecar}`])
    expect(refused.exitCode).to.equal(2)
    expect((JSON.parse(refused.stdout) as {error: {code: string}}).error.code).to.equal('GCLOUD_WOULD_REFUSE')
    expect(e2e.state.requests().length).to.equal(requests)

    // Every container prebuilt: nothing to allowlist, each judged; gcloud accepts the argv (--binary-authorization before --container).
    const prebuilt = await binauthz(['deploy', 'job', 'multi', '--region', 'us-central1', '--yes', '--json', '--', '--container=app', `--image=${sidecar}`, '--container=side', `--image=${sidecar}`])
    expect(prebuilt.exitCode, prebuilt.stderr).to.equal(0)
    expect((JSON.parse(prebuilt.stdout) as {images: {admitted: boolean}[]}).images.map(i => i.admitted)).to.deep.equal([true, true])
    expect(policyWrites(e2e.state)).to.equal(0)
    expect(job('us-central1', 'multi')?.spec.template.spec.template.spec.containers.map(c => c.image)).to.deep.equal([sidecar, sidecar])
    expect(ready('us-central1', 'multi')).to.equal('True')
  })
})
