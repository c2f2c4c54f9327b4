// Google's error answers from the Binary Authorization API, mapped to our errors with codes and suggestions.
// Pure: a response in, an error out.

import type {HttpResponse} from './http-transport.js'

import {
  type CodeOf, ExternalError, googleStatusCode, redactPatterns, UserError,
} from '../errors.js'
import {serverText} from '../policy/display.js'
import {memberOf} from '../policy/handoff.js'

export type Operation = 'getPolicy' | 'testIamPermissions' | 'updatePolicy'

/** What each operation is for, as error messages say it ("while trying to ..."). */
export const DOING: Readonly<Record<Operation, string>> = {
  getPolicy: 'read the Binary Authorization policy',
  testIamPermissions: 'check your permissions on the Binary Authorization policy',
  updatePolicy: 'update the Binary Authorization policy',
}

export interface ApiErrorDetails {
  apiStatus?: string
  cause?: unknown
  code: CodeOf<'external'>
  reason?: string
  status: number
  suggestions?: string[]
}

/** A Google API error answer (HTTP status plus Google's `error.status` and ErrorInfo `reason` when present). */
export class ApiError extends ExternalError {
  readonly apiStatus?: string
  readonly reason?: string
  readonly status: number

  /** `name`: the class's own, written out (the bundle keeps no function names, scripts/bundle.js). */
  constructor(message: string, details: ApiErrorDetails, name = 'ApiError') {
    super(message, details)
    Object.defineProperty(this, 'name', {enumerable: false, value: name})
    this.status = details.status
    this.apiStatus = details.apiStatus
    this.reason = details.reason
  }
}

/** The policy changed since it was read (stale etag: 409 ABORTED, 412, or 400 FAILED_PRECONDITION on PUT). */
export class PolicyConflictError extends ApiError {
  constructor(message: string, details: Omit<ApiErrorDetails, 'code'>) {
    super(message, {...details, code: 'POLICY_CONFLICT'}, 'PolicyConflictError')
  }
}

/** application/json or application/*+json. */
export function isJson(contentType: string | undefined): boolean {
  if (contentType === undefined) return false
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? ''
  return type === 'application/json' || /^application\/[\w.-]+\+json$/.test(type)
}

export interface GoogleError {
  code?: number
  /**
   * ErrorInfo metadata `consumer` (`projects/NUMBER_OR_ID`): the project whose API/quota Google checked, which is the
   * quota project (X-Goog-User-Project) when one was sent, not necessarily the policy's project.
   */
  consumer?: string
  message?: string
  reason?: string
  status?: string
}

/** ErrorInfo.metadata.consumer (`projects/P`) as the project P, if it is one. */
function consumerOf(metadata: unknown): string | undefined {
  if (typeof metadata !== 'object' || metadata === null) return undefined
  const {consumer} = metadata as Record<string, unknown>
  return typeof consumer === 'string' && /^projects\/[\w.:-]{1,100}$/.test(consumer) ? consumer.slice('projects/'.length) : undefined
}

/** Google's error envelope `{error: {code, message, status, details: [ErrorInfo...]}}`; {} when there is none. */
export function parseGoogleError(res: HttpResponse): GoogleError {
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
  if (Array.isArray(e.details)) for (const detail of e.details) readDetail(detail, out)
  return out
}

/** One entry of `details`: the ErrorInfo's reason (else the first reason seen) and its consumer project. */
function readDetail(detail: unknown, out: GoogleError): void {
  if (typeof detail !== 'object' || detail === null) return
  const d = detail as Record<string, unknown>
  if (typeof d.reason !== 'string') return
  const isErrorInfo = typeof d['@type'] === 'string' && d['@type'].endsWith('google.rpc.ErrorInfo')
  if (isErrorInfo || out.reason === undefined) out.reason = d.reason
  const consumer = isErrorInfo ? consumerOf(d.metadata) : undefined
  if (consumer !== undefined) out.consumer = consumer
}

export interface ErrorAnswer {
  method: string
  op: Operation
  project: string
  /** Removes our token from text the server sent back. */
  redact: (text: string) => string
  response: HttpResponse
}

/** An answer as error messages quote it: `label` (HTTP 403 PERMISSION_DENIED), `said` (Google's message), and the fields every ApiError keeps. */
interface Quoted {
  base: {apiStatus?: string; reason?: string; status: number}
  label: string
  said: string
}

