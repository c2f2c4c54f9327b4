// No ICU collator or segmenter on the start path: the first String.prototype.localeCompare (or Intl.Collator) of a
// process sets ICU's collation up, ~80 M instructions and ~3 MiB (bench/RESULTS.md), and oclif's own Plugin class
// sorts the commands with it — which is why oclif gets binauthz's root plugin ready-made (src/cli/root-plugin.ts); an
// Intl.Segmenter (string-width ≥ 6) costs ~100 M. Observed with a preload in the child (NODE_OPTIONS --require) that
// counts the calls and writes the count at exit.
import {expect} from 'chai'
import {readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {runProgram} from '../helpers/e2e.js'
import {tempDir} from '../helpers/tmp.js'
import {cleanEnv, runCli} from './harness.js'

describe('start path: no ICU collator or segmenter', function () {
  this.timeout(120_000)
  let dir: string
  let log: string
  let env: NodeJS.ProcessEnv

  before(() => {
    dir = tempDir('binauthz-no-collator-')
    log = join(dir, 'collations.txt')
    const preload = join(dir, 'count-collations.cjs')
    writeFileSync(preload, [
      "const {appendFileSync} = require('node:fs')",
      'let calls = 0',
      'const compare = String.prototype.localeCompare',
      'String.prototype.localeCompare = function (...args) { calls++; return compare.apply(this, args) }',
      'const Collator = Intl.Collator',
      'Intl.Collator = function (...args) { calls++; return new Collator(...args) }',
      'const Segmenter = Intl.Segmenter',
      'Intl.Segmenter = function (...args) { calls++; return new Segmenter(...args) }',
      `process.on('exit', () => appendFileSync(${JSON.stringify(log)}, calls + '\\n'))`,
    ].join('\n'))
    // Off: the help store would answer --help without loading the bundle (the start path under test).
    env = cleanEnv(dir, {NODE_DISABLE_COMPILE_CACHE: '1', NODE_OPTIONS: `--require=${preload}`})
  })

  after(() => {
    rmSync(dir, {force: true, recursive: true})
  })

  const counted = (): number[] => readFileSync(log, 'utf8').split('\n').filter(Boolean).map(Number)

  it('the preload counts a localeCompare and a segmenter (so the checks below can fail)', async () => {
    rmSync(log, {force: true})
    const ran = await runProgram(process.execPath, ['-e', "'a'.localeCompare('b'); new Intl.Segmenter()"], {cwd: dir, env, timeoutMs: 60_000})
    expect(ran.code, ran.stderr).to.equal(0)
    expect(counted()).to.deep.equal([2])
  })

  const runs: [string[], number][] = [
    [['--version'], 0],
    [['--help'], 0],
    [['deploy', 'run', '--help'], 0],
    [['deploy', 'run', 'x', '--project', 'Bad!', '--region', 'us-central1'], 2],
    [['polcy', 'status'], 2],
  ]
  for (const [args, code] of runs) {
    it(`binauthz ${args.join(' ')}`, async () => {
      rmSync(log, {force: true})
      const ran = await runCli(args, env)
      expect(ran.code, ran.stderr).to.equal(code)
      expect(counted()).to.deep.equal([0])
    })
  }
})
