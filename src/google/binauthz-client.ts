// The only code that talks to the Binary Authorization v1 REST API (project policy: GET, PUT, :testIamPermissions).
// node:http/node:https with a keep-alive agent; typed errors; per-request timeout; response size and content-type
// checks; bounded retries with exponential backoff and full jitter that honour Retry-After and an overall deadline.
//
// Retry policy (which requests may be sent twice):
// - GET policy and :testIamPermissions are read-only: retried on 429, 500, 502, 503, 504, timeouts and network errors.
// - PUT policy replaces the whole object. With an etag it is retried on the same conditions: if the first attempt was
//   in fact applied and only its answer got lost, the replay carries the now-stale etag and is rejected with a conflict,
//   so the transaction re-reads, re-plans and finds nothing left to do. It can never clobber someone else's change.
//   Without an etag (a project that never had a policy) a replay could overwrite a change another writer made between
//   the two attempts, so it is retried only when the server certainly did not act on it: 429 (quota refusal) and
//   connections that were never established (ECONNREFUSED, DNS failures). It also goes over a fresh connection, so
//   the keep-alive race (the server closing an idle socket just as we reuse it) cannot make it fail spuriously.
// - Never retried: 400, 401, 403, 404, 409, 412, malformed/oversized/non-JSON answers, and anything past the deadline.

import {readFileSync} from 'node:fs'
import http from 'node:http'
import https from 'node:https'

import {
  BugError, ExternalError, registerSecret, UserError,
} from '../errors.js'
import {parsePolicy, type Policy} from '../policy/types.js'
import {isLoopbackHost} from './endpoint.js'

export interface TokenProvider {
  getToken(): Promise<string>
}

export interface ClientOptions {
  /** Backoff base and cap in ms (default 500 and 10000); Retry-After is capped at maxRetryAfterMs (default 30000). */
  backoffBaseMs?: number
  backoffMaxMs?: number
  /** Backoff before re-reading after an etag conflict (see conflictBackoff): base and cap in ms, default 100 and 2000. */
  conflictBackoffBaseMs?: number
  conflictBackoffMaxMs?: number
  /** Epoch ms; no request starts or waits past it (then ExternalError DEADLINE_EXCEEDED). */
  deadline?: number
  endpoint: URL
  /** Default 4 MiB. */
  maxResponseBytes?: number
  /** Retries after the first attempt, default 4. */
  maxRetries?: number
  maxRetryAfterMs?: number
  /** Sent as X-Goog-User-Project (gcloud's billing/quota_project). */
  quotaProject?: string
  /** Jitter source in [0, 1), default Math.random (tests pin it). */
  random?: () => number
  /**
   * What to do when a loopback endpoint refuses the connection (nothing listens there: a stopped local sandbox).
   * Such a refusal is final, not retried. Default: start the sandbox.
   */
  refusedSuggestions?: string[]
  /** Injected in tests to record waits instead of waiting. */
  sleep?: (ms: number) => Promise<void>
  /** Per request, default 15000. */
  timeoutMs?: number
  tokens: TokenProvider
  /** Overrides the User-Agent product token (default binauthz-deploy/<package version>). */
  userAgent?: string
}

export interface ApiErrorDetails {
  apiStatus?: string
  cause?: unknown
  code: string
  exit?: 'conflict' | 'external' | 'permission' | 'usage'
  reason?: string
  status: number
  suggestions?: string[]
}

/** A Google API error answer (HTTP status plus Google's `error.status` and ErrorInfo `reason` when present). */
export class ApiError extends ExternalError {
  readonly apiStatus?: string
  readonly reason?: string
  readonly status: number

  constructor(message: string, details: ApiErrorDetails) {
    super(message, details)
    Object.defineProperty(this, 'name', {enumerable: false, value: new.target.name})
    this.status = details.status
    this.apiStatus = details.apiStatus
    this.reason = details.reason
  }
}

/** The policy changed since it was read (stale etag: 409 ABORTED, 412, or 400 FAILED_PRECONDITION on PUT). */
export class PolicyConflictError extends ApiError {
  constructor(message: string, details: Omit<ApiErrorDetails, 'code' | 'exit'>) {
    super(message, {...details, code: 'POLICY_CONFLICT', exit: 'conflict'})
  }
}

