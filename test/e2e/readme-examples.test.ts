// The README's CI examples (GitHub Actions, Cloud Build) run their `binauthz` command lines exactly as documented,
// against the sandbox: with the real gcloud when it is installed, else with the recording fake gcloud (then only
// the argv binauthz hands to gcloud is checked).
import {expect} from 'chai'
import {
  mkdirSync, readFileSync, rmSync, writeFileSync,
} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import type {DeployResult} from '../../src/app/deploy.js'
import type {Policy} from '../../src/policy/types.js'

import {STATE_FILES} from '../../src/sandbox/index.js'
import {runAction} from '../helpers/action-runner.js'
import {type CliRun, runCli} from '../helpers/cli-process.js'
import {createFakeGcloud} from '../helpers/fake-gcloud.js'
import {installedGcloud} from '../helpers/installed-gcloud.js'
import {type CliSandbox, startSandboxCli} from '../helpers/sandbox-cli.js'
import {tempDir} from '../helpers/tmp.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const PROJECT = 'my-project'

/** The `binauthz …` command line of a README section, with shell redirections removed and substitutions applied. */
function documentedCommand(section: string): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const body = readme.split(`### ${section}\n`)[1]?.split('\n#')[0] ?? ''
  const lines = body.split('\n').map(line => /^\s*(?:- run: )?binauthz (.*)$/.exec(line)?.[1]).filter(l => l !== undefined)
  expect(lines, `one binauthz command in README section "${section}"`).to.have.length(1)
  const line = (lines[0] ?? '').replace(/\s*>\s*\S+\s*$/, '').replaceAll('$PROJECT_ID', PROJECT)
  expect(line, 'documented commands use no shell quoting').not.to.match(/["'`\\]/)
  return line.split(/\s+/)
}

/** The `with:` inputs of the README step that uses this repository's action (block scalars `|` included). */
function documentedActionInputs(): Record<string, string> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const lines = readme.split('\n')
  const uses = lines.findIndex(line => /uses: binauthz-deploy\/binauthz-deploy@/.test(line))
  expect(uses, 'a README step uses the action').to.be.greaterThan(-1)
  const inputs: Record<string, string> = {}
  let block: string | undefined
  let blockIndent = 0
  for (const line of lines.slice(uses + 1)) {
    if (/^\s*- /.test(line) || line.startsWith('```')) break
    const indent = line.length - line.trimStart().length
    if (block !== undefined && (indent > blockIndent || line.trim() === '')) {
      inputs[block] = `${inputs[block] ?? ''}${line.trim()}\n`
      continue
    }

    block = undefined
    const entry = /^(\s*)(\w+): (.*)$/.exec(line)
    if (!entry) continue
    const [, spaces = '', key = '', value = ''] = entry
    if (value === '|') {
      block = key
      blockIndent = spaces.length
      inputs[key] = ''
    } else {
      inputs[key] = value.replace(/\s+#.*$/, '')
    }
  }

  return inputs
}

const REAL_GCLOUD = installedGcloud() !== undefined

function run(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<CliRun> {
  return runCli(args, {cwd, env})
}

describe(`README CI examples run as documented (${REAL_GCLOUD ? 'real gcloud' : 'fake gcloud: gcloud is not installed'})`, function () {
  this.timeout(180_000)
  let dir: string
  let sandbox: CliSandbox
  let fake: ReturnType<typeof createFakeGcloud> | undefined

  beforeEach(async () => {
    dir = tempDir('binauthz-readme-')
    const source = join(dir, 'src')
    mkdirSync(source)
    writeFileSync(join(source, 'package.json'), JSON.stringify({main: 'index.js', name: 'hello', version: '1.0.0'}))
    writeFileSync(join(source, 'index.js'), "exports.handler = (req, res) => res.send('hello')\n")
    sandbox = await startSandboxCli({policy: 'block-all', project: PROJECT, stateDir: join(dir, 'state')})
    fake = REAL_GCLOUD ? undefined : createFakeGcloud({})
  })

  afterEach(async () => {
    await sandbox.stop()
    fake?.cleanup()
    rmSync(dir, {force: true, recursive: true})
  })

  function storedPolicy(): Policy {
    return sandbox.state.readJson<Policy>(STATE_FILES.policy, {})
  }

  function env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      ...sandbox.env,
      BINAUTHZ_CONFIG_DIR: join(dir, 'config'),
      BINAUTHZ_DATA_DIR: join(dir, 'data'),
      CI: 'true',
      HOME: dir,
      ...(fake ? {BINAUTHZ_GCLOUD: fake.bin} : {}),
    }
  }

  it('GitHub Actions: the deploy function step allowlists gcf-artifacts and deploys, JSON on stdout', async () => {
    const args = documentedCommand('GitHub Actions')
    const result = await run(args, env(), join(dir, 'src'))
    expect(result.code, result.stderr).to.equal(0)
    const json = JSON.parse(result.stdout) as DeployResult
    expect(json.patterns.added).to.deep.equal([`europe-west1-docker.pkg.dev/${PROJECT}/gcf-artifacts/**`])
    expect(json.deploys.map(d => d.exitCode)).to.deep.equal([0])
    expect(storedPolicy().admissionWhitelistPatterns).to.deep.equal([
      {namePattern: `europe-west1-docker.pkg.dev/${PROJECT}/gcf-artifacts/**`},
    ])
    if (fake) {
      expect(await fake.calls()).to.deep.equal([[
        'functions',
        'deploy',
        'my-fn',
        '--gen2',
        `--project=${PROJECT}`,
        '--region=europe-west1',
        '--runtime',
        'nodejs24',
        '--source=.',
        '--entry-point',
        'handler',
        '--trigger-http',
        '--binary-authorization=default',
      ]])
    }
  })

  it('GitHub Actions: the step using this action, with its documented inputs, allowlists and deploys', async () => {
    const given = documentedActionInputs()
    expect(given.kind).to.equal('function')
    const ran = await runAction({
      actionPath: ROOT, env: env(), given, timeoutMs: 170_000, workdir: join(dir, 'src'),
    })
    expect(ran.steps.map(step => step.exitCode), ran.steps.map(step => step.stderr).join('\n')).to.deep.equal([0, 0])
    expect(JSON.parse(ran.outputs.patterns_added ?? '')).to.deep.equal([`europe-west1-docker.pkg.dev/${PROJECT}/gcf-artifacts/**`])
    expect(JSON.parse(ran.outputs.exit_codes ?? '')).to.deep.equal({'europe-west1': 0})
    expect(storedPolicy().admissionWhitelistPatterns).to.deep.equal([{namePattern: `europe-west1-docker.pkg.dev/${PROJECT}/gcf-artifacts/**`}])
  })

  it('Cloud Build: the deploy run step allowlists cloud-run-source-deploy and deploys', async () => {
    const args = documentedCommand('Cloud Build')
    const result = await run(args, env(), join(dir, 'src'))
    expect(result.code, result.stderr).to.equal(0)
    expect(storedPolicy().admissionWhitelistPatterns).to.deep.equal([
      {namePattern: `us-central1-docker.pkg.dev/${PROJECT}/cloud-run-source-deploy/**`},
    ])
    if (fake) {
      expect(await fake.calls()).to.deep.equal([[
        'run',
        'deploy',
        'my-fn',
        `--project=${PROJECT}`,
        '--region=us-central1',
        '--source=.',
        '--function',
        'handler',
        '--binary-authorization=default',
      ]])
    }
  })
})
