// The Binary Authorization v1 REST client (project policy: GET, PUT, :testIamPermissions), built from the pieces
// beside it: http-transport.ts (one request: timeout, size limit, abort), retry.ts (whether and when to send again),
// google-errors.ts (Google's error answers) and call-errors.ts (calls without a usable answer).
// A 401 is answered once with a fresh token from the TokenProvider's refresh(); an abort of `signal` stops the call.

import type {Agent} from 'node:http'

import type {TokenProvider} from '../auth/token-provider.js'
import type {RequestContext} from './request-context.js'

import {
  BugError, ExternalError, type Secrets,
} from '../errors.js'
import {serverText} from '../policy/display.js'
import {parseJsonLossless, stringifyJson} from '../policy/json-text.js'
import {parsePolicyAnswer, type Policy} from '../policy/types.js'
import {
  contentTypeError, deadlineError, interruptedBeforeReread, interruptedError, malformedError, networkError, notAPolicyError, sandboxNotAnswering,
  timeoutError, tooLargeError,
} from './call-errors.js'
import {isLoopbackHost} from './endpoint.js'
import {
  errorForAnswer, isJson, type Operation, withAttempts,
} from './google-errors.js'
import {
  DEFAULT_LIMITS, type HttpOutcome, type HttpResponse, keepAliveAgent, sendHttp, type TransportLimits,
} from './http-transport.js'
import {agentFor, type NetworkPath} from './network.js'
import {
  type AttemptFailure, conflictWait, decideRetry, DEFAULT_RETRY, parseRetryAfter, type RetrySettings,
} from './retry.js'

export interface RetryOptions extends Partial<RetrySettings> {
  /** Jitter source in [0, 1), default Math.random (tests pin it). */
  random?: () => number
  /** Waits between attempts; tests inject one that records the waits. The client also stops waiting on an abort. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
}

/**
 * An abort of the run's signal stops the call at once: no further wait, the request in flight destroyed, and a
 * rejection with InterruptedError (code INTERRUPTED, exit 130). For updatePolicy it says the write may have landed
 * when a request of the call had been sent and its answer never came (aborted in flight, or lost before a retry wait).
 */
export interface ClientOptions extends RequestContext {
  /** The run's clock (default: the system's): the deadline checks and Retry-After dates are read from it. */
  clock?: () => Date
  /** Epoch ms; no request starts or waits past it (then ExternalError DEADLINE_EXCEEDED). */
  deadline?: number
  endpoint: URL
  /** Proxy tunnel and CA bundle (src/google/network.ts resolveNetwork); default: direct, Node's CA roots. */
  network?: NetworkPath
  /** Sent as X-Goog-User-Project (gcloud's billing/quota_project). */
  quotaProject?: string
  /**
   * What to do when a loopback endpoint refuses the connection (nothing listens there: a stopped local sandbox).
   * Such a refusal is final, not retried. Default: start the sandbox.
   */
  refusedSuggestions?: string[]
  /** Retries, backoff and Retry-After (see retry.ts for the defaults). */
  retry?: RetryOptions
  tokens: TokenProvider
  /** Per-request timeout and response size limit (see http-transport.ts). */
  transport?: Partial<TransportLimits>
}

/** One API call: what it is for, where it goes, and whether a lost answer may be sent again. */
interface ApiRequest {
  body?: string
  method: string
  op: Operation
  project: string
  /** Safe to send again when the answer was lost (reads, and writes guarded by an etag). */
  replayable: boolean
  /** Appended to v1/projects/P/policy, e.g. ':testIamPermissions'. */
  suffix: string
}

/** A failed attempt: the error to report, and what the retry decision needs. */
interface Failure {
  error: Error
  retry: AttemptFailure
}

/** Path-segment encoding as Google's clients do it, keeping the ':' of domain-scoped ids (example.com:p) readable. */
export function encodeProject(project: string): string {
  return encodeURIComponent(project).replaceAll('%3A', ':')
}

/** Sleeps `ms`; an abort ends the sleep early (the caller then rejects with its InterruptedError). */
async function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  // Loaded when a retry first waits: a run that never retries does not pay for the module (~2.5 M instructions).
  // getBuiltinModule, not import(): the bundle runs in a vm.Script, which has no dynamic-import callback.
  const {setTimeout: delay} = process.getBuiltinModule('node:timers/promises')
  try {
    await delay(ms, undefined, signal ? {signal} : {})
  } catch (error: unknown) {
    if (!signal?.aborted) throw error
  }
}

