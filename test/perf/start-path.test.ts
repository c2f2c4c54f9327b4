// The one start path (bin/run.js → dist/bundle/binauthz.cjs, commands by oclif's explicit strategy) as users run it:
// every command's --help, the root and topic help, --version and the usage errors print exactly what the CLI's run
// (src/cli/main.ts, oclif's run and error handling) prints over the unbundled dist/src (its `pattern` strategy, in a
// child: what the bundle is made of), so bundling changes nothing a user sees — help requests twice, the second
// answered from bin/run.js's help store, across widths and colour settings sharing one cache directory. Also: a
// checkout without dist/bundle says to build, an unwritable cache directory costs nothing but the cache, and a damaged
// V8 code cache is replaced. `sandbox start` → `sandbox serve` through the bin:
// test/commands/sandbox.test.ts and test/e2e/installed-package.test.ts.
import {expect} from 'chai'
import {
  copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync,
} from 'node:fs'
import {join} from 'node:path'

import {type ProgramRun, runProgram} from '../helpers/e2e.js'
import {tempDir} from '../helpers/tmp.js'
import {
  cleanEnv, ROOT, runCli,
} from './harness.js'

/** Our run (src/cli/main.ts: oclif's run and error handling) over dist/src/commands (pattern strategy), unbundled, in a child with `env`. */
function unbundled(args: string[], env: NodeJS.ProcessEnv): Promise<ProgramRun> {
  const program = `
const [root, ...args] = process.argv.slice(1)
const {readFileSync} = await import('node:fs')
const {run} = await import(root + '/dist/src/cli/main.js')
const pjson = JSON.parse(readFileSync(root + '/package.json', 'utf8'))
await run(args, {root, userPlugins: false, pjson: {...pjson, oclif: {...pjson.oclif, commands: './dist/src/commands'}}})
`
  return runProgram(process.execPath, ['--input-type=module', '-e', program, ROOT.replace(/\/$/, ''), ...args], {cwd: ROOT, env})
}

const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, {hidden?: boolean}>}
const pjson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {oclif: {commands: unknown; topics: Record<string, unknown>}}

/** Progress lines without a terminal start with the time of day, which differs between two runs. */
function untimed(text: string): string {
  return text.replaceAll(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /gm, 'TIME ')
}

