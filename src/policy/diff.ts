// A minimal, deterministic line diff of two policies in their YAML form. Pure: no I/O.
// Lines: "- " removed, "+ " added, "  " context (CONTEXT lines around each change); hunks start with
// "@@ -a,b +c,d @@" (1-based line numbers of the YAML texts, as in a unified diff). No colour.

import type {Policy} from './types.js'

import {policyToYaml} from './yaml.js'

/** Unchanged lines shown around each change. */
export const DIFF_CONTEXT = 2

/** Above this many LCS table cells (16 MiB of memory) the middle is not aligned. */
const MAX_LCS_CELLS = 4_000_000

export type Op = {kind: ' ' | '+' | '-'; line: string}

function lines(text: string): string[] {
  const all = text.split('\n')
  if (all.length > 0 && all.at(-1) === '') all.pop()
  return all
}

/** lcs[(i * (b.length + 1)) + j] = length of the longest common subsequence of a[i..] and b[j..]. */
function lcsTable(a: readonly string[], b: readonly string[]): Uint32Array {
  const n = a.length
  const m = b.length
  const width = m + 1
  const lcs = new Uint32Array((n + 1) * width)
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[(i * width) + j]
        = a[i] === b[j] ? (lcs[((i + 1) * width) + j + 1] ?? 0) + 1 : Math.max(lcs[((i + 1) * width) + j] ?? 0, lcs[(i * width) + j + 1] ?? 0)
    }
  }

  return lcs
}

/** The shortest edit script from midA to midB, walking their LCS table. */
function middleOps(midA: readonly string[], midB: readonly string[]): Op[] {
  const n = midA.length
  const m = midB.length
  const width = m + 1
  const lcs = lcsTable(midA, midB)
  const ops: Op[] = []
  let i = 0
  let j = 0
  while (i < n || j < m) {
    if (i < n && j < m && midA[i] === midB[j]) {
      ops.push({kind: ' ', line: midA[i] ?? ''})
      i++
      j++
    } else if (j === m || (i < n && (lcs[((i + 1) * width) + j] ?? 0) >= (lcs[(i * width) + j + 1] ?? 0))) {
      // Prefer the deletion when both keep the LCS: removed lines come before added ones.
      ops.push({kind: '-', line: midA[i] ?? ''})
      i++
    } else {
      ops.push({kind: '+', line: midB[j] ?? ''})
      j++
    }
  }

  return ops
}

/** Shortest edit script via LCS, after trimming the common prefix and suffix (the usual case: an append). */
export function diffLines(a: readonly string[], b: readonly string[]): Op[] {
  let start = 0
  while (start < a.length && start < b.length && a[start] === b[start]) start++
  let endA = a.length
  let endB = b.length
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--
    endB--
  }

  const midA = a.slice(start, endA)
  const midB = b.slice(start, endB)
  const n = midA.length
  const m = midB.length
  if (n * m > MAX_LCS_CELLS) {
    // Too large to align cheaply (never the case for a real policy): replace the middle wholesale.
    return [
      ...a.slice(0, start).map((line): Op => ({kind: ' ', line})),
      ...midA.map((line): Op => ({kind: '-', line})),
      ...midB.map((line): Op => ({kind: '+', line})),
      ...a.slice(endA).map((line): Op => ({kind: ' ', line})),
    ]
  }

  return [
    ...a.slice(0, start).map((line): Op => ({kind: ' ', line})),
    ...middleOps(midA, midB),
    ...a.slice(endA).map((line): Op => ({kind: ' ', line})),
  ]
}

/**
 * The YAML of `before` and `after` as a unified-style diff: only changed lines with DIFF_CONTEXT lines of
 * context, hunks introduced by "@@" lines. Returns '' when the YAML texts are equal.
 */
export function renderPolicyDiff(before: Policy, after: Policy): string {
  const ops = diffLines(lines(policyToYaml(before)), lines(policyToYaml(after)))
  const changed = ops.map((op, index) => (op.kind === ' ' ? -1 : index)).filter(index => index >= 0)
  if (changed.length === 0) return ''

  // Group changes whose context windows touch into one hunk.
  const hunks: {from: number; to: number}[] = []
  for (const index of changed) {
    const from = Math.max(0, index - DIFF_CONTEXT)
    const to = Math.min(ops.length - 1, index + DIFF_CONTEXT)
    const last = hunks.at(-1)
    if (last && from <= last.to + 1) last.to = Math.max(last.to, to)
    else hunks.push({from, to})
  }

  // 1-based line numbers in the old and new texts at each op.
  const oldLine: number[] = []
  const newLine: number[] = []
  let o = 1
  let n = 1
  for (const op of ops) {
    oldLine.push(o)
    newLine.push(n)
    if (op.kind !== '+') o++
    if (op.kind !== '-') n++
  }

  const out: string[] = []
  for (const hunk of hunks) {
    const slice = ops.slice(hunk.from, hunk.to + 1)
    const oldCount = slice.filter(op => op.kind !== '+').length
    const newCount = slice.filter(op => op.kind !== '-').length
    const oldStart = oldCount === 0 ? (oldLine[hunk.from] ?? 1) - 1 : (oldLine[hunk.from] ?? 1)
    const newStart = newCount === 0 ? (newLine[hunk.from] ?? 1) - 1 : (newLine[hunk.from] ?? 1)
    out.push(`@@ -${oldStart},${oldCount} +${newStart},${newCount} @@`)
    for (const op of slice) out.push(`${op.kind} ${op.line}`)
  }

  return `${out.join('\n')}\n`
}