function permissionError({op, project}: ErrorAnswer, g: GoogleError, {base, label, said}: Quoted): ApiError {
  const disabled
    = g.reason === 'SERVICE_DISABLED' || (g.message !== undefined && /has not been used in project|it is disabled|API .* is not enabled/i.test(g.message))
  if (disabled) {
    // Google names the project it checked in ErrorInfo.metadata.consumer: the quota project when one was sent.
    const consumer = g.consumer ?? project
    const via = consumer === project ? '' : ` (the project billed for the call: the quota project, not ${project})`
    return new ApiError(`The Binary Authorization API is not enabled in project ${consumer}${via} (${label}${said}).`, {
      ...base,
      code: 'SERVICE_DISABLED',
      suggestions: [
        `gcloud services enable binaryauthorization.googleapis.com --project=${consumer}`,
        ...(consumer === project ? [] : ['Or bill another project: --billing-project after --, or `gcloud config set billing/quota_project PROJECT`']),
      ],
    })
  }

  const role = op === 'getPolicy' ? 'roles/binaryauthorization.policyViewer' : 'roles/binaryauthorization.policyEditor'
  return new ApiError(`Permission denied: you may not ${DOING[op]} of project ${project} (${label}${said}).`, {
    ...base,
    code: 'PERMISSION_DENIED',
    suggestions: [
      `Ask a project admin for ${role}: gcloud projects add-iam-policy-binding ${project} --member=${memberOf(undefined)} --role=${role}`,
      'Check the active account: gcloud auth list',
    ],
  })
}

/** The error for a non-2xx answer: UserError UNAUTHENTICATED (401), PolicyConflictError (stale etag on PUT), else ApiError. */
export function errorForAnswer(answer: ErrorAnswer): ApiError | UserError {
  const {method, op, project, redact, response: res} = answer
  const g = parseGoogleError(res)
  const apiStatus = g.status
  // Redacted before it is cut (a token echoed past the 500th character leaves no part behind), then escaped.
  const said = g.message === undefined ? '' : `: ${serverText(g.message, text => redactPatterns(redact(text)))}`
  const label = `HTTP ${res.status}${apiStatus === undefined ? '' : ` ${apiStatus}`}`
  const base = {apiStatus, reason: g.reason, status: res.status}

  if (res.status === 401) {
    return new UserError(`The Binary Authorization API did not accept your credentials while trying to ${DOING[op]} (${label}${said}).`, {
      code: 'UNAUTHENTICATED',
      suggestions: [
        'gcloud auth login',
        'Check which account gcloud (and so binauthz) uses: gcloud auth list',
        'If CLOUDSDK_AUTH_ACCESS_TOKEN or an access token file is set, refresh that token',
      ],
    })
  }

  if (res.status === 403) return permissionError(answer, g, {base, label, said})

  if (res.status === 404) {
    return new ApiError(`Project ${project} was not found by the Binary Authorization API (${label}${said}).`, {
      ...base,
      code: 'NOT_FOUND',
      suggestions: [
        `Check the project id (--project, CLOUDSDK_CORE_PROJECT or gcloud config get-value project): gcloud projects describe ${project}`,
        `If the project exists, enable the API: gcloud services enable binaryauthorization.googleapis.com --project=${project}`,
      ],
    })
  }

  const conflict = method === 'PUT' && (res.status === 409 || res.status === 412 || (res.status === 400 && apiStatus === 'FAILED_PRECONDITION'))
  if (conflict) {
    return new PolicyConflictError(`The Binary Authorization policy of project ${project} changed since it was read (${label}${said}).`, {
      ...base,
      suggestions: ['Run the command again: it re-reads the policy'],
    })
  }

  if (res.status === 429) {
    const of = g.consumer === undefined ? '' : ` of project ${g.consumer}`
    return new ApiError(`The Binary Authorization API quota${of} was exhausted while trying to ${DOING[op]} (${label}${said}).`, {
      ...base,
      code: 'RESOURCE_EXHAUSTED',
      suggestions: ['Wait a minute and run the command again (quota: 100 reads and 20 updates per minute per project)'],
    })
  }

  const kind = res.status >= 500 ? 'is unavailable or failed' : 'rejected the request'
  return new ApiError(`The Binary Authorization API ${kind} while trying to ${DOING[op]} of project ${project} (${label}${said}).`, {
    ...base,
    code: res.status === 400 ? 'INVALID_ARGUMENT' : googleStatusCode(apiStatus),
    suggestions:
      res.status >= 500
        ? ['Run the command again in a few minutes; see https://status.cloud.google.com']
        : ['Inspect the policy with: gcloud container binauthz policy export'],
  })
}

/** The same error, saying how many attempts were made (after retries ran out). */
export function withAttempts(error: ExternalError, attempts: number): ExternalError {
  const message = `${error.message} Gave up after ${attempts} attempts.`
  if (error instanceof ApiError) {
    return new ApiError(message, {
      apiStatus: error.apiStatus,
      cause: error,
      code: error.code,
      reason: error.reason,
      status: error.status,
      suggestions: [...error.suggestions],
    })
  }

  return new ExternalError(message, {
    cause: error, code: error.code, suggestions: [...error.suggestions],
  })
}
