// Fault knobs. They live in STATE_DIR/faults.json (re-read on every request, so a test can change them while the
// server runs) and can be given to startSandbox({faults}). Every random decision is a pure function of
// (seed, n) where n counts Binary Authorization calls since the server started: the same seed and the same
// sequence of calls give the same failures.
import {createHash} from 'node:crypto'

import {isRecord} from './state.js'

export interface Faults {
  /** Fraction 0..1 of Binary Authorization calls answered with `binauthzErrorStatus` (default 0). */
  binauthzErrorRate: number
  /** 503 (UNAVAILABLE), 429 (RESOURCE_EXHAUSTED) or 'mixed' (chosen per call from the seed). Default 503. */
  binauthzErrorStatus: 429 | 503 | 'mixed'
  /** The next N Binary Authorization calls fail with `binauthzErrorStatus` (decremented in faults.json). */
  binauthzFailNext: number
  /** Delay before answering Binary Authorization calls, in ms (default 0). */
  binauthzLatencyMs: number
  /** Cloud Build / Functions builds fail (operation error code 2 / 3). */
  buildFailure: boolean
  /**
   * Permissions the caller lacks, e.g. ["binaryauthorization.policy.update"]: testIamPermissions omits them,
   *  and the matching call answers 403 PERMISSION_DENIED.
   */
  deniedPermissions: string[]
  /** The next N policy PUTs fail with 409 ABORTED as if another admin had just written (decremented). */
  etagConflicts: number
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
  binauthzLatencyMs: 0,
  buildFailure: false,
  deniedPermissions: [],
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
    binauthzLatencyMs: num(value.binauthzLatencyMs, 0, 0, 60_000),
    buildFailure: value.buildFailure === true,
    deniedPermissions: Array.isArray(value.deniedPermissions)
      ? value.deniedPermissions.filter((p): p is string => typeof p === 'string')
      : [],
    etagConflicts: Math.floor(num(value.etagConflicts, 0, 0, 1e6)),
    latencyMs: num(value.latencyMs, 0, 0, 60_000),
    requireBinaryAuthorization: value.requireBinaryAuthorization === true,
    retryAfterSeconds: num(value.retryAfterSeconds, 0, -1, 3600),
    seed: num(value.seed, DEFAULT_FAULTS.seed, -(2 ** 31), 2 ** 31),
  }
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
