// Shared checks of the reliability fault tests: what every run and every policy must satisfy.
import type {Policy} from '../../src/policy/types.js'

import {EXIT_CODES} from '../../src/errors.js'
import {
  CANARY_TOKEN, type CliRun, otherFields, patternsOf,
} from './reliability-cli.js'

/** A policy full of fields binauthz does not manage, which must survive every write byte for byte. */
export function original(project: string): Policy {
  return {
    admissionWhitelistPatterns: [{namePattern: 'gcr.io/keep-me/**'}, {namePattern: 'eu.gcr.io/keep-me-too/*'}],
    defaultAdmissionRule: {
      enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG',
      evaluationMode: 'REQUIRE_ATTESTATION',
      requireAttestationsBy: [`projects/${project}/attestors/ci`],
    },
    description: `Policy of ${project} — fields the tool does not know must survive`,
    futureField: {nested: [1, 'two', {three: null}]},
    globalPolicyEvaluationMode: 'ENABLE',
    name: `projects/${project}/policy`,
  } as Policy
}

/** Exit codes a failed policy step may end with (README "Exit codes"): conflict or external. */
export const FAILURE_CODES = [EXIT_CODES.conflict, EXIT_CODES.external]
/** Error codes that explain such a failure. */
export const FAILURE_ERROR_CODES = ['POLICY_CONFLICT', 'DEADLINE_EXCEEDED', 'NETWORK_ERROR', 'TIMEOUT', 'UNAVAILABLE', 'RESOURCE_EXHAUSTED']

export interface ErrorJson {
  deploys?: {exitCode: null | number}[]
  error?: {code?: string; exitCode?: number; message?: string; suggestions?: string[]}
}

/** Problems with one run (empty when it behaved as guaranteed). */
export function checkRun(run: CliRun, service: string, gcloudCalls: string[][]): string[] {
  const problems: string[] = []
  const label = `${service} (exit ${run.code})`
  if (run.timedOut) problems.push(`${label}: hung (killed by the test timeout)`)
  if (`${run.stdout}${run.stderr}`.includes(CANARY_TOKEN)) problems.push(`${label}: printed the access token`)
  const deployed = gcloudCalls.filter(argv => argv[2] === service).length
  let json: ErrorJson | undefined
  try {
    json = JSON.parse(run.stdout) as ErrorJson
  } catch {
    problems.push(`${label}: stdout is not the --json result: ${run.stdout.slice(0, 200)}`)
  }

  if (run.code === 0) {
    if (deployed !== 1) problems.push(`${label}: succeeded but gcloud ran ${deployed} times`)
    if (json?.error !== undefined) problems.push(`${label}: exit 0 with an error object`)
  } else {
    if (!FAILURE_CODES.includes(run.code as 4 | 5)) problems.push(`${label}: undocumented exit code for a policy failure`)
    if (deployed !== 0) problems.push(`${label}: the policy step failed but gcloud ran ${deployed} times`)
    const error = json?.error
    if (error?.exitCode !== run.code) problems.push(`${label}: --json error.exitCode is ${String(error?.exitCode)}`)
    if (!FAILURE_ERROR_CODES.includes(error?.code ?? '')) problems.push(`${label}: unexpected error code ${String(error?.code)}: ${error?.message}`)
    if ((error?.message ?? '').length < 20) problems.push(`${label}: no clear message`)
    if ((error?.suggestions ?? []).length === 0) problems.push(`${label}: no suggestion for what to do next`)
  }

  return problems
}

/** Problems with a project's final policy and with every PUT that reached the API. */
export function checkPolicy(
  project: string,
  final: Policy,
  puts: Policy[],
  others: readonly string[],
  succeeded: readonly string[],
  attempted: readonly string[],
): string[] {
  const problems: string[] = []
  const base = original(project)
  const basePatterns = patternsOf(base)
  for (const [i, put] of puts.entries()) {
    if (otherFields(put) !== otherFields(base)) problems.push(`${project}: PUT #${i} changed a field other than the allowlist`)
    const sent = patternsOf(put)
    if (JSON.stringify(sent.slice(0, basePatterns.length)) !== JSON.stringify(basePatterns)) problems.push(`${project}: PUT #${i} dropped or reordered an original entry`)
    if (new Set(sent).size !== sent.length) problems.push(`${project}: PUT #${i} has a duplicate entry`)
  }

  const patterns = patternsOf(final)
  if (otherFields(final) !== otherFields(base)) problems.push(`${project}: final policy changed a field other than the allowlist`)
  if (JSON.stringify(patterns.slice(0, basePatterns.length)) !== JSON.stringify(basePatterns)) problems.push(`${project}: an original entry was lost`)
  if (new Set(patterns).size !== patterns.length) problems.push(`${project}: duplicate entries ${patterns.join(', ')}`)
  for (const p of others) if (!patterns.includes(p)) problems.push(`${project}: the other admin's ${p} was lost`)
  for (const p of succeeded) if (!patterns.includes(p)) problems.push(`${project}: ${p} missing although its deploy succeeded`)
  const allowed = new Set([...attempted, ...basePatterns, ...others])
  for (const p of patterns) if (!allowed.has(p)) problems.push(`${project}: unexpected entry ${p}`)
  return problems
}
