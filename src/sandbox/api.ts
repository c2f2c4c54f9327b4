// What every sandbox API handler sees and returns, and Google-style error replies.
import type {Faults} from './faults.js'
import type {JsonObject, SandboxIdentity, SandboxState} from './state.js'

export interface ApiRequest {
  body: Buffer
  headers: Record<string, string | string[] | undefined>
  /** Host as gcloud addressed it, e.g. "127.0.0.1:8765" or "us-central1-127.0.0.1:8765". */
  host: string
  method: string
  path: string
  /** Who the bearer token acts as (the sandbox account, or a principal of tokens.json). */
  principal?: string
  query: URLSearchParams
  /** Region prefix of a regional host ("us-central1"), when present. */
  region?: string
}

export interface Reply {
  body?: unknown
  headers?: Record<string, string>
  /** Raw bytes instead of JSON. */
  raw?: Buffer
  status: number
}

export interface SandboxContext {
  /** http://127.0.0.1:PORT (no trailing slash): where signed upload URLs point. */
  baseUrl: string
  faults: Faults
  identity: SandboxIdentity
  now(): Date
  /** Secret used to sign upload URLs (never logged). */
  signingKey: string
  state: SandboxState
}

export type Handler = (req: ApiRequest, ctx: SandboxContext, params: string[]) => Reply

export const HTTP_STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  412: 'FAILED_PRECONDITION',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  501: 'UNIMPLEMENTED',
  503: 'UNAVAILABLE',
}

/** A Google JSON error reply: {"error": {"code", "message", "status"}}. */
export function apiError(status: number, message: string, apiStatus?: string, extra: JsonObject = {}): Reply {
  return {
    body: {
      error: {
        code: status, message, status: apiStatus ?? HTTP_STATUS_NAMES[status] ?? 'UNKNOWN', ...extra,
      },
    },
    status,
  }
}

export function ok(body: unknown): Reply {
  return {body, status: 200}
}

export function notFound(what: string): Reply {
  return apiError(404, `${what} not found.`, 'NOT_FOUND')
}

/** Parses a JSON request body into an object; undefined when it is not a JSON object. */
export function jsonBody(req: ApiRequest): JsonObject | undefined {
  if (req.body.length === 0) return {}
  try {
    const value: unknown = JSON.parse(req.body.toString('utf8'))
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : undefined
  } catch {
    return undefined
  }
}

/** Deep copy of JSON data (inputs are never mutated). */
export function clone<T>(value: T): T {
  return structuredClone(value)
}

/**
 * Checks that a project path segment names the sandbox's project (by ID or number). Anything else is answered
 * the way Google answers for a project the caller cannot see: 403 PERMISSION_DENIED.
 */
export function checkProject(ctx: SandboxContext, project: string): Reply | undefined {
  if (project === ctx.identity.project || project === ctx.identity.projectNumber) return undefined
  return apiError(
    403,
    `Permission denied on resource project ${project} (the sandbox serves only project ${ctx.identity.project}).`,
    'PERMISSION_DENIED',
  )
}
