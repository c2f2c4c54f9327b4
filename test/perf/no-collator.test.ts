// No ICU collator or segmenter on the start path: the first String.prototype.localeCompare (or Intl.Collator) of a
// process sets ICU's collation up, ~80 M instructions and ~3 MiB (bench/RESULTS.md), and oclif's own Plugin class
// sorts the commands with it — which is why oclif gets binauthz's root plugin ready-made (src/cli/root-plugin.ts); an
// Intl.Segmenter (string-width ≥ 6) costs ~100 M. Observed with a preload in the child (NODE_OPTIONS --require) that
// counts the calls and writes the count at exit.
import {expect} from 'chai'

import {type ChildProbe, childProbe} from './harness.js'

describe('start path: no ICU collator or segmenter', function () {
  this.timeout(120_000)
  let probe: ChildProbe

  before(() => {
    probe = childProbe('binauthz-no-collator-', {
      // Off: the help store would answer --help without loading the bundle (the start path under test).
      env: {NODE_DISABLE_COMPILE_CACHE: '1'},
      files: record => ({
        'count-collations.cjs': [
          "const {appendFileSync} = require('node:fs')",
          'let calls = 0',
          'const compare = String.prototype.localeCompare',
          'String.prototype.localeCompare = function (...args) { calls++; return compare.apply(this, args) }',
          'const Collator = Intl.Collator',
          'Intl.Collator = function (...args) { calls++; return new Collator(...args) }',
          'const Segmenter = Intl.Segmenter',
          'Intl.Segmenter = function (...args) { calls++; return new Segmenter(...args) }',
          `process.on('exit', () => appendFileSync(${JSON.stringify(record)}, calls + '\\n'))`,
        ].join('\n'),
      }),
      nodeOptions: path => `--require=${path('count-collations.cjs')}`,
    })
  })

  after(() => {
    probe.remove()
  })

  const counted = (): number[] => probe.recorded().map(Number)

  it('the preload counts a localeCompare and a segmenter (so the checks below can fail)', async () => {
    const ran = await probe.runNode(['-e', "'a'.localeCompare('b'); new Intl.Segmenter()"])
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
      const ran = await probe.runCli(args)
      expect(ran.code, ran.stderr).to.equal(code)
      expect(counted()).to.deep.equal([0])
    })
  }
})
