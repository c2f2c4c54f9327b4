// The one start path (bin/run.js → dist/bundle/binauthz.js, commands by oclif's explicit strategy) as users run it:
// every command's --help, the root and topic help, --version and the usage errors print exactly what the CLI's run
// (src/cli/main.ts, oclif's run and error handling) prints over the unbundled dist/src (its `pattern` strategy, in a child: what the bundle is made
// of), so bundling changes nothing a user sees. Also: a checkout without dist/bundle says to build, and an
// unwritable compile-cache directory costs nothing but the cache. `sandbox start` → `sandbox serve` through the bin:
// test/commands/sandbox.test.ts and test/e2e/installed-package.test.ts.
import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {once} from 'node:events'
import {
  copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync,
} from 'node:fs'
import {join} from 'node:path'

import {tempDir} from '../helpers/tmp.js'
import {
  cleanEnv, ROOT, runCli,
} from './harness.js'

interface Ran {code: null | number; stderr: string; stdout: string}

/** Our run (src/cli/main.ts: oclif's run and error handling) over dist/src/commands (pattern strategy), unbundled, in a child with `env`. */
async function unbundled(args: string[], env: NodeJS.ProcessEnv): Promise<Ran> {
  const program = `
const [root, ...args] = process.argv.slice(1)
const {readFileSync} = await import('node:fs')
const {run} = await import(root + '/dist/src/cli/main.js')
const pjson = JSON.parse(readFileSync(root + '/package.json', 'utf8'))
await run(args, {root, userPlugins: false, pjson: {...pjson, oclif: {...pjson.oclif, commands: './dist/src/commands'}}})
`
  const child = spawn(process.execPath, ['--input-type=module', '-e', program, ROOT.replace(/\/$/, ''), ...args], {
    cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString('utf8')
  })
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString('utf8')
  })
  const [code] = (await once(child, 'close')) as [null | number]
  return {code, stderr, stdout}
}

const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, {hidden?: boolean}>}
const pjson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {oclif: {commands: unknown; topics: Record<string, unknown>}}

describe('perf: the start path (bin/run.js → dist/bundle)', function () {
  this.timeout(120_000)
  let dir: string

  before(() => {
    dir = tempDir('binauthz-start-path-')
  })

  after(() => {
    if (dir) rmSync(dir, {force: true, recursive: true})
  })

  it('package.json: oclif finds the commands by its explicit strategy in the bundle', () => {
    expect(pjson.oclif.commands).to.deep.equal({identifier: 'COMMANDS', strategy: 'explicit', target: './dist/bundle/binauthz.js'})
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
      expect(bundled.stdout).to.equal(plain.stdout)
      expect(bundled.stderr).to.equal(plain.stderr)
      expect(bundled.code).to.equal(plain.code)
      if (args.at(-1) === '--help' && args.length > 1 && manifest.commands[args.slice(0, -1).join(':')]) {
        expect(bundled.code, bundled.stderr).to.equal(0)
        expect(bundled.stdout).to.include(`$ binauthz ${args.slice(0, -1).join(' ')}`)
      }
    })
  }

  it('a checkout without dist/bundle: exit 1, naming `npm run build` (no other path to fall back on)', async () => {
    const copy = join(dir, 'unbuilt')
    mkdirSync(join(copy, 'bin'), {recursive: true})
    copyFileSync(join(ROOT, 'bin', 'run.js'), join(copy, 'bin', 'run.js'))
    copyFileSync(join(ROOT, 'package.json'), join(copy, 'package.json'))
    const child = spawn(process.execPath, [join(copy, 'bin', 'run.js'), '--help'], {env: cleanEnv(dir), stdio: ['ignore', 'pipe', 'pipe']})
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString('utf8')
    })
    const [code] = (await once(child, 'close')) as [null | number]
    expect(code).to.equal(1)
    expect(stderr).to.include('dist/bundle/binauthz.js is missing: run `npm run build`')
  })

  it('an unwritable compile-cache directory changes nothing but the cache', async () => {
    const notADir = join(dir, 'cache-is-a-file')
    writeFileSync(notADir, '')
    const r = await runCli(['--version'], cleanEnv(dir, {XDG_CACHE_HOME: notADir}))
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stderr).to.equal('')
    expect(r.stdout).to.match(/^binauthz-deploy\/\d+\.\d+\.\d+ /)
  })
})
