// The OAuth 2.0 token endpoint (auth/token_host, https://oauth2.googleapis.com/token by default), for the credential
// files binauthz refreshes itself: a service-account key's JWT-bearer grant (RFC 7523 §2.1:
// `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=JWT`) and an authorized_user's refresh
// (RFC 6749 §6: `grant_type=refresh_token&refresh_token=…&client_id=…&client_secret=…`). The answer is
// `{access_token, expires_in, token_type}`, or 400/401 `{error, error_description}` (invalid_grant: a revoked or
// deleted key, a wrong signature). One request, no retry of a refusal; the grant never leaves TLS (or loopback http).

import type {RequestContext} from './request-context.js'

import {ExternalError, UserError} from '../errors.js'
import {serverText} from '../policy/display.js'
import {DEFAULT_LIMITS, sendHttp} from './http-transport.js'
import {agentFor, type NetworkPath} from './network.js'

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer'

export interface TokenGrantRequest extends RequestContext {
  /** Who the grant is for, in messages (e.g. the credential file and its principal). */
  detail: string
  /** The form fields of the grant (registered as secrets by the caller). */
  form: Readonly<Record<string, string>>
  network?: NetworkPath
  /** The token endpoint (tokenEndpointFrom: https, or http to loopback). */
  url: URL
}

const SUGGESTIONS = [
  'Fix or replace the credential (gcloud itself would fail the same way): gcloud iam service-accounts keys create KEY.json --iam-account=SA_EMAIL',
  'Or unset auth/credential_file_override (CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE) to use the active gcloud account',
]

/** PURE: the access token of a token endpoint's answer, or why there is none. */
export function accessTokenOf(status: number, body: string): {error: string; refused: boolean} | {token: string} {
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    json = undefined
  }

  const record = typeof json === 'object' && json !== null && !Array.isArray(json) ? json as Record<string, unknown> : {}
  if (status === 200) {
    return typeof record.access_token === 'string' && record.access_token !== ''
      ? {token: record.access_token}
      : {error: 'it answered without an access token', refused: false}
  }

  const code = typeof record.error === 'string' ? record.error : undefined
  const description = typeof record.error_description === 'string' ? record.error_description : undefined
  const said = [code, description].filter(Boolean).join(': ') || `HTTP ${status}`
  // 400/401 with an OAuth error is a refusal of the grant (RFC 6749 §5.2); anything else a failure of the service.
  return {error: `${status}: ${said}`, refused: (status === 400 || status === 401) && code !== undefined}
}

/** Exchanges a grant for an access token (the token is registered as a secret). */
export async function exchangeGrant(request: TokenGrantRequest): Promise<string> {
  const outcome = await sendHttp({
    agent: agentFor(request.network ?? {}, request.url.protocol, false),
    body: new URLSearchParams(request.form).toString(),
    headers: {accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded', 'user-agent': request.userAgent},
    maxResponseBytes: 64 * 1024,
    method: 'POST',
    timeoutMs: DEFAULT_LIMITS.timeoutMs,
    url: request.url.toString(),
    ...(request.signal === undefined ? {} : {signal: request.signal}),
  })
  if (outcome.kind !== 'response') {
    const why = outcome.kind === 'network' || outcome.kind === 'timeout' ? `${outcome.kind}: ${outcome.error.code ?? outcome.error.message}` : outcome.kind
    throw new ExternalError(`${request.detail} could not produce an access token: the token endpoint ${request.url.host} could not be reached (${why}).`, {
      code: 'CREDENTIAL_FAILED',
      suggestions: [`Check the network path to ${request.url.host} (proxy settings, CA bundle, auth/token_host), then retry`],
    })
  }

  const answer = accessTokenOf(outcome.response.status, outcome.response.body)
  if ('token' in answer) {
    request.secrets.add(answer.token)
    return answer.token
  }

  const text = `${request.detail} could not produce an access token: ${request.url.host} answered ${serverText(answer.error, t => request.secrets.redact(t))}`
  throw answer.refused ? new UserError(text, {code: 'CREDENTIAL_REJECTED', suggestions: SUGGESTIONS}) : new ExternalError(text, {code: 'CREDENTIAL_FAILED', suggestions: SUGGESTIONS})
}
