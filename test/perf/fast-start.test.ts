// The fast start (dist/bundle, built by `npm run build` → scripts/fast-start/build.js) must print exactly what plain
// oclif prints (BINAUTHZ_FAST_START=0: @oclif/core's execute() over dist/src). Skipped when dist/bundle is missing
// or stale (e.g. after a bare `npx tsc`). fast-start-freshness.test.ts: it steps aside once its inputs change.
import {expect} from 'chai'
import {mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {tempDir} from '../helpers/tmp.js'
import {
  cleanEnv, fastStartState, runCli, splitTrace,
} from './harness.js'

const fast = fastStartState()

describe('perf: fast start prints what oclif prints', function () {
  this.timeout(120_000)
  let dir: string

  before(function () {
    if (fast !== 'fresh') this.skip()
    dir = tempDir('binauthz-fast-start-')
  })

  after(() => {
    if (dir) rmSync(dir, {force: true, recursive: true})
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
    [['--help'], {BINAUTHZ_DISABLE_THEME: 'true', FORCE_COLOR: '1'}],
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
    [['--help'], {BINAUTHZ_CONFIG_DIR: 'THEME', FORCE_COLOR: '1'}],
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
