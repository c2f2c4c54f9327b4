// What an allowlist change allows beyond this deploy, or why it matters less than it seems (--json `warnings`).
import type {BuildTargets} from '../policy/build-targets.js'
import type {Policy} from '../policy/types.js'
import type {DeployWarning} from './deploy-result.js'

import {planAllowBuilds} from '../policy/plan.js'

/** What the change allows beyond this deploy, or why it matters less than it seems. */
export function warningsFor(policy: Policy, targets: BuildTargets, project: string): DeployWarning[] {
  const warnings: DeployWarning[] = []
  const rule = (policy.defaultAdmissionRule ?? {}) as Record<string, unknown>
  const missing = planAllowBuilds(policy, targets.targets).added
  if (rule.evaluationMode === 'REQUIRE_ATTESTATION' && missing.length > 0) {
    const writers = [...new Set(targets.targets.filter(t => missing.includes(t.pattern)).map(t => t.repository))]
    warnings.push({
      code: 'EXEMPTION_SKIPS_ATTESTATION',
      message: `The default rule of ${project} requires attestations, and an allowlist entry exempts matching images from it entirely: `
        + `after this change ${missing.join(', ')} deploy${missing.length === 1 ? 's' : ''} without any attestation. `
        + `Anyone who can push there (roles/artifactregistry.writer on ${writers.join(', ')}, or a Cloud Build in that project) can deploy unattested images to ${project}.`,
    })
  }

  if (rule.enforcementMode === 'DRYRUN_AUDIT_LOG_ONLY') {
    warnings.push({
      code: 'DRY_RUN_ENFORCEMENT',
      message: `The policy of ${project} is in dry-run enforcement (DRYRUN_AUDIT_LOG_ONLY): nothing is blocked today, violations are only logged. `
        + 'The entry keeps this deploy admitted once enforcement is turned on.',
    })
  }

  for (const target of targets.targets.filter(t => t.crossProject)) {
    warnings.push({
      code: 'CROSS_PROJECT_REPOSITORY',
      message: `[${target.region}] the build repository ${target.repository} belongs to project ${target.repositoryProject}, not ${project}: `
        + `whoever can write ${target.pattern} there (its Artifact Registry writers) can deploy it here.`,
    })
  }

  return warnings
}
