import {expect} from 'chai'
import * as fc from 'fast-check'

import type {Policy} from '../../src/policy/types.js'

import {diffLines, renderPolicyDiff} from '../../src/policy/diff.js'
import {planAllow, planRevoke} from '../../src/policy/plan.js'
import {policyToYaml} from '../../src/policy/yaml.js'

const RUN = 'us-central1-docker.pkg.dev/my-project/cloud-run-source-deploy/**'

// Parsed from JSON like the API's answer (keys in the API's order); the diff is of gcloud's YAML, whose keys are sorted.
const READ = JSON.parse(`{
  "name": "projects/my-project/policy",
  "admissionWhitelistPatterns": [{"namePattern": "gcr.io/google_containers/*"}, {"namePattern": "gcr.io/other/*"}],
  "defaultAdmissionRule": {"evaluationMode": "ALWAYS_DENY", "enforcementMode": "ENFORCED_BLOCK_AND_AUDIT_LOG"},
  "etag": "e1"
}`) as Policy

/** A policy of n allowlist entries, those at the `changed` indexes altered. */
const many = (n: number, changed: number[]): Policy => ({
  admissionWhitelistPatterns: Array.from({length: n}, (_, i) => ({namePattern: `gcr.io/p${i}${changed.includes(i) ? 'x' : ''}/*`})),
})

/** diffLines(a, b) is an edit script of minimal length from a to b. */
function rebuildsBothSides(a: string[], b: string[]): void {
  const ops = diffLines(a, b)
  expect(ops.filter(op => op.kind !== '+').map(op => op.line)).to.deep.equal(a)
  expect(ops.filter(op => op.kind !== '-').map(op => op.line)).to.deep.equal(b)
  const edits = ops.filter(op => op.kind !== ' ').length
  expect(edits).to.equal(a.length + b.length - (2 * lcsLength(a, b)))
}

