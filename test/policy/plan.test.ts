import {expect} from 'chai'
import * as fc from 'fast-check'

import type {Policy} from '../../src/policy/types.js'

import {UserError} from '../../src/errors.js'
import {findCoverage} from '../../src/policy/coverage.js'
import {validatePattern} from '../../src/policy/pattern.js'
import {planAllow, planRevoke} from '../../src/policy/plan.js'
import {thrownBy} from '../helpers/assert.js'

const H = 'us-central1-docker.pkg.dev'
const RUN = `${H}/my-project/cloud-run-source-deploy/**`
const GCF = `${H}/my-project/gcf-artifacts/**`

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key])
  }

  return value
}

function namePatterns(policy: Policy): string[] {
  return (policy.admissionWhitelistPatterns ?? []).map(entry => entry.namePattern)
}

function withoutPatterns(policy: Policy): Record<string, unknown> {
  const {admissionWhitelistPatterns: _ignored, ...rest} = policy
  return rest
}

const READ: Policy = deepFreeze({
  admissionWhitelistPatterns: [
    {comment: 'kept', namePattern: 'gcr.io/google_containers/*', nested: {a: [1, 2]}},
    {namePattern: `${H}/other/repo/**`},
  ],
  clusterAdmissionRules: {'us-central1-a.prod': {enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG', evaluationMode: 'ALWAYS_DENY'}},
  defaultAdmissionRule: {
    enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG',
    evaluationMode: 'REQUIRE_ATTESTATION',
    futureRuleField: true,
    requireAttestationsBy: ['projects/my-project/attestors/a'],
  },
  etag: '"etag-1"',
  globalPolicyEvaluationMode: 'ENABLE',
  name: 'projects/my-project/policy',
  someFutureField: {x: null, y: [{z: 'w'}]},
  updateTime: '2026-01-02T03:04:05.123456Z',
})

/** planAllow covers every pattern, keeps the other entries in order, leaves its input intact and is idempotent. */
function allowIsSafeAndIdempotent(raw: Policy, patterns: string[]): void {
  const snapshot = structuredClone(raw)
  const input = deepFreeze(raw)
  const plan = planAllow(input, patterns)

  expect(input).to.deep.equal(snapshot)
  expect(plan.before).to.equal(input)
  for (const pattern of patterns) expect(findCoverage(plan.after, pattern).covered, pattern).to.equal(true)

  const before = input.admissionWhitelistPatterns ?? []
  const after = plan.after.admissionWhitelistPatterns ?? []
  expect(after.slice(0, before.length)).to.deep.equal(before)
  expect(after.slice(before.length)).to.deep.equal(plan.added.map(namePattern => ({namePattern})))
  expect(withoutPatterns(plan.after)).to.deep.equal(withoutPatterns(input))
  expect(plan.changed).to.equal(plan.added.length > 0)
  expect(new Set(plan.added).size).to.equal(plan.added.length)
  expect(plan.added.length + plan.alreadyCovered.length).to.equal(new Set(patterns.map(p => p.trim())).size)
  if (!plan.changed) expect(plan.after).to.deep.equal(input)

  const again = planAllow(deepFreeze(plan.after), patterns)
  expect(again.changed).to.equal(false)
  expect(again.added).to.deep.equal([])
  expect(again.after).to.deep.equal(plan.after)
}

/** planRevoke after planAllow of absent patterns restores the original list. */
function revokeUndoesAllow(raw: Policy, patterns: string[]): void {
  const input = deepFreeze(raw)
  const present = new Set(namePatterns(input).map(p => p.trim()))
  fc.pre(patterns.every(p => !present.has(p.trim())))
  const allowed = planAllow(input, patterns)
  const revoked = planRevoke(deepFreeze(allowed.after), patterns)
  expect(revoked.after.admissionWhitelistPatterns ?? []).to.deep.equal(input.admissionWhitelistPatterns ?? [])
  expect(withoutPatterns(revoked.after)).to.deep.equal(withoutPatterns(input))
  expect(revoked.removed).to.deep.equal(allowed.added)
}

/** planRevoke removes exactly the entries equal to a requested pattern and keeps the rest in order. */
function revokeRemovesExactly(raw: Policy, requested: string[]): void {
  const input = deepFreeze(raw)
  const wanted = requested.map(p => p.trim()).filter(p => p.length > 0)
  fc.pre(wanted.length === requested.length)
  const plan = planRevoke(input, requested)
  const expected = (input.admissionWhitelistPatterns ?? []).filter(entry => !wanted.includes(entry.namePattern.trim()))
  expect(plan.after.admissionWhitelistPatterns ?? []).to.deep.equal(expected)
  expect(withoutPatterns(plan.after)).to.deep.equal(withoutPatterns(input))
  expect([...plan.removed, ...plan.notFound].sort()).to.deep.equal([...new Set(wanted)].sort())
}

describe('policy/plan', () => {
  describe('planAllow', () => {
    it('appends an uncovered pattern and keeps everything else, including output-only fields and the etag', () => {
      const plan = planAllow(READ, [RUN])
      expect(plan.changed).to.equal(true)
      expect(plan.added).to.deep.equal([RUN])
      expect(plan.alreadyCovered).to.deep.equal([])
      expect(plan.removed).to.deep.equal([])
      expect(plan.notFound).to.deep.equal([])
      expect(plan.before).to.equal(READ)
      expect(plan.after).to.not.equal(READ)
      expect(plan.after.admissionWhitelistPatterns).to.deep.equal([...(READ.admissionWhitelistPatterns ?? []), {namePattern: RUN}])
      expect(withoutPatterns(plan.after)).to.deep.equal(withoutPatterns(READ))
      expect(plan.after.etag).to.equal('"etag-1"')
      expect(plan.after.name).to.equal('projects/my-project/policy')
      expect(plan.after.updateTime).to.equal('2026-01-02T03:04:05.123456Z')
      expect(Object.keys(plan.after)).to.deep.equal(Object.keys(READ))
    })

    it('returns an after that shares no objects with the input', () => {
      const plan = planAllow(READ, [RUN])
      expect(plan.after.defaultAdmissionRule).to.not.equal(READ.defaultAdmissionRule)
      expect(plan.after.admissionWhitelistPatterns?.[0]).to.not.equal(READ.admissionWhitelistPatterns?.[0])
      expect(Object.isFrozen(plan.after)).to.equal(false)
    })

    it('appends several patterns in order, trimmed and deduplicated', () => {
      const plan = planAllow(READ, [GCF, ` ${RUN} `, GCF, RUN])
      expect(plan.added).to.deep.equal([GCF, RUN])
      expect(namePatterns(plan.after).slice(-2)).to.deep.equal([GCF, RUN])
    })

    it('creates the list when the policy has none', () => {
      const plan = planAllow({defaultAdmissionRule: {evaluationMode: 'ALWAYS_DENY'}}, [RUN])
      expect(plan.after).to.deep.equal({admissionWhitelistPatterns: [{namePattern: RUN}], defaultAdmissionRule: {evaluationMode: 'ALWAYS_DENY'}})
    })

    it('does nothing when the pattern is already there (exactly or after trimming)', () => {
      for (const existing of [RUN, ` ${RUN}`]) {
        const input = deepFreeze({admissionWhitelistPatterns: [{namePattern: existing}], defaultAdmissionRule: {evaluationMode: 'ALWAYS_DENY'}})
        const plan = planAllow(input, [RUN])
        expect(plan.changed).to.equal(false)
        expect(plan.added).to.deep.equal([])
        expect(plan.alreadyCovered).to.deep.equal([{coverage: {by: {kind: 'pattern', pattern: existing}, covered: true}, pattern: RUN}])
        expect(plan.after).to.deep.equal(input)
      }
    })

    it('does nothing when a broader entry covers the pattern', () => {
      const input = deepFreeze({admissionWhitelistPatterns: [{namePattern: `${H}/my-project/**`}]})
      const plan = planAllow(input, [RUN, GCF])
      expect(plan.changed).to.equal(false)
      expect(plan.alreadyCovered.map(c => c.pattern)).to.deep.equal([RUN, GCF])
    })

    it('does nothing when the default rule is ALWAYS_ALLOW', () => {
      const input = deepFreeze({defaultAdmissionRule: {enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG', evaluationMode: 'ALWAYS_ALLOW'}})
      const plan = planAllow(input, [RUN])
      expect(plan.changed).to.equal(false)
      expect(plan.alreadyCovered[0]?.coverage).to.deep.equal({by: {evaluationMode: 'ALWAYS_ALLOW', kind: 'default-rule'}, covered: true})
      expect(plan.after).to.deep.equal(input)
      expect('admissionWhitelistPatterns' in plan.after).to.equal(false)
    })

    it('lets a broader pattern planned first cover a narrower one planned after it', () => {
      const plan = planAllow({}, [`${H}/my-project/**`, RUN])
      expect(plan.added).to.deep.equal([`${H}/my-project/**`])
      expect(plan.alreadyCovered).to.deep.equal([{coverage: {by: {kind: 'pattern', pattern: `${H}/my-project/**`}, covered: true}, pattern: RUN}])
      expect(planAllow({}, [RUN, `${H}/my-project/**`]).added).to.deep.equal([RUN, `${H}/my-project/**`])
    })

    it('adds the pattern when only a narrower or lookalike entry exists', () => {
      for (const existing of [`${H}/my-project/cloud-run-source-deploy/*`, `${H}/my-project/cloud-run-source-deploy*`, `${H}/my-project/cloud-run-source-deploy`, `${H}/my-project/cloud-run-source-deploy/svc/**`]) {
        expect(planAllow({admissionWhitelistPatterns: [{namePattern: existing}]}, [RUN]).added).to.deep.equal([RUN])
      }
    })

    it('rejects invalid patterns with INVALID_PATTERN before planning anything', () => {
      for (const bad of ['', 'no-slash', `https://${RUN}`, `${H}/*/x`, `${RUN}\n;rm -rf`]) {
        const error = thrownBy(() => planAllow(READ, [RUN, bad]))
        expect(error).to.be.instanceOf(UserError)
        expect((error as UserError).code).to.equal('INVALID_PATTERN')
      }
    })

    it('keeps duplicate and malformed existing entries untouched', () => {
      const input = deepFreeze({admissionWhitelistPatterns: [{namePattern: 'gcr.io/a'}, {namePattern: 'gcr.io/a'}, {namePattern: 'weird pattern'}]})
      const plan = planAllow(input, [RUN])
      expect(namePatterns(plan.after)).to.deep.equal(['gcr.io/a', 'gcr.io/a', 'weird pattern', RUN])
    })
  })

  describe('planRevoke', () => {
    it('removes only the exact entry', () => {
      const input = deepFreeze({
        admissionWhitelistPatterns: [{namePattern: `${H}/my-project/**`}, {extra: 1, namePattern: RUN}, {namePattern: `${RUN.slice(0, -1)}`}, {namePattern: 'gcr.io/x'}],
        etag: 'e',
      })
      const plan = planRevoke(input, [RUN])
      expect(plan.changed).to.equal(true)
      expect(plan.removed).to.deep.equal([RUN])
      expect(plan.notFound).to.deep.equal([])
      expect(plan.added).to.deep.equal([])
      expect(plan.after).to.deep.equal({
        admissionWhitelistPatterns: [{namePattern: `${H}/my-project/**`}, {namePattern: `${RUN.slice(0, -1)}`}, {namePattern: 'gcr.io/x'}],
        etag: 'e',
      })
      expect(plan.before).to.equal(input)
    })

    it('removes duplicates and whitespace variants of the entry', () => {
      const input = deepFreeze({admissionWhitelistPatterns: [{namePattern: RUN}, {namePattern: 'gcr.io/x'}, {namePattern: ` ${RUN} `}]})
      expect(namePatterns(planRevoke(input, [` ${RUN}`]).after)).to.deep.equal(['gcr.io/x'])
    })

    it('reports patterns without an exact entry as notFound, even when a broader entry covers them', () => {
      const input = deepFreeze({admissionWhitelistPatterns: [{namePattern: `${H}/my-project/**`}]})
      const plan = planRevoke(input, [RUN, GCF, RUN])
      expect(plan.changed).to.equal(false)
      expect(plan.notFound).to.deep.equal([RUN, GCF])
      expect(plan.after).to.deep.equal(input)
    })

    it('drops the list when it becomes empty', () => {
      const plan = planRevoke(deepFreeze({admissionWhitelistPatterns: [{namePattern: RUN}], etag: 'e'}), [RUN])
      expect(plan.after).to.deep.equal({etag: 'e'})
    })

    it('rejects an empty pattern', () => {
      const error = thrownBy(() => planRevoke(READ, ['  ']))
      expect(error).to.be.instanceOf(UserError)
      expect((error as UserError).code).to.equal('INVALID_PATTERN')
    })

    it('can remove an entry that would not pass validation', () => {
      const plan = planRevoke(deepFreeze({admissionWhitelistPatterns: [{namePattern: 'weird'}]}), ['weird'])
      expect(plan.removed).to.deep.equal(['weird'])
    })
  })

  describe('properties', () => {
    it('planAllow covers every requested pattern, keeps the other entries in order, leaves the input untouched and is idempotent', () => {
      fc.assert(
        fc.property(policyArbitrary(), fc.array(validPatternArbitrary(), {maxLength: 4}), allowIsSafeAndIdempotent),
        {numRuns: 500},
      )
    })

    it('planRevoke after planAllow restores the original pattern list when the patterns were absent', () => {
      fc.assert(
        fc.property(policyArbitrary(), fc.array(validPatternArbitrary(), {maxLength: 3, minLength: 1}), revokeUndoesAllow),
        {numRuns: 500},
      )
    })

    it('planRevoke removes exactly the entries equal to a requested pattern and keeps the rest in order', () => {
      fc.assert(
        fc.property(policyArbitrary(), fc.array(anyPatternArbitrary(), {maxLength: 3, minLength: 1}), revokeRemovesExactly),
        {numRuns: 500},
      )
    })
  })
})

function anyPatternArbitrary(): fc.Arbitrary<string> {
  return fc
  .tuple(
    fc.constantFrom('', ' '),
    fc.constantFrom('h.io', 'g.io'),
    fc.array(fc.constantFrom('a', 'b', 'ab'), {maxLength: 3}),
    fc.constantFrom('', '/', '*', '**', '/**', '/*'),
    fc.constantFrom('', ' '),
  )
  .map(([lead, host, segments, end, trail]) => `${lead}${host}/${segments.join('/')}${end}${trail}`)
}

function validPatternArbitrary(): fc.Arbitrary<string> {
  return anyPatternArbitrary().filter(pattern => {
    try {
      validatePattern(pattern)
      return true
    } catch {
      return false
    }
  })
}

const jsonValue = fc.jsonValue({maxDepth: 2})

function policyArbitrary(): fc.Arbitrary<Policy> {
  const entry = fc.tuple(anyPatternArbitrary(), fc.dictionary(fc.constantFrom('comment', 'x', 'y'), jsonValue, {maxKeys: 2})).map(([namePattern, extra]) => ({...extra, namePattern}))
  return fc.record(
    {
      admissionWhitelistPatterns: fc.array(entry, {maxLength: 6}),
      defaultAdmissionRule: fc.record({
        enforcementMode: fc.constantFrom('ENFORCED_BLOCK_AND_AUDIT_LOG', 'DRYRUN_AUDIT_LOG_ONLY'),
        evaluationMode: fc.constantFrom('ALWAYS_ALLOW', 'ALWAYS_DENY', 'REQUIRE_ATTESTATION'),
      }),
      etag: fc.string({maxLength: 8}),
      futureField: jsonValue,
      globalPolicyEvaluationMode: fc.constantFrom('ENABLE', 'DISABLE'),
      name: fc.constant('projects/p/policy'),
      updateTime: fc.constant('2026-01-01T00:00:00Z'),
    },
    {requiredKeys: ['defaultAdmissionRule']},
  ) as fc.Arbitrary<Policy>
}
