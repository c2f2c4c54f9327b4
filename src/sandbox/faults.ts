// Fault knobs. They live in STATE_DIR/faults.json (re-read on every request, so a test can change them while the
// server runs) and can be given to startSandbox({faults}). Every random decision is a pure function of
// (seed, n) where n counts Binary Authorization calls since the server started: the same seed and the same
// sequence of calls give the same failures.
import {createHash} from 'node:crypto'

import {isRecord, type JsonObject} from './state.js'

/** The Binary Authorization API methods a targeted fault (and the request log) can name. */
export type BinauthzOp = 'getIamPolicy' | 'getPolicy' | 'testIamPermissions' | 'updatePolicy'

export const BINAUTHZ_FAULT_KINDS = [
  'concurrent-write',
  'foreign-policy',
  'html',
  'huge',
  'lost-response',
  'missing-etag',
  'not-policy',
  'raw',
  'reset',
  'slow',
  'status',
  'truncated',
] as const

export type BinauthzFaultKind = (typeof BINAUTHZ_FAULT_KINDS)[number]

/**
 * One targeted fault rule (`binauthzFaults` in faults.json). Rules are matched in order against each Binary
 * Authorization call (after the bearer token is checked); the first rule whose `method` / `op` / `project` match and
 * whose `times` is not used up applies, and its `times` is counted down in faults.json (a rule at 0 is dropped).
 */
export interface BinauthzFault {
  /** status: the `error.status` text (default from the HTTP status, e.g. 503 -> UNAVAILABLE). */
  apiStatus?: string
  /** raw: the exact body; html: the page (default a sign-in page); not-policy: the JSON value (default {}). */
  body?: unknown
  /** huge: total size of the (valid, padded) policy answer in bytes; truncated: where to cut (default half). */
  bytes?: number
  /** html: the content type (default text/html; charset=UTF-8). */
  contentType?: string
  /** slow: how long the (already decided) answer is held, in ms. */
  delayMs?: number
  /** foreign-policy: the project whose policy is answered (default "someone-else"). */
  foreignProject?: string
  /** raw: response headers (default none). */
  headers?: Record<string, string>
  /** What happens (default "status"), see the README's knobs table. */
  kind?: BinauthzFaultKind
  /** status: error.message (default "Injected HTTP <status> (sandbox fault)."). */
  message?: string
  /** Match: only this HTTP method (GET, PUT, POST). */
  method?: string
  /** concurrent-write: the entry the other writer adds (default gcr.io/other-writer-<n>/**). */
  namePattern?: string
  /** Match: only this API method. */
  op?: BinauthzOp
  /** Match: only this (decoded) project ID or number. */
  project?: string
  /** status: a google.rpc.ErrorInfo detail with this reason (e.g. SERVICE_DISABLED). */
  reason?: string
  /** status: Retry-After header value (seconds or an HTTP date). */
  retryAfter?: number | string
  /** status / raw: the HTTP status (status default 503, raw default 200). */
  status?: number
  /** How many matching calls it applies to (default 1), or "always". */
  times?: 'always' | number
}

export interface Faults {
  /** Fraction 0..1 of Binary Authorization calls answered with `binauthzErrorStatus` (default 0). */
  binauthzErrorRate: number
  /** 503 (UNAVAILABLE), 429 (RESOURCE_EXHAUSTED) or 'mixed' (chosen per call from the seed). Default 503. */
  binauthzErrorStatus: 429 | 503 | 'mixed'
  /** The next N Binary Authorization calls fail with `binauthzErrorStatus` (decremented in faults.json). */
  binauthzFailNext: number
  /** Targeted one-shot (or counted, or "always") faults, matched in order; see BinauthzFault. */
  binauthzFaults: BinauthzFault[]
  /** Delay before answering Binary Authorization calls, in ms (default 0). */
  binauthzLatencyMs: number
  /** Cloud Build / Functions builds fail (operation error code 2 / 3). */
  buildFailure: boolean
  /**
   * Functions builds fail as Cloud Functions says when the build's service account lacks its role: operation error
   *  code 7 "Could not build the function due to a missing permission on the build service account. …".
   */
  buildServiceAccountDenied: boolean
  /**
   * Permissions the caller lacks, e.g. ["binaryauthorization.policy.update"]: testIamPermissions omits them,
   *  and the matching call answers 403 PERMISSION_DENIED.
   */
  deniedPermissions: string[]
  /**
   * Google APIs that are not enabled in the project, e.g. ["artifactregistry.googleapis.com"]: their calls answer 403
   *  SERVICE_DISABLED as Google does, and Service Usage will not tell their state (see services.ts).
   */
  disabledApis: string[]
  /** The next N policy PUTs fail with 409 ABORTED as if another admin had just written (decremented). */
  etagConflicts: number
  /**
   * The permissions the caller holds (absent: every binaryauthorization.* permission). testIamPermissions answers
   *  requested ∩ granted (minus deniedPermissions); GET/PUT without theirs answer 403 PERMISSION_DENIED.
   */
  grantedPermissions?: string[]
  /** Delay before answering every API call, in ms (default 0). */
  latencyMs: number
  /**
   * Org policy constraints/run.allowedBinaryAuthorizationPolicies: Run services and functions deployed without
   *  Binary Authorization "default" are refused with 400 FAILED_PRECONDITION.
   */
  requireBinaryAuthorization: boolean
  /** Retry-After header (seconds) sent with injected 503/429 answers (default 0; omitted when negative). */
  retryAfterSeconds: number
  /** Seed for the deterministic error decisions (default 1). */
  seed: number
}

