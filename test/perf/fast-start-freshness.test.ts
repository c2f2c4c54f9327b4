// bin/run.js uses the fast start (dist/bundle) only while every file it was built from is unchanged: same size and
// mtime, or same content (tsc rewrites every file; npm pack resets mtimes). Exercised on a copy of what bin/run.js
// reads, so the checkout itself is never touched. Skipped when dist/bundle is missing or stale.
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {
  mkdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync,
} from 'node:fs'
import {join} from 'node:path'

import {tempDir} from '../helpers/tmp.js'
import {fastStartState, ROOT} from './harness.js'

const fast = fastStartState()

describe('perf: fast start steps aside when its inputs change', function () {
  this.timeout(120_000)
  let copy: string

  before(function () {
    if (fast !== 'fresh') this.skip()
    copy = tempDir('binauthz-fast-start-copy-')
    mkdirSync(join(copy, 'dist'))
    const cp = spawnSync('cp', ['-pR', join(ROOT, 'package.json'), join(ROOT, 'oclif.manifest.json'), join(ROOT, 'bin'), copy])
    const cpDist = spawnSync('cp', ['-pR', join(ROOT, 'dist', 'src'), join(ROOT, 'dist', 'bundle'), join(copy, 'dist')])
    expect([cp.status, cpDist.status], String(cp.stderr) + String(cpDist.stderr)).to.deep.equal([0, 0])
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir')
  })

  after(() => {
    if (copy) rmSync(copy, {force: true, recursive: true})
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

  it('BINAUTHZ_FAST_START=0 and NODE_ENV=development|test always run plain oclif', () => {
    for (const [key, value] of [['BINAUTHZ_FAST_START', '0'], ['NODE_ENV', 'development'], ['NODE_ENV', 'test']]) {
      const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'run.js'), '--version'], {
        encoding: 'utf8',
        env: {...process.env, BINAUTHZ_START_TRACE: '1', [key as string]: value},
        timeout: 20_000,
      })
      expect(r.stderr).to.include(`binauthz start: oclif (${key}=${value})`)
    }
  })
})
