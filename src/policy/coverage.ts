// Does a policy already admit what we are about to deploy? Pure: no I/O.

import type {AllowlistPattern, Policy} from './types.js'

import {patternCovers, patternMatchesImage} from './pattern.js'

export type Coverage
  = {by: {evaluationMode: 'ALWAYS_ALLOW'; kind: 'default-rule';} | {kind: 'pattern'; pattern: string}; covered: true;}
    | {covered: false}

export interface ImageVerdict {
  admitted: boolean
  enforcementMode?: string
  evaluationMode?: string
  pattern?: string
  /** One sentence for humans explaining the verdict. */
  reason: string
  rule: 'allowlist' | 'default-rule' | 'system-policy'
}

/**
 * Google's system images, exempt when globalPolicyEvaluationMode is ENABLE (policy-yaml-reference: "The system
 * policy is evaluated prior to and in addition to user policy evaluation"). Google does not publish the list; these
 * are the paths the same page says a policy must list itself when the mode is disabled (the placeholder
 * gcr.io/gke-release/someproject/* left out). Only an explicit ENABLE counts (REST: UNSPECIFIED = DISABLE).
 */
export const SYSTEM_IMAGE_PATTERNS: readonly string[] = [
  'gcr.io/google-containers/*',
  'k8s.gcr.io/**',
  'gke.gcr.io/*',
  'gcr.io/stackdriver-agents/*',
]

/** The policy's allowlist entries that have a string namePattern, in order (never throws on odd input). */
export function allowlistPatterns(policy: Policy): string[] {
  const entries: unknown = policy.admissionWhitelistPatterns
  if (!Array.isArray(entries)) return []
  const out: string[] = []
  for (const entry of entries as unknown[]) {
    if (typeof entry === 'object' && entry !== null && typeof (entry as AllowlistPattern).namePattern === 'string') {
      out.push((entry as AllowlistPattern).namePattern)
    }
  }

  return out
}

function ruleField(policy: Policy, field: 'enforcementMode' | 'evaluationMode'): string | undefined {
  const rule: unknown = policy.defaultAdmissionRule
  if (typeof rule !== 'object' || rule === null) return undefined
  const value = (rule as Record<string, unknown>)[field]
  return typeof value === 'string' ? value : undefined
}

/**
 * How `policy` already admits every image `required` matches: an allowlist entry equal to it (preferred) or
 * broader than it, else a default rule that allows everything (ALWAYS_ALLOW), else not covered.
 */
export function findCoverage(policy: Policy, required: string): Coverage {
  const wanted = required.trim()
  const patterns = allowlistPatterns(policy)
  const exact = patterns.find(p => p.trim() === wanted)
  const broader = exact ?? patterns.find(p => patternCovers(p, wanted))
  if (broader !== undefined) return {by: {kind: 'pattern', pattern: broader}, covered: true}
  if (ruleField(policy, 'evaluationMode') === 'ALWAYS_ALLOW') {
    return {by: {evaluationMode: 'ALWAYS_ALLOW', kind: 'default-rule'}, covered: true}
  }

  return {covered: false}
}

/** What satisfies a required pattern. */
export type CoveredBy = Extract<Coverage, {covered: true}>['by']

/** The one human wording of what covers `required` (status, allow, setup). */
export function describeCoverage(by: CoveredBy, required?: string): string {
  if (by.kind === 'pattern' && by.pattern.trim() === required?.trim()) return 'allowlisted'
  return by.kind === 'pattern'
    ? `covered by the broader allowlist entry ${by.pattern}`
    : 'not needed: the default rule is ALWAYS_ALLOW (every image is admitted)'
}

/** Which entry or rule covers a pattern, as the deploy's --json `alreadyCovered[].by` names it. */
export function coveringRule(by: CoveredBy): string {
  return by.kind === 'pattern' ? by.pattern : `defaultAdmissionRule: ${by.evaluationMode}`
}

/**
 * What Binary Authorization would decide for `image` under `policy` (project policy, as Cloud Run uses it):
 * the first matching allowlist pattern admits it; otherwise the default admission rule decides. ALWAYS_ALLOW
 * admits; ALWAYS_DENY and REQUIRE_ATTESTATION block, except that enforcementMode DRYRUN_AUDIT_LOG_ONLY only
 * logs the violation and admits. This tool cannot check attestations, so REQUIRE_ATTESTATION counts as a block.
 */
export function evaluateImage(policy: Policy, image: string): ImageVerdict {
  const target = image.trim()
  const system = policy.globalPolicyEvaluationMode === 'ENABLE' ? SYSTEM_IMAGE_PATTERNS.find(p => patternMatchesImage(p, target)) : undefined
  if (system !== undefined) {
    return {
      admitted: true, pattern: system, reason: `The image is a Google system image (${system}), exempt because globalPolicyEvaluationMode is ENABLE.`, rule: 'system-policy',
    }
  }

  const match = allowlistPatterns(policy).find(p => patternMatchesImage(p, target))
  if (match !== undefined) {
    return {
      admitted: true, pattern: match, reason: `The image matches the allowlist pattern ${match}.`, rule: 'allowlist',
    }
  }

  const evaluationMode = ruleField(policy, 'evaluationMode')
  const enforcementMode = ruleField(policy, 'enforcementMode')
  const modes = {
    ...(evaluationMode === undefined ? {} : {evaluationMode}),
    ...(enforcementMode === undefined ? {} : {enforcementMode}),
  }
  const dryRun = enforcementMode === 'DRYRUN_AUDIT_LOG_ONLY'
  const noMatch = 'The image matches no allowlist pattern'

  if (evaluationMode === 'ALWAYS_ALLOW') {
    return {
      admitted: true, rule: 'default-rule', ...modes, reason: `${noMatch}, but the default rule allows every image (ALWAYS_ALLOW).`,
    }
  }

  let blocked: string
  if (evaluationMode === 'ALWAYS_DENY') {
    blocked = 'the default rule denies every image (ALWAYS_DENY)'
  } else if (evaluationMode === 'REQUIRE_ATTESTATION') {
    const raw: unknown = (policy.defaultAdmissionRule as Record<string, unknown> | undefined)?.requireAttestationsBy
    const attestors = Array.isArray(raw) ? raw.filter((a): a is string => typeof a === 'string') : []
    blocked
      = 'the default rule requires attestations (REQUIRE_ATTESTATION'
        + (attestors.length > 0 ? ` by ${attestors.join(', ')}` : '')
        + '), which images built by a source deploy do not have'
  } else {
    blocked
      = evaluationMode === undefined
        ? 'the policy has no default admission rule evaluation mode, so nothing admits it'
        : `the default rule's evaluation mode ${evaluationMode} does not admit it`
  }

  if (dryRun) {
    return {
      admitted: true,
      rule: 'default-rule',
      ...modes,
      reason: `${noMatch} and ${blocked}; enforcement is DRYRUN_AUDIT_LOG_ONLY, so the violation is only logged and the image is admitted.`,
    }
  }

  return {
    admitted: false,
    rule: 'default-rule',
    ...modes,
    reason: `${noMatch} and ${blocked}${enforcementMode === undefined ? '' : ` (enforcement ${enforcementMode})`}.`,
  }
}
