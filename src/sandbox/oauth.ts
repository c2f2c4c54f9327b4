// The OAuth 2.0 token endpoint (https://oauth2.googleapis.com/token), two grants:
// - refresh_token (RFC 6749 §6 "Refreshing an Access Token": POST application/x-www-form-urlencoded
//   `grant_type=refresh_token&refresh_token=...`, answer `{access_token, token_type, expires_in}`, or 400
//   `{"error": "invalid_grant"}`). gcloud refreshes a user account's token here before impersonating
//   (api_lib/iamcredentials/util.py GetElevationAccessTokenGoogleAuth). A refresh token is known when tokens.json maps
//   `refresh_token:<it>` to a principal; the access token minted is bound to it too.
// - urn:ietf:params:oauth:grant-type:jwt-bearer (RFC 7523): a service-account key's signed assertion
//   (service-account-keys.ts verifies it); the access token minted is bound to the key's service account.
// Each grant mints a distinct token per call, so the request log shows which principal made every later call.

import {randomBytes} from 'node:crypto'

import type {Handler, Reply} from './api.js'

import {idTokenFor, JWT_BEARER_GRANT, verifyAssertion} from './service-account-keys.js'

export const REFRESH_TOKEN_PREFIX = 'refresh_token:'
const GOOGLE_TOKEN_AUDIENCE = 'https://oauth2.googleapis.com/token'
const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform'

function invalid(error: string, description: string): Reply {
  return {body: {error, error_description: description}, status: 400}
}

function accessToken(token: string, scope: string): Reply {
  return {
    body: {
      access_token: token, expires_in: 3599, scope, token_type: 'Bearer',
    },
    status: 200,
  }
}

export const oauthToken: Handler = (req, ctx) => {
  const form = new URLSearchParams(req.body.toString('utf8'))
  const grant = form.get('grant_type')
  if (grant === JWT_BEARER_GRANT) {
    // aud: Google documents "When making an access token request this value is always
    // https://oauth2.googleapis.com/token" (google-auth sends it whatever the token_uri: oauth2/service_account.py
    // _make_authorization_grant_assertion); the sandbox's own URL is accepted too.
    const audiences = [GOOGLE_TOKEN_AUDIENCE, `${ctx.baseUrl}/token`, `http://${req.host}/token`]
    const verified = verifyAssertion(ctx.state, form.get('assertion') ?? '', audiences, ctx.now())
    if ('status' in verified) return verified
    if (verified.targetAudience !== undefined) return {body: {id_token: idTokenFor(verified.email, verified.targetAudience, ctx.now())}, status: 200}
    const token = `sandbox-sakey-${randomBytes(24).toString('base64url')}`
    ctx.state.addPrincipalToken(token, verified.email)
    return accessToken(token, CLOUD_PLATFORM)
  }

  if (grant !== 'refresh_token') return invalid('unsupported_grant_type', 'The sandbox accepts the refresh_token and jwt-bearer grants only.')
  const refresh = form.get('refresh_token') ?? ''
  const tokens = ctx.state.principalTokens()
  const key = `${REFRESH_TOKEN_PREFIX}${refresh}`
  const principal = refresh !== '' && Object.hasOwn(tokens, key) ? tokens[key] : undefined
  if (principal === undefined) return invalid('invalid_grant', 'Bad Request')
  const token = `sandbox-user-${randomBytes(24).toString('base64url')}`
  ctx.state.addPrincipalToken(token, principal)
  return accessToken(token, form.get('scope') ?? CLOUD_PLATFORM)
}
