// What a deploy costs, counted (never timed): gcloud processes, policy API requests, network connections — through
// the built CLI exactly as users run it (bin/run.js, its one start path: dist/bundle). Times belong to
// `npm run bench`.
import {expect} from 'chai'
import {mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import type {Policy} from '../../src/policy/types.js'

import {startTestSandbox, type TestSandbox} from '../helpers/sandbox.js'
import {tempDir} from '../helpers/tmp.js'
import {
  cleanEnv, connections, FAKE_TOKEN, fakeGcloud, runCli, withNetLog,
} from './harness.js'

const PROJECT = 'perf-proj'
const FILE_TOKEN = 'ya29.perf-token-file'
const GCLOUD_TOKEN = FAKE_TOKEN // what the fake gcloud's `auth print-access-token` prints
const runPattern = (region: string): string => `${region}-docker.pkg.dev/${PROJECT}/cloud-run-source-deploy/**`
const functionPattern = (region: string): string => `${region}-docker.pkg.dev/${PROJECT}/gcf-artifacts/**`

function policy(patterns: string[]): Policy {
  return {
    admissionWhitelistPatterns: patterns.map(namePattern => ({namePattern})),
    defaultAdmissionRule: {enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG', evaluationMode: 'ALWAYS_DENY'},
    globalPolicyEvaluationMode: 'ENABLE',
    name: `projects/${PROJECT}/policy`,
  }
}

describe('perf: counts per command (built CLI)', function () {
  this.timeout(60_000)

  let dir: string
  let server: TestSandbox
  let netLog: string
  let gcloud: ReturnType<typeof fakeGcloud>

  beforeEach(async () => {
    dir = tempDir('binauthz-perf-')
    netLog = join(dir, 'net.log')
    gcloud = fakeGcloud(join(dir, 'bin'))
    server = await startSandboxWith(FILE_TOKEN)
  })

  /** The sandbox accepts only `token`: a request with any other credential is answered 401. */
  const startSandboxWith = (token: string): Promise<TestSandbox> =>
    startTestSandbox({policy: policy([runPattern('us-central1'), functionPattern('us-central1')]), project: PROJECT, token})

  afterEach(async () => {
    await server.stop()
    rmSync(dir, {force: true, recursive: true})
  })

  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => {
    const token = join(dir, 'token')
    writeFileSync(token, `${FILE_TOKEN}\n`, {mode: 0o600})
    return withNetLog(
      cleanEnv(dir, {
        BINAUTHZ_GCLOUD: gcloud.path,
        CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION: server.url,
        CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDFUNCTIONS: server.url,
        CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN: server.url,
        CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: token,
        ...extra,
      }),
      netLog,
    )
  }

  const ops = (): {get: number; iam: number; other: number; put: number;} => ({
    get: server.requests('getPolicy').length,
    iam: server.requests('testIamPermissions').length,
    // other: the deploy's read of the existing service / function (one per region), what gcloud reuses.
    other: server.requests().filter(r => r.op === undefined).length,
    put: server.requests('updatePolicy').length,
  })

  const onlyTheStandIn = (): void => {
    const {port} = new URL(server.url)
    for (const target of connections(netLog)) expect(target, 'connections other than the local stand-in').to.equal(`127.0.0.1:${port}`)
  }

  it('deploy run, already allowlisted: one policy read, no write, one gcloud process (the deploy)', async () => {
    const r = await runCli(['deploy', 'run', 'svc', '--project', PROJECT, '--region', 'us-central1', '--', '--source=.'], env())
    expect(r.code, r.stderr).to.equal(0)
    expect(ops()).to.deep.equal({
      get: 1, iam: 0, other: 1, put: 0,
    })
    const calls = gcloud.calls()
    expect(calls).to.have.length(1)
    expect(calls[0]?.slice(0, 3)).to.deep.equal(['run', 'deploy', 'svc'])
    expect(calls[0]).to.include('--binary-authorization=default')
    onlyTheStandIn()
  })

  it('deploy run --dry-run: one policy read, no gcloud process', async () => {
    const r = await runCli(['deploy', 'run', 'svc', '--project', PROJECT, '--region', 'us-central1', '--dry-run', '--', '--source=.'], env())
    expect(r.code, r.stderr).to.equal(0)
    expect(ops()).to.deep.equal({
      get: 1, iam: 0, other: 1, put: 0,
    })
    expect(gcloud.calls()).to.deep.equal([])
    onlyTheStandIn()
  })

  it('deploy run to three regions needing the allowlist: one read, one permission check, one write, one gcloud per region', async () => {
    const regions = ['europe-west1', 'asia-east1', 'us-east1']
    const r = await runCli(['deploy', 'run', 'svc', '--project', PROJECT, '--region', regions.join(','), '--yes', '--', '--source=.'], env())
    expect(r.code, r.stderr).to.equal(0)
    expect(ops()).to.deep.equal({
      get: 1, iam: 1, other: 3, put: 1,
    })
    const calls = gcloud.calls()
    expect(calls.map(c => c.slice(0, 2))).to.deep.equal(regions.map(() => ['run', 'deploy']))
    expect(calls.map(c => c.find(a => a.startsWith('--region=')))).to.have.members(regions.map(region => `--region=${region}`))
    const written = server.policy(PROJECT).admissionWhitelistPatterns?.map(p => p.namePattern)
    expect(written).to.include.members(regions.map(region => runPattern(region)))
    onlyTheStandIn()
  })

  it('deploy function, already allowlisted: one read, no write, one gcloud process', async () => {
    const r = await runCli(['deploy', 'function', 'fn', '--project', PROJECT, '--region', 'us-central1'], env())
    expect(r.code, r.stderr).to.equal(0)
    expect(ops()).to.deep.equal({
      get: 1, iam: 0, other: 1, put: 0,
    })
    const calls = gcloud.calls()
    expect(calls).to.have.length(1)
    expect(calls[0]?.slice(0, 3)).to.deep.equal(['functions', 'deploy', 'fn'])
    onlyTheStandIn()
  })

  it('gcloud login as the only credential: exactly one `gcloud auth print-access-token`, then the deploy', async () => {
    const config = join(dir, 'gcloud-config')
    mkdirSync(join(config, 'configurations'), {recursive: true})
    writeFileSync(join(config, 'active_config'), 'default')
    writeFileSync(join(config, 'configurations', 'config_default'), '[core]\naccount = dev@example.com\n')
    // Only gcloud's token is accepted now: the token file's would get 401 (and the deploy would fail).
    await server.stop()
    server = await startSandboxWith(GCLOUD_TOKEN)
    const e = env()
    delete e.CLOUDSDK_AUTH_ACCESS_TOKEN_FILE
    const r = await runCli(['deploy', 'run', 'svc', '--project', PROJECT, '--region', 'us-central1', '--', '--source=.'], e)
    expect(r.code, r.stderr).to.equal(0)
    expect(ops()).to.deep.equal({
      get: 1, iam: 0, other: 1, put: 0,
    })
    expect(gcloud.calls().map(c => c.slice(0, 2))).to.deep.equal([
      ['auth', 'print-access-token'],
      ['run', 'deploy'],
    ])
    expect(server.requests('getPolicy')[0]?.auth).to.equal('sandbox-token')
    onlyTheStandIn()
  })

  it('no credentials at all: NO_CREDENTIALS, exit 7, no request, no gcloud, no connection (no metadata probe)', async () => {
    const e = env()
    delete e.CLOUDSDK_AUTH_ACCESS_TOKEN_FILE
    const r = await runCli(['deploy', 'run', 'svc', '--project', PROJECT, '--region', 'us-central1', '--dry-run', '--', '--source=.'], e)
    expect(r.code).to.equal(7)
    expect(r.stderr).to.match(/NO_CREDENTIALS/)
    expect(r.stderr).to.match(/gcloud auth (application-default )?login/)
    expect(ops()).to.deep.equal({
      get: 0, iam: 0, other: 0, put: 0,
    })
    expect(gcloud.calls()).to.deep.equal([])
    expect(connections(netLog)).to.deep.equal([])
  })

  it('--help: no request, no gcloud, no connection', async () => {
    const r = await runCli(['--help'], env())
    expect(r.code).to.equal(0)
    expect(r.stdout).to.match(/USAGE/)
    expect(ops()).to.deep.equal({
      get: 0, iam: 0, other: 0, put: 0,
    })
    expect(gcloud.calls()).to.deep.equal([])
    expect(connections(netLog)).to.deep.equal([])
  })
})