/** The per-request timeout, cut to what is left before the deadline. */
interface Budget {
  /** The timeout ends at the deadline: a timeout is then the deadline's failure. */
  limitedByDeadline: boolean
  timeoutMs: number
}

/** Removes a call's token and the run's secrets from text (the token even when too short to be registered). */
type Redact = (text: string) => string

/** Server-controlled (or server-echoing) text as a message may quote it: our token and any secret redacted, then escaped and cut. */
function scrubText(text: string, redact: Redact, max = 500): string {
  return serverText(text, redact, max)
}

/** JSON.parse's complaint about `body` with secrets redacted BEFORE parsing (its snippet then quotes redacted text). */
function parseErrorOfRedacted(body: string, redact: Redact): string {
  const redacted = redact(body)
  try {
    JSON.parse(redacted)
    return 'not valid JSON'
  } catch (error: unknown) {
    return scrubText(error instanceof Error ? error.message : 'not valid JSON', redact, 200)
  }
}

export class BinauthzClient {
  private readonly agent: Agent
  private readonly deadline?: number
  private readonly endpoint: URL
  private readonly headers: Readonly<Record<string, string>>
  private readonly limits: Readonly<TransportLimits>
  private readonly network: NetworkPath
  /** Epoch ms from the run's clock. */
  private readonly now: () => number
  private readonly random: () => number
  private readonly refusedSuggestions: readonly string[]
  private readonly retry: Readonly<RetrySettings>
  private readonly secrets: Secrets
  private readonly signal?: AbortSignal
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>
  private readonly tokens: TokenProvider

  constructor(options: ClientOptions) {
    const {protocol} = options.endpoint
    if (protocol !== 'https:' && protocol !== 'http:') {
      throw new BugError(`BinauthzClient needs an http(s) endpoint, got ${protocol} (use resolveBinauthzEndpoint)`)
    }

    this.endpoint = new URL(options.endpoint.href.endsWith('/') ? options.endpoint.href : `${options.endpoint.href}/`)
    this.tokens = options.tokens
    this.secrets = options.secrets
    this.deadline = options.deadline
    const {clock} = options
    this.now = clock === undefined ? Date.now : () => clock().getTime()
    this.signal = options.signal
    const {random, sleep, ...retry} = options.retry ?? {}
    this.retry = {...DEFAULT_RETRY, ...retry}
    this.random = random ?? Math.random
    this.sleep = sleep ?? defaultSleep
    this.limits = {...DEFAULT_LIMITS, ...options.transport}
    this.refusedSuggestions = options.refusedSuggestions ?? ['binauthz sandbox start']
    this.headers = {
      accept: 'application/json',
      'user-agent': options.userAgent,
      ...(options.quotaProject === undefined || options.quotaProject === '' ? {} : {'x-goog-user-project': options.quotaProject}),
    }
    this.network = options.network ?? {}
    this.agent = agentFor(this.network, protocol, true) || keepAliveAgent(protocol)
  }

  /** Closes idle keep-alive sockets (optional: they never keep the process alive). */
  close(): void {
    this.agent.destroy()
  }

  /**
   * Waits before the `attempt`-th re-read after an etag conflict (1-based; see retry.ts conflictWait). Resolves false
   * (without waiting) when the wait would end past the overall deadline: the caller should give up. Rejects with
   * InterruptedError when the signal aborts.
   */
  async conflictBackoff(attempt: number): Promise<boolean> {
    const wait = conflictWait(attempt, this.retry, this.random)
    if (this.deadline !== undefined && this.now() + wait >= this.deadline) return false
    await this.wait(wait, () => interruptedBeforeReread())
    return true
  }

  /** GET v1/projects/P/policy, checked to be P's policy. */
  async getPolicy(project: string): Promise<Policy> {
    const json = await this.call({
      method: 'GET', op: 'getPolicy', project, replayable: true, suffix: '',
    })
    return this.toPolicy(json, project)
  }

