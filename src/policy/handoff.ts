// What to hand to an administrator when binauthz may not (or must not) change the policy itself: the exact
// commands, the YAML lines to add, the roles that allow the change, and the Terraform alternative. Pure.

import {shellArg} from './shell.js'
import {terraformAllowlistBlock} from './terraform.js'
import {isPlainSafe, quoteYamlString} from './yaml.js'

/**
 * Roles that grant binaryauthorization.policy.update (google-cloud-facts §1.4). The one source: the hand-off lists
 * them and the README's permissions table is generated from them (src/cli/error-docs.ts permissionTable).
 */
export const POLICY_UPDATE_ROLES: readonly string[] = [
  'roles/binaryauthorization.policyEditor',
  'roles/binaryauthorization.policyAdmin',
  'roles/binaryauthorization.editor',
  'roles/binaryauthorization.admin',
  'roles/iam.devOps',
  'roles/editor',
  'roles/owner',
]

/** Roles that grant binaryauthorization.policy.get but not update (every update role above also grants it). */
export const POLICY_GET_ONLY_ROLES: readonly string[] = ['roles/binaryauthorization.policyViewer', 'roles/viewer']

/** The member a hand-off grants the role to: the deployer's principal when known, else a placeholder. */
export function memberOf(principal: string | undefined): string {
  if (principal === undefined || principal === '') return 'user:EMAIL'
  return principal.endsWith('.gserviceaccount.com') ? `serviceAccount:${principal}` : `user:${principal}`
}

/** The permission reading the policy needs. */
export const POLICY_GET_PERMISSION = 'binaryauthorization.policy.get'

/** The permission an allowlist change needs. */
export const POLICY_UPDATE_PERMISSION = 'binaryauthorization.policy.update'

/**
 * Instructions for an administrator to allowlist `patterns` in `project`'s Binary Authorization policy:
 * export / edit / import with gcloud, the lines to add under admissionWhitelistPatterns, the roles that allow
 * it, and the equivalent Terraform blocks.
 */
export function adminHandoff(project: string, patterns: readonly string[], options: {principal?: string} = {}): string {
  const p = shellArg(`--project=${project}`)
  const yamlLines = patterns.map(pattern => `- namePattern: ${isPlainSafe(pattern) ? pattern : quoteYamlString(pattern)}`)
  const count = patterns.length === 1 ? 'this entry' : `these ${patterns.length} entries`
  // Prose starts at column 0 (a terminal may wrap it); what is copied is indented and printed whole (src/cli/error-output.ts).
  const lines = [
    `The Binary Authorization policy of project ${project} must allowlist ${count}:`,
    ...patterns.map(pattern => `  ${isPlainSafe(pattern) ? pattern : quoteYamlString(pattern)}`),
    '',
    `Someone with the ${POLICY_UPDATE_PERMISSION} permission on project ${project} can add ${patterns.length === 1 ? 'it' : 'them'}:`,
    '1. Export the policy:',
    `     gcloud container binauthz policy export ${p} > policy.yaml`,
    '2. Add under "admissionWhitelistPatterns:" in policy.yaml (create that key at the top level if it is missing):',
    ...yamlLines.map(line => `     ${line}`),
    '3. Import it:',
    `     gcloud container binauthz policy import policy.yaml ${p}`,
    '',
    `Roles that include ${POLICY_UPDATE_PERMISSION}: ${POLICY_UPDATE_ROLES.join(', ')}.`,
    'Grant one to the deployer instead, for example:',
    `  gcloud projects add-iam-policy-binding ${shellArg(project)} ${shellArg(`--member=${memberOf(options.principal)}`)} --role=roles/binaryauthorization.policyEditor`,
    '',
    'If the policy is managed with Terraform, add instead:',
    ...terraformAllowlistBlock(patterns, {project})
    .trimEnd()
    .split('\n')
    .map(line => (line === '' ? '' : `  ${line}`)),
    '',
  ]
  return lines.join('\n')
}
