import {expect} from 'chai'

import {
  editDistance, flagSuggestions, nearest, type OwnFlag, withGcloudArgsAfterDashDash,
} from '../../src/cli/usage-hints.js'

const FLAGS: OwnFlag[] = [
  {name: 'project', takesValue: true},
  {name: 'region', takesValue: true},
  {char: 'y', name: 'yes', takesValue: false},
  {name: 'dry-run', takesValue: false},
]
const CMD = ['binauthz', 'deploy', 'run']

describe('cli/usage-hints', () => {
  it('edit distance and the nearest word within a third of its length', () => {
    expect(editDistance('regoin', 'region')).to.equal(2)
    expect(nearest('regoin', ['project', 'region'])).to.equal('region')
    expect(nearest('source', ['project', 'region', 'yes'])).to.equal(undefined)
  })

  it('suggests our flag for a misspelt one, nothing for a gcloud flag', () => {
    expect(flagSuggestions(['--regoin', '--source'], FLAGS)).to.deep.equal([{flag: '--regoin', nearest: '--region'}])
  })

  it('moves gcloud flags typed before -- after it (values too), keeping NAME and our own flags', () => {
    expect(withGcloudArgsAfterDashDash(CMD, ['fn', '--source', '.', '--function', 'handler'], [], FLAGS))
    .to.equal('binauthz deploy run fn -- --source . --function handler')
    expect(withGcloudArgsAfterDashDash(CMD, ['fn', '--source=.', '--region', 'us-central1', '-y', '--allow-unauthenticated'], ['--memory', '1Gi'], FLAGS))
    .to.equal('binauthz deploy run fn --region us-central1 -y -- --source=. --allow-unauthenticated --memory 1Gi')
    expect(withGcloudArgsAfterDashDash(CMD, ['--region', 'r', 'fn'], [], FLAGS)).to.equal(undefined)
  })
})
