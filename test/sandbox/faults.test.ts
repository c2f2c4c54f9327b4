import {expect} from 'chai'
import * as fc from 'fast-check'

import {
  DEFAULT_FAULTS, deterministicUnit, injectedBinauthzError, normalizeFaults,
} from '../../src/sandbox/faults.js'

describe('sandbox faults', () => {
  it('normalizes untrusted JSON: wrong types ignored, ranges clamped', () => {
    expect(normalizeFaults('x')).to.deep.equal(DEFAULT_FAULTS)
    const faults = normalizeFaults({
      binauthzErrorRate: 7, binauthzErrorStatus: 429, buildFailure: 'yes', deniedPermissions: ['a', 1], etagConflicts: -3,
    })
    expect(faults.binauthzErrorRate).to.equal(1)
    expect(faults.etagConflicts).to.equal(0)
    expect(faults.deniedPermissions).to.deep.equal(['a'])
    expect(faults.binauthzErrorStatus).to.equal(429)
    expect(faults.buildFailure).to.equal(false)
  })

  it('decides errors deterministically from (seed, n)', () => {
    fc.assert(fc.property(fc.integer(), fc.nat(10_000), fc.double({max: 1, min: 0, noNaN: true}), (seed, n, rate) => {
      const faults = {
        ...DEFAULT_FAULTS, binauthzErrorRate: rate, binauthzErrorStatus: 'mixed' as const, seed,
      }
      expect(injectedBinauthzError(faults, n)).to.equal(injectedBinauthzError(faults, n))
      const unit = deterministicUnit(seed, n)
      expect(unit >= 0 && unit < 1).to.equal(true)
    }))
  })

  it('never fails at rate 0 and always fails at rate 1', () => {
    for (let n = 0; n < 50; n++) {
      expect(injectedBinauthzError({...DEFAULT_FAULTS, binauthzErrorRate: 0}, n)).to.equal(undefined)
      expect(injectedBinauthzError({...DEFAULT_FAULTS, binauthzErrorRate: 1}, n)).to.equal(503)
    }
  })
})
