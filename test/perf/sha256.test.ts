// bin/sha256.js, the help store's hash (bin/run.js helpFileName), is SHA-256: the same digest as node:crypto's for
// FIPS 180-4's own examples, every padding boundary and arbitrary text.
import {expect} from 'chai'
import * as fc from 'fast-check'
import {createHash} from 'node:crypto'
import {createRequire} from 'node:module'

import {ROOT} from './harness.js'

const {sha256Hex} = createRequire(import.meta.url)(`${ROOT}/bin/sha256.js`) as {sha256Hex: (text: string) => string}
const nodeSha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex')

describe('bin/sha256.js: the help store\'s SHA-256', () => {
  it('gives FIPS 180-4\'s digests of "abc" and of the two-block example', () => {
    expect(sha256Hex('abc')).to.equal('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    expect(sha256Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).to.equal('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1')
  })

  it('agrees with node:crypto at every length around the 64-byte block and its 56-byte padding limit', () => {
    for (let length = 0; length <= 200; length++) expect(sha256Hex('x'.repeat(length)), `length ${length}`).to.equal(nodeSha256('x'.repeat(length)))
  })

  it('agrees with node:crypto on any text, non-ASCII included (hashed as UTF-8)', () => {
    fc.assert(fc.property(fc.string({maxLength: 5000, unit: 'grapheme'}), text => sha256Hex(text) === nodeSha256(text)), {numRuns: 300})
  })
})
