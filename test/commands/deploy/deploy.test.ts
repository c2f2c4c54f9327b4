// In-process on purpose (@oclif/test runCommand): these check flags, results and exit codes command by command,
// with a stand-in and temp dirs wired through process.env. The built CLI on its default start path is driven by
// test/e2e (the installed package included) and test/reliability.
import {runCommand} from '@oclif/test'
import {expect} from 'chai'

import type {DeployResult} from '../../../src/app/deploy.js'

import {
  enforcedPolicy, exitOf, FN_PATTERN, type Harness, json, OTHER_PATTERN, PROJECT, REGION, ROOT, RUN_PATTERN, startHarness, TOKEN,
} from '../../app/harness.js'

const EU = 'europe-west1'
const FN_PATTERN_EU = `${EU}-docker.pkg.dev/${PROJECT}/gcf-artifacts/**`

async function deployCalls(h: Harness): Promise<string[][]> {
  return (await h.gcloud.calls()).filter(argv => argv[1] === 'deploy')
}

describe('binauthz deploy run / deploy function (runCommand, fake gcloud, local Binary Authorization)', () => {
  let h: Harness

  afterEach(async () => h.close())

  it('--quiet: errors only — no progress, no summary; without it, timestamped progress lines (no terminal) and the summary', async () => {
    h = await startHarness()
    const args = ['deploy', 'run', 'my-fn', '--project', PROJECT, '--region', REGION, '--yes', '--', '--source', '.']
    const quiet = await runCommand([...args.slice(0, 7), '--quiet', ...args.slice(7)], {root: ROOT})
    expect(quiet.error).to.equal(undefined)
    expect(quiet.stdout).to.equal('')
    expect(quiet.stderr).to.equal('')
    const loud = await runCommand(args, {root: ROOT})
    expect(loud.error).to.equal(undefined)
    expect(loud.stdout).to.contain(`Deployed my-fn to ${REGION}`)
    expect(loud.stderr).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z → Running gcloud in us-central1:$/m)
    expect(loud.stderr).to.match(/^\d{4}-\d\d-\d\dT[\d:.]+Z ✔ gcloud deployed my-fn to us-central1$/m)
  })

  it('--quiet: a failed gcloud still explains itself, with gcloud\'s ERROR lines in the error', async () => {
    h = await startHarness()
    h.gcloud.configure({responses: [{args: ['run', 'deploy'], exitCode: 1, stderr: 'noise\nERROR: (gcloud.run.deploy) Build failed; check build logs for details\n'}]})
    const {error, stdout} = await runCommand(['deploy', 'run', 'my-fn', '--project', PROJECT, '--region', REGION, '--yes', '--quiet', '--', '--source', '.'], {root: ROOT})
    expect(exitOf(error)).to.equal(1)
    expect(stdout).to.equal('')
    expect(error?.message).to.contain('[us-central1] ERROR: (gcloud.run.deploy) Build failed').and.not.contain('noise')
  })

  it('deploy run --yes --json: allowlists once, runs the exact gcloud argv, JSON result on stdout', async () => {
    h = await startHarness()
    const before = h.server.policy(PROJECT)
    const {error, stderr, stdout} = await runCommand(
      ['deploy', 'run', 'my-fn', '--project', PROJECT, '--region', REGION, '--yes', '--json', '--', '--source', '.', '--function', 'handler'],
      {root: ROOT},
    )
    expect(error).to.equal(undefined)
    expect(await deployCalls(h)).to.deep.equal([
      ['run', 'deploy', 'my-fn', `--project=${PROJECT}`, `--region=${REGION}`, '--source=.', '--function', 'handler', '--binary-authorization=default'],
    ])
    const result = json<DeployResult>(stdout)
    expect(result).to.deep.include({
      command: 'deploy run', dryRun: false, name: 'my-fn', project: PROJECT, regions: [REGION],
    })
    expect(result.patterns).to.deep.equal({added: [RUN_PATTERN], alreadyCovered: [], required: [RUN_PATTERN]})
    expect(result.policy.written).to.equal(true)
    expect(result.policy.etagBefore).to.equal(before?.etag)
    expect(result.policy.etagAfter).to.equal(h.server.policy(PROJECT).etag)
    expect(result.deploys).to.deep.equal([
      {
        argv: ['gcloud', 'run', 'deploy', 'my-fn', `--project=${PROJECT}`, `--region=${REGION}`, '--source=.', '--function', 'handler', '--binary-authorization=default'],
        exitCode: 0,
        region: REGION,
      },
    ])

    // The policy changed only as planned: one entry appended, everything else identical.
    const after = h.server.policy(PROJECT)
    expect(after?.admissionWhitelistPatterns).to.deep.equal([{namePattern: OTHER_PATTERN}, {namePattern: RUN_PATTERN}])
    const strip = (p: typeof after) => {
      const {admissionWhitelistPatterns: _a, etag: _e, updateTime: _u, ...rest} = p ?? {}
      return rest
    }

    expect(strip(after)).to.deep.equal(strip(before))
    expect(h.server.writes()).to.equal(1)
    expect(`${stdout}${stderr}`).not.to.contain(TOKEN)
  })

  it('deploy function to two regions: one read, one write adding both patterns, two deploys', async () => {
    h = await startHarness()
    const {error, stdout} = await runCommand(
      ['deploy', 'function', 'my_fn', '--project', PROJECT, '--region', `${REGION},${EU}`, '--yes', '--json', '--', '--runtime=nodejs20', '--trigger-http'],
      {root: ROOT},
    )
    expect(error).to.equal(undefined)
    expect(h.server.requests('getPolicy')).to.have.length(1)
    expect(h.server.writes()).to.equal(1)
    expect(h.server.policy(PROJECT).admissionWhitelistPatterns).to.deep.equal([
      {namePattern: OTHER_PATTERN},
      {namePattern: FN_PATTERN},
      {namePattern: FN_PATTERN_EU},
    ])
    const calls = await deployCalls(h)
    expect(calls.sort((a, b) => String(a[5]).localeCompare(String(b[5])))).to.deep.equal([
      ['functions', 'deploy', 'my_fn', '--gen2', `--project=${PROJECT}`, `--region=${EU}`, '--runtime=nodejs20', '--trigger-http', '--binary-authorization=default'],
      ['functions', 'deploy', 'my_fn', '--gen2', `--project=${PROJECT}`, `--region=${REGION}`, '--runtime=nodejs20', '--trigger-http', '--binary-authorization=default'],
    ])
    expect(json<DeployResult>(stdout).deploys.map(d => [d.region, d.exitCode])).to.deep.equal([
      [REGION, 0],
      [EU, 0],
    ])
  })

  it('already allowlisted: no write, deploys (human output)', async () => {
    h = await startHarness({policies: {[PROJECT]: enforcedPolicy([`${REGION}-docker.pkg.dev/${PROJECT}/**`])}})
    const {error, stderr, stdout} = await runCommand(['deploy', 'run', 'svc', '--project', PROJECT, '--region', REGION, '--', '--source=.'], {root: ROOT})
    expect(error).to.equal(undefined)
    expect(h.server.writes()).to.equal(0)
    expect(await deployCalls(h)).to.have.length(1)
    expect(stdout).to.contain(`Deployed svc to ${REGION} in ${PROJECT}`)
    expect(stderr).to.contain('already allowed')
  })

  it('without --yes and without a terminal: exit 3 with the exact command incl. --yes; nothing written or deployed', async () => {
    h = await startHarness()
    const {error, stdout} = await runCommand(['deploy', 'run', 'svc', '--project', PROJECT, '--region', REGION, '--', '--source', '.'], {root: ROOT})
    expect(exitOf(error)).to.equal(3)
    expect((error as {suggestions?: string[]}).suggestions?.[0]).to.equal(`Re-run with --yes: binauthz deploy run svc --project ${PROJECT} --region ${REGION} --yes -- --source .`)
    expect(stdout).to.contain('+ ')
    expect(h.server.writes()).to.equal(0)
    expect(await deployCalls(h)).to.have.length(0)
  })

  it('--dry-run: prints the diff and the exact gcloud command; changes nothing', async () => {
    h = await startHarness()
    const {error, stdout} = await runCommand(['deploy', 'run', 'svc', '--project', PROJECT, '--region', REGION, '--dry-run', '--', '--source', '.'], {root: ROOT})
    expect(error).to.equal(undefined)
    expect(stdout).to.contain(RUN_PATTERN)
    expect(stdout).to.contain(`gcloud run deploy svc --project=${PROJECT} --region=${REGION} --source=. --binary-authorization=default`)
    expect(h.server.writes()).to.equal(0)
    expect(await deployCalls(h)).to.have.length(0)
  })

  it('--no-patch with a missing entry: exit 3 with the admin hand-off', async () => {
    h = await startHarness()
    const {error} = await runCommand(['deploy', 'function', 'fn', '--project', PROJECT, '--region', REGION, '--no-patch', '--', '--runtime=go122'], {root: ROOT})
    expect(exitOf(error)).to.equal(3)
    expect(error?.message).to.contain(FN_PATTERN)
    expect(h.server.writes()).to.equal(0)
    expect(await deployCalls(h)).to.have.length(0)
  })

  it('permission denied: exit 3, gcloud never spawned', async () => {
    h = await startHarness({permissions: ['binaryauthorization.policy.get']})
    const {error} = await runCommand(['deploy', 'run', 'svc', '--project', PROJECT, '--region', REGION, '--yes', '--', '--source=.'], {root: ROOT})
    expect(exitOf(error)).to.equal(3)
    expect(h.server.writes()).to.equal(0)
    expect(await h.gcloud.calls()).to.deep.equal([])
  })

  for (const [title, passthrough] of [
    ['--binary-authorization=none', ['--binary-authorization=none']],
    ['--clear-binary-authorization', ['--clear-binary-authorization']],
    ['--project=other', ['--project=other']],
    ['--region other', ['--region', 'europe-west1']],
    ['a second --', ['--source=.', '--', '--x']],
  ] as const) {
    it(`refuses ${title} after -- with exit 2 before any API call`, async () => {
      h = await startHarness()
      const {error} = await runCommand(['deploy', 'run', 'svc', '--project', PROJECT, '--region', REGION, '--yes', '--', ...passthrough], {root: ROOT})
      expect(exitOf(error)).to.equal(2)
      expect(h.server.requests()).to.have.length(0)
      expect(await h.gcloud.calls()).to.deep.equal([])
    })
  }

  it('refuses --no-gen2 for functions', async () => {
    h = await startHarness()
    const {error} = await runCommand(['deploy', 'function', 'fn', '--project', PROJECT, '--region', REGION, '--yes', '--', '--no-gen2'], {root: ROOT})
    expect(exitOf(error)).to.equal(2)
    expect(h.server.requests()).to.have.length(0)
  })

  it("passes gcloud's exit code through and explains a Binary Authorization denial", async () => {
    h = await startHarness()
    h.gcloud.configure({
      responses: [
        {
          args: ['run', 'deploy'],
          exitCode: 4,
          stderr: `ERROR: (gcloud.run.deploy) Container image '${REGION}-docker.pkg.dev/${PROJECT}/cloud-run-source-deploy/svc@sha256:1' is not authorized by policy.\n`,
        },
      ],
    })
    const {error} = await runCommand(['deploy', 'run', 'svc', '--project', PROJECT, '--region', REGION, '--yes', '--', '--source=.'], {root: ROOT})
    expect(exitOf(error)).to.equal(4)
    expect(error?.message).to.contain('binauthz: Binary Authorization denied the deploy')
  })

  it('--json failure: the DeployResult with an error key on stdout, gcloud exit code', async () => {
    h = await startHarness({policies: {[PROJECT]: enforcedPolicy([RUN_PATTERN])}})
    h.gcloud.configure({
      responses: [{
        args: ['run', 'deploy'], exitCode: 9, stderr: 'constraints/run.allowedBinaryAuthorizationPolicies violated\n', stdout: 'gcloud says hi\n',
      }],
    })
    const {error, stdout} = await runCommand(['deploy', 'run', 'svc', '--project', PROJECT, '--region', REGION, '--json', '--', '--source=.'], {root: ROOT})
    expect(exitOf(error)).to.equal(9)
    const result = json<DeployResult & {error: {code: string; exitCode: number}}>(stdout)
    expect(result.deploys[0]).to.deep.include({denial: result.deploys[0]?.denial, exitCode: 9})
    expect(result.deploys[0]?.denial?.kind).to.equal('org-policy')
    expect(result.error).to.deep.include({code: 'DEPLOY_FAILED', exitCode: 9})
  })

  it('--json error before anything ran: {"error": ...} on stdout with the exit code', async () => {
    h = await startHarness()
    const {error, stdout} = await runCommand(['deploy', 'run', 'svc', '--project', PROJECT, '--json'], {root: ROOT})
    expect(exitOf(error)).to.equal(2)
    expect(json<{error: {code: string}}>(stdout).error.code).to.equal('REGION_MISSING')
  })

  it('takes project and region from the gcloud configuration', async () => {
    h = await startHarness({policies: {[PROJECT]: enforcedPolicy([RUN_PATTERN])}})
    h.writeGcloudConfig({project: PROJECT, runRegion: REGION})
    const {error, stdout} = await runCommand(['deploy', 'run', 'svc', '--json', '--', '--source=.'], {root: ROOT})
    expect(error).to.equal(undefined)
    expect(json<DeployResult>(stdout)).to.deep.include({project: PROJECT, regions: [REGION]})
    expect((await deployCalls(h))[0]).to.include(`--project=${PROJECT}`)
  })

  it('plain --image the policy blocks: no pattern added, exit 3 before deploying, verdict in --json', async () => {
    h = await startHarness()
    const image = `${REGION}-docker.pkg.dev/${PROJECT}/prebuilt/svc@sha256:1`
    const {error, stdout} = await runCommand(['deploy', 'run', 'svc', '--project', PROJECT, '--region', REGION, '--json', '--', `--image=${image}`], {root: ROOT})
    expect(error?.oclif?.exit).to.equal(3)
    const result = json<{error: {code: string}}>(stdout)
    expect(result.error.code).to.equal('IMAGE_NOT_ADMITTED')
    expect(h.server.writes()).to.equal(0)
    expect(await deployCalls(h)).to.have.length(0)
  })

  it('plain --image the policy admits: no pattern added, verdict reported, deployed', async () => {
    h = await startHarness({policies: {[PROJECT]: enforcedPolicy([`${REGION}-docker.pkg.dev/${PROJECT}/prebuilt/svc`])}})
    const image = `${REGION}-docker.pkg.dev/${PROJECT}/prebuilt/svc@sha256:1`
    const {error, stdout} = await runCommand(['deploy', 'run', 'svc', '--project', PROJECT, '--region', REGION, '--json', '--', `--image=${image}`], {root: ROOT})
    expect(error).to.equal(undefined)
    const result = json<DeployResult>(stdout)
    expect(result.patterns.required).to.deep.equal([])
    expect(result.image).to.deep.include({admitted: true, image})
    expect(h.server.writes()).to.equal(0)
  })

  it('--region before NAME does not swallow NAME; repeated --region flags', async () => {
    h = await startHarness({policies: {[PROJECT]: enforcedPolicy([`${REGION}-docker.pkg.dev/${PROJECT}/**`, `${EU}-docker.pkg.dev/${PROJECT}/**`])}})
    const {error, stdout} = await runCommand(['deploy', 'run', '--region', REGION, '--region', EU, 'svc', '--project', PROJECT, '--json', '--', '--source=.'], {root: ROOT})
    expect(error).to.equal(undefined)
    expect(json<DeployResult>(stdout)).to.deep.include({name: 'svc', regions: [REGION, EU]})
    expect(await deployCalls(h)).to.have.length(2)
  })
})
