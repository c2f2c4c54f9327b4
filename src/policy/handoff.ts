// What to hand to an administrator when binauthz may not (or must not) change the policy itself: the exact
// commands, the YAML lines to add, the roles that allow the change, and the Terraform alternative. Pure.

import {shellArg} from './shell.js'
import {terraformAllowlistBlock} from './terraform.js'
import {isPlainSafe, quoteYamlString} from './yaml.js'

/** Roles that grant binaryauthorization.policy.update (google-cloud-facts §1.4). */
export const POLICY_UPDATE_ROLES: readonly string[] = [
  'roles/binaryauthorization.policyEditor',
  'roles/binaryauthorization.policyAdmin',
  'roles/binaryauthorization.editor',
  'roles/binaryauthorization.admin',
  'roles/iam.devOps',
  'roles/editor',
  'roles/owner',
]

/** The permission reading the policy needs. */
export const POLICY_GET_PERMISSION = 'binaryauthorization.policy.get'

/** The permission an allowlist change needs. */
export const POLICY_UPDATE_PERMISSION = 'binaryauthorization.policy.update'

/**
 * Instructions for an administrator to allowlist `patterns` in `project`'s Binary Authorization policy:
 * export / edit / import with gcloud, the lines to add under admissionWhitelistPatterns, the roles that allow
 * it, and the equivalent Terraform blocks.
 */
export function adminHandoff(project: string, patterns: readonly string[]): string {
  const p = shellArg(`--project=${project}`)
  const yamlLines = patterns.map(pattern => `- namePattern: ${isPlainSafe(pattern) ? pattern : quoteYamlString(pattern)}`)
  const count = patterns.length === 1 ? 'this entry' : `these ${patterns.length} entries`
  const lines = [
    `The Binary Authorization policy of project ${project} must allowlist ${count}:`,
    ...patterns.map(pattern => `  ${isPlainSafe(pattern) ? pattern : quoteYamlString(pattern)}`),
    '',
    `Someone with the ${POLICY_UPDATE_PERMISSION} permission on the project can add it:`,
    '',
    `  1. gcloud container binauthz policy export ${p} > policy.yaml`,
    '  2. Add under "admissionWhitelistPatterns:" in policy.yaml (create that key at the top level if it is missing):',
    '',
    ...yamlLines.map(line => `       ${line}`),
    '',
    `  3. gcloud container binauthz policy import policy.yaml ${p}`,
    '',
    `Roles that include ${POLICY_UPDATE_PERMISSION}: ${POLICY_UPDATE_ROLES.join(', ')}.`,
    'Grant one to the deployer instead, for example:',
    `  gcloud projects add-iam-policy-binding ${shellArg(project)} --member=user:EMAIL --role=roles/binaryauthorization.policyEditor`,
    '',
    'If the policy is managed with Terraform, add instead:',
    '',
    ...terraformAllowlistBlock(patterns, {project})
    .trimEnd()
    .split('\n')
    .map(line => (line === '' ? '' : `  ${line}`)),
    '',
  ]
  return lines.join('\n')
}
