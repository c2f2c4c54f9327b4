import {expect} from 'chai'

import {renderError, splitSuggestion, wrapProse} from '../../src/cli/error-output.js'

const LONG_COMMAND = 'gcloud projects add-iam-policy-binding my-project --member=user:someone@example.com --role=roles/binaryauthorization.policyEditor'
const ERROR = {
  code: 'POLICY_UPDATE_DENIED',
  message: `You may not update the Binary Authorization policy of project my-project (you lack binaryauthorization.policy.update), so binauthz cannot allowlist it.\n\n  ${LONG_COMMAND}\n  - namePattern: us-central1-docker.pkg.dev/my-project/cloud-run-source-deploy/**`,
  suggestions: [`Ask a project admin for roles/binaryauthorization.policyEditor: ${LONG_COMMAND}`, 'Or have an admin apply the change above'],
}

describe('cli/error-output', () => {
  it('without a terminal: nothing wrapped, no prefix on any line, the suggestion\'s command on a line of its own', () => {
    const lines = renderError(ERROR).split('\n')
    expect(lines[0]).to.equal(`Error: ${ERROR.message.split('\n')[0]}`)
    expect(lines).to.include(`  ${LONG_COMMAND}`)
    expect(lines).to.include(`      ${LONG_COMMAND}`)
    expect(lines).to.include('Code: POLICY_UPDATE_DENIED')
    expect(lines.some(line => line.includes('›'))).to.equal(false)
  })

  it('in a terminal: prose wrapped at its width, blocks (indented lines) and commands never', () => {
    const lines = renderError(ERROR, {columns: 60}).split('\n')
    for (const line of lines) if (!line.includes(LONG_COMMAND) && !line.includes('namePattern')) expect(line.length, line).to.be.at.most(60)
    expect(lines).to.include(`  ${LONG_COMMAND}`)
    expect(lines).to.include(`      ${LONG_COMMAND}`)
    expect(lines).to.include('  - namePattern: us-central1-docker.pkg.dev/my-project/cloud-run-source-deploy/**')
  })

  it('splits a suggestion at the command it ends with', () => {
    expect(splitSuggestion('Re-run with --yes: binauthz policy allow --yes')).to.deep.equal({command: 'binauthz policy allow --yes', prose: 'Re-run with --yes:'})
    expect(splitSuggestion('Or have an admin apply it')).to.deep.equal({prose: 'Or have an admin apply it'})
    expect(wrapProse('a b c', undefined)).to.deep.equal(['a b c'])
  })
})
