// The sandbox's judge: decides whether a deploy with Binary Authorization "default" is admitted by the stored
// project policy. It is written from Google's documented semantics, not from the CLI's pattern code, so a
// mistake in the CLI's matching shows up as a refused deploy instead of being mirrored here (conventions 19).
//
// Sources (quoted where each rule is implemented):
//   [YAML]  https://cloud.google.com/binary-authorization/docs/policy-yaml-reference
//   [REST]  https://cloud.google.com/binary-authorization/docs/reference/rest/Shared.Types/Policy and
//           .../Shared.Types/AdmissionRule (the same text is in gcloud 528's generated
//           binaryauthorization_v1_messages.py; the v1beta1 text adds the nginx examples)
//   [DRY]   https://cloud.google.com/binary-authorization/docs/enabling-dry-run
//   [RUN]   https://cloud.google.com/binary-authorization/docs/run/overview
//
// Where the documentation is silent the judge takes the strictest reasonable reading (it denies) and says so.
import {appendFileSync} from 'node:fs'

import type {SandboxContext} from './api.js'
import type {Policy} from './policy-model.js'

import {currentPolicy} from './binauthz.js'

/** Which part of the policy decided an image's verdict. */
export type DecidedBy = 'allowlist' | 'defaultAdmissionRule' | 'image' | 'systemPolicy'

export interface ImageVerdict {
  admitted: boolean
  decidedBy?: DecidedBy
  /**
   * True when the rule would have denied the image but its enforcementMode is DRYRUN_AUDIT_LOG_ONLY:
   * [YAML] "DRYRUN_AUDIT_LOG_ONLY : Allows deployment of non-conformant images and writes details about the
   * violation to the audit log."
   */
  dryRun?: boolean
  image: string
  /** The allowlist (or system policy) pattern that exempted the image. */
  matchedPattern?: string
  reason: string
}

export interface AdmissionDecision {
  admitted: boolean
  /** One line per denial and per dry-run violation: what the audit log would record. */
  auditLog?: string[]
  /** The first denied image and why, when denied. */
  deniedImage?: string
  reason?: string
  /** One verdict per image, in the order given. */
  verdicts: ImageVerdict[]
}

/** The state file admitImages() appends audit lines to (the sandbox's stand-in for Cloud Audit Logs). */
export const AUDIT_LOG_FILE = 'audit.jsonl'

// ---------------------------------------------------------------------------------------------------------------
// Name patterns
// ---------------------------------------------------------------------------------------------------------------

/**
 * A namePattern, classified.
 * [REST] "An image name pattern to allowlist, in the form `registry/path/to/image`. This supports a trailing `*`
 * wildcard, but this is allowed only in text after the `registry/` part. This also supports a trailing `**`
 * wildcard which matches subdirectories of a given entry."
 * [YAML] "Replace MATCHING_PATTERN with either a path to a single image or a matching pattern containing one of
 * the wildcard symbols ( * , ** ). Note that wildcards are valid only at the end of the pattern."
 */
export type NamePattern
  = | {kind: 'any-depth'; prefix: string} // trailing **
    | {kind: 'exact'; text: string}
    | {kind: 'invalid'; why: string}
    | {kind: 'one-level'; prefix: string} // trailing *

export function parseNamePattern(pattern: string): NamePattern {
  if (pattern === '' || /\s/.test(pattern)) return {kind: 'invalid', why: 'empty or contains whitespace'}
  const star = pattern.indexOf('*')
  if (star === -1) return {kind: 'exact', text: pattern}
  const tail = pattern.slice(star)
  // [YAML] "gcr.io/my-project/nginx* is a valid pattern, but gcr.io/my-project/n*x isn't." Not documented:
  // what a stored invalid pattern does. Strictest reading: it exempts nothing (the service refuses to store it).
  if (tail !== '*' && tail !== '**') return {kind: 'invalid', why: 'wildcards are valid only at the end of the pattern'}
  const prefix = pattern.slice(0, star)
  // "allowed only in text after the `registry/` part": the wildcard needs a registry and a slash before it.
  // [YAML] "The same rules apply for local references to images": a local reference ("loc-ref") has no
  // registry part, so a wildcard on it is not allowed either (strictest reading).
  if (prefix.indexOf('/') <= 0) return {kind: 'invalid', why: 'wildcards are allowed only after "registry/"'}
  return tail === '**' ? {kind: 'any-depth', prefix} : {kind: 'one-level', prefix}
}