const DEFAULTS = {
  backoffBaseMs: 500,
  backoffMaxMs: 10_000,
  conflictBackoffBaseMs: 100,
  conflictBackoffMaxMs: 2000,
  maxResponseBytes: 4 * 1024 * 1024,
  maxRetries: 4,
  maxRetryAfterMs: 30_000,
  timeoutMs: 15_000,
}

const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504])
const NEVER_CONNECTED = new Set(['EAI_AGAIN', 'ECONNREFUSED', 'ENOTFOUND'])

type Operation = 'getPolicy' | 'testIamPermissions' | 'updatePolicy'

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

const DOING: Record<Operation, string> = {
  getPolicy: 'read the Binary Authorization policy',
  testIamPermissions: 'check your permissions on the Binary Authorization policy',
  updatePolicy: 'update the Binary Authorization policy',
}

interface RawResponse {
  body: string
  headers: http.IncomingHttpHeaders
  status: number
}

/** A failed attempt, and whether the same request may be sent again. */
interface Failure {
  error: Error
  /** The request certainly never reached the server. */
  neverSent: boolean
  retryAfterMs?: number
  status?: number
  /** Retryable in principle (status/network), before the PUT-specific rule. */
  transient: boolean
}

let cachedVersion: string | undefined

function packageVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion
  cachedVersion = 'unknown'
  // dist/src/google/binauthz-client.js and src/google/binauthz-client.ts both sit three levels below the package root's parent dirs.
  for (const relative of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as {name?: unknown; version?: unknown}
      if (pkg.name === 'binauthz-deploy' && typeof pkg.version === 'string') {
        cachedVersion = pkg.version
        break
      }
    } catch {
      // try the next candidate
    }
  }

  return cachedVersion
}

