// The sandbox's gRPC transport (@grpc/grpc-js, @grpc/proto-loader: ~600 KiB of vendor files, src/sandbox/grpc.ts)
// is loaded only when a sandbox serves a worker-pool tunnel, never on the CLI's start path: `--help` and a deploy
// that stops before gcloud do not import it. Observed with a module hook in the child (Node's module.register), which
// writes every module URL it resolves to a file.
import {expect} from 'chai'
import {readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

import {runCli} from '../helpers/cli-process.js'
import {runProgram} from '../helpers/e2e.js'
import {tempDir} from '../helpers/tmp.js'

describe('start path: the gRPC transport stays unloaded', function () {
  this.timeout(120_000)
  let dir: string
  let log: string
  let env: NodeJS.ProcessEnv

  before(() => {
    dir = tempDir('binauthz-lazy-grpc-')
    log = join(dir, 'resolved.txt')
    const hooks = join(dir, 'hooks.mjs')
    writeFileSync(hooks, [
      "import {appendFileSync} from 'node:fs'",
      'export async function resolve(specifier, context, next) {',
      '  const resolved = await next(specifier, context)',
      `  appendFileSync(${JSON.stringify(log)}, resolved.url + '\\n')`,
      '  return resolved',
      '}',
    ].join('\n'))
    const register = join(dir, 'register.mjs')
    writeFileSync(register, `import {register} from 'node:module'\nregister(${JSON.stringify(pathToFileURL(hooks).href)})\n`)
    env = {
      BINAUTHZ_CONFIG_DIR: join(dir, 'config'),
      BINAUTHZ_DATA_DIR: join(dir, 'data'),
      CLOUDSDK_CONFIG: join(dir, 'gcloud'),
      HOME: dir,
      NODE_OPTIONS: `--import=${pathToFileURL(register).href}`,
      PATH: process.env.PATH,
    }
  })

  after(() => {
    rmSync(dir, {force: true, recursive: true})
  })

  const resolved = (): string[] => readFileSync(log, 'utf8').split('\n').filter(Boolean)

  it('the hook sees a dynamic import of the vendored transport (so the checks below can fail)', async () => {
    rmSync(log, {force: true})
    const vendor = fileURLToPath(new URL('../../bundle/vendor/@grpc+grpc-js.js', import.meta.url))
    const ran = await runProgram(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(pathToFileURL(vendor).href)})`], {cwd: dir, env, timeoutMs: 60_000})
    expect(ran.code, ran.stderr).to.equal(0)
    expect(resolved().filter(url => /grpc|proto-loader/.test(url))).to.include(pathToFileURL(vendor).href)
  })

  for (const args of [['--help'], ['deploy', 'worker-pool', '--help'], ['deploy', 'worker-pool', 'pool1', '--project', 'p', '--region', 'us-central1', '--dry-run', '--', '--source=.']]) {
    it(`binauthz ${args.join(' ')}`, async () => {
      rmSync(log, {force: true})
      await runCli(args, {cwd: dir, env, timeoutMs: 60_000})
      const urls = resolved()
      // The hook saw the CLI's own modules (so it did run), and no gRPC one.
      expect(urls.some(url => url.endsWith('/bin/run.js'))).to.equal(true)
      expect(urls.filter(url => /grpc|proto-loader/.test(url))).to.deep.equal([])
    })
  }
})
