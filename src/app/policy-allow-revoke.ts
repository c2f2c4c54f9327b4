// `binauthz policy allow|revoke`: add or remove allowlist entries through the one policy-change path, and
// `allow --print terraform`. Nothing here prints.

import type {CoveredBy} from '../policy/coverage.js'
import type {PolicyPlan} from '../policy/plan.js'
import type {Policy} from '../policy/types.js'

import {coveringRule, describeCoverage} from '../policy/coverage.js'
import {planAllow, planRevoke} from '../policy/plan.js'
import {terraformAllowlistBlock} from '../policy/terraform.js'
import {
  applyConfirmed, type PolicyWriteReport, select, withRunConfig, type WriteInput, writeOutcome,
} from './policy-access.js'
import {type KindChoice, type Target} from './targets.js'

export interface PolicyChangeInput extends WriteInput {
  action: 'allow' | 'revoke'
  dockerRepository?: string
  kind?: KindChoice
  patterns?: readonly string[]
  regions?: readonly string[]
}

export interface PolicyChangeResult extends PolicyWriteReport {
  action: 'allow' | 'revoke'
  /** As in the deploy result: `by` names the covering rule, `coveredBy` is the same as structured data. */
  alreadyCovered: {by: string; coveredBy: CoveredBy; pattern: string;}[]
  /** revoke: asked-for patterns that are not entries of the policy (nothing to remove). */
  notFound: string[]
  regions: string[]
  /** The patterns asked for. */
  requested: string[]
  targets: Target[]
}

function planFor(action: 'allow' | 'revoke', patterns: readonly string[]): (policy: Policy) => PolicyPlan {
  return action === 'allow' ? policy => planAllow(policy, patterns) : policy => planRevoke(policy, patterns)
}

export function explainNoChange(action: 'allow' | 'revoke', plan: PolicyPlan): string {
  if (action === 'allow') {
    const reasons = plan.alreadyCovered.map(({coverage, pattern}) =>
      coverage.covered ? `${pattern}: ${describeCoverage(coverage.by, pattern)}` : `${pattern}: already present`)
    return reasons.length > 0 ? `Nothing to add. ${reasons.join('; ')}.` : 'Nothing to add.'
  }

  return plan.notFound.length > 0
    ? `Nothing to remove: ${plan.notFound.join(', ')} ${plan.notFound.length === 1 ? 'is' : 'are'} not an entry of the policy.`
    : 'Nothing to remove.'
}

export async function changePolicy(given: PolicyChangeInput): Promise<PolicyChangeResult> {
  const input = withRunConfig(given)
  const selection = select({...input, useSavedKind: true})
  const requested = selection.targets.map(t => t.pattern)
  const {project} = selection
  const applied = await applyConfirmed(input, {
    plan: planFor(input.action, requested),
    project,
  })
  const {plan} = applied
  return {
    action: input.action,
    added: plan.added,
    alreadyCovered: plan.alreadyCovered.flatMap(({coverage, pattern}) =>
      coverage.covered ? [{by: coveringRule(coverage.by), coveredBy: coverage.by, pattern}] : []),
    changed: plan.changed,
    declined: applied.declined,
    mode: input.mode,
    notFound: plan.notFound,
    project,
    regions: selection.regions,
    removed: plan.removed,
    requested,
    targets: selection.targets,
    written: applied.written,
    ...writeOutcome(applied, explainNoChange(input.action, plan)),
  }
}

export interface TerraformResult {
  patterns: string[]
  project: string
  regions: string[]
  terraform: string
}

/** `policy allow --print terraform`: the block to add to the Terraform configuration; no API call, no write. */
export function terraformForAllow(given: Omit<PolicyChangeInput, 'action' | 'mode' | 'prompter' | 'secrets' | 'userAgent' | 'yes'>): TerraformResult {
  const input = withRunConfig(given)
  const selection = select({...input, useSavedKind: true})
  const patterns = selection.targets.map(t => t.pattern)
  return {
    patterns, project: selection.project, regions: selection.regions, terraform: terraformAllowlistBlock(patterns, {project: selection.project}),
  }
}

