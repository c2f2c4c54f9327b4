// End to end: gcloud reads its installation's properties file (SDK_ROOT/properties) under the active configuration
// (named_configs.py ActivePropertiesFile.Load), and so does binauthz. The REAL gcloud 528 runs from a copy of its SDK
// whose files are hard links (cheap, and gcloud finds its root by realpath: core/config.py Paths.sdk_root), with a
// properties file of the test's own; the project, the run region and the Binary Authorization endpoint are set only
// there. Skipped, with the reason shown, without gcloud or where the SDK cannot be hard-linked (another filesystem).
import {expect} from 'chai'
import {execFileSync} from 'node:child_process'
import {
  appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync,
} from 'node:fs'
import {join} from 'node:path'

import {sdkRootOf} from '../../src/auth/gcloud-config.js'
import {STATE_FILES} from '../../src/sandbox/index.js'
import {
  allowlistOf, binauthzAgainst, denyAllBut, type ExitRun, gcloudAgainst, writeHelloSource,
} from '../helpers/e2e.js'
import {installedGcloud} from '../helpers/installed-gcloud.js'
import {type CliSandbox, startSandboxCli} from '../helpers/sandbox-cli.js'
import {tempDir} from '../helpers/tmp.js'

const GCLOUD = installedGcloud()
const SDK_ROOT = GCLOUD === undefined ? undefined : sdkRootOf(GCLOUD)
const PROJECT = 'install-project'

/** A hard-linked copy of the SDK at `root` in `into`, or the reason there cannot be one. */
function linkedSdk(root: string, into: string): string | undefined {
  try {
    execFileSync('cp', ['-al', `${root}/.`, into], {stdio: 'pipe'})
  } catch (error) {
    return `cannot hard-link the SDK (${String((error as Error).message).split('\n')[0]})`
  }

  return undefined
}

describe(`e2e: gcloud's installation properties apply to binauthz as to gcloud${GCLOUD && SDK_ROOT ? '' : ' (skipped: no installed gcloud SDK)'}`, function () {
  this.timeout(300_000)
  let dir: string
  let sdk: string
  let source: string
  let sandbox: CliSandbox
  let env: Record<string, string>

  before(async function () {
    if (!GCLOUD || !SDK_ROOT) this.skip() // needs the real gcloud and its SDK directory
    dir = tempDir('binauthz-e2e-installation-')
    sdk = join(dir, 'sdk')
    mkdirSync(sdk)
    const why = linkedSdk(SDK_ROOT, sdk)
    if (why !== undefined) {
      console.log(`      (skipped: ${why})`)
      this.skip()
    }

    source = writeHelloSource(dir)
    sandbox = await startSandboxCli({policy: denyAllBut([]), project: PROJECT, stateDir: join(dir, 'state')})
    // Project and Binary Authorization endpoint only in the installation's file: replace the hard link, never write
    // through it (that would change the real SDK's file).
    rmSync(join(sdk, 'properties'), {force: true})
    writeFileSync(join(sdk, 'properties'), [
      '[core]',
      `project = ${PROJECT}`,
      '[run]',
      'region = europe-west1',
      '[api_endpoint_overrides]',
      `binaryauthorization = ${sandbox.env.CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION}`,
      '',
    ].join('\n'))
    // ...and neither in the environment nor in the configuration file the sandbox wrote.
    const {CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION: _endpoint, CLOUDSDK_CORE_PROJECT: _project, ...rest} = sandbox.env
    env = rest
    const configFile = join(env.CLOUDSDK_CONFIG!, 'configurations', 'config_default')
    writeFileSync(configFile, readFileSync(configFile, 'utf8').replaceAll(/^(project|binaryauthorization) = .*\n/gm, ''))
  })

  after(async () => {
    await sandbox?.stop()
    if (dir) rmSync(dir, {force: true, recursive: true})
  })

  const gcloudBin = (): string => join(sdk, 'bin', 'gcloud')
  const binauthz = (args: string[]): Promise<ExitRun> => binauthzAgainst({
    dir, gcloud: gcloudBin(), sandboxEnv: env, timeoutMs: 240_000,
  }, args)

  it('gcloud itself takes the project from the copy\'s installation properties', async () => {
    const got = await gcloudAgainst({
      dir, gcloud: gcloudBin(), sandboxEnv: env, timeoutMs: 60_000,
    }, ['config', 'get', 'core/project'])
    expect(got.stdout.trim(), got.stderr).to.equal(PROJECT)
  })

  it('deploy run writes that project\'s policy, through that endpoint, for that region, and gcloud deploys there', async () => {
    const got = await binauthz(['deploy', 'run', 'hello', '--yes', '--json', '--', `--source=${source}`])
    expect(got.exitCode, got.stderr).to.equal(0)
    const result = JSON.parse(got.stdout) as {project: string; projectSource: string; regions: string[]}
    expect(result.project).to.equal(PROJECT)
    expect(result.projectSource).to.include('gcloud installation properties')
    expect(result.regions).to.deep.equal(['europe-west1'])
    expect(allowlistOf(sandbox.state)).to.deep.equal([`europe-west1-docker.pkg.dev/${PROJECT}/cloud-run-source-deploy/**`])
    expect(Object.keys(sandbox.state.readMap(STATE_FILES.services))).to.include('europe-west1/hello')
  })

  it('the active configuration still beats the installation (run/region set in both)', async () => {
    appendFileSync(join(env.CLOUDSDK_CONFIG!, 'configurations', 'config_default'), '\n[run]\nregion = us-east1\n')
    const got = await binauthz(['deploy', 'run', 'hello', '--yes', '--json', '--', `--source=${source}`])
    expect(got.exitCode, got.stderr).to.equal(0)
    expect((JSON.parse(got.stdout) as {regions: string[]}).regions).to.deep.equal(['us-east1'])
    expect(allowlistOf(sandbox.state)).to.include(`us-east1-docker.pkg.dev/${PROJECT}/cloud-run-source-deploy/**`)
    expect(Object.keys(sandbox.state.readMap(STATE_FILES.services))).to.include('us-east1/hello')
  })
})
