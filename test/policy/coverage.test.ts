import {expect} from 'chai'

import type {Policy} from '../../src/policy/types.js'

import {
  allowlistPatterns, coveringRule, describeCoverage, evaluateImage, findCoverage,
} from '../../src/policy/coverage.js'

const H = 'us-central1-docker.pkg.dev'
const REPO = `${H}/my-project/cloud-run-source-deploy`
const REQUIRED = `${REPO}/**`
const IMAGE = `${REPO}/svc@sha256:${'0f'.repeat(32)}`

function policy(patterns: string[], rule?: Policy['defaultAdmissionRule']): Policy {
  return {
    name: 'projects/my-project/policy',
    ...(patterns.length > 0 ? {admissionWhitelistPatterns: patterns.map(namePattern => ({namePattern}))} : {}),
    ...(rule === undefined ? {} : {defaultAdmissionRule: rule}),
  }
}

const DENY = {enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG', evaluationMode: 'ALWAYS_DENY'}
const ALLOW = {enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG', evaluationMode: 'ALWAYS_ALLOW'}
const ATTEST = {
  enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG',
  evaluationMode: 'REQUIRE_ATTESTATION',
  requireAttestationsBy: ['projects/my-project/attestors/built-by-ci'],
}

describe('policy/coverage', () => {
  describe('findCoverage', () => {
    const table: [name: string, policy: Policy, expected: ReturnType<typeof findCoverage>][] = [
      ['empty policy, deny', policy([], DENY), {covered: false}],
      ['no default rule at all', policy([]), {covered: false}],
      ['exact entry', policy(['gcr.io/x/**', REQUIRED], DENY), {by: {kind: 'pattern', pattern: REQUIRED}, covered: true}],
      ['exact entry with whitespace', policy([` ${REQUIRED} `], DENY), {by: {kind: 'pattern', pattern: ` ${REQUIRED} `}, covered: true}],
      ['broader project entry', policy([`${H}/my-project/**`], DENY), {by: {kind: 'pattern', pattern: `${H}/my-project/**`}, covered: true}],
      ['broader host entry', policy([`${H}/**`], ATTEST), {by: {kind: 'pattern', pattern: `${H}/**`}, covered: true}],
      ['exact entry preferred over an earlier broader one', policy([`${H}/**`, REQUIRED], DENY), {by: {kind: 'pattern', pattern: REQUIRED}, covered: true}],
      ['narrower entry does not cover', policy([`${REPO}/svc*`, `${REPO}/svc/**`], DENY), {covered: false}],
      ['single * does not cover **', policy([`${REPO}/*`], DENY), {covered: false}],
      ['other region', policy(['europe-west1-docker.pkg.dev/my-project/cloud-run-source-deploy/**'], DENY), {covered: false}],
      ['ALWAYS_ALLOW default rule', policy([], ALLOW), {by: {evaluationMode: 'ALWAYS_ALLOW', kind: 'default-rule'}, covered: true}],
      ['ALWAYS_ALLOW in dry run', policy([], {...ALLOW, enforcementMode: 'DRYRUN_AUDIT_LOG_ONLY'}), {by: {evaluationMode: 'ALWAYS_ALLOW', kind: 'default-rule'}, covered: true}],
      ['a pattern wins over ALWAYS_ALLOW', policy([REQUIRED], ALLOW), {by: {kind: 'pattern', pattern: REQUIRED}, covered: true}],
      ['deny in dry run is not coverage', policy([], {...DENY, enforcementMode: 'DRYRUN_AUDIT_LOG_ONLY'}), {covered: false}],
      ['require attestation', policy([], ATTEST), {covered: false}],
    ]
    for (const [name, input, expected] of table) {
      it(name, () => {
        expect(findCoverage(input, REQUIRED)).to.deep.equal(expected)
      })
    }

    it('tolerates malformed entries', () => {
      const odd = {admissionWhitelistPatterns: [null, 3, {}, {namePattern: 7}, {namePattern: REQUIRED}]} as unknown as Policy
      expect(allowlistPatterns(odd)).to.deep.equal([REQUIRED])
      expect(findCoverage(odd, REQUIRED).covered).to.equal(true)
      expect(findCoverage({admissionWhitelistPatterns: 'x'} as unknown as Policy, REQUIRED).covered).to.equal(false)
      expect(findCoverage({defaultAdmissionRule: 'ALWAYS_ALLOW'} as unknown as Policy, REQUIRED).covered).to.equal(false)
    })
  })

  describe('describeCoverage / coveringRule', () => {
    it('words each kind of coverage once, and names the covering rule for --json', () => {
      expect(describeCoverage({kind: 'pattern', pattern: REQUIRED}, REQUIRED)).to.equal('allowlisted')
      expect(describeCoverage({kind: 'pattern', pattern: `${H}/**`}, REQUIRED)).to.equal(`covered by the broader allowlist entry ${H}/**`)
      expect(describeCoverage({evaluationMode: 'ALWAYS_ALLOW', kind: 'default-rule'}, REQUIRED)).to.include('ALWAYS_ALLOW')
      expect(coveringRule({kind: 'pattern', pattern: `${H}/**`})).to.equal(`${H}/**`)
      expect(coveringRule({evaluationMode: 'ALWAYS_ALLOW', kind: 'default-rule'})).to.equal('defaultAdmissionRule: ALWAYS_ALLOW')
    })
  })

  describe('evaluateImage', () => {
    const table: [name: string, policy: Policy, image: string, expected: Partial<ReturnType<typeof evaluateImage>>, reason: RegExp][] = [
      ['allowlisted by a repo pattern', policy([REQUIRED], DENY), IMAGE, {admitted: true, pattern: REQUIRED, rule: 'allowlist'}, /matches the allowlist pattern/],
      ['first matching pattern is reported', policy(['gcr.io/**', `${H}/**`, REQUIRED], DENY), IMAGE, {admitted: true, pattern: `${H}/**`, rule: 'allowlist'}, /pattern us-central1-docker\.pkg\.dev\/\*\*/],
      ['single * does not reach into sub-paths', policy([`${REPO}/*`], DENY), `${REPO}/svc/cache`, {admitted: false, evaluationMode: 'ALWAYS_DENY', rule: 'default-rule'}, /denies every image/],
      ['single * admits a digest reference', policy([`${REPO}/svc*`], DENY), IMAGE, {admitted: true, rule: 'allowlist'}, /allowlist/],
      // policy-yaml-reference: "To allowlist a specific image:" (no tag or digest) admits its tags and digests.
      ['a pattern naming the image admits its digest', policy([`${REPO}/svc`], DENY), IMAGE, {admitted: true, rule: 'allowlist'}, /matches the allowlist pattern/],
      ['a tag pattern does not admit a digest', policy([`${REPO}/svc:1`], DENY), IMAGE, {admitted: false}, /matches no allowlist pattern/],
      ['a wildcard on a local reference admits nothing', policy(['svc*'], DENY), 'svc:1', {admitted: false}, /matches no allowlist pattern/],
      ['ENABLE exempts Google system images', {...policy([], DENY), globalPolicyEvaluationMode: 'ENABLE'}, 'gcr.io/google-containers/pause:3', {admitted: true, rule: 'system-policy'}, /system image/],
      ['DISABLE does not', {...policy([], DENY), globalPolicyEvaluationMode: 'DISABLE'}, 'gcr.io/google-containers/pause:3', {admitted: false}, /denies/],
      ['ALWAYS_ALLOW', policy([], ALLOW), IMAGE, {
        admitted: true, enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG', evaluationMode: 'ALWAYS_ALLOW', rule: 'default-rule',
      }, /allows every image/],
      ['ALWAYS_DENY enforced', policy([], DENY), IMAGE, {admitted: false, evaluationMode: 'ALWAYS_DENY', rule: 'default-rule'}, /denies every image \(ALWAYS_DENY\) \(enforcement ENFORCED_BLOCK_AND_AUDIT_LOG\)/],
      ['ALWAYS_DENY dry run', policy([], {...DENY, enforcementMode: 'DRYRUN_AUDIT_LOG_ONLY'}), IMAGE, {admitted: true, enforcementMode: 'DRYRUN_AUDIT_LOG_ONLY', rule: 'default-rule'}, /only logged/],
      ['REQUIRE_ATTESTATION', policy([], ATTEST), IMAGE, {admitted: false, evaluationMode: 'REQUIRE_ATTESTATION'}, /requires attestations \(REQUIRE_ATTESTATION by projects\/my-project\/attestors\/built-by-ci\)/],
      ['REQUIRE_ATTESTATION dry run', policy([], {...ATTEST, enforcementMode: 'DRYRUN_AUDIT_LOG_ONLY'}), IMAGE, {admitted: true}, /DRYRUN_AUDIT_LOG_ONLY/],
      ['no default rule', policy([]), IMAGE, {admitted: false, rule: 'default-rule'}, /no default admission rule/],
      ['unknown evaluation mode', policy([], {evaluationMode: 'SOMETHING_NEW'}), IMAGE, {admitted: false, evaluationMode: 'SOMETHING_NEW'}, /SOMETHING_NEW does not admit/],
      ['image is trimmed', policy([REQUIRED], DENY), ` ${IMAGE}\n`, {admitted: true, rule: 'allowlist'}, /allowlist/],
    ]
    for (const [name, input, image, expected, reason] of table) {
      it(name, () => {
        const verdict = evaluateImage(input, image)
        expect(verdict).to.include(expected)
        expect(verdict.reason).to.match(reason)
        if (verdict.rule === 'default-rule') expect(verdict.pattern).to.equal(undefined)
      })
    }
  })
})
