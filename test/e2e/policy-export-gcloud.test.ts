// End to end: `binauthz policy export` prints byte for byte what the REAL gcloud 528 prints
// (`gcloud container binauthz policy export`) for the same stored policy, including the cases where gcloud's YAML
// printer (ruamel) quotes, folds or writes a literal block; and the policy diff is coloured only when asked for
// (FORCE_COLOR) and never with NO_COLOR. Skipped, with the reason shown, when gcloud is not installed.
import {expect} from 'chai'
import {rmSync} from 'node:fs'
import {join} from 'node:path'

import type {Policy} from '../../src/policy/types.js'

import {
  binauthzAgainst, DENY_ALL, type ExitRun, gcloudAgainst,
} from '../helpers/e2e.js'
import {installedGcloud, skipNoteFor} from '../helpers/installed-gcloud.js'
import {type CliSandbox, startSandboxCli} from '../helpers/sandbox-cli.js'
import {tempDir} from '../helpers/tmp.js'

const GCLOUD = installedGcloud()
const SKIP_NOTE = skipNoteFor(GCLOUD)
const PROJECT = 'sandbox-project'
const RUN = `us-central1-docker.pkg.dev/${PROJECT}/cloud-run-source-deploy/**`

/** Policies whose YAML exercises every choice gcloud's printer makes (the API's key order, not sorted). */
const POLICIES: Record<string, Policy> = {
  'a typical policy': {
    admissionWhitelistPatterns: [{namePattern: RUN}, {namePattern: 'gcr.io/google_containers/*'}],
    defaultAdmissionRule: {...DENY_ALL},
    globalPolicyEvaluationMode: 'ENABLE',
  },
  'long descriptions and odd scalars': {
    defaultAdmissionRule: {...DENY_ALL},
    description: `'quoted' ${'lorem ipsum dolor sit amet '.repeat(6)}end`,
    istioServiceIdentityAdmissionRules: {'spiffe://x/ns/y/sa/z': {enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG', evaluationMode: 'ALWAYS_ALLOW'}},
  },
  'rules, attestors and a description that needs quoting, folding and a literal block': {
    admissionWhitelistPatterns: [{namePattern: 'gcr.io/x/*'}],
    clusterAdmissionRules: {'us-central1-a.prod': {enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG', evaluationMode: 'ALWAYS_DENY'}},
    defaultAdmissionRule: {
      enforcementMode: 'DRYRUN_AUDIT_LOG_ONLY', evaluationMode: 'REQUIRE_ATTESTATION', requireAttestationsBy: [`projects/${PROJECT}/attestors/a`],
    },
    description: 'yes: the team\'s "prod" policy — Ünïcode\nsecond line\n',
    globalPolicyEvaluationMode: 'DISABLE',
    kubernetesServiceAccountAdmissionRules: {'ns:sa': {enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG', evaluationMode: 'ALWAYS_ALLOW'}},
  },
}

describe(`e2e: policy export is what gcloud 528 prints${SKIP_NOTE}`, function () {
  this.timeout(120_000)
  const gcloud = GCLOUD
  let dir: string
  let sandbox: CliSandbox | undefined

  before(function () {
    if (!gcloud) this.skip() // gcloud is not on PATH: these tests need the real Google Cloud CLI.
    dir = tempDir('binauthz-e2e-export-')
  })

  afterEach(async () => {
    await sandbox?.stop()
    sandbox = undefined
  })

  after(() => {
    if (dir) rmSync(dir, {force: true, recursive: true})
  })

  const against = (s: CliSandbox) => ({
    dir, gcloud: gcloud ?? 'gcloud', sandboxEnv: s.env, timeoutMs: 90_000,
  })

  for (const [title, policy] of Object.entries(POLICIES)) {
    it(`byte-identical for ${title}`, async () => {
      const s = await startSandboxCli({policy, project: PROJECT, stateDir: join(dir, `state-${Object.keys(POLICIES).indexOf(title)}`)})
      sandbox = s
      const theirs: ExitRun = await gcloudAgainst(against(s), ['container', 'binauthz', 'policy', 'export'])
      expect(theirs.exitCode, theirs.stderr).to.equal(0)
      const ours = await binauthzAgainst(against(s), ['policy', 'export'])
      expect(ours.exitCode, ours.stderr).to.equal(0)
      expect(ours.stdout).to.equal(theirs.stdout)
    })
  }

  it('colours the dry-run diff with FORCE_COLOR, not with NO_COLOR, and not without a terminal', async () => {
    const s = await startSandboxCli({policy: POLICIES['a typical policy'], project: PROJECT, stateDir: join(dir, 'state-colour')})
    sandbox = s
    const args = ['policy', 'allow', '--pattern', 'gcr.io/new-team/*', '--dry-run']
    const withEnv = (extra: Record<string, string>) => binauthzAgainst({...against(s), sandboxEnv: {...s.env, ...extra}}, args)
    const plain = await withEnv({})
    const forced = await withEnv({FORCE_COLOR: '1'})
    const refused = await withEnv({FORCE_COLOR: '1', NO_COLOR: '1'})
    for (const run of [plain, forced, refused]) expect(run.exitCode, run.stderr).to.equal(0)
    expect(plain.stdout).to.include('+ - namePattern: gcr.io/new-team/*').and.not.include('\u001B[')
    expect(forced.stdout).to.include('\u001B[32m+ - namePattern: gcr.io/new-team/*\u001B[0m')
    expect(refused.stdout).to.not.include('\u001B[')
  })
})
