// The Binary Authorization v1 project Policy as the sandbox stores and serves it, written from Google's REST
// reference (https://cloud.google.com/binary-authorization/docs/reference/rest/Shared.Types/Policy) and not from
// the CLI's own types: the sandbox is an independent stand-in and imports nothing of the CLI's logic.
//
// Wire values are typed as plain strings on purpose: the stored file is whatever a client PUT or a test seeded,
// and the judge (admission.ts) must decide on unknown or malformed values too, so it narrows them itself.

/** AdmissionRule.evaluationMode values the reference lists ("Required. How this admission rule will be evaluated."). */
export const EVALUATION_MODES = ['ALWAYS_ALLOW', 'ALWAYS_DENY', 'REQUIRE_ATTESTATION'] as const
export type EvaluationMode = (typeof EVALUATION_MODES)[number]

/** AdmissionRule.enforcementMode values ("Required. The action when a pod creation is denied by the admission rule."). */
export const ENFORCEMENT_MODES = ['DRYRUN_AUDIT_LOG_ONLY', 'ENFORCED_BLOCK_AND_AUDIT_LOG'] as const

/** Policy.globalPolicyEvaluationMode ("GLOBAL_POLICY_EVALUATION_MODE_UNSPECIFIED: Not specified: `DISABLE` is assumed."). */
export const GLOBAL_POLICY_EVALUATION_MODES = ['DISABLE', 'ENABLE', 'GLOBAL_POLICY_EVALUATION_MODE_UNSPECIFIED'] as const

/** Both modes are "Required." by the reference, optional here: a seeded file may lack them and the judge decides then. */
export interface AdmissionRule {
  [field: string]: unknown
  enforcementMode?: string
  evaluationMode?: string
  /** `projects/*\/attestors/*`; "must be non-empty when the evaluationMode field specifies REQUIRE_ATTESTATION". */
  requireAttestationsBy?: string[]
}

export interface AdmissionWhitelistPattern {
  [field: string]: unknown
  /** "An image name pattern to allowlist, in the form `registry/path/to/image`." */
  namePattern: string
}

export interface Policy {
  /** Fields the sandbox does not know are stored and returned verbatim. */
  [field: string]: unknown
  admissionWhitelistPatterns?: AdmissionWhitelistPattern[]
  clusterAdmissionRules?: Record<string, AdmissionRule>
  /** "Required." A stored file may still lack it (a seed); the judge then denies. */
  defaultAdmissionRule?: AdmissionRule
  description?: string
  etag?: string
  globalPolicyEvaluationMode?: string
  istioServiceIdentityAdmissionRules?: Record<string, AdmissionRule>
  kubernetesNamespaceAdmissionRules?: Record<string, AdmissionRule>
  kubernetesServiceAccountAdmissionRules?: Record<string, AdmissionRule>
  /** Output only: `projects/*\/policy`. */
  name?: string
  /** Output only. */
  updateTime?: string
}
