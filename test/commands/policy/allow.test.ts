// In-process on purpose (@oclif/test runCommand): these check flags, results and exit codes command by command,
// with a stand-in and temp dirs wired through process.env. The built CLI on its default start path is driven by
// test/e2e (the installed package included) and test/reliability.
import {runCommand} from '@oclif/test'
import {expect} from 'chai'
import {existsSync, readFileSync} from 'node:fs'

import type {PolicyChangeResult, TerraformResult} from '../../../src/app/policy-allow-revoke.js'

import {
  enforcedPolicy,
  exitOf,
  FN_PATTERN,
  type Harness,
  json,
  OTHER_PATTERN,
  PROJECT,
  REGION,
  ROOT,
  RUN_PATTERN,
  startHarness,
} from '../../app/harness.js'

describe('binauthz policy allow', () => {
  let h: Harness

  afterEach(async () => h.close())

  it('adds the missing patterns with --yes, keeping every other field, with a backup and etags', async () => {
    h = await startHarness()
    const before = h.server.policy(PROJECT)
    const {error, stdout} = await runCommand(['policy', 'allow', '--project', PROJECT, '--region', REGION, '--yes', '--json'], {root: ROOT})
    expect(error).to.equal(undefined)
    const result = json<PolicyChangeResult>(stdout)
    expect(result).to.deep.include({
      action: 'allow', changed: true, declined: false, mode: 'write', project: PROJECT, written: true,
    })
    expect(result.requested).to.deep.equal([RUN_PATTERN, FN_PATTERN])
    expect(result.added).to.deep.equal([RUN_PATTERN, FN_PATTERN])
    expect(result.etagBefore).to.equal(before?.etag)
    expect(result.etagAfter).to.equal(h.server.policy(PROJECT).etag)
    expect(result.diff).to.contain(`+ - namePattern: ${RUN_PATTERN}`)
    expect(stdout).to.not.contain('Planned change') // stdout holds only the JSON

    const after = h.server.policy(PROJECT)
    expect(after?.admissionWhitelistPatterns).to.deep.equal([{namePattern: OTHER_PATTERN}, {namePattern: RUN_PATTERN}, {namePattern: FN_PATTERN}])
    const {admissionWhitelistPatterns: _c, etag: _a, updateTime: _b, ...rest} = after ?? {}
    const {admissionWhitelistPatterns: _f, etag: _d, updateTime: _e, ...restBefore} = before ?? {}
    expect(rest).to.deep.equal(restBefore)

    expect(result.backupFile).to.be.a('string')
    expect(existsSync(result.backupFile ?? '')).to.equal(true)
    expect(JSON.parse(readFileSync(result.backupFile ?? '', 'utf8')).policy.admissionWhitelistPatterns).to.deep.equal([{namePattern: OTHER_PATTERN}])
    expect(h.server.requests('updatePolicy')).to.have.length(1)
  })

  it('--kind job adds run\'s cloud-run-source-deploy entry; --kind worker-pool then finds it there and writes nothing', async () => {
    h = await startHarness()
    const job = await runCommand(['policy', 'allow', '--project', PROJECT, '--region', REGION, '--kind', 'job', '--yes', '--json'], {root: ROOT})
    expect(job.error).to.equal(undefined)
    expect(json<PolicyChangeResult>(job.stdout).added).to.deep.equal([RUN_PATTERN])
    const writes = h.server.requests().filter(r => r.op === 'updatePolicy').length
    const pool = await runCommand(['policy', 'allow', '--project', PROJECT, '--region', REGION, '--kind', 'worker-pool', '--yes', '--json'], {root: ROOT})
    expect(pool.error).to.equal(undefined)
    expect(json<PolicyChangeResult>(pool.stdout)).to.deep.include({added: [], changed: false, written: false})
    expect(h.server.requests().filter(r => r.op === 'updatePolicy').length).to.equal(writes)
  })

  it('without --yes and without a terminal exits 3 naming --yes, and writes nothing', async () => {
    h = await startHarness()
    const {error, stdout} = await runCommand(['policy', 'allow', '--project', PROJECT, '--region', REGION, '--kind', 'run'], {root: ROOT})
    expect(exitOf(error)).to.equal(3)
    expect(error?.message).to.contain('--yes')
    expect(stdout).to.contain(`+ - namePattern: ${RUN_PATTERN}`)
    expect(h.server.writes()).to.equal(0)
  })

  it('--dry-run shows the diff and writes nothing', async () => {
    h = await startHarness()
    const {error, stdout} = await runCommand(['policy', 'allow', '--project', PROJECT, '--region', REGION, '--kind', 'function', '--dry-run', '--json'], {root: ROOT})
    expect(error).to.equal(undefined)
    const result = json<PolicyChangeResult>(stdout)
    expect(result).to.deep.include({
      added: [FN_PATTERN], changed: true, mode: 'dry-run', written: false,
    })
    expect(result.skippedReason).to.contain('Dry run')
    expect(h.server.writes()).to.equal(0)
  })

  it('skips the write and says why when a broader entry covers the repository', async () => {
    const broad = `${REGION}-docker.pkg.dev/${PROJECT}/**`
    h = await startHarness({policies: {[PROJECT]: enforcedPolicy([broad])}})
    const {error, stdout} = await runCommand(['policy', 'allow', '--project', PROJECT, '--region', REGION, '--kind', 'run', '--yes', '--json'], {root: ROOT})
    expect(error).to.equal(undefined)
    const result = json<PolicyChangeResult>(stdout)
    expect(result).to.deep.include({added: [], changed: false, written: false})
    expect(result.alreadyCovered).to.deep.equal([{by: broad, coveredBy: {kind: 'pattern', pattern: broad}, pattern: RUN_PATTERN}])
    expect(result.skippedReason).to.contain(`covered by the broader allowlist entry ${broad}`)
    expect(h.server.requests().map(r => r.op)).to.deep.equal(['getPolicy'])
  })

  it('skips the write when the default rule is ALWAYS_ALLOW', async () => {
    h = await startHarness({policies: {[PROJECT]: {defaultAdmissionRule: {enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG', evaluationMode: 'ALWAYS_ALLOW'}}}})
    const {error, stdout} = await runCommand(['policy', 'allow', '--project', PROJECT, '--region', REGION, '--yes'], {root: ROOT})
    expect(error).to.equal(undefined)
    expect(stdout).to.contain('ALWAYS_ALLOW')
    expect(stdout).to.contain('Nothing to add')
    expect(h.server.writes()).to.equal(0)
  })

  it('takes explicit --pattern values without a region', async () => {
    h = await startHarness()
    const pattern = `${REGION}-docker.pkg.dev/${PROJECT}/images/**`
    const {error, stdout} = await runCommand(['policy', 'allow', '--project', PROJECT, '--pattern', pattern, '--yes', '--json'], {root: ROOT})
    expect(error).to.equal(undefined)
    expect(json<PolicyChangeResult>(stdout).added).to.deep.equal([pattern])
  })

  it('rejects an invalid pattern with exit 2 and no request', async () => {
    h = await startHarness()
    const {error} = await runCommand(['policy', 'allow', '--project', PROJECT, '--pattern', '*/x/**', '--yes'], {root: ROOT})
    expect(exitOf(error)).to.equal(2)
    expect(h.server.requests()).to.have.length(0)
  })

  it('without the update permission exits 3 with the admin hand-off and writes nothing', async () => {
    h = await startHarness({permissions: ['binaryauthorization.policy.get']})
    const {error, stdout} = await runCommand(['policy', 'allow', '--project', PROJECT, '--region', REGION, '--yes', '--json'], {root: ROOT})
    expect(exitOf(error)).to.equal(3)
    const body = json<{error: {code: string; message: string}}>(stdout)
    expect(body.error.code).to.equal('POLICY_UPDATE_DENIED')
    expect(body.error.message).to.contain('gcloud container binauthz policy export')
    expect(body.error.message).to.contain(RUN_PATTERN)
    expect(h.server.writes()).to.equal(0)
  })

  it('--print terraform prints the admission_whitelist_patterns block and calls no API', async () => {
    h = await startHarness()
    const {error, stdout} = await runCommand(['policy', 'allow', '--project', PROJECT, '--region', REGION, '--print', 'terraform'], {root: ROOT})
    expect(error).to.equal(undefined)
    expect(stdout).to.contain('admission_whitelist_patterns {')
    expect(stdout).to.contain(`name_pattern = "${RUN_PATTERN}"`)
    expect(stdout).to.contain(`name_pattern = "${FN_PATTERN}"`)
    expect(h.server.requests()).to.have.length(0)

    const out = await runCommand(['policy', 'allow', '--project', PROJECT, '--region', REGION, '--kind', 'run', '--print', 'terraform', '--json'], {root: ROOT})
    const result = json<TerraformResult>(out.stdout)
    expect(result.patterns).to.deep.equal([RUN_PATTERN])
    expect(result.terraform).to.contain('admission_whitelist_patterns')
  })

  it('re-reads and re-plans after a concurrent write (etag conflict), keeping the other writer’s entry', async () => {
    h = await startHarness()
    h.server.fault({kind: 'concurrent-write', method: 'PUT', namePattern: 'gcr.io/racer/**'})
    const {error, stdout} = await runCommand(['policy', 'allow', '--project', PROJECT, '--region', REGION, '--kind', 'run', '--yes', '--json'], {root: ROOT})
    expect(error).to.equal(undefined)
    const result = json<PolicyChangeResult>(stdout)
    expect(result.attempts).to.equal(2)
    expect(h.server.policy(PROJECT).admissionWhitelistPatterns?.map(p => p.namePattern)).to.deep.equal([OTHER_PATTERN, 'gcr.io/racer/**', RUN_PATTERN])
  })
})
