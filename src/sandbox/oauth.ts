// The OAuth 2.0 token endpoint (https://oauth2.googleapis.com/token; RFC 6749 §6 "Refreshing an Access Token":
// POST application/x-www-form-urlencoded `grant_type=refresh_token&refresh_token=...`, answer
// `{access_token, token_type, expires_in}`, or 400 `{"error": "invalid_grant"}`). gcloud refreshes a user account's
// token here before impersonating (api_lib/iamcredentials/util.py GetElevationAccessTokenGoogleAuth). A refresh token
// is known when tokens.json maps `refresh_token:<it>` to a principal; the access token minted is bound to it too.

import {randomBytes} from 'node:crypto'

import type {Handler, Reply} from './api.js'

export const REFRESH_TOKEN_PREFIX = 'refresh_token:'

function invalid(error: string, description: string): Reply {
  return {body: {error, error_description: description}, status: 400}
}

export const oauthToken: Handler = (req, ctx) => {
  const form = new URLSearchParams(req.body.toString('utf8'))
  if (form.get('grant_type') !== 'refresh_token') return invalid('unsupported_grant_type', 'The sandbox only refreshes tokens.')
  const refresh = form.get('refresh_token') ?? ''
  const tokens = ctx.state.principalTokens()
  const key = `${REFRESH_TOKEN_PREFIX}${refresh}`
  const principal = refresh !== '' && Object.hasOwn(tokens, key) ? tokens[key] : undefined
  if (principal === undefined) return invalid('invalid_grant', 'Bad Request')
  const token = `sandbox-user-${randomBytes(24).toString('base64url')}`
  ctx.state.addPrincipalToken(token, principal)
  return {
    body: {
      access_token: token, expires_in: 3599, scope: form.get('scope') ?? 'https://www.googleapis.com/auth/cloud-platform', token_type: 'Bearer',
    },
    status: 200,
  }
}
