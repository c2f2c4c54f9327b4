// Whether a failed Binary Authorization call is sent again, and after how long. Pure: the clock and the jitter
// source are arguments.
//
// Which requests may be sent twice:
// - GET policy and :testIamPermissions are read-only: retried on 429, 500, 502, 503, 504, timeouts and network errors.
// - PUT policy replaces the whole object. With an etag it is retried on the same conditions: if the first attempt was
//   in fact applied and only its answer got lost, the replay carries the now-stale etag and is rejected with a conflict,
//   so the transaction re-reads, re-plans and finds nothing left to do. It can never clobber someone else's change.
//   Without an etag (a project that never had a policy) a replay could overwrite a change another writer made between
//   the two attempts, so it is retried only when the server certainly did not act on it: 429 (quota refusal) and
//   connections that were never established (ECONNREFUSED, DNS failures). It also goes over a fresh connection, so
//   the keep-alive race (the server closing an idle socket just as we reuse it) cannot make it fail spuriously.
// - Never retried: 400, 401, 403, 404, 409, 412, malformed/oversized/non-JSON answers, and anything past the deadline.
//   (A 401 is answered once with a refreshed token by the client; that is not a retry.)
//
// Waits: exponential backoff with full jitter, uniformly random in [0, min(backoffMaxMs, backoffBaseMs * 2^attempt)),
// unless the server sent Retry-After (then that, capped at maxRetryAfterMs).

export interface RetrySettings {
  /** Backoff base and cap in ms (default 500 and 10000). */
  backoffBaseMs: number
  backoffMaxMs: number
  /** Backoff before re-reading after an etag conflict: base and cap in ms, default 100 and 2000. */
  conflictBackoffBaseMs: number
  conflictBackoffMaxMs: number
  /** Retries after the first attempt, default 4. */
  maxRetries: number
  /** Retry-After is capped at this (default 30000). */
  maxRetryAfterMs: number
}

export const DEFAULT_RETRY: Readonly<RetrySettings> = {
  backoffBaseMs: 500,
  backoffMaxMs: 10_000,
  conflictBackoffBaseMs: 100,
  conflictBackoffMaxMs: 2000,
  maxRetries: 4,
  maxRetryAfterMs: 30_000,
}

/** What went wrong with one attempt, as far as sending it again is concerned. */
export type AttemptFailure
  /** Never sent again: e.g. a refused loopback connection (a stopped sandbox) or a timeout cut short by the deadline. */
  = | {code: string; kind: 'network'}
  /** The connection failed (`code`: ECONNRESET, ECONNREFUSED, ENOTFOUND, ...). */
    | {kind: 'final'}
  /** An HTTP error answer; `retryAfterMs` from its Retry-After header. */
    | {kind: 'status'; retryAfterMs?: number; status: number}
  /** No answer within the per-request timeout. */
    | {kind: 'timeout'}

export interface RetryInput {
  /** 0-based number of the attempt that just failed. */
  attempt: number
  /** Epoch ms, if the call has an overall deadline. */
  deadline?: number
  failure: AttemptFailure
  /** Epoch ms. */
  now: number
  /** Jitter source in [0, 1); called only when a backoff is computed. */
  random: () => number
  /** Safe to send again when the answer was lost (reads, and writes guarded by an etag). */
  replayable: boolean
  settings: Readonly<RetrySettings>
}

export type RetryDecision
  = | {
    /** `final`: this failure is not retried; `exhausted`: no retries left; `deadline`: the wait would end past it. */
    reason: 'deadline' | 'exhausted' | 'final'
    retry: false
    /** Retryable in principle (so the error may say how many attempts were made). */
    transient: boolean
  }
  | {retry: true; waitMs: number}

const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504])
/** Connection failures that prove the request never reached a server. */
const NEVER_CONNECTED = new Set(['EAI_AGAIN', 'ECONNREFUSED', 'ENOTFOUND'])

/** Retryable in principle: a transient status, a network failure or a timeout. */
export function isTransient(failure: AttemptFailure): boolean {
  switch (failure.kind) {
  case 'final': {
    return false
  }

  case 'network':
  case 'timeout': {
    return true
  }

  case 'status': {
    return RETRYABLE_STATUS.has(failure.status)
  }
  }
}

/** Sending it again is safe even for a request that is not replayable: the server certainly did not act on it. */
function certainlyNotActedOn(failure: AttemptFailure): boolean {
  if (failure.kind === 'network') return NEVER_CONNECTED.has(failure.code)
  return failure.kind === 'status' && failure.status === 429
}

/** Full-jitter exponential backoff: uniformly random in [0, min(maxMs, baseMs * 2^exponent)). */
function jittered(exponent: number, baseMs: number, maxMs: number, random: () => number): number {
  return Math.floor(random() * Math.min(maxMs, baseMs * (2 ** Math.max(0, exponent))))
}

/** Decides whether the attempt that just failed is sent again, and after how long. */
export function decideRetry(input: RetryInput): RetryDecision {
  const {attempt, deadline, failure, now, random, replayable, settings} = input
  const transient = isTransient(failure)
  const mayReplay = replayable ? transient : certainlyNotActedOn(failure)
  if (!mayReplay) return {reason: 'final', retry: false, transient}
  if (attempt >= Math.max(0, settings.maxRetries)) return {reason: 'exhausted', retry: false, transient}
  const waitMs = failure.kind === 'status' && failure.retryAfterMs !== undefined
    ? Math.min(failure.retryAfterMs, settings.maxRetryAfterMs)
    : jittered(attempt, settings.backoffBaseMs, settings.backoffMaxMs, random)
  if (deadline !== undefined && now + waitMs >= deadline) return {reason: 'deadline', retry: false, transient}
  return {retry: true, waitMs}
}

/**
 * The wait before the `attempt`-th re-read after an etag conflict (1-based): full jitter in
 * [0, min(conflictBackoffMaxMs, conflictBackoffBaseMs * 2^(attempt-1))). Concurrent writers that all lost the same
 * round would otherwise re-read and re-PUT in lockstep, so only one of them could win each round.
 */
export function conflictWait(attempt: number, settings: Readonly<RetrySettings>, random: () => number): number {
  return jittered(attempt - 1, settings.conflictBackoffBaseMs, settings.conflictBackoffMaxMs, random)
}

/** Retry-After as seconds or an HTTP date, in ms from `now`; undefined when absent or unparsable. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim()
  if (text === undefined || text === '') return undefined
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000)
  const date = Date.parse(text)
  if (Number.isNaN(date)) return undefined
  return Math.max(0, date - now)
}