  /** POST v1/projects/P/policy:testIamPermissions: the subset of `permissions` the caller holds (may fail open). */
  async testIamPermissions(project: string, permissions: readonly string[]): Promise<string[]> {
    const json = await this.call({
      body: JSON.stringify({permissions: [...permissions]}),
      method: 'POST',
      op: 'testIamPermissions',
      project,
      replayable: true,
      suffix: ':testIamPermissions',
    })
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw malformedError('testIamPermissions', this.endpoint, 'expected a JSON object')
    }

    const granted = (json as {permissions?: unknown}).permissions
    if (granted === undefined) return []
    if (!Array.isArray(granted) || !granted.every(p => typeof p === 'string')) {
      throw malformedError('testIamPermissions', this.endpoint, '"permissions" is not a list of strings')
    }

    return [...(granted as string[])]
  }

  /** PUT v1/projects/P/policy with the whole policy (its etag included); PolicyConflictError on a stale etag. */
  async updatePolicy(project: string, policy: Policy): Promise<Policy> {
    const json = await this.call({
      body: stringifyJson(policy),
      method: 'PUT',
      op: 'updatePolicy',
      project,
      replayable: typeof policy.etag === 'string' && policy.etag !== '',
      suffix: '',
    })
    return this.toPolicy(json, project)
  }

  private budget(): Budget {
    const remaining = this.deadline === undefined ? Infinity : this.deadline - this.now()
    return {limitedByDeadline: remaining < this.limits.timeoutMs, timeoutMs: Math.max(1, Math.min(this.limits.timeoutMs, remaining))}
  }

  /** Attempts until an answer, a final failure, no retries left, the deadline, or an abort. */
  private async call(request: ApiRequest): Promise<unknown> {
    const {op, project, suffix} = request
    const url = `${this.endpoint.href}v1/projects/${encodeProject(project)}/policy${suffix}`
    // A request that went out and whose answer never came (a lost answer, a timeout, an abort) may have been applied.
    let unanswered = false
    const interrupted = (): Error => interruptedError(op, project, op === 'updatePolicy' && unanswered)
    let last: Failure | undefined
    let renewed: string | undefined
    let mayRefresh = this.tokens.refresh !== undefined
    for (let attempt = 0; ; attempt++) {
      if (this.signal?.aborted) throw interrupted()
      if (this.deadline !== undefined && this.now() >= this.deadline) throw deadlineError(op, last?.error)
      const token = renewed ?? await this.race(this.tokens.getToken(), interrupted)
      renewed = undefined
      this.secrets.add(token)
      const budget = this.budget()
      const outcome = await this.send(request, url, token, budget)
      if (outcome.kind !== 'too-large' && outcome.kind !== 'response') unanswered ||= outcome.sent
      if (outcome.kind === 'aborted') throw interrupted()
      if (outcome.kind === 'response') {
        const {status} = outcome.response
        if (status >= 200 && status < 300) return this.decode(op, outcome.response, token)
        if (status === 401 && mayRefresh) {
          mayRefresh = false
          renewed = await this.refreshedToken(token, interrupted)
          if (renewed !== undefined) {
            attempt-- // not a retry: the same attempt again, with the new token
            continue
          }
        }
      }

      last = this.failureOf(request, outcome, token, budget)
      await this.retryOrThrow(request, last, attempt, interrupted)
    }
  }

  private decode(op: Operation, res: HttpResponse, token: string): unknown {
    const type = res.headers['content-type']
    if (!isJson(type)) throw contentTypeError(op, this.endpoint, res.status, type === undefined ? undefined : scrubText(type, this.redactor(token), 200))
    try {
      // Lossless: numbers in fields binauthz does not own keep their text for the write back (policy/json-text.ts).
      return parseJsonLossless(res.body)
    } catch (error: unknown) {
      // V8's SyntaxError quotes a window of the answer, which may hold a PART of a token no redaction recognises:
      // the message shown is the one of the answer with every secret already redacted.
      throw malformedError(op, this.endpoint, error instanceof Error ? parseErrorOfRedacted(res.body, this.redactor(token)) : 'not JSON')
    }
  }

  /** The failure of an attempt without a 2xx answer; throws for answers that are never retried (too large). */
  private failureOf(request: ApiRequest, outcome: Exclude<HttpOutcome, {kind: 'aborted'}>, token: string, budget: Budget): Failure {
    const {op} = request
    switch (outcome.kind) {
    case 'network': {
      const code = outcome.error.code ?? 'ECONNRESET'
      if (code === 'ECONNREFUSED' && isLoopbackHost(this.endpoint.hostname)) {
        return {error: sandboxNotAnswering(this.endpoint, this.refusedSuggestions, outcome.error), retry: {kind: 'final'}}
      }

      return {error: networkError(op, this.endpoint, `${code}: ${scrubText(outcome.error.message, this.redactor(token))}`, outcome.error), retry: {code, kind: 'network'}}
    }

    case 'response': {
      const {response} = outcome
      const error = errorForAnswer({
        method: request.method, op, project: request.project, redact: this.redactor(token), response,
      })
      const retryAfterMs = parseRetryAfter(response.headers['retry-after'], this.now())
      return {error, retry: {kind: 'status', status: response.status, ...(retryAfterMs === undefined ? {} : {retryAfterMs})}}
    }

    case 'timeout': {
      // A timeout cut short by the overall deadline is the deadline's failure, not the request's.
      if (budget.limitedByDeadline) return {error: deadlineError(op), retry: {kind: 'final'}}
      return {error: timeoutError(op, this.limits.timeoutMs, outcome.error), retry: {kind: 'timeout'}}
    }

    case 'too-large': {
      throw tooLargeError(op, this.endpoint, this.limits.maxResponseBytes)
    }
    }
  }

  /** Rejects with `interrupted()` as soon as the signal aborts, instead of waiting for `promise`. */
  private async race<T>(promise: Promise<T>, interrupted: () => Error): Promise<T> {
    const {signal} = this
    if (signal === undefined) return promise
    let onAbort: (() => void) | undefined
    const aborted = new Promise<never>((_resolve, reject) => {
      onAbort = () => reject(interrupted())
      if (signal.aborted) onAbort()
      else signal.addEventListener('abort', onAbort, {once: true})
    })
    try {
      return await Promise.race([promise, aborted])
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort)
    }
  }

  /** Redacts the call's token (registered or not: it may be shorter than a registered secret) and the run's secrets. */
  private redactor(token: string): Redact {
    return text => this.secrets.redact(token.length > 0 ? text.split(token).join('[REDACTED]') : text)
  }

  /** After a 401: the token may have expired or been revoked since it was cached. A new one, or undefined if it is the same. */
  private async refreshedToken(old: string, interrupted: () => Error): Promise<string | undefined> {
    if (this.tokens.refresh === undefined) return undefined
    const token = await this.race(this.tokens.refresh(), interrupted)
    return token === old ? undefined : token
  }

  /** Waits before the next attempt, or throws the error the call ends with. */
  private async retryOrThrow({op, replayable}: ApiRequest, last: Failure, attempt: number, interrupted: () => Error): Promise<void> {
    const decision = decideRetry({
      attempt, deadline: this.deadline, failure: last.retry, now: this.now(), random: this.random, replayable, settings: this.retry,
    })
    if (decision.retry) {
      await this.wait(decision.waitMs, interrupted)
      return
    }

    if (decision.reason === 'deadline') throw deadlineError(op, last.error)
    if (decision.transient && attempt > 0 && last.error instanceof ExternalError) throw withAttempts(last.error, attempt + 1)
    throw last.error
  }

  /** One HTTP exchange. */
  private async send({body, method, replayable}: ApiRequest, url: string, token: string, budget: Budget): Promise<HttpOutcome> {
    return sendHttp({
      // A request that cannot be replayed never rides on a reused keep-alive socket (no idle-close race).
      agent: replayable ? this.agent : agentFor(this.network, this.endpoint.protocol, false),
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : {body}),
      headers: this.headers,
      maxResponseBytes: this.limits.maxResponseBytes,
      method,
      ...(this.signal === undefined ? {} : {signal: this.signal}),
      timeoutMs: budget.timeoutMs,
      url,
    })
  }

  private toPolicy(json: unknown, project: string): Policy {
    try {
      return parsePolicyAnswer(json, project)
    } catch (error: unknown) {
      if (error instanceof ExternalError) throw notAPolicyError(error, this.endpoint, project)
      throw error
    }
  }

  private async wait(ms: number, interrupted: () => Error): Promise<void> {
    await this.race(this.sleep(ms, this.signal), interrupted)
  }
}
