import {expect} from 'chai'

import type {Policy} from '../../src/policy/types.js'

import {summarizeDefaultRule} from '../../src/app/policy-status.js'
import {planRestore} from '../../src/policy/restore-plan.js'
import {enforcedPolicy} from './harness.js'

describe('policy operations (pure parts)', () => {
  describe('planRestore', () => {
    const current: Policy = {...enforcedPolicy(['a/b/**', 'c/d/**']), etag: 'NOW', updateTime: '2026-01-02T00:00:00Z'}
    const backup: Policy = {...enforcedPolicy(['a/b/**']), etag: 'OLD', updateTime: '2025-01-01T00:00:00Z'}

    it("writes the backup's content with the CURRENT etag and output-only fields", () => {
      const plan = planRestore(current, backup)
      expect(plan.after.etag).to.equal('NOW')
      expect(plan.after.updateTime).to.equal(current.updateTime)
      expect(plan.after.admissionWhitelistPatterns).to.deep.equal([{namePattern: 'a/b/**'}])
      expect(plan.removed).to.deep.equal(['c/d/**'])
      expect(plan.added).to.deep.equal([])
      expect(plan.changed).to.equal(true)
    })

    it('is no change when only output-only fields differ, and never mutates its inputs', () => {
      const snapshot = structuredClone([current, backup])
      const same = planRestore(current, {...current, etag: 'OLD', updateTime: 'x'})
      expect(same.changed).to.equal(false)
      planRestore(current, backup)
      expect([current, backup]).to.deep.equal(snapshot)
    })

    it('drops an etag the current policy does not have', () => {
      const {etag: _e, ...noEtag} = current
      expect(planRestore(noEtag, backup).after).to.not.have.property('etag')
    })
  })

  describe('summarizeDefaultRule', () => {
    it('is enforced only when the default rule blocks and is not in dry-run', () => {
      expect(summarizeDefaultRule(enforcedPolicy()).enforced).to.equal(true)
      expect(summarizeDefaultRule({defaultAdmissionRule: {enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG', evaluationMode: 'ALWAYS_ALLOW'}}).enforced).to.equal(false)
      expect(summarizeDefaultRule({defaultAdmissionRule: {enforcementMode: 'DRYRUN_AUDIT_LOG_ONLY', evaluationMode: 'ALWAYS_DENY'}}).enforced).to.equal(false)
      expect(summarizeDefaultRule({}).enforced).to.equal(false)
    })
  })
})
