// The Node.js check bin/run.js makes before it loads anything else (bin/supported-node.js): the range is
// package.json "engines", every tested line is in it, the lines we do not test are refused, and the refusal
// happens before the bundle is loaded (a copy of bin/ without dist/ still answers with it).
import {expect} from 'chai'
import {
  copyFileSync, mkdirSync, readFileSync, rmSync,
} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

import {EXIT_CODES} from '../../src/errors.js'
import {runProgram} from '../helpers/e2e.js'
import {tempDir} from '../helpers/tmp.js'

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))
const PJSON = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {engines: {node: string}; name: string; version: string}

interface SupportedNode {
  nodeSupported(version: string, range: string): boolean
  parseRange(range: string): undefined | unknown[]
  UNSUPPORTED_NODE_EXIT: number
  unsupportedNodeMessage(version: string, pjson: object): string | undefined
}

// Plain JavaScript (bin/ is not compiled): loaded by URL, typed here.
const supported = await import(pathToFileURL(join(ROOT, 'bin', 'supported-node.js')).href) as SupportedNode

describe('supported Node.js (bin/supported-node.js)', () => {
  const range = PJSON.engines.node

  it('reads package.json engines (only ^X.Y.Z and >=X.Y.Z alternatives)', () => {
    expect(supported.parseRange(range)).to.be.an('array').with.length.greaterThan(1)
    expect(supported.parseRange('~20.1.0')).to.equal(undefined)
    expect(supported.nodeSupported('1.0.0', 'not a range'), 'a range it cannot read admits all').to.equal(true)
  })

  const runs = '20.17.0 20.20.2 22.13.0 22.23.5 24.0.0 24.22.3 26.0.0 26.12.1 27.0.0-pre 30.1.2'.split(' ')
  const refused = '18.20.4 20.16.0 21.7.3 22.12.0 23.11.0 25.9.0'.split(' ')
  const cases = [...runs.map(v => [v, true] as const), ...refused.map(v => [v, false] as const)]
  for (const [version, expected] of cases) {
    it(`Node.js ${version}: ${expected ? 'runs' : 'refused'}`, () => {
      expect(supported.nodeSupported(version, range)).to.equal(expected)
      const message = supported.unsupportedNodeMessage(version, PJSON)
      if (expected) expect(message).to.equal(undefined)
      else expect(message).to.include(`Node.js v${version} is not supported`).and.include(range).and.include('nvm install 24')
    })
  }

  it('this Node.js (the line under test) is supported', () => {
    expect(supported.nodeSupported(process.versions.node, range), process.version).to.equal(true)
  })

  it('refuses with the usage exit code of the registry', () => {
    expect(supported.UNSUPPORTED_NODE_EXIT).to.equal(EXIT_CODES.usage)
  })

  it('bin/run.js on an unsupported Node.js: exit 2 and the message, before the bundle is loaded', async () => {
    // Node 18 reported through process.versions (the one thing the check reads), in a copy of bin/ with no dist/:
    // were the bundle loaded, the answer would be the missing-bundle message and exit 1.
    const dir = tempDir('binauthz-node-check-')
    try {
      mkdirSync(join(dir, 'bin'))
      for (const file of ['package.json', 'run.js', 'supported-node.js']) copyFileSync(join(ROOT, 'bin', file), join(dir, 'bin', file))
      copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'))
      const fake = 'data:text/javascript,Object.defineProperty(process.versions,"node",{value:"18.20.4"})'
      const {code, stderr, stdout} = await runProgram(process.execPath, ['--import', fake, join(dir, 'bin', 'run.js'), 'deploy', 'run', '--help'], {
        cwd: dir, env: {HOME: dir, PATH: process.env.PATH ?? ''},
      })
      expect(code, stderr).to.equal(2)
      expect(stdout).to.equal('')
      expect(stderr).to.equal(supported.unsupportedNodeMessage('18.20.4', PJSON))
    } finally {
      rmSync(dir, {force: true, recursive: true})
    }
  })
})