/** An image reference split as Docker writes it: NAME[:TAG][@DIGEST]; a ":" before the last "/" is a port. */
export interface ImageReference {
  digest?: string
  /** Registry and path, without tag or digest. */
  name: string
  tag?: string
}

export function parseImageReference(image: string): ImageReference {
  const at = image.indexOf('@')
  const beforeDigest = at === -1 ? image : image.slice(0, at)
  const digest = at === -1 ? undefined : image.slice(at + 1)
  const colon = beforeDigest.lastIndexOf(':')
  const hasTag = colon > beforeDigest.lastIndexOf('/')
  return {
    ...(digest === undefined ? {} : {digest}),
    name: hasTag ? beforeDigest.slice(0, colon) : beforeDigest,
    ...(hasTag ? {tag: beforeDigest.slice(colon + 1)} : {}),
  }
}

/**
 * Whether a namePattern matches an image reference (as the deploy names it: with tag and/or digest).
 * Comparison is on the literal strings: no registry aliasing (gcr.io vs us.gcr.io, docker.io/library/x vs x) and
 * no case folding. The docs describe none, so none is done (strictest reading).
 */
export function patternMatches(pattern: string, image: string): boolean {
  const parsed = parseNamePattern(pattern)
  switch (parsed.kind) {
  case 'any-depth': {
    // [YAML] "The ** wildcard matches images in subdirectories. For example, the path gcr.io/my-project/nginx**
    // matches gcr.io/my-project/nginx-1.14.2/image:latest." and "the path gcr.io/my-project** , allows images in
    // both gcr.io/my-project/nginx and gcr.io/my-project-exploit/nginx-exploit": any text, "/" included.
    return image.startsWith(parsed.prefix)
  }

  case 'exact': {
    if (image === parsed.text) return true
    // [YAML] "To allowlist a specific image: - namePattern: gcr.io/example-project/helloworld", listed apart
    // from "To allowlist a currently-tagged version: ...helloworld:latest" and "To allowlist a specific version of
    // an image by its digest: ...helloworld@sha256:77b0...": a pattern naming only the image covers every tag and
    // digest of that image (and nothing else: not helloworld-other, not helloworld/sub).
    // Not documented: whether ":tag" also covers "NAME:tag@sha256:..."; strictest reading, it does not (the
    // digest pins content the tag may no longer name), so a tag or digest pattern needs the exact reference.
    const pinned = parseImageReference(parsed.text)
    if (pinned.tag !== undefined || pinned.digest !== undefined) return false
    return parseImageReference(image).name === parsed.text
  }

  case 'invalid': {
    return false
  }

  case 'one-level': {
    // [YAML] "The * wildcard only matches images in the specified directory. For example,
    // gcr.io/my-project/nginx* matches gcr.io/my-project/nginx:latest , but not
    // gcr.io/my-project/nginx-images/nginx ." [REST v1beta1] "`*` wildcard does not match `/`, i.e.,
    // `gcr.io/nginx*` matches `gcr.io/nginx@latest`, but it does not match `gcr.io/nginx/image`."
    return image.startsWith(parsed.prefix) && !image.slice(parsed.prefix.length).includes('/')
  }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// System policy (globalPolicyEvaluationMode)
// ---------------------------------------------------------------------------------------------------------------

/**
 * [YAML] "The system policy is provided by Google and exempts a list of Google-maintained system images from
 * further policy evaluation." Google does not publish that list; the sandbox stands in with the paths the same page
 * says a policy must list itself when the mode is disabled: "If you disable globalPolicyEvaluationMode , the paths
 * gcr.io/google-containers/* , k8s.gcr.io/** , gke.gcr.io/* , gcr.io/gke-release/someproject/* , and
 * gcr.io/stackdriver-agents/* must be included". "someproject" is a placeholder, so gke-release is left out
 * (strictest reading). No user repository is ever covered by the system policy.
 */
export const SYSTEM_POLICY_PATTERNS: readonly string[] = [
  'gcr.io/google-containers/*',
  'k8s.gcr.io/**',
  'gke.gcr.io/*',
  'gcr.io/stackdriver-agents/*',
]

/**
 * [REST] "GLOBAL_POLICY_EVALUATION_MODE_UNSPECIFIED: Not specified: `DISABLE` is assumed." So only an explicit
 * ENABLE turns the system policy on (an unknown value counts as DISABLE: fewer exemptions).
 */
function systemPolicyEnabled(policy: Policy): boolean {
  return policy.globalPolicyEvaluationMode === 'ENABLE'
}

// ---------------------------------------------------------------------------------------------------------------
// The rule
// ---------------------------------------------------------------------------------------------------------------

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The allowlist patterns of a stored policy, ignoring malformed entries (they exempt nothing). */
function allowlistPatterns(policy: Policy): string[] {
  const list: unknown = policy.admissionWhitelistPatterns
  if (!Array.isArray(list)) return []
  return list.flatMap((entry: unknown) => (isRecord(entry) && typeof entry.namePattern === 'string' ? [entry.namePattern] : []))
}

interface RuleOutcome {
  allowed: boolean
  reason: string
}

/**
 * How the default rule evaluates one non-exempt image, before its enforcementMode is applied.
 * Cloud Run and Cloud Functions deploys are not GKE clusters, namespaces, service accounts or Istio identities, so
 * none of the specific rule maps can apply: [YAML] "defaultAdmissionRule: The rule to use when no specific rule
 * applies."
 */
function evaluateRule(rule: unknown): RuleOutcome {
  // [YAML] defaultAdmissionRule is "Required: Yes" (and the REST reference says "Required."). Not documented: how
  // a policy without one is enforced (the service refuses to store it). Strictest reading: deny.
  if (!isRecord(rule)) return {allowed: false, reason: 'the policy has no defaultAdmissionRule'}
  const mode = rule.evaluationMode
  switch (mode) {
  case 'ALWAYS_ALLOW': {
    // [YAML] "ALWAYS_ALLOW : Always allow deployment of images evaluated by this rule"
    return {allowed: true, reason: 'defaultAdmissionRule ALWAYS_ALLOW'}
  }

  case 'ALWAYS_DENY': {
    // [YAML] "ALWAYS_DENY : Always deny deployment of images evaluated by this rule"
    return {allowed: false, reason: 'defaultAdmissionRule ALWAYS_DENY and no allowlist pattern matches'}
  }

  case 'REQUIRE_ATTESTATION': {
    // [REST] "REQUIRE_ATTESTATION: This rule allows a pod creation if all the attestors listed in
    // `require_attestations_by` have valid attestations for all of the images in the pod spec." The sandbox has
    // no attestors and no attestations, so no image can have them.
    const attestors = Array.isArray(rule.requireAttestationsBy) ? rule.requireAttestationsBy.filter(a => typeof a === 'string') : []
    const by = attestors.length > 0 ? ` (${attestors.join(', ')})` : ''
    return {allowed: false, reason: `defaultAdmissionRule REQUIRE_ATTESTATION: no attestation by the required attestors${by}`}
  }

  default: {
    // EVALUATION_MODE_UNSPECIFIED is "Do not use."; anything else is not a mode. Strictest reading: deny.
    return {allowed: false, reason: `defaultAdmissionRule has no valid evaluationMode (${JSON.stringify(mode ?? null)})`}
  }
  }
}

/**
 * [YAML] "DRYRUN_AUDIT_LOG_ONLY : Allows deployment of non-conformant images and writes details about the violation
 * to the audit log." [REST] "Dryrun mode: Audit logging only. This will allow the pod creation as if the admission
 * request had specified break-glass." Any other value, ENFORCEMENT_MODE_UNSPECIFIED ("Do not use.") included, is
 * treated as ENFORCED_BLOCK_AND_AUDIT_LOG ("Blocks deployment and writes to the audit log."): strictest reading.
 */
function isDryRun(rule: unknown): boolean {
  return isRecord(rule) && rule.enforcementMode === 'DRYRUN_AUDIT_LOG_ONLY'
}

/**
 * A container image reference the judge can evaluate at all. Not Docker's full grammar: just what would make a
 * match meaningless (empty, whitespace, an empty path segment, an empty tag or digest). Such a deploy is denied.
 */
function imageProblem(image: string): string | undefined {
  if (image === '') return 'empty image reference'
  if (/\s/.test(image)) return 'image reference contains whitespace'
  const {digest, name, tag} = parseImageReference(image)
  if (name === '' || name.split('/').includes('')) return 'image reference has an empty path segment'
  if (tag === '' || digest === '') return 'image reference has an empty tag or digest'
  return undefined
}

function judgeImage(policy: Policy, patterns: readonly string[], image: string): ImageVerdict {
  const problem = imageProblem(image)
  if (problem) return {
    admitted: false, decidedBy: 'image', image, reason: problem,
  }
  // [YAML] "The system policy is evaluated prior to and in addition to user policy evaluation, including
  // admissionWhitelistPatterns ."
  if (systemPolicyEnabled(policy)) {
    const system = SYSTEM_POLICY_PATTERNS.find(p => patternMatches(p, image))
    if (system !== undefined) {
      return {
        admitted: true, decidedBy: 'systemPolicy', image, matchedPattern: system, reason: `exempt by the Google-maintained system policy (${system})`,
      }
    }
  }

  // [REST] AdmissionRule: "Images matching an admission allowlist pattern are exempted from admission rules and will
  // never block a pod creation." Policy.admissionWhitelistPatterns: "A matching admission request will always be
  // permitted."
  const matched = patterns.find(p => patternMatches(p, image))
  if (matched !== undefined) {
    return {
      admitted: true, decidedBy: 'allowlist', image, matchedPattern: matched, reason: `allowlisted by ${matched}`,
    }
  }

  const rule: unknown = policy.defaultAdmissionRule
  const outcome = evaluateRule(rule)
  if (outcome.allowed) return {
    admitted: true, decidedBy: 'defaultAdmissionRule', image, reason: outcome.reason,
  }
  if (isDryRun(rule)) {
    return {
      admitted: true, decidedBy: 'defaultAdmissionRule', dryRun: true, image, reason: `dry run (DRYRUN_AUDIT_LOG_ONLY), would be denied: ${outcome.reason}`,
    }
  }

  return {
    admitted: false, decidedBy: 'defaultAdmissionRule', image, reason: outcome.reason,
  }
}

/**
 * The pure judge: one verdict per image (every image is evaluated, sidecars included), admitted only when every
 * image is. [RUN] "If the new revision does not conform to the policy, the deployment will fail." [REST] the rule
 * holds "for all of the images in the pod spec".
 * A deploy that names no image at all is not something Cloud Run accepts; the judge refuses it (strictest reading).
 */
export function judge(policy: Policy, images: readonly string[]): AdmissionDecision {
  const patterns = allowlistPatterns(policy)
  const verdicts = images.map(image => judgeImage(policy, patterns, image))
  const auditLog = verdicts.filter(v => !v.admitted || v.dryRun).map(v => `${v.dryRun ? 'DRY_RUN_VIOLATION' : 'DENIED'} ${v.image}: ${v.reason}`)
  if (verdicts.length === 0) {
    const reason = 'no container image to evaluate'
    return {
      admitted: false, auditLog: [`DENIED (no image): ${reason}`], reason, verdicts,
    }
  }

  const first = verdicts.find(v => !v.admitted)
  return first
    ? {
      admitted: false, auditLog, deniedImage: first.image, reason: first.reason, verdicts,
    }
    : {admitted: true, auditLog, verdicts}
}

/** Judges `images` against the stored (or default) project policy and appends the audit lines to audit.jsonl. */
export function admitImages(ctx: SandboxContext, images: readonly string[]): AdmissionDecision {
  const decision = judge(currentPolicy(ctx), images)
  const time = ctx.now().toISOString()
  const lines = (decision.auditLog ?? []).map(entry => `${JSON.stringify({entry, policy: `projects/${ctx.identity.project}/policy`, time})}\n`)
  if (lines.length > 0) appendFileSync(ctx.state.file(AUDIT_LOG_FILE), lines.join(''))
  return decision
}

/** The denial text both Cloud Run and Cloud Functions carry (names Binary Authorization, the image and the policy). */
export function denialText(ctx: SandboxContext, decision: AdmissionDecision): string {
  const image = decision.deniedImage ?? '(unknown image)'
  return `Image ${image} denied by Binary Authorization policy projects/${ctx.identity.project}/policy: ${decision.reason ?? 'not admitted'}`
}
