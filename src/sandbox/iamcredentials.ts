// IAM Credentials v1 `projects.serviceAccounts.generateAccessToken`, as documented
// (https://cloud.google.com/iam/docs/reference/credentials/rest/v1/projects.serviceAccounts/generateAccessToken):
// "name: The resource name of the service account for which the credentials are requested, in the following format:
// projects/-/serviceAccounts/{ACCOUNT_EMAIL_OR_UNIQUEID}. The - wildcard character is required";
// body `delegates[]` ("projects/-/serviceAccounts/{ACCOUNT_EMAIL_OR_UNIQUEID}"), `scope[]` ("Required"), `lifetime`
// (default 3600s, at most 43200s); answer `{accessToken, expireTime}`.
// The sandbox mints a distinct token per call, bound to the target principal in tokens.json, so every later call made
// with it is recorded as that principal. Every caller may impersonate every service account (no IAM in the sandbox).

import {randomBytes} from 'node:crypto'

import {apiError, type Handler} from './api.js'

const SERVICE_ACCOUNT = /^[a-z][-a-z0-9]{4,28}[a-z0-9]@[-a-z0-9.:]+\.gserviceaccount\.com$/

function lifetimeSeconds(value: unknown): number | undefined {
  if (value === undefined) return 3600
  if (typeof value !== 'string') return undefined
  const match = /^(\d{1,6})(?:\.\d+)?s$/.exec(value)
  if (!match) return undefined
  const seconds = Number(match[1])
  return seconds >= 1 && seconds <= 43_200 ? seconds : undefined
}

export const generateAccessToken: Handler = (req, ctx, params) => {
  const target = decodeURIComponent(params[0] ?? '')
  let body: Record<string, unknown>
  try {
    const parsed: unknown = JSON.parse(req.body.toString('utf8') || '{}')
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object')
    body = parsed as Record<string, unknown>
  } catch {
    return apiError(400, 'Invalid JSON payload received.', 'INVALID_ARGUMENT')
  }

  const {scope} = body
  if (!Array.isArray(scope) || scope.length === 0 || !scope.every(s => typeof s === 'string')) {
    return apiError(400, 'Scope required.', 'INVALID_ARGUMENT')
  }

  const delegates = body.delegates ?? []
  if (!Array.isArray(delegates) || !delegates.every(d => typeof d === 'string' && d.startsWith('projects/-/serviceAccounts/'))) {
    return apiError(400, 'Invalid form of delegates: each must be projects/-/serviceAccounts/{ACCOUNT_EMAIL_OR_UNIQUEID}.', 'INVALID_ARGUMENT')
  }

  const lifetime = lifetimeSeconds(body.lifetime)
  if (lifetime === undefined) return apiError(400, 'Invalid lifetime: between 1s and 43200s.', 'INVALID_ARGUMENT')
  const chain = [...(delegates as string[]).map(d => d.slice('projects/-/serviceAccounts/'.length)), target]
  const unknown = chain.find(sa => !SERVICE_ACCOUNT.test(sa))
  if (unknown !== undefined) return apiError(404, `Not found; Gaia id not found for email ${unknown}`, 'NOT_FOUND')
  const token = `sandbox-sa-${randomBytes(24).toString('base64url')}`
  ctx.state.addPrincipalToken(token, target)
  return {
    body: {accessToken: token, expireTime: new Date(ctx.now().getTime() + (lifetime * 1000)).toISOString().replace(/\.\d+Z$/, 'Z')},
    status: 200,
  }
}
