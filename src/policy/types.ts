// The Binary Authorization v1 project Policy, as far as this tool reads it. Every object keeps an index
// signature so fields we do not know (including future ones) survive a read-modify-write untouched.

import {ExternalError} from '../errors.js'
import {displayValue} from './names.js'

export interface AllowlistPattern {
  [field: string]: unknown
  namePattern: string
}

export type EvaluationMode = 'ALWAYS_ALLOW' | 'ALWAYS_DENY' | 'EVALUATION_MODE_UNSPECIFIED' | 'REQUIRE_ATTESTATION'

export interface AdmissionRule {
  [field: string]: unknown
  enforcementMode?: string
  evaluationMode?: EvaluationMode | string
  requireAttestationsBy?: string[]
}

export interface Policy {
  [field: string]: unknown
  admissionWhitelistPatterns?: AllowlistPattern[]
  defaultAdmissionRule?: AdmissionRule
  description?: string
  etag?: string
  globalPolicyEvaluationMode?: string
  name?: string
  updateTime?: string
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function malformed(reason: string): ExternalError {
  return new ExternalError(`The Binary Authorization API returned a malformed policy: ${reason}.`, {
    code: 'POLICY_MALFORMED',
    suggestions: ['Inspect it with: gcloud container binauthz policy export'],
  })
}

/**
 * What the API answered for project P's policy, checked to BE that policy before anything is planned on it or written
 * back: an object without an `error` envelope (some proxies and fakes answer errors with HTTP 200), named exactly
 * `projects/P/policy` (the API names it with the project ID it was asked for: /work/shared/reference traces; a policy
 * named after a number or another project cannot be proven to be P's), with a `defaultAdmissionRule` object (the API
 * always has one: a policy without it is not a policy, and writing a plan made on it would replace the whole policy).
 */
export function parsePolicyAnswer(value: unknown, project: string): Policy {
  if (isRecord(value) && value.error !== undefined) {
    const error = isRecord(value.error) ? value.error : {}
    const what = [error.code, error.status].filter(v => typeof v === 'number' || typeof v === 'string').join(' ')
    const message = typeof error.message === 'string' ? `: ${displayValue(error.message, 200)}` : ''
    throw malformed(`it is an error answer (${what === '' ? 'no code' : displayValue(what, 40)}${message}) sent with a success status`)
  }

  const policy = parsePolicy(value)
  if (policy.name === undefined) throw malformed(`it has no "name" (expected "projects/${project}/policy")`)
  if (policy.name !== `projects/${project}/policy`) {
    throw malformed(`it is named ${displayValue(policy.name, 120)}, not "projects/${project}/policy": it is not this project's policy`)
  }

  if (policy.defaultAdmissionRule === undefined) throw malformed('it has no "defaultAdmissionRule" object (every policy has one)')
  return policy
}

/**
 * Checks that a decoded JSON value has the policy shape this tool relies on, and that it belongs to
 * `project` when given. Returns the same object (typed); never copies or drops fields.
 */
export function parsePolicy(value: unknown, project?: string): Policy {
  if (!isRecord(value)) throw malformed('expected a JSON object')
  const {admissionWhitelistPatterns: patterns, defaultAdmissionRule: rule, etag, name} = value
  if (name !== undefined && typeof name !== 'string') throw malformed('"name" is not a string')
  if (etag !== undefined && typeof etag !== 'string') throw malformed('"etag" is not a string')
  if (patterns !== undefined) {
    if (!Array.isArray(patterns)) throw malformed('"admissionWhitelistPatterns" is not a list')
    for (const entry of patterns) {
      if (!isRecord(entry) || typeof entry.namePattern !== 'string') {
        throw malformed('an "admissionWhitelistPatterns" entry has no string "namePattern"')
      }
    }
  }

  if (rule !== undefined && !isRecord(rule)) throw malformed('"defaultAdmissionRule" is not an object')
  if (project !== undefined && typeof name === 'string' && name !== `projects/${project}/policy` // A number-form name (projects/123/policy) cannot be checked against an ID without another API; accept it.
    && !/^projects\/\d+\/policy$/.test(name)) {
    throw malformed(`it is named "${name}", not "projects/${project}/policy"`)
  }

  return value as Policy
}