export const DEFAULT_FAULTS: Faults = {
  binauthzErrorRate: 0,
  binauthzErrorStatus: 503,
  binauthzFailNext: 0,
  binauthzFaults: [],
  binauthzLatencyMs: 0,
  buildFailure: false,
  buildServiceAccountDenied: false,
  deniedPermissions: [],
  disabledApis: [],
  etagConflicts: 0,
  latencyMs: 0,
  requireBinaryAuthorization: false,
  retryAfterSeconds: 0,
  seed: 1,
}

function num(value: unknown, fallback: number, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return fallback
  return Math.min(max, Math.max(min, value))
}

/** Reads faults from untrusted JSON, ignoring wrong types and clamping ranges. */
export function normalizeFaults(value: unknown): Faults {
  if (!isRecord(value)) return {...DEFAULT_FAULTS}
  const status = value.binauthzErrorStatus
  return {
    binauthzErrorRate: num(value.binauthzErrorRate, 0, 0, 1),
    binauthzErrorStatus: status === 429 || status === 'mixed' ? status : 503,
    binauthzFailNext: Math.floor(num(value.binauthzFailNext, 0, 0, 1e6)),
    binauthzFaults: Array.isArray(value.binauthzFaults) ? value.binauthzFaults.flatMap(rule => normalizeFaultRule(rule)) : [],
    binauthzLatencyMs: num(value.binauthzLatencyMs, 0, 0, 60_000),
    buildFailure: value.buildFailure === true,
    buildServiceAccountDenied: value.buildServiceAccountDenied === true,
    deniedPermissions: Array.isArray(value.deniedPermissions)
      ? value.deniedPermissions.filter((p): p is string => typeof p === 'string')
      : [],
    disabledApis: Array.isArray(value.disabledApis) ? value.disabledApis.filter((p): p is string => typeof p === 'string') : [],
    etagConflicts: Math.floor(num(value.etagConflicts, 0, 0, 1e6)),
    ...(Array.isArray(value.grantedPermissions)
      ? {grantedPermissions: value.grantedPermissions.filter((p): p is string => typeof p === 'string')}
      : {}),
    latencyMs: num(value.latencyMs, 0, 0, 60_000),
    requireBinaryAuthorization: value.requireBinaryAuthorization === true,
    retryAfterSeconds: num(value.retryAfterSeconds, 0, -1, 3600),
    seed: num(value.seed, DEFAULT_FAULTS.seed, -(2 ** 31), 2 ** 31),
  }
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined
}

/** One rule from untrusted JSON ([] when it is not an object, names an unknown kind or op, or is used up). */
export function normalizeFaultRule(value: unknown): BinauthzFault[] {
  if (!isRecord(value)) return []
  const kind = value.kind === undefined ? 'status' : value.kind
  if (!(BINAUTHZ_FAULT_KINDS as readonly unknown[]).includes(kind)) return []
  const times = value.times === 'always' ? 'always' : Math.floor(num(value.times, 1, 0, 1e6))
  if (times === 0) return []
  const headers = isRecord(value.headers)
    ? Object.fromEntries(Object.entries(value.headers).filter((e): e is [string, string] => typeof e[1] === 'string'))
    : undefined
  const op = value.op === 'getPolicy' || value.op === 'updatePolicy' || value.op === 'testIamPermissions' || value.op === 'getIamPolicy'
    ? value.op
    : undefined
  // A rule naming an op that does not exist would otherwise match every call: drop it instead.
  if (value.op !== undefined && op === undefined) return []
  const rule: JsonObject = {
    apiStatus: str(value.apiStatus),
    body: value.body,
    bytes: typeof value.bytes === 'number' ? Math.floor(num(value.bytes, 0, 0, 64 * 1024 * 1024)) : undefined,
    contentType: str(value.contentType),
    delayMs: typeof value.delayMs === 'number' ? num(value.delayMs, 0, 0, 600_000) : undefined,
    foreignProject: str(value.foreignProject),
    headers,
    kind: kind as BinauthzFaultKind,
    message: str(value.message),
    method: str(value.method)?.toUpperCase(),
    namePattern: str(value.namePattern),
    op,
    project: str(value.project),
    reason: str(value.reason),
    retryAfter: typeof value.retryAfter === 'number' || typeof value.retryAfter === 'string' ? value.retryAfter : undefined,
    status: typeof value.status === 'number' ? Math.floor(num(value.status, 503, 100, 599)) : undefined,
    times,
  }
  return [Object.fromEntries(Object.entries(rule).filter(([, v]) => v !== undefined)) as BinauthzFault]
}

/** Whether `rule` applies to a call (its `times` not considered). */
export function faultMatches(rule: BinauthzFault, call: {method: string; op?: BinauthzOp; project?: string;}): boolean {
  if (rule.method !== undefined && rule.method !== call.method) return false
  if (rule.op !== undefined && rule.op !== call.op) return false
  if (rule.project !== undefined && rule.project !== call.project) return false
  return true
}

/** A number in [0, 1) that depends only on (seed, n, salt). */
export function deterministicUnit(seed: number, n: number, salt = ''): number {
  const digest = createHash('sha256').update(`${seed}:${n}:${salt}`).digest()
  return digest.readUInt32BE(0) / (2 ** 32)
}

/** Whether the n-th Binary Authorization call fails under `faults`, and with which status. */
export function injectedBinauthzError(faults: Faults, n: number): 429 | 503 | undefined {
  if (faults.binauthzErrorRate <= 0) return undefined
  if (deterministicUnit(faults.seed, n, 'error') >= faults.binauthzErrorRate) return undefined
  return errorStatusFor(faults, n)
}

export function errorStatusFor(faults: Faults, n: number): 429 | 503 {
  if (faults.binauthzErrorStatus === 'mixed') return deterministicUnit(faults.seed, n, 'status') < 0.5 ? 503 : 429
  return faults.binauthzErrorStatus
}
