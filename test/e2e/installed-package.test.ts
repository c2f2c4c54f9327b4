// What ships: `npm pack`, then `npm install --global` of the tarball into a temporary prefix, then the INSTALLED
// `binauthz` (its own bin, its own node_modules, on its default start path) through a user's whole session: help,
// version, the sandbox, deploys through the real gcloud (the recording fake gcloud where none is installed, as the
// titles say), the policy commands, non-interactive setup, and stopping the sandbox.
import {expect} from 'chai'
import {
  existsSync, mkdirSync, readFileSync, rmSync,
} from 'node:fs'
import {homedir} from 'node:os'
import {delimiter, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {type ProgramRun, runProgram, writeHelloSource} from '../helpers/e2e.js'
import {createFakeGcloud, type FakeGcloud} from '../helpers/fake-gcloud.js'
import {installedGcloud} from '../helpers/installed-gcloud.js'
import {tempDir} from '../helpers/tmp.js'

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))
const REAL_GCLOUD = installedGcloud()
const WITH = REAL_GCLOUD ? 'the real gcloud' : 'the recording fake gcloud (no gcloud installed)'

interface PackResult {
  entryCount: number
  filename: string
  files: {path: string}[]
  size: number
  unpackedSize: number
}

describe(`e2e: the packed and installed package, with ${WITH}`, function () {
  this.timeout(600_000)
  let dir: string
  let packed: PackResult
  let binauthz: string
  let env: NodeJS.ProcessEnv
  let fake: FakeGcloud | undefined
  let stateDir: string
  let sandboxEnv: Record<string, string>
  let source: string

  before(async () => {
    dir = tempDir('binauthz-installed-')
    const npmEnv = {
      ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false',
    }
    // --ignore-scripts: the build this suite runs on is what gets packed (prepack's `npm run build` would replace dist/
    // under the running suite); `npm publish --dry-run` in .ci/run runs prepack.
    const pack = await runProgram('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], {cwd: ROOT, env: npmEnv})
    expect(pack.code, pack.stderr).to.equal(0)
    packed = (JSON.parse(pack.stdout) as PackResult[])[0] as PackResult
    // The figures a reviewer wants from a package change, printed with the test run.
    console.log(`      ${packed.filename}: ${packed.entryCount} files, ${(packed.size / 1024).toFixed(0)} KiB packed, ${(packed.unpackedSize / 1024).toFixed(0)} KiB unpacked`)
    const prefix = join(dir, 'prefix')
    // The npm cache of this machine (filled by `npm ci`) serves the dependencies; the registry only for what it lacks.
    const install = await runProgram('npm', ['install', '--global', '--prefix', prefix, '--prefer-offline', join(dir, packed.filename)], {
      cwd: dir, env: {...npmEnv, npm_config_cache: process.env.npm_config_cache ?? join(homedir(), '.npm')}, timeoutMs: 300_000,
    })
    expect(install.code, install.stderr).to.equal(0)
    binauthz = join(prefix, 'bin', 'binauthz')
    expect(existsSync(binauthz), 'npm linked the bin').to.equal(true)

    fake = REAL_GCLOUD ? undefined : createFakeGcloud({stderr: 'Service [x] has been deployed and is serving 100 percent of traffic.\n'})
    const home = join(dir, 'home')
    mkdirSync(home)
    env = {
      BINAUTHZ_CONFIG_DIR: join(dir, 'config'),
      BINAUTHZ_DATA_DIR: join(dir, 'data'),
      CI: 'true',
      HOME: home,
      NO_COLOR: '1',
      PATH: [join(prefix, 'bin'), process.env.PATH].join(delimiter),
      ...(fake ? {BINAUTHZ_GCLOUD: fake.bin} : (REAL_GCLOUD ? {BINAUTHZ_GCLOUD: REAL_GCLOUD} : {})),
    }
    stateDir = join(dir, 'sandbox')
    source = writeHelloSource(dir, 'hello')
  })

  after(async () => {
    if (binauthz && stateDir) await runProgram(binauthz, ['sandbox', 'stop', '--state-dir', stateDir], {cwd: dir, env})
    fake?.cleanup()
    if (dir) rmSync(dir, {force: true, recursive: true})
  })

  const cli = (args: string[], extra: NodeJS.ProcessEnv = {}): Promise<ProgramRun> => runProgram(binauthz, args, {cwd: dir, env: {...env, ...extra}})

  it('the tarball holds what it needs and nothing else', () => {
    const paths = packed.files.map(f => f.path)
    expect(paths).to.include.members([
      'LICENSE', 'README.md', 'bin/package.json', 'bin/run.js', 'oclif.manifest.json', 'package.json', 'dist/bundle/binauthz.cjs', 'dist/bundle/vendor/execa.js', 'dist/bundle/vendor/listr2.js',
    ])
    // The sandbox's Cloud Run v2 gRPC endpoint (worker pools): its transport and Google's protos, beside the bundle.
    expect(paths).to.include.members(['dist/bundle/vendor/@grpc+grpc-js.js', 'dist/bundle/vendor/@grpc+proto-loader.js', 'dist/bundle/protos/google/cloud/run/v2/worker_pool.proto'])
    expect(paths, 'the Node.js check, the help store\'s hash and the completion scripts').to.include.members(['bin/supported-node.js', 'bin/sha256.js', ...['bash', 'fish', 'zsh'].map(shell => `dist/bundle/completion/binauthz.${shell}`)])
    // The README's install section gives this very tarball's command for today, and the registry's for later.
    const install = readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n## Install\n')[1]?.split('\n## ')[0] ?? ''
    expect(install).to.include('npm pack').and.include(`npm install -g ./${packed.filename}`).and.include('npm install -g binauthz-deploy')
    // The bundle is all the start path runs: no unbundled copy of our code ships.
    expect(paths.filter(p => p.startsWith('dist/') && !p.startsWith('dist/bundle/'))).to.deep.equal([])
    expect(paths, 'no development entry (bin/dev.js needs ts-node)').not.to.include('bin/dev.js')
    expect(paths.filter(p => p.startsWith('dist/test/') || p.startsWith('src/') || p.startsWith('test/') || /\.ts$/.test(p))).to.deep.equal([])
    const pjson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {bugs?: {url?: string}; homepage?: string; license?: string; repository?: {url?: string}}
    expect(pjson.license).to.equal('Apache-2.0')
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).to.include('Apache License')
    expect(pjson.repository?.url).to.be.a('string')
    expect(pjson.bugs?.url).to.be.a('string')
    expect(pjson.homepage).to.be.a('string')
  })

  it('--help, --version and every command\'s --help', async () => {
    const help = await cli(['--help'])
    expect(help.code, help.stderr).to.equal(0)
    expect(help.stdout).to.include('USAGE')
    const version = await cli(['--version'])
    expect(version.code).to.equal(0)
    expect(version.stdout).to.match(/^binauthz-deploy\/0\.1\.0 /)
    const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, unknown>}
    const ids = Object.keys(manifest.commands)
    expect(ids.length).to.be.greaterThan(10)
    for (const id of ids) {
      const words = id.split(':')
      const shown = await cli([...words, '--help'])
      expect(shown.code, `${words.join(' ')} --help: ${shown.stderr}`).to.equal(0)
      expect(shown.stdout, words.join(' ')).to.include(`$ binauthz ${words.join(' ')}`)
      expect(shown.stderr, words.join(' ')).to.equal('')
    }
  })

  it(`sandbox start / env, deploy run, worker-pool (real gcloud only) and function through ${WITH}, the policy commands, setup, status, stop`, async () => {
    const start = await cli(['sandbox', 'start', '--policy', 'block-all', '--state-dir', stateDir])
    expect(start.code, start.stderr).to.equal(0)
    expect(start.stdout).to.match(/Sandbox started at http:\/\/127\.0\.0\.1:\d+\//)
    const shown = await cli(['sandbox', 'env', '--state-dir', stateDir, '--json'])
    expect(shown.code, shown.stderr).to.equal(0)
    sandboxEnv = (JSON.parse(shown.stdout) as {env: Record<string, string>}).env
    const inSandbox = (args: string[]) => cli(args, sandboxEnv)
    const project = sandboxEnv.CLOUDSDK_CORE_PROJECT
    const region = 'us-central1'

    if (REAL_GCLOUD) {
      // A plain gcloud deploy the policy blocks: `sandbox status` must tell it from the healthy ones below.
      const blocked = await runProgram(REAL_GCLOUD, [
        'run', 'deploy', 'blocked', '--image=us-docker.pkg.dev/cloudrun/container/hello', `--region=${region}`, '--binary-authorization=default',
      ], {cwd: dir, env: {...env, ...sandboxEnv}})
      expect(blocked.code, blocked.stderr).to.equal(1)
    }

    const deployRun = await inSandbox(['deploy', 'run', 'hello', '--region', region, '--yes', '--', `--source=${source}`, '--function=handler'])
    expect(deployRun.code, deployRun.stderr).to.equal(0)
    const deployFunction = await inSandbox([
      'deploy', 'function', 'hello-fn', '--region', 'europe-west1', '--yes', '--', '--runtime=nodejs22', `--source=${source}`, '--entry-point=handler', '--trigger-http',
    ])
    expect(deployFunction.code, deployFunction.stderr).to.equal(0)
    if (REAL_GCLOUD) {
      // Worker pools: gcloud 528 speaks gRPC to Cloud Run v2, served by the installed sandbox (vendored transport and protos).
      const deployPool = await inSandbox(['deploy', 'worker-pool', 'hello-pool', '--region', region, '--yes', '--', `--source=${source}`])
      expect(deployPool.code, deployPool.stderr).to.equal(0)
    }

    if (fake) {
      const calls = await fake.calls()
      expect(calls.map(c => c.slice(0, 2).join(' '))).to.include.members(['run deploy', 'functions deploy'])
    }

    const status = await inSandbox(['policy', 'status', '--region', region, '--json'])
    expect(status.code, status.stderr).to.equal(0)
    expect(status.stdout).to.include(`${region}-docker.pkg.dev/${project}/cloud-run-source-deploy/**`)
    expect(status.stdout).to.include(`europe-west1-docker.pkg.dev/${project}/gcf-artifacts/**`)

    const extra = `${region}-docker.pkg.dev/${project}/extra/**`
    const allow = await inSandbox(['policy', 'allow', '--pattern', extra, '--yes'])
    expect(allow.code, allow.stderr).to.equal(0)
    const exported = await inSandbox(['policy', 'export'])
    expect(exported.code, exported.stderr).to.equal(0)
    expect(exported.stdout).to.include(extra)
    const revoke = await inSandbox(['policy', 'revoke', '--pattern', extra, '--yes'])
    expect(revoke.code, revoke.stderr).to.equal(0)
    expect((await inSandbox(['policy', 'export'])).stdout).not.to.include(extra)
    const backups = await inSandbox(['policy', 'restore', '--list'])
    expect(backups.code, backups.stderr).to.equal(0)
    expect(backups.stdout).to.include(project)

    // Covered already (the deploys above allowlisted it): ready, exit 0.
    const setup = await inSandbox(['setup', '--region', region, '--kind', 'run', '--no-apply', '--no-save'])
    expect(setup.code, setup.stdout + setup.stderr).to.equal(0)

    const sandboxStatus = await inSandbox(['sandbox', 'status', '--json'])
    expect(sandboxStatus.code, sandboxStatus.stderr).to.equal(0)
    const held = JSON.parse(sandboxStatus.stdout) as {policy: {patterns: string[]}; running: boolean}
    expect(held.running).to.equal(true)
    expect(held.policy.patterns).to.include(`${region}-docker.pkg.dev/${project}/cloud-run-source-deploy/**`)
    if (REAL_GCLOUD) {
      const shownStatus = (await inSandbox(['sandbox', 'status'])).stdout
      expect(shownStatus).to.match(/ready {3}us-central1\/hello\n/)
      expect(shownStatus).to.match(/ready {3}europe-west1\/hello-fn\n/)
      expect(shownStatus).to.match(/Worker pools:\n {2}ready {3}us-central1\/hello-pool\n/)
      expect(shownStatus).to.match(/FAILED {2}us-central1\/blocked: .*Binary Authorization/)
    }

    const stop = await inSandbox(['sandbox', 'stop'])
    expect(stop.code, stop.stderr).to.equal(0)
    expect(stop.stdout).to.include('Sandbox stopped')
    expect((await inSandbox(['sandbox', 'status', '--json'])).stdout).to.include('"running": false')
  })
})