describe('perf: the start path (bin/run.js → dist/bundle)', function () {
  this.timeout(120_000)
  let dir: string

  before(() => {
    dir = tempDir('binauthz-start-path-')
  })

  after(() => {
    if (dir) rmSync(dir, {force: true, recursive: true})
  })

  it('the bundle is ASCII, so V8 holds its source as a one-byte string (scripts/bundle.js asciiSource)', () => {
    const text = readFileSync(join(ROOT, 'dist', 'bundle', 'binauthz.cjs'), 'latin1')
    expect(/[^\0-\u007F]/.exec(text)?.index).to.equal(undefined)
  })

  it('package.json: oclif finds the commands by its explicit strategy in the bundle', () => {
    expect(pjson.oclif.commands).to.deep.equal({identifier: 'COMMANDS', strategy: 'explicit', target: './dist/bundle/binauthz.cjs'})
  })

  const cases: [string[], NodeJS.ProcessEnv][] = [
    [['--help'], {}],
    [[], {}],
    [['--help'], {OCLIF_COLUMNS: '57'}],
    [['--help'], {FORCE_COLOR: '3', OCLIF_COLUMNS: '132'}],
    [['--version'], {}],
    ...Object.keys(pjson.oclif.topics).map((topic): [string[], NodeJS.ProcessEnv] => [[topic, '--help'], {}]),
    ...Object.keys(manifest.commands).map((id): [string[], NodeJS.ProcessEnv] => [[...id.split(':'), '--help'], {}]),
    [['deploy', 'run', '--help'], {FORCE_COLOR: '1', OCLIF_COLUMNS: '90'}],
    [['nope'], {}],
    [['deploy', 'run'], {}],
    [['deploy', 'run', 'x', '--project', 'Bad!', '--region', 'us-central1'], {}],
    [['deploy', 'run', 'x', '--project', 'Bad!', '--region', 'us-central1', '--json'], {}],
    [['deploy', 'run', 'x', '--no-such-flag'], {}],
  ]
  for (const [args, extra] of cases) {
    it(`binauthz ${args.join(' ')} ${JSON.stringify(extra)}: what unbundled oclif prints`, async () => {
      const env = cleanEnv(dir, extra)
      const [bundled, plain] = await Promise.all([runCli(args, env), unbundled(args, env)])
      expect(plain.code, `unbundled: ${plain.stderr}`).to.not.equal(null)
      // A help request again: now from the help store (the first run stored it), when oclif's answer was clean.
      const again = args.at(-1) === '--help' ? await runCli(args, env) : bundled
      for (const ran of [bundled, again]) {
        expect(ran.stdout).to.equal(plain.stdout)
        expect(untimed(ran.stderr)).to.equal(untimed(plain.stderr))
        expect(ran.code).to.equal(plain.code)
      }

      if (args.at(-1) === '--help' && args.length > 1 && manifest.commands[args.slice(0, -1).join(':')]) {
        expect(bundled.code, bundled.stderr).to.equal(0)
        expect(bundled.stdout).to.include(`$ binauthz ${args.slice(0, -1).join(' ')}`)
      }
    })
  }

  it('a checkout without dist/bundle: exit 1, naming `npm run build` (no other path to fall back on)', async () => {
    const copy = join(dir, 'unbuilt')
    mkdirSync(join(copy, 'bin'), {recursive: true})
    for (const file of ['package.json', 'run.js', 'supported-node.js']) copyFileSync(join(ROOT, 'bin', file), join(copy, 'bin', file))
    copyFileSync(join(ROOT, 'package.json'), join(copy, 'package.json'))
    const {code, stderr} = await runProgram(process.execPath, [join(copy, 'bin', 'run.js'), '--help'], {cwd: dir, env: cleanEnv(dir)})
    expect(code).to.equal(1)
    expect(stderr).to.include('dist/bundle/binauthz.cjs is missing: run `npm run build`')
  })

  it('an unwritable compile-cache directory changes nothing but the cache', async () => {
    const notADir = join(dir, 'cache-is-a-file')
    writeFileSync(notADir, '')
    const r = await runCli(['--version'], cleanEnv(dir, {XDG_CACHE_HOME: notADir}))
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stderr).to.equal('')
    expect(r.stdout).to.match(/^binauthz-deploy\/\d+\.\d+\.\d+ /)
  })

  it('help requests are stored (one entry per request and setting); other commands are not', async () => {
    const home = join(dir, 'store-home')
    const env = {...cleanEnv(dir), HOME: home}
    const store = join(home, '.cache', 'binauthz', 'help')
    await runCli(['--version'], env)
    await runCli(['deploy', 'run', 'x', '--no-such-flag'], env)
    expect(existsSync(store)).to.equal(false)
    await runCli(['--help'], env)
    await runCli(['--help'], env)
    expect(readdirSync(store)).to.have.length(1)
    await runCli(['--help'], {...env, OCLIF_COLUMNS: '61'})
    await runCli(['policy', 'status', '--help'], env)
    expect(readdirSync(store)).to.have.length(3)
    // NODE_DISABLE_COMPILE_CACHE=1 (Node's switch) turns off both caches.
    const r = await runCli(['deploy', '--help'], {...env, NODE_DISABLE_COMPILE_CACHE: '1'})
    expect(r.code).to.equal(0)
    expect(readdirSync(store)).to.have.length(3)
  })

  it('a damaged V8 code cache is refused by V8 and replaced; the run is unaffected', async () => {
    const home = join(dir, 'code-cache-home')
    const env = {...cleanEnv(dir), HOME: home}
    const cache = join(home, '.cache', 'binauthz')
    const first = await runCli(['--version'], env)
    const entries = readdirSync(cache).filter(name => name.endsWith('.v8'))
    expect(entries).to.have.length(1)
    const file = join(cache, entries[0] ?? 'missing')
    const good = readFileSync(file)
    writeFileSync(file, Buffer.alloc(good.length, 7))
    const second = await runCli(['--version'], env)
    expect(second).to.deep.equal(first)
    expect(readFileSync(file).equals(Buffer.alloc(good.length, 7))).to.equal(false)
  })

  it('a run that fails keeps its code cache apart, until a run of the command succeeds and replaces it', async () => {
    const home = join(dir, 'failed-cache-home')
    const env = {...cleanEnv(dir), HOME: home}
    const cache = join(home, '.cache', 'binauthz')
    const caches = (): string[] => readdirSync(cache).filter(name => name.includes('-policy-status')).map(name => name.replace(/^.*-policy-status/, ''))
    // A usage error compiled only the start and the parse.
    expect((await runCli(['policy', 'status', '--no-such-flag'], env)).code).to.equal(2)
    expect(caches()).to.deep.equal(['.failed.v8'])
    const failed = readFileSync(join(cache, readdirSync(cache).find(name => name.endsWith('-policy-status.failed.v8')) ?? 'missing'))
    // Another failure uses it and leaves it as it is.
    expect((await runCli(['policy', 'status', '--no-such-flag'], env)).code).to.equal(2)
    expect(caches()).to.deep.equal(['.failed.v8'])
    expect(readFileSync(join(cache, readdirSync(cache).find(name => name.endsWith('-policy-status.failed.v8')) ?? 'missing')).equals(failed)).to.equal(true)
    // A success (its help is a run of the command's words that ends with 0) stores the cache of what it compiled.
    const help = await runCli(['policy', 'status', '--help'], {...env, OCLIF_COLUMNS: '73'})
    expect(help.code, help.stderr).to.equal(0)
    expect(caches()).to.deep.equal(['.v8'])
  })
})
