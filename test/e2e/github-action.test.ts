// The GitHub Action (action.yml) run the way the runner runs a composite action: each `run:` step with its INPUT_*
// variables, a GITHUB_OUTPUT file and GITHUB_ACTION_PATH pointing at this repository, against the sandbox with the
// real gcloud 528 (the job's gcloud credentials are the sandbox's, as google-github-actions/auth and setup-gcloud would
// have set them). Checks the outputs against what the sandbox stored. Skipped when gcloud is not installed.
import {expect} from 'chai'
import {rmSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import type {DeployResult} from '../../src/app/deploy.js'

import {parseGithubOutput, readAction, runAction} from '../helpers/action-runner.js'
import {
  allowlistOf, denyAllBut, withoutCloudsdk, writeHelloSource,
} from '../helpers/e2e.js'
import {installedGcloud, skipNoteFor} from '../helpers/installed-gcloud.js'
import {type CliSandbox, startSandboxCli} from '../helpers/sandbox-cli.js'
import {tempDir} from '../helpers/tmp.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const GCLOUD = installedGcloud()
const SKIP_NOTE = skipNoteFor(GCLOUD)
const PROJECT = 'sandbox-project'
const OTHER = 'gcr.io/other-team/*'

describe('the GitHub Action', () => {
  describe('action.yml', () => {
    it('declares a composite action on Node 24 whose steps pass every input through env, never the script', () => {
      const action = readAction(join(ROOT, 'action.yml'))
      expect(action.steps.map(s => s.uses ?? s.run)).to.deep.equal([
        'actions/setup-node@v6', 'node "$GITHUB_ACTION_PATH/action/install.mjs"', 'node "$GITHUB_ACTION_PATH/action/deploy.mjs"',
      ])
      for (const step of action.steps) expect(step.run ?? '').not.to.include('${{')
      expect(Object.keys(action.inputs).sort()).to.deep.equal(['deadline', 'dry_run', 'flags', 'kind', 'name', 'no_patch', 'project_id', 'regions', 'version'])
    })

    it('reads GITHUB_OUTPUT in both forms', () => {
      expect(parseGithubOutput('a=1\nb<<EOF_x\nline 1\nline 2\nEOF_x\n')).to.deep.equal({a: '1', b: 'line 1\nline 2'})
    })
  })

  describe(`e2e: the GitHub Action against the sandbox with the real gcloud${SKIP_NOTE}`, function () {
    this.timeout(240_000)
    let dir: string
    let sandbox: CliSandbox | undefined

    before(function () {
      if (!GCLOUD) this.skip() // gcloud is not on PATH: these tests need the real Google Cloud CLI.
    })

    beforeEach(() => {
      dir = tempDir('binauthz-action-')
    })

    afterEach(async () => {
      await sandbox?.stop()
      sandbox = undefined
      if (dir) rmSync(dir, {force: true, recursive: true})
    })

    async function start(patterns: string[]): Promise<CliSandbox> {
      sandbox = await startSandboxCli({policy: denyAllBut(patterns), project: PROJECT, stateDir: join(dir, 'state')})
      return sandbox
    }

    function jobEnv(s: CliSandbox): NodeJS.ProcessEnv {
      return {
        ...withoutCloudsdk(), ...s.env, BINAUTHZ_CONFIG_DIR: join(dir, 'config'), BINAUTHZ_DATA_DIR: join(dir, 'data'), BINAUTHZ_GCLOUD: GCLOUD ?? 'gcloud', HOME: dir,
      }
    }

    /** The action as a workflow runs it, with `given` as its inputs, against the sandbox `s` (a deploy's time bound). */
    function deployWith(s: CliSandbox, given: Record<string, string>): ReturnType<typeof runAction> {
      return runAction({
        actionPath: ROOT, env: jobEnv(s), given, timeoutMs: 200_000, workdir: dir,
      })
    }

    it('deploys a Cloud Run function: adds the entry, and outputs the patterns, etags, backup, exit codes and URL', async () => {
      const s = await start([OTHER])
      const source = writeHelloSource(dir)
      const run = await deployWith(s, {
        // One gcloud argument per line; the source path is a single argument whatever it contains.
        flags: `--source\n${source}\n--function\nhandler\n`, kind: 'run', name: 'svc-action', project_id: PROJECT, regions: 'us-central1',
      })
      expect(run.skipped).to.deep.equal(['actions/setup-node@v6'])
      expect(run.steps.map(step => step.exitCode), run.steps.map(step => step.stderr).join('\n')).to.deep.equal([0, 0])
      const {outputs} = run
      const pattern = `us-central1-docker.pkg.dev/${PROJECT}/cloud-run-source-deploy/**`
      expect(JSON.parse(outputs.patterns_added ?? '')).to.deep.equal([pattern])
      expect(allowlistOf(s.state)).to.deep.equal([OTHER, pattern])
      expect(outputs.policy_written).to.equal('true')
      const stored = s.state.readJson<{etag?: string}>('policy.json', {})
      expect(outputs.etag_after).to.equal(stored.etag)
      expect(outputs.etag_before).to.not.equal('').and.not.equal(outputs.etag_after)
      expect(outputs.backup_file).to.match(/\.json$/).and.include(join(dir, 'data'))
      expect(JSON.parse(outputs.exit_codes ?? '')).to.deep.equal({'us-central1': 0})
      expect(outputs.url, run.steps[1]?.stderr).to.match(/^https?:\/\/\S+$/)
      expect(JSON.parse(outputs.urls ?? '')).to.deep.equal({'us-central1': outputs.url})
      expect(outputs.exit_code).to.equal('0')
      const result = JSON.parse(outputs.result ?? '') as DeployResult
      expect(result.deploys[0]?.argv).to.include('--binary-authorization=default')
      expect(result.deploys[0]?.argv.some(arg => arg.endsWith(source))).to.equal(true)
    })

    it('no_patch: a missing entry stops before any write, the step fails with the result in the outputs', async () => {
      const s = await start([OTHER])
      const source = writeHelloSource(dir)
      const run = await deployWith(s, {
        flags: `--source ${source} --function handler`, kind: 'run', name: 'svc-nopatch', no_patch: 'true', project_id: PROJECT, regions: 'us-central1',
      })
      const deploy = run.steps[1]
      expect(deploy?.exitCode).to.not.equal(0)
      expect(allowlistOf(s.state)).to.deep.equal([OTHER])
      expect(run.outputs.policy_written).to.equal('false')
      expect(run.outputs.exit_code).to.equal(String(deploy?.exitCode))
      expect((JSON.parse(run.outputs.result ?? '{}') as {error?: {code: string}}).error?.code).to.be.a('string')
    })

    it('refuses an input that is not true/false before running anything', async () => {
      const s = await start([OTHER])
      const run = await runAction({
        actionPath: ROOT, env: jobEnv(s), given: {dry_run: 'yes please', kind: 'run', name: 'svc'}, timeoutMs: 60_000, workdir: dir,
      })
      expect(run.steps[1]?.exitCode).to.equal(2)
      expect(run.steps[1]?.stderr).to.include('Input dry_run must be true or false')
      expect(s.state.requests()).to.have.length(0)
    })
  })
})
