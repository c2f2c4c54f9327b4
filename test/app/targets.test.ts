import {expect} from 'chai'

import {kindsOf, requiredTargets} from '../../src/app/targets.js'
import {UserError} from '../../src/errors.js'
import {thrownBy} from '../helpers/assert.js'

describe('setup targets', () => {
  it('lists one pattern per region and deploy path, in order', () => {
    const targets = requiredTargets({kinds: kindsOf('all'), project: 'p', regions: ['us-central1', 'europe-west1']})
    expect(targets.map(t => [t.kind, t.region, t.pattern])).to.deep.equal([
      ['run', 'us-central1', 'us-central1-docker.pkg.dev/p/cloud-run-source-deploy/**'],
      ['function', 'us-central1', 'us-central1-docker.pkg.dev/p/gcf-artifacts/**'],
      ['run', 'europe-west1', 'europe-west1-docker.pkg.dev/p/cloud-run-source-deploy/**'],
      ['function', 'europe-west1', 'europe-west1-docker.pkg.dev/p/gcf-artifacts/**'],
    ])
  })

  it('adds a custom repository and explicit patterns, deduplicated', () => {
    const targets = requiredTargets({
      dockerRepository: 'projects/p/locations/us-east1/repositories/builds',
      kinds: ['run'],
      patterns: ['us-central1-docker.pkg.dev/p/cloud-run-source-deploy/**', 'gcr.io/p/x/**'],
      project: 'p',
      regions: ['us-central1'],
    })
    expect(targets.map(t => t.kind)).to.deep.equal(['run', 'custom', 'pattern'])
    expect(targets[1]?.pattern).to.equal('us-east1-docker.pkg.dev/p/builds/**')
  })

  it('maps domain-scoped projects to registry paths', () => {
    const [t] = requiredTargets({kinds: ['function'], project: 'example.com:p', regions: ['us-central1']})
    expect(t?.pattern).to.equal('us-central1-docker.pkg.dev/example.com/p/gcf-artifacts/**')
  })

  it('rejects a bad repository or pattern with a UserError', () => {
    expect(thrownBy(() => requiredTargets({
      dockerRepository: 'nope', kinds: [], project: 'p', regions: [],
    }))).to.be.instanceOf(UserError)
    expect(thrownBy(() => requiredTargets({
      kinds: [], patterns: ['https://x/y'], project: 'p', regions: [],
    }))).to.be.instanceOf(UserError)
  })
})
