// In-process on purpose (@oclif/test runCommand): these check flags, results and exit codes command by command,
// with a stand-in and temp dirs wired through process.env. The built CLI on its default start path is driven by
// test/e2e (the installed package included) and test/reliability.
import {runCommand} from '@oclif/test'
import {expect} from 'chai'

import type {PolicyStatusResult} from '../../../src/app/policy-status.js'

import {
  enforcedPolicy, exitOf, FN_PATTERN, type Harness, json, PROJECT, REGION, ROOT, RUN_PATTERN, startHarness,
} from '../../app/harness.js'

describe('binauthz policy status', () => {
  let h: Harness

  afterEach(async () => h.close())

  it('reports each deploy path per region with one GET and no write', async () => {
    h = await startHarness({policies: {[PROJECT]: enforcedPolicy([RUN_PATTERN])}})
    const {error, stdout} = await runCommand(['policy', 'status', '--project', PROJECT, '--region', `${REGION},europe-west1`, '--json'], {root: ROOT})
    expect(error).to.equal(undefined)
    const result = json<PolicyStatusResult>(stdout)
    expect(result.project).to.equal(PROJECT)
    expect(result.regions).to.deep.equal([REGION, 'europe-west1'])
    expect(result.defaultRule).to.deep.equal({enforced: true, enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG', evaluationMode: 'REQUIRE_ATTESTATION'})
    expect(result.paths.map(p => [p.kind, p.region, p.covered, p.exactEntry])).to.deep.equal([
      ['run', REGION, true, true],
      ['function', REGION, false, false],
      ['run', 'europe-west1', false, false],
      ['function', 'europe-west1', false, false],
    ])
    expect(result.paths[0]?.coveredBy).to.deep.equal({kind: 'pattern', pattern: RUN_PATTERN})
    expect(result.missing).to.have.length(3)
    expect(h.server.requests().map(r => r.op)).to.deep.equal(['getPolicy'])
  })

  it('names a broader entry or an ALWAYS_ALLOW default rule as the cover', async () => {
    const broad = `${REGION}-docker.pkg.dev/${PROJECT}/**`
    h = await startHarness({policies: {[PROJECT]: enforcedPolicy([broad])}})
    let out = await runCommand(['policy', 'status', '--project', PROJECT, '--region', REGION, '--json'], {root: ROOT})
    let result = json<PolicyStatusResult>(out.stdout)
    expect(result.paths.every(p => p.covered && !p.exactEntry)).to.equal(true)
    expect(result.paths[1]?.coveredBy).to.deep.equal({kind: 'pattern', pattern: broad})

    h.server.setPolicy(PROJECT, {defaultAdmissionRule: {enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG', evaluationMode: 'ALWAYS_ALLOW'}})
    out = await runCommand(['policy', 'status', '--project', PROJECT, '--region', REGION, '--json'], {root: ROOT})
    result = json<PolicyStatusResult>(out.stdout)
    expect(result.defaultRule.enforced).to.equal(false)
    expect(result.paths.map(p => p.coveredBy)).to.deep.equal([
      {evaluationMode: 'ALWAYS_ALLOW', kind: 'default-rule'},
      {evaluationMode: 'ALWAYS_ALLOW', kind: 'default-rule'},
    ])
  })

  it('tells which rule admits or blocks an image, without needing a region', async () => {
    h = await startHarness({policies: {[PROJECT]: enforcedPolicy([RUN_PATTERN])}})
    const admitted = `${REGION}-docker.pkg.dev/${PROJECT}/cloud-run-source-deploy/svc@sha256:${'a'.repeat(64)}`
    let out = await runCommand(['policy', 'status', '--project', PROJECT, '--image', admitted, '--json'], {root: ROOT})
    expect(out.error).to.equal(undefined)
    let result = json<PolicyStatusResult>(out.stdout)
    expect(result.paths).to.deep.equal([])
    expect(result.image).to.deep.include({
      admitted: true, image: admitted, pattern: RUN_PATTERN, rule: 'allowlist',
    })

    const blocked = `${REGION}-docker.pkg.dev/${PROJECT}/gcf-artifacts/fn:version_1`
    out = await runCommand(['policy', 'status', '--project', PROJECT, '--image', blocked], {root: ROOT})
    expect(out.stdout).to.match(/BLOCKED by the default rule REQUIRE_ATTESTATION/)
    out = await runCommand(['policy', 'status', '--project', PROJECT, '--image', blocked, '--json'], {root: ROOT})
    result = json<PolicyStatusResult>(out.stdout)
    expect(result.image).to.deep.include({admitted: false, evaluationMode: 'REQUIRE_ATTESTATION', rule: 'default-rule'})
    expect(result.image?.reason).to.be.a('string').and.not.equal('')
  })

  it('--kind job and --kind worker-pool check run\'s cloud-run-source-deploy entry, under their own path', async () => {
    h = await startHarness({policies: {[PROJECT]: enforcedPolicy([RUN_PATTERN])}})
    for (const kind of ['job', 'worker-pool']) {
      const {error, stdout} = await runCommand(['policy', 'status', '--project', PROJECT, '--region', REGION, '--kind', kind, '--json'], {root: ROOT})
      expect(error).to.equal(undefined)
      const result = json<PolicyStatusResult>(stdout)
      expect(result.paths.map(p => [p.kind, p.pattern, p.covered])).to.deep.equal([[kind, RUN_PATTERN, true]])
      expect(result.missing).to.deep.equal([])
    }
  })

  it('includes a custom --docker-repository and prints readable lines', async () => {
    h = await startHarness()
    const {error, stdout} = await runCommand(
      ['policy', 'status', '--project', PROJECT, '--region', REGION, '--kind', 'run', '--docker-repository', `${REGION}-docker.pkg.dev/${PROJECT}/builds`],
      {root: ROOT},
    )
    expect(error).to.equal(undefined)
    expect(stdout).to.contain(`✘ Cloud Run services and functions (gcloud run deploy --source) in ${REGION}: ${RUN_PATTERN} — missing`)
    expect(stdout).to.contain(`${REGION}-docker.pkg.dev/${PROJECT}/builds/**`)
    expect(stdout).to.not.contain(FN_PATTERN)
    expect(stdout).to.contain('Missing 2')
  })

  it('uses project and region from the gcloud configuration', async () => {
    h = await startHarness()
    h.writeGcloudConfig({project: PROJECT, runRegion: REGION})
    const {error, stdout} = await runCommand(['policy', 'status', '--kind', 'run', '--json'], {root: ROOT})
    expect(error).to.equal(undefined)
    const result = json<PolicyStatusResult>(stdout)
    expect(result.project).to.equal(PROJECT)
    expect(result.paths.map(p => p.pattern)).to.deep.equal([RUN_PATTERN])
  })

  it('without a region shows the default rule and the allowlist and names the checks that need --region', async () => {
    h = await startHarness({policies: {[PROJECT]: enforcedPolicy([RUN_PATTERN])}})
    const human = await runCommand(['policy', 'status', '--project', PROJECT], {root: ROOT})
    expect(human.error).to.equal(undefined)
    expect(human.stdout).to.contain('Default rule: REQUIRE_ATTESTATION')
    expect(human.stdout).to.contain(`  ${RUN_PATTERN}`)
    expect(human.stdout).to.contain('Not checked without a region: whether Cloud Run services and functions (gcloud run deploy --source) and Cloud Functions 2nd gen (gcloud functions deploy) are allowlisted')
    expect(human.stdout).to.contain(`binauthz policy status --project=${PROJECT} --region=us-central1`)
    const {error, stdout} = await runCommand(['policy', 'status', '--project', PROJECT, '--kind', 'function', '--json'], {root: ROOT})
    expect(error).to.equal(undefined)
    const result = json<PolicyStatusResult>(stdout)
    expect(result.allowlist).to.deep.equal([RUN_PATTERN])
    expect(result.paths).to.deep.equal([])
    expect(result.regionNeeded).to.deep.equal({flag: '--region', kinds: ['function']})
    // With a region nothing is left unchecked.
    const withRegion = json<PolicyStatusResult>((await runCommand(['policy', 'status', '--project', PROJECT, '--region', REGION, '--json'], {root: ROOT})).stdout)
    expect(withRegion.regionNeeded).to.equal(undefined)
  })

  it('exits 2 naming --project when no project is known, without any request', async () => {
    h = await startHarness()
    const {error, stdout} = await runCommand(['policy', 'status', '--region', REGION, '--json'], {root: ROOT})
    expect(exitOf(error)).to.equal(2)
    expect(json<{error: {code: string; message: string}}>(stdout).error.code).to.equal('PROJECT_MISSING')
    expect(h.server.requests()).to.have.length(0)
  })

  it('exits 5 when the API fails, and 3 on a permission error', async () => {
    h = await startHarness()
    h.server.fault({status: 500, times: Infinity})
    let out = await runCommand(['policy', 'status', '--project', PROJECT, '--region', REGION, '--deadline', '2'], {root: ROOT})
    expect(exitOf(out.error)).to.equal(5)
    h.server.clearFaults()
    h.server.fault({message: 'The caller does not have permission', status: 403})
    out = await runCommand(['policy', 'status', '--project', PROJECT, '--region', REGION], {root: ROOT})
    expect(exitOf(out.error)).to.equal(3)
  })
})
