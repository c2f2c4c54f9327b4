// Only this project's policy is planned on and written back (src/policy/types.ts parsePolicyAnswer).
import {expect} from 'chai'

import {ExternalError} from '../../src/errors.js'
import {parsePolicyAnswer} from '../../src/policy/types.js'
import {thrownBy} from '../helpers/assert.js'

const RULE = {enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG', evaluationMode: 'ALWAYS_DENY'}

describe('policy/types parsePolicyAnswer', () => {
  it('accepts the policy named projects/P/policy with a defaultAdmissionRule, unchanged', () => {
    const answer = {
      defaultAdmissionRule: RULE, etag: 'e', future: 1, name: 'projects/p-1/policy',
    }
    expect(parsePolicyAnswer(answer, 'p-1')).to.equal(answer)
  })

  const refused: [string, unknown, string][] = [
    ['200 {}', {}, 'no "name"'],
    ['no name', {defaultAdmissionRule: RULE}, 'no "name"'],
    ['no defaultAdmissionRule', {name: 'projects/p-1/policy'}, 'defaultAdmissionRule'],
    ['defaultAdmissionRule not an object', {defaultAdmissionRule: 'ALWAYS_ALLOW', name: 'projects/p-1/policy'}, 'defaultAdmissionRule'],
    ["another project's policy", {defaultAdmissionRule: RULE, name: 'projects/evil/policy'}, 'projects/evil/policy'],
    ['a number-form name (cannot be proven to be P)', {defaultAdmissionRule: RULE, name: 'projects/123456789/policy'}, 'projects/123456789/policy'],
    ['a prefix of P', {defaultAdmissionRule: RULE, name: 'projects/p-1/policy/extra'}, 'not this project'],
    ['an error envelope with status 200', {error: {code: 403, message: 'denied', status: 'PERMISSION_DENIED'}}, 'error answer ("403 PERMISSION_DENIED": "denied")'],
    ['an error envelope beside a policy', {defaultAdmissionRule: RULE, error: {}, name: 'projects/p-1/policy'}, 'error answer'],
    ['a list', [], 'JSON object'],
    ['null', null, 'JSON object'],
    ['a name with a terminal escape', {defaultAdmissionRule: RULE, name: 'projects/p-1/policy\u001B[2J'}, String.raw`\u001b[2J`],
  ]
  for (const [title, answer, mentions] of refused) {
    it(`refuses ${title}: POLICY_MALFORMED, exit 5`, () => {
      const error = thrownBy(() => parsePolicyAnswer(answer, 'p-1')) as ExternalError
      expect(error).to.be.instanceOf(ExternalError)
      expect(error.code).to.equal('POLICY_MALFORMED')
      expect(error.exitCode).to.equal(5)
      expect(error.message).to.include(mentions)
      expect(error.message).not.to.include('\u001B')
    })
  }
})
