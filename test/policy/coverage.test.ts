import {expect} from 'chai'

import {allowlistPatterns, describeCoverage, evaluateImage, findCoverage} from '../../src/policy/coverage.js'
import type {Policy} from '../../src/policy/types.js'

const H = 'us-central1-docker.pkg.dev'
const REPO = `${H}/my-project/cloud-run-source-deploy`
const REQUIRED = `${REPO}/**`
const IMAGE = `${REPO}/svc@sha256:${'0f'.repeat(32)}`

function policy(patterns: string[], rule?: Policy['defaultAdmissionRule']): Policy {
  return {
    name: 'projects/my-project/policy',
    ...(patterns.length > 0 ? {admissionWhitelistPatterns: patterns.map((namePattern) => ({namePattern}))} : {}),
    ...(rule === undefined ? {} : {defaultAdmissionRule: rule}),
  }
}

const DENY = {evaluationMode: 'ALWAYS_DENY', enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG'}
const ALLOW = {evaluationMode: 'ALWAYS_ALLOW', enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG'}
const ATTEST = {
  evaluationMode: 'REQUIRE_ATTESTATION',
  enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG',
  requireAttestationsBy: ['projects/my-project/attestors/built-by-ci'],
}

describe('policy/coverage', () => {
  describe('findCoverage', () => {
    const table: [name: string, policy: Policy, expected: ReturnType<typeof findCoverage>][] = [
      ['empty policy, deny', policy([], DENY), {covered: false}],
      ['no default rule at all', policy([]), {covered: false}],
      ['exact entry', policy(['gcr.io/x/**', REQUIRED], DENY), {covered: true, by: {kind: 'pattern', pattern: REQUIRED}}],
      ['exact entry with whitespace', policy([` ${REQUIRED} `], DENY), {covered: true, by: {kind: 'pattern', pattern: ` ${REQUIRED} `}}],
      ['broader project entry', policy([`${H}/my-project/**`], DENY), {covered: true, by: {kind: 'pattern', pattern: `${H}/my-project/**`}}],
      ['broader host entry', policy([`${H}/**`], ATTEST), {covered: true, by: {kind: 'pattern', pattern: `${H}/**`}}],
      ['exact entry preferred over an earlier broader one', policy([`${H}/**`, REQUIRED], DENY), {covered: true, by: {kind: 'pattern', pattern: REQUIRED}}],
      ['narrower entry does not cover', policy([`${REPO}/svc*`, `${REPO}/svc/**`], DENY), {covered: false}],
      ['single * does not cover **', policy([`${REPO}/*`], DENY), {covered: false}],
      ['other region', policy([`europe-west1-docker.pkg.dev/my-project/cloud-run-source-deploy/**`], DENY), {covered: false}],
      ['ALWAYS_ALLOW default rule', policy([], ALLOW), {covered: true, by: {kind: 'default-rule', evaluationMode: 'ALWAYS_ALLOW'}}],
      ['ALWAYS_ALLOW in dry run', policy([], {...ALLOW, enforcementMode: 'DRYRUN_AUDIT_LOG_ONLY'}), {covered: true, by: {kind: 'default-rule', evaluationMode: 'ALWAYS_ALLOW'}}],
      ['a pattern wins over ALWAYS_ALLOW', policy([REQUIRED], ALLOW), {covered: true, by: {kind: 'pattern', pattern: REQUIRED}}],
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

  describe('describeCoverage', () => {
    it('words each kind', () => {
      expect(describeCoverage(REQUIRED, {covered: false})).to.equal(`${REQUIRED} is not allowlisted`)
      expect(describeCoverage(REQUIRED, {covered: true, by: {kind: 'pattern', pattern: REQUIRED}})).to.equal(`${REQUIRED} is allowlisted`)
      expect(describeCoverage(REQUIRED, {covered: true, by: {kind: 'pattern', pattern: `${H}/**`}})).to.include(`covered by the allowlist pattern ${H}/**`)
      expect(describeCoverage(REQUIRED, {covered: true, by: {kind: 'default-rule', evaluationMode: 'ALWAYS_ALLOW'}})).to.include('ALWAYS_ALLOW')
    })
  })

  describe('evaluateImage', () => {
    const table: [name: string, policy: Policy, image: string, expected: Partial<ReturnType<typeof evaluateImage>>, reason: RegExp][] = [
      ['allowlisted by a repo pattern', policy([REQUIRED], DENY), IMAGE, {admitted: true, rule: 'allowlist', pattern: REQUIRED}, /matches the allowlist pattern/],
      ['first matching pattern is reported', policy(['gcr.io/**', `${H}/**`, REQUIRED], DENY), IMAGE, {admitted: true, rule: 'allowlist', pattern: `${H}/**`}, /pattern us-central1-docker\.pkg\.dev\/\*\*/],
      ['single * does not reach into sub-paths', policy([`${REPO}/*`], DENY), `${REPO}/svc/cache`, {admitted: false, rule: 'default-rule', evaluationMode: 'ALWAYS_DENY'}, /denies every image/],
      ['single * admits a digest reference', policy([`${REPO}/svc*`], DENY), IMAGE, {admitted: true, rule: 'allowlist'}, /allowlist/],
      ['exact pattern does not match a digest', policy([`${REPO}/svc`], DENY), IMAGE, {admitted: false}, /matches no allowlist pattern/],
      ['ALWAYS_ALLOW', policy([], ALLOW), IMAGE, {admitted: true, rule: 'default-rule', evaluationMode: 'ALWAYS_ALLOW', enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG'}, /allows every image/],
      ['ALWAYS_DENY enforced', policy([], DENY), IMAGE, {admitted: false, rule: 'default-rule', evaluationMode: 'ALWAYS_DENY'}, /denies every image \(ALWAYS_DENY\) \(enforcement ENFORCED_BLOCK_AND_AUDIT_LOG\)/],
      ['ALWAYS_DENY dry run', policy([], {...DENY, enforcementMode: 'DRYRUN_AUDIT_LOG_ONLY'}), IMAGE, {admitted: true, rule: 'default-rule', enforcementMode: 'DRYRUN_AUDIT_LOG_ONLY'}, /only logged/],
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
