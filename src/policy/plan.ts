// Planning a change to the allowlist. Pure: no I/O, and the input policy is never mutated: the plan's
// `before` is the policy as read (same object), `after` is a new deep copy with the change applied. Every
// other field (unknown ones, output-only name/updateTime, and the etag the PUT must send back) is kept.

import type {AllowlistPattern, Policy} from './types.js'

import {UserError} from '../errors.js'
import {allowlistPatterns, type Coverage, findCoverage} from './coverage.js'
import {copyJson} from './json-text.js'
import {validatePattern} from './pattern.js'

export interface PolicyPlan {
  /** Patterns appended to admissionWhitelistPatterns, in order. */
  added: string[]
  /** A new policy to PUT (deep copy of `before` plus the change). */
  after: Policy
  /** Requested patterns that needed no entry, and what already admits them. */
  alreadyCovered: {coverage: Coverage; pattern: string;}[]
  /** The policy as read (the caller's object, untouched). */
  before: Policy
  changed: boolean
  /** Requested patterns (revoke) that had no exactly matching entry. */
  notFound: string[]
  /** Patterns whose entries were removed. */
  removed: string[]
}

function dedupe(values: readonly string[]): string[] {
  return [...new Set(values)]
}

/** A copy the plan may change; numbers kept as text (json-text.ts) stay JsonNumbers. */
function copyPolicy(policy: Policy): Policy {
  return copyJson(policy)
}

function currentEntries(policy: Policy): unknown[] {
  const entries: unknown = policy.admissionWhitelistPatterns
  return Array.isArray(entries) ? (entries as unknown[]) : []
}

/**
 * Plans allowlisting `patterns`: each one (validated, trimmed, deduplicated) that the policy does not already
 * cover — by an equal or broader entry, an entry added earlier in this plan, or an ALWAYS_ALLOW default rule —
 * is appended as `{namePattern}`. Existing entries keep their order, fields and positions. Idempotent:
 * planning the same patterns on `after` changes nothing.
 */
export function planAllow(policy: Policy, patterns: readonly string[]): PolicyPlan {
  const wanted = dedupe(patterns.map(p => validatePattern(p)))
  const added: string[] = []
  const alreadyCovered: PolicyPlan['alreadyCovered'] = []
  const existing = allowlistPatterns(policy)
  for (const pattern of wanted) {
    // Coverage is judged against the entries as they will be, so a broader pattern planned first covers
    // a narrower one planned after it.
    const view: Policy = {
      ...policy,
      admissionWhitelistPatterns: [...existing, ...added].map(namePattern => ({namePattern})),
    }
    const coverage = findCoverage(view, pattern)
    if (coverage.covered) alreadyCovered.push({coverage, pattern})
    else added.push(pattern)
  }

  const after = copyPolicy(policy)
  if (added.length > 0) {
    after.admissionWhitelistPatterns = [
      ...(currentEntries(after) as AllowlistPattern[]),
      ...added.map((namePattern): AllowlistPattern => ({namePattern})),
    ]
  }

  return {
    added, after, alreadyCovered, before: policy, changed: added.length > 0, notFound: [], removed: [],
  }
}

/** One build: the image it pushes (without tag or digest) and the entry that would admit it. */
export interface WantedBuild {
  image: string
  pattern: string
}

/**
 * Plans allowlisting what builds push. A build is already covered when the policy admits every image it can push —
 * `image` with any tag or digest — even by an entry narrower than the one binauthz would add (e.g. an
 * administrator's `REPO/svc` for a build into `REPO`, whose entry would be `REPO/**`); otherwise its `pattern` is
 * planned as planAllow does. Existing entries are never replaced or widened.
 */
export function planAllowBuilds(policy: Policy, builds: readonly WantedBuild[]): PolicyPlan {
  const byImage: PolicyPlan['alreadyCovered'] = []
  const rest: string[] = []
  for (const build of builds) {
    const coverage = findCoverage(policy, validatePattern(build.image))
    if (coverage.covered) {
      if (!byImage.some(c => c.pattern === build.pattern) && !rest.includes(build.pattern)) byImage.push({coverage, pattern: build.pattern})
    } else if (!rest.includes(build.pattern)) {
      rest.push(build.pattern)
    }
  }

  const plan = planAllow(policy, rest)
  return {...plan, alreadyCovered: [...byImage.filter(c => !rest.includes(c.pattern)), ...plan.alreadyCovered]}
}

/**
 * Plans removing the allowlist entries whose namePattern equals one of `patterns` exactly (both trimmed;
 * duplicates of it go too). Broader or narrower entries are never touched. Patterns without such an entry are
 * reported in `notFound`. When the list becomes empty the field is dropped, as the API itself omits empty lists.
 */
export function planRevoke(policy: Policy, patterns: readonly string[]): PolicyPlan {
  const wanted = dedupe(patterns.map(p => {
    const trimmed = typeof p === 'string' ? p.trim() : ''
    if (trimmed.length === 0) {
      throw new UserError('Cannot revoke an empty allowlist pattern.', {
        code: 'INVALID_PATTERN',
        suggestions: ['List the current entries with: binauthz policy status'],
      })
    }

    return trimmed
  }))
  const present = new Set(allowlistPatterns(policy).map(p => p.trim()))
  const removed = wanted.filter(p => present.has(p))
  const notFound = wanted.filter(p => !present.has(p))

  const after = copyPolicy(policy)
  if (removed.length > 0) {
    const drop = new Set(removed)
    const kept = currentEntries(after).filter(entry => {
      const name = typeof entry === 'object' && entry !== null ? (entry as AllowlistPattern).namePattern : undefined
      return !(typeof name === 'string' && drop.has(name.trim()))
    }) as AllowlistPattern[]
    if (kept.length > 0) after.admissionWhitelistPatterns = kept
    else delete after.admissionWhitelistPatterns
  }

  return {
    added: [], after, alreadyCovered: [], before: policy, changed: removed.length > 0, notFound, removed,
  }
}
