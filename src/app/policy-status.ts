// `binauthz policy status`: the default rule, the allowlist, and for each deploy path whether its build repository
// is covered (and by which rule), read as the run's principal. Nothing here prints.

import type {CoveredBy, ImageVerdict} from '../policy/coverage.js'
import type {DeployKind} from '../policy/repository.js'
import type {Policy} from '../policy/types.js'

import {evaluateImage, findCoverage} from '../policy/coverage.js'
import {
  type ApiInput, clientFor, select, withRunConfig,
} from './policy-access.js'
import {type KindChoice, kindsOf, type Target} from './targets.js'

export type {CoveredBy} from '../policy/coverage.js'

function coveredBy(policy: Policy, pattern: string): CoveredBy | undefined {
  const coverage = findCoverage(policy, pattern)
  return coverage.covered ? coverage.by : undefined
}

export interface PathStatus extends Target {
  covered: boolean
  coveredBy?: CoveredBy
  /** True when the exact pattern is an entry of the allowlist. */
  exactEntry: boolean
}

export interface DefaultRuleSummary {
  /** The default rule blocks images that are not allowlisted (and is not in dry-run audit mode). */
  enforced: boolean
  enforcementMode?: string
  evaluationMode?: string
}

export interface PolicyStatusResult {
  allowlist: string[]
  defaultRule: DefaultRuleSummary
  etag?: string
  globalPolicyEvaluationMode?: string
  image?: ImageVerdict & {image: string}
  /** Required patterns not covered by anything. */
  missing: string[]
  paths: PathStatus[]
  project: string
  projectSource: string
  /**
   * Present when no region was given or configured: the default rule and the allowlist are still shown, but the
   * per-region checks (each deploy path's build repository) need --region. `kinds` are the deploy paths not checked.
   */
  regionNeeded?: {flag: '--region'; kinds: DeployKind[]}
  regions: string[]
  updateTime?: string
}

export function summarizeDefaultRule(policy: Policy): DefaultRuleSummary {
  const rule = policy.defaultAdmissionRule
  const evaluationMode = typeof rule?.evaluationMode === 'string' ? rule.evaluationMode : undefined
  const enforcementMode = typeof rule?.enforcementMode === 'string' ? rule.enforcementMode : undefined
  const enforced
    = evaluationMode !== undefined
      && evaluationMode !== 'ALWAYS_ALLOW'
      && enforcementMode !== 'DRYRUN_AUDIT_LOG_ONLY'
  return {
    ...(evaluationMode === undefined ? {} : {evaluationMode}),
    ...(enforcementMode === undefined ? {} : {enforcementMode}),
    enforced,
  }
}

export function pathStatuses(policy: Policy, targets: readonly Target[]): PathStatus[] {
  const entries = new Set((policy.admissionWhitelistPatterns ?? []).map(p => p.namePattern.trim()))
  return targets.map(target => {
    const by = coveredBy(policy, target.pattern)
    return {
      ...target, covered: by !== undefined, exactEntry: entries.has(target.pattern), ...(by ? {coveredBy: by} : {}),
    }
  })
}

export interface PolicyStatusInput extends ApiInput {
  dockerRepository?: string
  image?: string
  kind?: KindChoice
  regions?: readonly string[]
}

export async function policyStatus(given: PolicyStatusInput): Promise<PolicyStatusResult> {
  const input = withRunConfig(given)
  const dockerRepository = input.dockerRepository ?? input.config.defaults.dockerRepository
  // `policy status --image IMAGE` or `--docker-repository` alone needs no region.
  const selection = select({
    ...input,
    ...(dockerRepository === undefined ? {} : {dockerRepository}),
    onlyExplicit: false,
    // Without a region the policy is still worth showing: the default rule and the allowlist need none; the per-region
    // deploy-path checks are reported as needing --region (regionNeeded).
    requireRegion: false,
    useSavedKind: true,
  })
  const kinds = kindsOf(input.kind ?? input.config.defaults.kind ?? 'all')
  const regionNeeded = selection.regions.length === 0 && input.image === undefined && input.dockerRepository === undefined
    ? {flag: '--region' as const, kinds}
    : undefined
  const client = await clientFor(input, selection.project)
  const policy = await client.getPolicy(selection.project)
  const paths = pathStatuses(policy, selection.targets)
  const result: PolicyStatusResult = {
    project: selection.project,
    projectSource: selection.projectSource,
    regions: selection.regions,
    ...(policy.etag === undefined ? {} : {etag: policy.etag}),
    ...(policy.updateTime === undefined ? {} : {updateTime: policy.updateTime}),
    defaultRule: summarizeDefaultRule(policy),
    ...(typeof policy.globalPolicyEvaluationMode === 'string' ? {globalPolicyEvaluationMode: policy.globalPolicyEvaluationMode} : {}),
    allowlist: (policy.admissionWhitelistPatterns ?? []).map(p => p.namePattern),
    missing: paths.filter(p => !p.covered).map(p => p.pattern),
    paths,
    ...(regionNeeded === undefined ? {} : {regionNeeded}),
  }
  if (input.image !== undefined) result.image = {image: input.image, ...evaluateImage(policy, input.image)}
  return result
}

