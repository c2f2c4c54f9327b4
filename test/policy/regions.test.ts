import {expect} from 'chai'
import * as fc from 'fast-check'

import {UserError} from '../../src/errors.js'
import {
  assertServedRegion, editDistance, nearestRegions, SERVED_REGIONS,
} from '../../src/policy/regions.js'
import {CLOUD_RUN_REGIONS} from '../../src/sandbox/regions.js'
import {userErrorThrownBy} from '../helpers/assert.js'

describe('policy/regions (where Cloud Run and Cloud Functions deploy)', () => {
  it('accepts every region of the table, unchanged', () => {
    for (const region of SERVED_REGIONS) expect(assertServedRegion(region, '--region')).to.equal(region)
  })

  it("agrees with the sandbox's own table (both copied from Google's locations page; neither imports the other)", () => {
    expect([...SERVED_REGIONS].sort()).to.deep.equal([...CLOUD_RUN_REGIONS].sort())
  })

  it('edit distance: insertions, deletions, substitutions and adjacent transpositions cost 1', () => {
    expect(editDistance('us-centrall1', 'us-central1')).to.equal(1)
    expect(editDistance('us-cnetral1', 'us-central1')).to.equal(1)
    expect(editDistance('us-centra1', 'us-central1')).to.equal(1)
    expect(editDistance('us-central2', 'us-central1')).to.equal(1)
    expect(editDistance('', 'abc')).to.equal(3)
    fc.assert(fc.property(fc.string(), fc.string(), (a, b) => {
      expect(editDistance(a, b)).to.equal(editDistance(b, a))
      expect(editDistance(a, a)).to.equal(0)
    }))
  })

  const misspellings: [string, string][] = [
    ['us-centrall1', 'us-central1'],
    ['us-cental1', 'us-central1'],
    ['europe-wset1', 'europe-west1'],
    ['asia-northeast9', 'asia-northeast1'],
    ['europe-west13', 'europe-west12'],
    ['us-east6', 'us-east5'],
    ['australia-southeast3', 'australia-southeast1'],
  ]
  for (const [typo, meant] of misspellings) {
    it(`${typo}: REGION_UNLISTED, did you mean ${meant}`, () => {
      const error = userErrorThrownBy(() => assertServedRegion(typo, '--region'))
      expect(error).to.be.instanceOf(UserError)
      expect(error.code).to.equal('REGION_UNLISTED')
      expect(error.exitCode).to.equal(2)
      expect(error.suggestions).to.include(`Did you mean "${meant}"? Pass --region=${meant}.`)
      expect(nearestRegions(typo)).to.include(meant)
    })
  }

  it('a region far from every other: no guess, but how to list regions and allow a newer one', () => {
    const error = userErrorThrownBy(() => assertServedRegion('mars-north1', 'CLOUDSDK_RUN_REGION'))
    expect(error.message).not.to.include('did you mean')
    expect(error.suggestions.join('\n')).to.include('gcloud run regions list').and.include('BINAUTHZ_EXTRA_REGIONS=mars-north1')
  })

  it('BINAUTHZ_EXTRA_REGIONS allows exactly the regions it names', () => {
    expect(assertServedRegion('mars-north1', '--region', ['mars-north1'])).to.equal('mars-north1')
    expect(() => assertServedRegion('mars-north2', '--region', ['mars-north1'])).to.throw(UserError, /mars-north1/)
  })
})
