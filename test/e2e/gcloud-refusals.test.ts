// End to end with the REAL gcloud 528 against the sandbox: each deploy binauthz now refuses before writing is one that
// gcloud itself would not have deployed (so the refusal mirrors gcloud, not a guess), and binauthz's refusal leaves
// the sandbox's recorded policy writes at zero. Skipped, with the reason shown, when gcloud is not installed.
import {expect} from 'chai'
import {join} from 'node:path'

import {
  type ExitRun, gcloudAgainst, gcloudSandboxSuite, policyWrites,
} from '../helpers/e2e.js'
import {installedGcloud, skipNoteFor} from '../helpers/installed-gcloud.js'

const GCLOUD = installedGcloud()
const SKIP_NOTE = skipNoteFor(GCLOUD)
const REGION = 'us-central1'

describe(`e2e: what binauthz refuses before writing, gcloud 528 would not have deployed${SKIP_NOTE}`, function () {
  this.timeout(240_000)
  const e2e = gcloudSandboxSuite({
    gcloud: GCLOUD, prefix: 'binauthz-e2e-refusals-', sandboxPer: 'suite', startWith: {patterns: ['gcr.io/other-team/*'], project: 'sandbox-project'}, timeoutMs: 200_000,
  })

  before(e2e.beforeSuite)

  after(e2e.afterSuite)

  const binauthz = (args: string[], extraEnv?: Record<string, string>): Promise<ExitRun> => e2e.binauthz(args, extraEnv)
  const gcloudRun = (args: string[]): Promise<ExitRun> => e2e.gcloud(args)

  it('run deploy with neither --source nor --image: gcloud stops with "Missing required argument [--image]"; binauthz refuses first', async () => {
    const real = await gcloudRun(['run', 'deploy', 'svc', `--region=${REGION}`, '--binary-authorization=default'])
    expect(real.exitCode).not.to.equal(0)
    expect(real.stderr).to.include('Missing required argument [--image]')
    const writesBefore = policyWrites(e2e.state)
    const ours = await binauthz(['deploy', 'run', 'svc', '--region', REGION, '--yes', '--json', '--', '--memory=512Mi'])
    expect(ours.exitCode, ours.stderr).to.equal(2)
    expect(ours.stdout).to.include('GCLOUD_WOULD_REFUSE').and.include('Missing required argument [--image]')
    expect(policyWrites(e2e.state)).to.equal(writesBefore)
  })

  it('a job name of 64 characters: gcloud 528 refuses it before any request (ValidateResource); binauthz refuses first; 63 passes both', async () => {
    const long = `j${'a'.repeat(63)}`
    const real = await gcloudRun(['run', 'jobs', 'deploy', long, `--region=${REGION}`, '--image=us-docker.pkg.dev/cloudrun/container/job:latest'])
    expect(real.exitCode).not.to.equal(0)
    expect(real.stderr).to.include('Invalid resource name').and.include('cannot be longer than 63 characters')
    const writesBefore = policyWrites(e2e.state)
    const ours = await binauthz(['deploy', 'job', long, '--region', REGION, '--yes', '--json', '--', `--source=${e2e.source}`])
    expect(ours.exitCode, ours.stderr).to.equal(2)
    expect(ours.stdout).to.include('INVALID_NAME').and.include('at most 63 characters')
    expect(policyWrites(e2e.state)).to.equal(writesBefore)
    const planned = await binauthz(['deploy', 'job', long.slice(0, 63), '--region', REGION, '--dry-run', '--json', '--', `--source=${e2e.source}`])
    expect(planned.exitCode, planned.stderr).to.equal(0)
    const realAtLimit = await gcloudRun(['run', 'jobs', 'deploy', long.slice(0, 63), `--region=${REGION}`, '--image=us-docker.pkg.dev/cloudrun/container/job:latest'])
    expect(realAtLimit.stderr).to.not.include('Invalid resource name')
  })

  it('-qh: gcloud takes no cluster of short flags ("unrecognized arguments", no deploy); binauthz refuses it before writing', async () => {
    const real = await gcloudRun(['run', 'deploy', 'svc', `--region=${REGION}`, `--source=${e2e.source}`, '-qh'])
    expect(real.exitCode).to.equal(2)
    expect(real.stderr).to.include('unrecognized arguments: -qh')
    const writesBefore = policyWrites(e2e.state)
    const ours = await binauthz(['deploy', 'run', 'svc', '--region', REGION, '--yes', '--json', '--', `--source=${e2e.source}`, '-qh'])
    expect(ours.exitCode, ours.stderr).to.equal(2)
    expect(ours.stdout).to.include('PASSTHROUGH_REFUSED').and.include('cluster of short flags')
    expect(policyWrites(e2e.state)).to.equal(writesBefore)
  })

  for (const flag of ['--document=style=markdown', '-h', '--help']) {
    it(`${flag}: gcloud prints help or docs and exits 0 without deploying; binauthz refuses it before writing`, async () => {
      const real = await gcloudRun(['run', 'deploy', 'svc', `--region=${REGION}`, `--source=${e2e.source}`, flag])
      expect(real.exitCode).to.equal(0)
      expect(`${real.stdout}${real.stderr}`).to.match(/run deploy/)
      const writesBefore = policyWrites(e2e.state)
      const ours = await binauthz(['deploy', 'run', 'svc', '--region', REGION, '--yes', '--json', '--', `--source=${e2e.source}`, flag])
      expect(ours.exitCode, ours.stderr).to.equal(2)
      expect(ours.stdout).to.include('PASSTHROUGH_REFUSED')
      expect(policyWrites(e2e.state)).to.equal(writesBefore)
    })
  }

  it('CLOUDSDK_PYTHON naming nothing: gcloud cannot start; binauthz says so before writing', async () => {
    const missing = join(e2e.dir, 'no-such-python3')
    const real = await gcloudAgainst(e2e.against({CLOUDSDK_PYTHON: missing}), ['version'])
    expect(real.exitCode).not.to.equal(0)
    const writesBefore = policyWrites(e2e.state)
    const ours = await binauthz(['deploy', 'run', 'svc', '--region', REGION, '--yes', '--json', '--', `--source=${e2e.source}`], {CLOUDSDK_PYTHON: missing})
    expect(ours.exitCode, ours.stderr).to.equal(2)
    expect(ours.stdout).to.include('GCLOUD_CANNOT_START').and.include('CLOUDSDK_PYTHON')
    expect(policyWrites(e2e.state)).to.equal(writesBefore)
  })

  it('a misspelt region is never written into the policy; the right one deploys', async () => {
    const writesBefore = policyWrites(e2e.state)
    const typo = await binauthz(['deploy', 'run', 'svc', '--region', 'us-centrall1', '--yes', '--json', '--', `--source=${e2e.source}`])
    expect(typo.exitCode).to.equal(2)
    expect(typo.stdout).to.include('REGION_UNLISTED').and.include('us-central1')
    expect(policyWrites(e2e.state)).to.equal(writesBefore)
    const right = await binauthz(['deploy', 'run', 'svc', '--region', REGION, '--yes', '--json', '--', `--source=${e2e.source}`])
    expect(right.exitCode, right.stderr).to.equal(0)
    expect(policyWrites(e2e.state)).to.equal(writesBefore + 1)
  })
})
