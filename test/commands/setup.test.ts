// In-process on purpose (@oclif/test runCommand): these check flags, results and exit codes command by command,
// with a stand-in and temp dirs wired through process.env. The built CLI on its default start path is driven by
// test/e2e (the installed package included) and test/reliability.
import {runCommand} from '@oclif/test'
import {expect} from 'chai'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import type {PolicyStatusResult} from '../../src/app/policy-status.js'
import type {SetupResult} from '../../src/app/setup-wizard.js'

import {
  enforcedPolicy, exitOf, FN_PATTERN, type Harness, json, PROJECT, REGION, ROOT, RUN_PATTERN, startHarness,
} from '../app/harness.js'

describe('binauthz setup (non-interactive)', () => {
  let h: Harness

  afterEach(async () => h.close())
  const defaultsFile = () => join(h.configDir, 'defaults.json')

  it('checks everything, applies the missing entries with --yes and saves the defaults', async () => {
    h = await startHarness()
    const {error, stdout} = await runCommand(['setup', '--project', PROJECT, '--region', REGION, '--kind', 'run', '--yes', '--json'], {root: ROOT})
    expect(error).to.equal(undefined)
    const result = json<SetupResult>(stdout)
    expect(result.gcloud).to.deep.include({installed: true, recentEnough: true, version: '528.0.0'})
    expect(result.credentials.kind).to.equal('access-token-file')
    expect(JSON.stringify(result)).to.not.contain('binauthz-test-token')
    expect(result).to.deep.include({
      kind: 'run', project: PROJECT, ready: true, regions: [REGION],
    })
    expect(result.api.state).to.equal('enabled')
    expect(result.defaultRule?.enforced).to.equal(true)
    expect(result.policy).to.deep.include({added: [RUN_PATTERN], state: 'applied'})
    expect(result.paths.every(p => p.covered)).to.equal(true)
    expect(h.server.policy(PROJECT).admissionWhitelistPatterns?.map(p => p.namePattern)).to.include(RUN_PATTERN)
    expect(result.defaults.saved).to.equal(true)
    expect(JSON.parse(readFileSync(result.defaults.file ?? '', 'utf8'))).to.deep.include({kind: 'run', project: PROJECT, regions: [REGION]})
    expect((await h.gcloud.calls()).some(argv => argv.join(' ') === 'version --format=json')).to.equal(true)

    // Later commands need no flags.
    const status = await runCommand(['policy', 'status', '--json'], {root: ROOT})
    expect(status.error).to.equal(undefined)
    const s = json<PolicyStatusResult>(status.stdout)
    expect(s.project).to.equal(PROJECT)
    expect(s.regions).to.deep.equal([REGION])
    expect(s.paths.map(p => p.pattern)).to.deep.equal([RUN_PATTERN]) // the saved deploy path
    expect(s.missing).to.deep.equal([])
  })

  it('without --yes and without a terminal exits 3 and writes nothing at all', async () => {
    h = await startHarness()
    const {error} = await runCommand(['setup', '--project', PROJECT, '--region', REGION], {root: ROOT})
    expect(exitOf(error)).to.equal(3)
    expect(error?.message).to.contain('--yes')
    expect(h.server.writes()).to.equal(0)
    expect(existsSync(defaultsFile())).to.equal(false)
  })

  it('--no-apply prints the admin hand-off instead of writing, and still saves defaults', async () => {
    h = await startHarness()
    const {error, stdout} = await runCommand(['setup', '--project', PROJECT, '--region', REGION, '--no-apply', '--json'], {root: ROOT})
    expect(exitOf(error)).to.equal(6) // "Not ready yet." is not a success
    const result = json<SetupResult & {error: {code: string; suggestions: string[]}}>(stdout)
    expect(result.error.code).to.equal('SETUP_NOT_READY')
    expect(result.error.suggestions).to.deep.equal(result.nextSteps)
    expect(result.policy.state).to.equal('not-applied')
    expect(result.policy.handoff).to.contain(RUN_PATTERN).and.contain(FN_PATTERN)
    expect(result.ready).to.equal(false)
    expect(result.nextSteps).to.include('binauthz policy allow')
    expect(h.server.writes()).to.equal(0)
    expect(existsSync(defaultsFile())).to.equal(true)
  })

  it('without the update permission hands off to an admin', async () => {
    h = await startHarness({permissions: ['binaryauthorization.policy.get']})
    const {error, stdout} = await runCommand(['setup', '--project', PROJECT, '--region', REGION, '--yes', '--json'], {root: ROOT})
    expect(exitOf(error)).to.equal(6)
    const result = json<SetupResult>(stdout)
    expect(result.policy.state).to.equal('permission-denied')
    expect(result.policy.handoff).to.contain('gcloud container binauthz policy import')
    expect(h.server.writes()).to.equal(0)
  })

  it('reports a disabled API with the exact enable command', async () => {
    h = await startHarness()
    h.server.fault({message: 'Binary Authorization API has not been used in project my-proj before or it is disabled.', reason: 'SERVICE_DISABLED', status: 403})
    const {error, stdout} = await runCommand(['setup', '--project', PROJECT, '--region', REGION, '--yes', '--json'], {root: ROOT})
    expect(exitOf(error)).to.equal(6)
    expect(error?.message).to.contain(`the Binary Authorization API is not enabled in ${PROJECT}`)
    const result = json<SetupResult>(stdout)
    expect(result.api).to.deep.include({enableCommand: `gcloud services enable binaryauthorization.googleapis.com --project ${PROJECT}`, state: 'disabled'})
    expect(result.ready).to.equal(false)
    expect(result.nextSteps[0]).to.equal(result.api.enableCommand)
  })

  it('takes project and region from the gcloud configuration; nothing to do when covered; --no-save', async () => {
    h = await startHarness({policies: {[PROJECT]: enforcedPolicy([`${REGION}-docker.pkg.dev/${PROJECT}/**`])}})
    h.writeGcloudConfig({project: PROJECT, runRegion: REGION})
    const {error, stdout} = await runCommand(['setup', '--no-save', '--json'], {root: ROOT})
    expect(error).to.equal(undefined)
    const result = json<SetupResult>(stdout)
    expect(result).to.deep.include({
      kind: 'all', project: PROJECT, ready: true, regions: [REGION],
    })
    expect(result.policy.state).to.equal('nothing-missing')
    expect(result.defaults.saved).to.equal(false)
    expect(existsSync(defaultsFile())).to.equal(false)
    expect(h.server.requests().map(r => r.op)).to.deep.equal(['getPolicy'])
  })

  it('without --json, "Not ready yet." exits 6 with SETUP_NOT_READY and the Next: commands as suggestions', async () => {
    h = await startHarness()
    const {error, stdout} = await runCommand(['setup', '--project', PROJECT, '--region', REGION, '--kind', 'run', '--no-apply', '--no-save'], {root: ROOT})
    expect(stdout).to.contain('Not ready yet.')
    expect(exitOf(error)).to.equal(6)
    expect((error as undefined | {code?: string})?.code).to.equal('SETUP_NOT_READY')
    expect(error?.message).to.contain(`not allowlisted: ${RUN_PATTERN}`)
  })

  it('exits 2 naming --project when no project is known', async () => {
    h = await startHarness()
    const {error} = await runCommand(['setup', '--region', REGION, '--yes'], {root: ROOT})
    expect(exitOf(error)).to.equal(2)
    expect(error?.message).to.contain('--project')
    expect(existsSync(defaultsFile())).to.equal(false)
  })

  it('reports a missing gcloud but goes on', async () => {
    h = await startHarness()
    process.env.BINAUTHZ_GCLOUD = join(h.dir, 'no-such-gcloud')
    const {error, stdout} = await runCommand(['setup', '--project', PROJECT, '--region', REGION, '--no-apply', '--json'], {root: ROOT})
    expect(exitOf(error)).to.equal(6)
    const result = json<SetupResult>(stdout)
    expect(result.gcloud.installed).to.equal(false)
    expect(result.ready).to.equal(false)
  })
})