describe('policy/diff', () => {
  it('shows an appended pattern with two lines of context', () => {
    const plan = planAllow(READ, [RUN])
    expect(renderPolicyDiff(plan.before, plan.after)).to.equal([
      '@@ -2,4 +2,5 @@',
      '  - namePattern: gcr.io/google_containers/*',
      '  - namePattern: gcr.io/other/*',
      `+ - namePattern: ${RUN}`,
      '  defaultAdmissionRule:',
      '    enforcementMode: ENFORCED_BLOCK_AND_AUDIT_LOG',
      '',
    ].join('\n'))
  })

  it('shows a removed pattern', () => {
    const plan = planRevoke(READ, ['gcr.io/google_containers/*'])
    expect(renderPolicyDiff(plan.before, plan.after)).to.equal(['@@ -1,4 +1,3 @@', '  admissionWhitelistPatterns:', '- - namePattern: gcr.io/google_containers/*', '  - namePattern: gcr.io/other/*', '  defaultAdmissionRule:', ''].join('\n'))
  })

  it('shows the list appearing in a policy that had none', () => {
    const before: Policy = {defaultAdmissionRule: {evaluationMode: 'ALWAYS_DENY'}}
    const plan = planAllow(before, [RUN])
    expect(renderPolicyDiff(plan.before, plan.after)).to.equal(['@@ -1,2 +1,4 @@', '+ admissionWhitelistPatterns:', `+ - namePattern: ${RUN}`, '  defaultAdmissionRule:', '    evaluationMode: ALWAYS_DENY', ''].join('\n'))
  })

  it('ignores key order: a policy whose keys another tool reordered shows no change', () => {
    const reordered = JSON.parse(`{
      "etag": "e1",
      "defaultAdmissionRule": {"enforcementMode": "ENFORCED_BLOCK_AND_AUDIT_LOG", "evaluationMode": "ALWAYS_DENY"},
      "admissionWhitelistPatterns": [{"namePattern": "gcr.io/google_containers/*"}, {"namePattern": "gcr.io/other/*"}],
      "name": "projects/my-project/policy"
    }`) as Policy
    expect(renderPolicyDiff(READ, reordered)).to.equal('')
    expect(renderPolicyDiff(reordered, planAllow(READ, [RUN]).after)).to.equal(renderPolicyDiff(READ, planAllow(READ, [RUN]).after))
  })

  it('returns an empty string when nothing changes', () => {
    expect(renderPolicyDiff(READ, structuredClone(READ))).to.equal('')
    expect(renderPolicyDiff({}, {})).to.equal('')
  })

  it('separates distant changes into hunks', () => {
    const text = renderPolicyDiff(many(20, []), many(20, [2, 15]))
    const headers = text.split('\n').filter(line => line.startsWith('@@'))
    expect(headers).to.deep.equal(['@@ -2,5 +2,5 @@', '@@ -15,5 +15,5 @@'])
    expect(text).to.include('- - namePattern: gcr.io/p2/*\n+ - namePattern: gcr.io/p2x/*\n')
  })

  it('merges changes whose context touches', () => {
    const headers = renderPolicyDiff(many(12, []), many(12, [3, 8])).split('\n').filter(line => line.startsWith('@@'))
    expect(headers).to.have.length(1)
  })

  it('does not mutate its inputs', () => {
    const before = structuredClone(READ)
    const {after} = planAllow(READ, [RUN])
    const afterCopy = structuredClone(after)
    renderPolicyDiff(before, after)
    expect(before).to.deep.equal(READ)
    expect(after).to.deep.equal(afterCopy)
  })

  describe('diffLines', () => {
    const lineArray = fc.array(fc.constantFrom('a', 'b', 'c', 'd'), {maxLength: 12})

    it('is a minimal edit script that rebuilds both sides', () => {
      fc.assert(
        fc.property(lineArray, lineArray, rebuildsBothSides),
        {numRuns: 2000},
      )
    })

    it('is deterministic and puts deletions before insertions', () => {
      expect(diffLines(['x', 'a', 'y'], ['x', 'b', 'y'])).to.deep.equal([
        {kind: ' ', line: 'x'},
        {kind: '-', line: 'a'},
        {kind: '+', line: 'b'},
        {kind: ' ', line: 'y'},
      ])
    })
  })

  it('its hunks applied to the old YAML give the new YAML', () => {
    const policyArb = fc.record({
      admissionWhitelistPatterns: fc.array(fc.constantFrom('gcr.io/a/*', 'gcr.io/b/**', 'h.io/c').map(namePattern => ({namePattern})), {maxLength: 8}),
      etag: fc.constantFrom('e1', 'e2'),
      extra: fc.array(fc.constantFrom('x', 'y'), {maxLength: 4}),
    })
    fc.assert(
      fc.property(policyArb, policyArb, (before, after) => {
        const text = renderPolicyDiff(before, after)
        const oldLines = policyToYaml(before).trimEnd().split('\n')
        const newLines = policyToYaml(after).trimEnd().split('\n')
        expect(applyHunks(oldLines, text)).to.deep.equal(newLines)
      }),
      {numRuns: 1000},
    )
  })
})

function lcsLength(a: readonly string[], b: readonly string[]): number {
  const table = Array.from({length: a.length + 1}, () => Array.from({length: b.length + 1}, () => 0))
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = table[i] as number[]
      row[j] = a[i - 1] === b[j - 1] ? (table[i - 1]?.[j - 1] ?? 0) + 1 : Math.max(table[i - 1]?.[j] ?? 0, row[j - 1] ?? 0)
    }
  }

  return table[a.length]?.[b.length] ?? 0
}

/** Applies our unified-style hunks (checking context and removed lines against the old text). */
function applyHunks(oldLines: string[], diff: string): string[] {
  if (diff === '') return oldLines
  const out: string[] = []
  let cursor = 0 // 0-based index into oldLines
  for (const line of diff.trimEnd().split('\n')) {
    const header = /^@@ -(\d+),(\d+) \+(\d+),(\d+) @@$/.exec(line)
    if (header) {
      const start = Number(header[2]) === 0 ? Number(header[1]) : Number(header[1]) - 1
      while (cursor < start) out.push(oldLines[cursor++] ?? '')
      expect(out.length).to.equal(Number(header[4]) === 0 ? Number(header[3]) : Number(header[3]) - 1)
      continue
    }

    const kind = line.slice(0, 2)
    const text = line.slice(2)
    if (kind === '+ ') out.push(text)
    else {
      expect(oldLines[cursor]).to.equal(text)
      cursor++
      if (kind === '  ') out.push(text)
    }
  }

  while (cursor < oldLines.length) out.push(oldLines[cursor++] ?? '')
  return out
}
