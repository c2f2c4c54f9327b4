// IAM Credentials generateAccessToken: how gcloud impersonates a service account on top of its source credential
// (core/credentials/store.py Load → IMPERSONATION_TOKEN_PROVIDER.GetElevationAccessTokenGoogleAuth →
// api_lib/iamcredentials/util.py ImpersonationAccessTokenProvider: google.auth.impersonated_credentials with
// `delegates` and the target principal; the request is POST v1/projects/-/serviceAccounts/SA:generateAccessToken
// with {delegates: ["projects/-/serviceAccounts/D", ...], scope: [...], lifetime}).
// The endpoint is gcloud's (api_endpoint_overrides/iamcredentials), validated like every override: https, or http to
// loopback only, so the source token never travels in clear to anything but this machine.

import type {RequestContext} from './request-context.js'

import {ExternalError, UserError} from '../errors.js'
import {serverText} from '../policy/display.js'
import {parseGoogleError} from './google-errors.js'
import {DEFAULT_LIMITS, type HttpOutcome, sendHttp} from './http-transport.js'
import {agentFor, type NetworkPath} from './network.js'

/** The token obtained is registered with the run's secrets by the caller (validateToken), not here. */
export interface GenerateAccessTokenRequest extends RequestContext {
  /** Service accounts in the delegation chain, in order (store.py: every ID but the last). */
  delegates: readonly string[]
  /** Base URL of IAM Credentials, ending in '/'. */
  endpoint: URL
  /** Proxy tunnel and CA bundle for the endpoint (src/google/network.ts). */
  network?: NetworkPath
  scopes: readonly string[]
  /** The caller's token (the source credential). */
  sourceToken: string
  /** The service account to act as (store.py: the last ID). */
  target: string
}

export interface GeneratedAccessToken {
  expireTime?: string
  token: string
}

/** POST body of generateAccessToken (pure). */
export function generateAccessTokenBody(delegates: readonly string[], scopes: readonly string[]): string {
  return JSON.stringify({
    ...(delegates.length === 0 ? {} : {delegates: delegates.map(d => `projects/-/serviceAccounts/${d}`)}),
    lifetime: '3600s',
    scope: [...scopes],
  })
}

/** URL of generateAccessToken for a target (pure). */
export function generateAccessTokenUrl(endpoint: URL, target: string): string {
  return new URL(`v1/projects/-/serviceAccounts/${encodeURIComponent(target)}:generateAccessToken`, endpoint).toString()
}

function unreachable(outcome: Exclude<HttpOutcome, {kind: 'response'}>, request: GenerateAccessTokenRequest): ExternalError {
  const why = outcome.kind === 'network' || outcome.kind === 'timeout' ? `${outcome.kind}: ${outcome.error.code ?? outcome.error.message}` : outcome.kind
  return new ExternalError(`Impersonating ${request.target} failed: IAM Credentials (${request.endpoint.host}) could not be reached (${why}).`, {
    code: 'IMPERSONATION_FAILED',
    suggestions: ['Check the network path to iamcredentials.googleapis.com (proxy settings, CA bundle), then retry'],
  })
}

export async function generateAccessToken(request: GenerateAccessTokenRequest): Promise<GeneratedAccessToken> {
  const url = generateAccessTokenUrl(request.endpoint, request.target)
  const chain = [...request.delegates, request.target].join(' → ')
  const outcome = await sendHttp({
    agent: agentFor(request.network ?? {}, request.endpoint.protocol, false),
    authorization: `Bearer ${request.sourceToken}`,
    body: generateAccessTokenBody(request.delegates, request.scopes),
    headers: {'content-type': 'application/json', 'user-agent': request.userAgent},
    maxResponseBytes: 64 * 1024,
    method: 'POST',
    timeoutMs: DEFAULT_LIMITS.timeoutMs,
    url,
    ...(request.signal === undefined ? {} : {signal: request.signal}),
  })
  if (outcome.kind !== 'response') throw unreachable(outcome, request)

  const {body, status} = outcome.response
  if (status !== 200) {
    const google = parseGoogleError(outcome.response)
    const message = serverText(google?.message ?? body, t => request.secrets.redact(t.split(request.sourceToken).join('[REDACTED]')))
    const suggestions = [
      `The source principal needs roles/iam.serviceAccountTokenCreator on ${request.target}`
      + (request.delegates.length === 0 ? '' : ' (and each delegate on the next in the chain)'),
      'Or stop impersonating: `gcloud config unset auth/impersonate_service_account`',
    ]
    const text = `Impersonating ${chain} failed: IAM Credentials answered ${status}: ${message}`
    // A refusal (4xx) is the caller's to fix (a role, a name): IMPERSONATION_DENIED, exit 3; else the service failed.
    throw status >= 400 && status < 500
      ? new UserError(text, {code: 'IMPERSONATION_DENIED', suggestions})
      : new ExternalError(text, {code: 'IMPERSONATION_FAILED', suggestions})
  }

  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    json = undefined
  }

  const record = typeof json === 'object' && json !== null ? json as Record<string, unknown> : {}
  const token = record.accessToken
  if (typeof token !== 'string' || token === '') {
    throw new ExternalError(`Impersonating ${chain}: IAM Credentials answered without an access token.`, {code: 'IMPERSONATION_FAILED'})
  }

  return {token, ...(typeof record.expireTime === 'string' ? {expireTime: record.expireTime} : {})}
}