/** Path-segment encoding as Google's clients do it, keeping the ':' of domain-scoped ids (example.com:p) readable. */
export function encodeProject(project: string): string {
  return encodeURIComponent(project).replaceAll('%3A', ':')
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

function isJson(contentType: string | undefined): boolean {
  if (contentType === undefined) return false
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? ''
  return type === 'application/json' || /^application\/[\w.-]+\+json$/.test(type)
}

interface GoogleError {
  code?: number
  message?: string
  reason?: string
  status?: string
}

function parseGoogleError(res: RawResponse): GoogleError {
  if (!isJson(res.headers['content-type'])) return {}
  let value: unknown
  try {
    value = JSON.parse(res.body)
  } catch {
    return {}
  }

  // Some front ends wrap the error in a one-element array.
  if (Array.isArray(value)) value = value[0]
  if (typeof value !== 'object' || value === null) return {}
  const {error} = (value as {error?: unknown})
  if (typeof error !== 'object' || error === null) return {}
  const e = error as Record<string, unknown>
  const out: GoogleError = {}
  if (typeof e.code === 'number') out.code = e.code
  if (typeof e.message === 'string') out.message = e.message
  if (typeof e.status === 'string') out.status = e.status
  if (Array.isArray(e.details)) {
    for (const detail of e.details) {
      if (typeof detail !== 'object' || detail === null) continue
      const d = detail as Record<string, unknown>
      if (typeof d.reason === 'string') {
        const isErrorInfo = typeof d['@type'] === 'string' && d['@type'].endsWith('google.rpc.ErrorInfo')
        if (isErrorInfo || out.reason === undefined) out.reason = d.reason
      }
    }
  }

  return out
}

function trimMessage(text: string): string {
  const oneLine = text.replaceAll(/\s+/g, ' ').trim()
  return oneLine.length > 500 ? `${oneLine.slice(0, 500)}…` : oneLine
}

export class BinauthzClient {
  readonly stats = {reads: 0, requests: 0, writes: 0}
  private readonly agent: http.Agent
  private readonly backoffBaseMs: number
  private readonly backoffMaxMs: number
  private readonly conflictBackoffBaseMs: number
  private readonly conflictBackoffMaxMs: number
  private readonly deadline?: number
  private readonly endpoint: URL
  private readonly maxResponseBytes: number
  private readonly maxRetries: number
  private readonly maxRetryAfterMs: number
  private readonly quotaProject?: string
  private readonly random: () => number
  private readonly refusedSuggestions: string[]
  private readonly sleep: (ms: number) => Promise<void>
  private readonly timeoutMs: number
  private readonly tokens: TokenProvider
  private readonly userAgent: string

  constructor(options: ClientOptions) {
    const {protocol} = options.endpoint
    if (protocol !== 'https:' && protocol !== 'http:') {
      throw new BugError(`BinauthzClient needs an http(s) endpoint, got ${protocol} (use resolveBinauthzEndpoint)`)
    }

    this.endpoint = new URL(options.endpoint.href.endsWith('/') ? options.endpoint.href : `${options.endpoint.href}/`)
    this.tokens = options.tokens
    this.timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs
    this.maxRetries = Math.max(0, options.maxRetries ?? DEFAULTS.maxRetries)
    this.deadline = options.deadline
    this.quotaProject = options.quotaProject
    this.sleep = options.sleep ?? (ms => new Promise(resolve => {
      setTimeout(resolve, ms)
    }))
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULTS.maxResponseBytes
    this.random = options.random ?? Math.random
    this.refusedSuggestions = options.refusedSuggestions ?? ['binauthz sandbox start']
    this.backoffBaseMs = options.backoffBaseMs ?? DEFAULTS.backoffBaseMs
    this.backoffMaxMs = options.backoffMaxMs ?? DEFAULTS.backoffMaxMs
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULTS.maxRetryAfterMs
    this.conflictBackoffBaseMs = options.conflictBackoffBaseMs ?? DEFAULTS.conflictBackoffBaseMs
    this.conflictBackoffMaxMs = options.conflictBackoffMaxMs ?? DEFAULTS.conflictBackoffMaxMs
    this.userAgent = `${options.userAgent ?? `binauthz-deploy/${packageVersion()}`} node/${process.version}`
    // Idle keep-alive sockets are unref'd by node's agent, so they never keep the process alive.
    this.agent = protocol === 'https:' ? new https.Agent({keepAlive: true, maxSockets: 4}) : new http.Agent({keepAlive: true, maxSockets: 4})
  }

  /** Closes idle keep-alive sockets (optional: they never keep the process alive). */
  close(): void {
    this.agent.destroy()
  }

  /**
   * Waits before the `attempt`-th re-read after an etag conflict (1-based): full jitter, uniformly random in
   * [0, min(conflictBackoffMaxMs, conflictBackoffBaseMs * 2^(attempt-1))). Concurrent writers that all lost the same
   * round would otherwise re-read and re-PUT in lockstep, so only one of them could win each round. Resolves false
   * (without waiting) when the wait would end past the overall deadline: the caller should give up.
   */
  async conflictBackoff(attempt: number): Promise<boolean> {
    const ceiling = Math.min(this.conflictBackoffMaxMs, this.conflictBackoffBaseMs * (2 ** Math.max(0, attempt - 1)))
    const wait = Math.floor(this.random() * ceiling)
    if (this.deadline !== undefined && Date.now() + wait >= this.deadline) return false
    await this.sleep(wait)
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
      throw this.malformed('testIamPermissions', 'expected a JSON object')
    }

    const granted = (json as {permissions?: unknown}).permissions
    if (granted === undefined) return []
    if (!Array.isArray(granted) || !granted.every(p => typeof p === 'string')) {
      throw this.malformed('testIamPermissions', '"permissions" is not a list of strings')
    }

    return [...(granted as string[])]
  }

  /** PUT v1/projects/P/policy with the whole policy (its etag included); PolicyConflictError on a stale etag. */
  async updatePolicy(project: string, policy: Policy): Promise<Policy> {
    const body = JSON.stringify(policy)
    const json = await this.call({
      body,
      method: 'PUT',
      op: 'updatePolicy',
      project,
      replayable: typeof policy.etag === 'string' && policy.etag !== '',
      suffix: '',
    })
    return this.toPolicy(json, project)
  }

  private async call(request: ApiRequest): Promise<unknown> {
    const {op, project, replayable, suffix} = request
    const url = `${this.endpoint.href}v1/projects/${encodeProject(project)}/policy${suffix}`
    let last: Failure | undefined
    for (let attempt = 0; ; attempt++) {
      if (this.deadline !== undefined && Date.now() >= this.deadline) throw this.deadlineError(op, last?.error)
      const token = await this.tokens.getToken()
      registerSecret(token)
      let result: Failure | RawResponse
      try {
        result = await this.send(request, url, token)
      } catch (error: unknown) {
        throw scrub(error, token)
      }

      if ('error' in result) {
        last = result
      } else if (result.status >= 200 && result.status < 300) {
        return this.decode(op, result, token)
      } else {
        last = this.failureFor(request, result, token)
      }

      const mayReplay = replayable ? last.transient : last.neverSent || last.status === 429
      if (!mayReplay || attempt >= this.maxRetries) {
        if (last.transient && attempt > 0 && last.error instanceof ExternalError) {
          throw withAttempts(last.error, attempt + 1)
        }

        throw last.error
      }

      const ceiling = Math.min(this.backoffMaxMs, this.backoffBaseMs * (2 ** attempt))
      const wait
        = last.retryAfterMs === undefined ? Math.floor(this.random() * ceiling) : Math.min(last.retryAfterMs, this.maxRetryAfterMs)
      if (this.deadline !== undefined && Date.now() + wait >= this.deadline) throw this.deadlineError(op, last.error)
      await this.sleep(wait)
    }
  }

  private deadlineError(op: Operation, last?: Error): ExternalError {
    const after = last === undefined ? '' : ` Last error: ${last.message}`
    // A write whose answer was lost may still have been applied: say so, and how to find out.
    const maybeApplied = op === 'updatePolicy' && last !== undefined
      ? ' The last write may have reached the server before its answer was lost.'
      : ''
    return new ExternalError(`Ran out of time trying to ${DOING[op]}: the overall deadline passed.${after}${maybeApplied}`, {
      cause: last,
      code: 'DEADLINE_EXCEEDED',
      suggestions: [
        ...(maybeApplied ? ['Check whether the entry is there before retrying: binauthz policy status'] : []),
        'Retry the command later, or allow more time with --deadline',
      ],
    })
  }

  private decode(op: Operation, res: RawResponse, token: string): unknown {
    const type = res.headers['content-type']
    if (!isJson(type)) {
      throw new ExternalError(
        `The Binary Authorization API answered with ${type ?? 'no content type'} instead of JSON while trying to ${DOING[op]} `
        + `(HTTP ${res.status} from ${this.endpoint.origin}). A proxy, captive portal or wrong endpoint may be in the way.`,
        {
          code: 'UNEXPECTED_CONTENT_TYPE',
          suggestions: [
            `Check CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION and HTTPS_PROXY; the endpoint in use is ${this.endpoint.href}`,
          ],
        },
      )
    }

    try {
      return JSON.parse(res.body) as unknown
    } catch (error: unknown) {
      throw this.malformed(op, error instanceof Error ? scrubText(error.message, token) : 'not JSON')
    }
  }

  private failureFor({method, op, project}: ApiRequest, res: RawResponse, token: string): Failure {
    const g = parseGoogleError(res)
    const apiStatus = g.status
    const {reason} = g
    const said = g.message === undefined ? '' : `: ${scrubText(trimMessage(g.message), token)}`
    const label = `HTTP ${res.status}${apiStatus === undefined ? '' : ` ${apiStatus}`}`
    const base = {apiStatus, reason, status: res.status}
    const transient = RETRYABLE_STATUS.has(res.status)
    const retryAfterMs = parseRetryAfter(res.headers['retry-after'], Date.now())
    const failure = (error: Error): Failure => ({
      error, neverSent: false, retryAfterMs, status: res.status, transient,
    })

    if (res.status === 401) {
      return failure(new UserError(`The Binary Authorization API did not accept your credentials while trying to ${DOING[op]} (${label}${said}).`, {
        code: 'UNAUTHENTICATED',
        suggestions: [
          'gcloud auth login',
          'gcloud auth application-default login',
          'If CLOUDSDK_AUTH_ACCESS_TOKEN_FILE is set, refresh the token in that file',
        ],
      }))
    }

    if (res.status === 403) {
      const disabled
        = reason === 'SERVICE_DISABLED' || (g.message !== undefined && /has not been used in project|it is disabled|API .* is not enabled/i.test(g.message))
      if (disabled) {
        return failure(new ApiError(`The Binary Authorization API is not enabled in project ${project} (${label}${said}).`, {
          ...base,
          code: 'SERVICE_DISABLED',
          exit: 'permission',
          suggestions: [`gcloud services enable binaryauthorization.googleapis.com --project=${project}`],
        }))
      }

      const role = op === 'getPolicy' ? 'roles/binaryauthorization.policyViewer' : 'roles/binaryauthorization.policyEditor'
      return failure(new ApiError(`Permission denied: you may not ${DOING[op]} of project ${project} (${label}${said}).`, {
        ...base,
        code: 'PERMISSION_DENIED',
        exit: 'permission',
        suggestions: [
          `Ask a project admin for ${role}: gcloud projects add-iam-policy-binding ${project} --member=user:YOU@example.com --role=${role}`,
          'Check the active account: gcloud auth list',
        ],
      }))
    }

    if (res.status === 404) {
      return failure(new ApiError(`Project ${project} was not found by the Binary Authorization API (${label}${said}).`, {
        ...base,
        code: 'NOT_FOUND',
        suggestions: [
          `Check the project id (--project, CLOUDSDK_CORE_PROJECT or gcloud config get-value project): gcloud projects describe ${project}`,
          `If the project exists, enable the API: gcloud services enable binaryauthorization.googleapis.com --project=${project}`,
        ],
      }))
    }

    const conflict
      = method === 'PUT' && (res.status === 409 || res.status === 412 || (res.status === 400 && apiStatus === 'FAILED_PRECONDITION'))
    if (conflict) {
      return failure(new PolicyConflictError(`The Binary Authorization policy of project ${project} changed since it was read (${label}${said}).`, {
        ...base,
        suggestions: ['Run the command again: it re-reads the policy'],
      }))
    }

    if (res.status === 429) {
      return failure(new ApiError(`The Binary Authorization API quota was exhausted while trying to ${DOING[op]} (${label}${said}).`, {
        ...base,
        code: 'RESOURCE_EXHAUSTED',
        suggestions: ['Wait a minute and run the command again (quota: 100 reads and 20 updates per minute per project)'],
      }))
    }

    const kind = res.status >= 500 ? 'is unavailable or failed' : 'rejected the request'
    return failure(new ApiError(`The Binary Authorization API ${kind} while trying to ${DOING[op]} of project ${project} (${label}${said}).`, {
      ...base,
      code: res.status === 400 ? 'INVALID_ARGUMENT' : (apiStatus ?? `HTTP_${res.status}`),
      suggestions:
          res.status >= 500
            ? ['Run the command again in a few minutes; see https://status.cloud.google.com']
            : ['Inspect the policy with: gcloud container binauthz policy export'],
    }))
  }

  private malformed(op: Operation, why: string, cause?: unknown): ExternalError {
    return new ExternalError(`The Binary Authorization API answered with malformed JSON while trying to ${DOING[op]}: ${why}.`, {
      cause,
      code: 'MALFORMED_RESPONSE',
      suggestions: [
        `Check that the endpoint ${this.endpoint.href} is the Binary Authorization API (CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION)`,
        'Retry the command; if it persists, report it with --verbose output',
      ],
    })
  }

  /** One HTTP exchange. Resolves with the response or a Failure; rejects only for non-retryable local problems. */
  private send({body, method, op, replayable: reuseConnection}: ApiRequest, url: string, token: string): Promise<Failure | RawResponse> {
    const now = Date.now()
    const remaining = this.deadline === undefined ? Infinity : this.deadline - now
    const limitedByDeadline = remaining < this.timeoutMs
    const timeoutMs = Math.max(1, Math.min(this.timeoutMs, remaining))
    const transport = this.endpoint.protocol === 'https:' ? https : http
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': this.userAgent,
    }
    if (this.quotaProject !== undefined && this.quotaProject !== '') headers['x-goog-user-project'] = this.quotaProject
    if (body !== undefined) {
      headers['content-type'] = 'application/json'
      headers['content-length'] = String(Buffer.byteLength(body))
    }

    this.stats.requests += 1
    if (op === 'getPolicy') this.stats.reads += 1
    if (op === 'updatePolicy') this.stats.writes += 1

    const tooLarge = (): ExternalError =>
      new ExternalError(
        `The Binary Authorization API answer was larger than ${this.maxResponseBytes} bytes while trying to ${DOING[op]}; refusing to read it.`,
        {
          code: 'RESPONSE_TOO_LARGE',
          suggestions: [`Check CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION; the endpoint in use is ${this.endpoint.href}`],
        },
      )

    return new Promise((resolve, reject) => {
      let settled = false
      let timedOut = false
      const finish = (value: Error | Failure | RawResponse): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        if (value instanceof Error) reject(value)
        else resolve(value)
      }

      const networkFailure = (error: NodeJS.ErrnoException): Failure => {
        if (timedOut) {
          if (limitedByDeadline) return {error: this.deadlineError(op), neverSent: false, transient: false}
          return {
            error: new ExternalError(`The Binary Authorization API did not answer within ${this.timeoutMs} ms while trying to ${DOING[op]}.`, {
              cause: error,
              code: 'TIMEOUT',
              suggestions: ['Check your network connection and run the command again'],
            }),
            neverSent: false,
            transient: true,
          }
        }

        const code = error.code ?? 'ECONNRESET'
        // Nothing listens on this machine's port: a stopped sandbox, not a network glitch. Say so at once.
        if (code === 'ECONNREFUSED' && isLoopbackHost(this.endpoint.hostname)) {
          const [first] = this.refusedSuggestions
          return {
            error: new ExternalError(`No sandbox answers at ${this.endpoint.href}${first === undefined ? '' : `: ${first}`}`, {
              cause: error,
              code: 'SANDBOX_NOT_ANSWERING',
              suggestions: this.refusedSuggestions,
            }),
            neverSent: false,
            transient: false,
          }
        }

        return {
          error: new ExternalError(
            `Could not reach the Binary Authorization API at ${this.endpoint.origin} while trying to ${DOING[op]} (${code}: ${scrubText(error.message, token)}).`,
            {
              cause: error,
              code: 'NETWORK_ERROR',
              suggestions: [
                'Check your network connection (and HTTPS_PROXY) and run the command again',
                `Check CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION; the endpoint in use is ${this.endpoint.href}`,
              ],
            },
          ),
          neverSent: NEVER_CONNECTED.has(code),
          transient: true,
        }
      }

      const req = transport.request(url, {agent: reuseConnection ? this.agent : false, headers, method})
      // Set after creating the request, not in its options: NODE_DEBUG=http prints those options (headers included)
      // to stderr, which would print the token.
      req.setHeader('authorization', `Bearer ${token}`)
      const timer = setTimeout(() => {
        timedOut = true
        req.destroy(Object.assign(new Error('request timed out'), {code: 'ETIMEDOUT'}))
      }, timeoutMs)

      req.on('error', (error: NodeJS.ErrnoException) => finish(networkFailure(error)))
      req.on('response', res => {
        const declared = Number(res.headers['content-length'])
        if (Number.isFinite(declared) && declared > this.maxResponseBytes) {
          finish(tooLarge())
          res.destroy()
          return
        }

        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (chunk: Buffer) => {
          size += chunk.length
          if (size > this.maxResponseBytes) {
            finish(tooLarge())
            res.destroy()
            return
          }

          chunks.push(chunk)
        })
        res.on('error', (error: NodeJS.ErrnoException) => finish(networkFailure(error)))
        res.on('aborted', () => finish(networkFailure(Object.assign(new Error('response aborted'), {code: 'ECONNRESET'}))))
        res.on('end', () => {
          if (res.complete === false) {
            finish(networkFailure(Object.assign(new Error('response ended early'), {code: 'ECONNRESET'})))
            return
          }

          finish({body: Buffer.concat(chunks).toString('utf8'), headers: res.headers, status: res.statusCode ?? 0})
        })
      })
      req.end(body)
    })
  }

  private toPolicy(json: unknown, project: string): Policy {
    try {
      return parsePolicy(json, project)
    } catch (error: unknown) {
      if (error instanceof ExternalError) {
        throw new ExternalError(`${error.message} (endpoint ${this.endpoint.origin}, project ${project})`, {
          cause: error,
          code: error.code,
          suggestions: [
            ...error.suggestions,
            'Check that CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION (or gcloud config api_endpoint_overrides/binaryauthorization) points at the Binary Authorization API',
          ],
        })
      }

      throw error
    }
  }
}

function scrubText(text: string, token: string): string {
  return token.length > 0 ? text.split(token).join('[REDACTED]') : text
}

function scrub(error: unknown, token: string): unknown {
  if (error instanceof Error && token.length > 0 && error.message.includes(token)) {
    error.message = scrubText(error.message, token)
  }

  return error
}

function withAttempts(error: ExternalError, attempts: number): ExternalError {
  const message = `${error.message} Gave up after ${attempts} attempts.`
  if (error instanceof ApiError) {
    return new ApiError(message, {
      apiStatus: error.apiStatus,
      cause: error,
      code: error.code,
      exit: error.exitName === 'permission' || error.exitName === 'conflict' || error.exitName === 'usage' ? error.exitName : 'external',
      reason: error.reason,
      status: error.status,
      suggestions: [...error.suggestions],
    })
  }

  return new ExternalError(message, {
    cause: error, code: error.code, exit: error.exitName, suggestions: [...error.suggestions],
  })
}
