// The fast start (dist/bundle, built by `npm run build` → scripts/fast-start/build.js) must print exactly what plain
// oclif prints (BINAUTHZ_FAST_START=0: @oclif/core's execute() over dist/src), and must step aside once its inputs
// change. Skipped when dist/bundle is missing or stale (e.g. after a bare `npx tsc`).
import {expect} from 'chai'
import {cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {tempDir} from '../helpers/tmp.js'
import {cleanEnv, fastStartState, ROOT, runCli, splitTrace} from './harness.js'

const fast = fastStartState()

describe('perf: fast start prints what oclif prints', function () {
  this.timeout(120_000)
  let dir: string

  before(function () {
    if (fast !== 'fresh') this.skip()
    dir = tempDir('binauthz-fast-start-')
  })

  after(() => {
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  async function compare(args: string[], extra: NodeJS.ProcessEnv, expectedPath: string): Promise<void> {
    const env = cleanEnv(dir, {BINAUTHZ_START_TRACE: '1', ...extra})
    const quick = await runCli(args, env)
    const plain = await runCli(args, {...env, BINAUTHZ_FAST_START: '0'})
    const q = splitTrace(quick.stderr)
    const p = splitTrace(plain.stderr)
    expect(q.trace, 'path taken by bin/run.js').to.deep.equal([expectedPath])
    expect(p.trace[0]).to.match(/^oclif/)
    expect(quick.stdout).to.equal(plain.stdout)
    expect(q.rest).to.equal(p.rest)
    expect(quick.code).to.equal(plain.code)
  }

  const helpCases: [string[], NodeJS.ProcessEnv][] = [
    [['--help'], {}],
    [[], {}],
    [['--help'], {OCLIF_COLUMNS: '40'}],
    [['--help'], {OCLIF_COLUMNS: '57'}],
    [['--help'], {OCLIF_COLUMNS: '100'}],
    [['--help'], {OCLIF_COLUMNS: '300'}],
    [['--help'], {FORCE_COLOR: '1'}],
    [['--help'], {FORCE_COLOR: '3', OCLIF_COLUMNS: '132'}],
    [['--help'], {FORCE_COLOR: '1', BINAUTHZ_DISABLE_THEME: 'true'}],
    [['deploy', '--help'], {}],
    [['policy', '--help'], {FORCE_COLOR: '2', OCLIF_COLUMNS: '72'}],
    [['policy'], {}],
  ]
  for (const [args, extra] of helpCases) {
    it(`binauthz ${args.join(' ')} ${JSON.stringify(extra)}: pre-rendered help`, async () => {
      await compare(args, extra, 'pre-rendered help')
    })
  }

  const bundleCases: [string[], NodeJS.ProcessEnv][] = [
    [['--help'], {OCLIF_COLUMNS: '400'}],
    [['--help'], {FORCE_COLOR: '1', BINAUTHZ_CONFIG_DIR: 'THEME'}],
    [['--version'], {}],
    [['deploy', 'run', '--help'], {}],
    [['deploy', 'function', '--help'], {OCLIF_COLUMNS: '90'}],
    [['policy', 'status', '--help'], {}],
    [['setup', '--help'], {}],
    [['nope'], {}],
    [['deploy', 'run'], {}],
    [['deploy', 'run', 'x', '--project', 'Bad!', '--region', 'us-central1'], {}],
    [['deploy', 'run', 'x', '--project', 'Bad!', '--region', 'us-central1', '--json'], {}],
    [['deploy', 'run', 'x', '--no-such-flag'], {}],
  ]
  for (const [args, extra] of bundleCases) {
    it(`binauthz ${args.join(' ')} ${JSON.stringify(extra)}: bundle`, async () => {
      const env = {...extra}
      if (env.BINAUTHZ_CONFIG_DIR === 'THEME') {
        // A user theme: only oclif knows what to make of it, so the pre-rendered help must step aside.
        env.BINAUTHZ_CONFIG_DIR = join(dir, 'themed')
        mkdirSync(env.BINAUTHZ_CONFIG_DIR, {recursive: true})
        writeFileSync(join(env.BINAUTHZ_CONFIG_DIR, 'theme.json'), JSON.stringify({sectionHeader: 'red', topic: '#00ff00'}))
      }

      await compare(args, env, 'bundle')
    })
  }
})

describe('perf: fast start steps aside when its inputs change', function () {
  this.timeout(120_000)
  let copy: string

  before(function () {
    if (fast !== 'fresh') this.skip()
    // A copy of what bin/run.js reads, so the checkout itself is never touched.
    copy = tempDir('binauthz-fast-start-copy-')
    for (const file of ['package.json', 'oclif.manifest.json']) cpSync(join(ROOT, file), join(copy, file))
    for (const sub of ['bin', join('dist', 'src'), join('dist', 'bundle')]) cpSync(join(ROOT, sub), join(copy, sub), {recursive: true, preserveTimestamps: true})
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir')
  })

  after(() => {
    if (copy) rmSync(copy, {recursive: true, force: true})
  })

  it('uses the bundle while fresh, still after an mtime-only change, plain oclif after a content change', () => {
    expect(fastStartState(copy)).to.equal('fresh')
    const file = join(copy, 'dist', 'src', 'commands', 'deploy', 'run.js')
    const later = new Date(Date.now() + 5000)
    utimesSync(file, later, later)
    expect(fastStartState(copy), 'same content, new mtime (what npx tsc does)').to.equal('fresh')
    writeFileSync(file, `${readFileSync(file, 'utf8')}\n// changed\n`)
    expect(fastStartState(copy)).to.equal('oclif (dist/src/commands/deploy/run.js changed since npm run build)')
  })
})
