// Service-account keys, as Google issues and accepts them, with the sandbox's own code (no CLI import):
// - issuing: IAM v1 `projects.serviceAccounts.keys.create` (what `gcloud iam service-accounts keys create` calls:
//   surface/iam/service_accounts/keys/create.py → POST /v1/projects/-/serviceAccounts/SA/keys; the answer's
//   `privateKeyData` is the base64 of the key file gcloud writes), and `issueServiceAccountKey` for tests. The key file
//   has the fields of a Google key (type, project_id, private_key_id, private_key, client_email, client_id, auth_uri,
//   token_uri, auth_provider_x509_cert_url, client_x509_cert_url, universe_domain); its token_uri is the sandbox's.
//   Only the public key is kept (keys.json: private_key_id → {email, publicKey}).
// - accepting: the JWT-bearer grant of the token endpoint (RFC 7523 §2.1, as https://developers.google.com/identity/
//   protocols/oauth2/service-account#authorizingrequests documents it): `grant_type=urn:ietf:params:oauth:grant-type:
//   jwt-bearer&assertion=JWT`, the JWT RS256-signed with the key (header `kid` = private_key_id), claims `iss` (the
//   service account's email), `scope` (or `target_audience` for an ID token), `aud` (the token endpoint), `iat`, `exp`
//   ("at most 1 hour after the issued time"). Answers `{access_token, expires_in, token_type}` or, for
//   target_audience, `{id_token}`; errors `{error: "invalid_grant", error_description}` as Google words them.
import {
  createPublicKey, createVerify, generateKeyPairSync, randomBytes,
} from 'node:crypto'

import {
  apiError, type Handler, jsonBody, type Reply,
} from './api.js'
import {isRecord, type SandboxState} from './state.js'

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer'
export const KEYS_FILE = 'keys.json'
const SERVICE_ACCOUNT = /^[a-z][-a-z0-9]{4,28}[a-z0-9]@[-a-z0-9.:]+\.gserviceaccount\.com$/
/** Google allows this much clock skew on iat (its tokeninfo and JWT checks use a few minutes). */
const SKEW_SECONDS = 300
const MAX_LIFETIME_SECONDS = 3600

export interface ServiceAccountKeyFile {
  auth_provider_x509_cert_url: string
  auth_uri: string
  client_email: string
  client_id: string
  client_x509_cert_url: string
  private_key: string
  private_key_id: string
  project_id: string
  token_uri: string
  type: 'service_account'
  universe_domain: string
}

interface StoredKey {
  createdAt: string
  email: string
  publicKey: string
}

function storedKeys(state: SandboxState): Record<string, StoredKey> {
  const out: Record<string, StoredKey> = {}
  for (const [id, value] of Object.entries(state.readMap(KEYS_FILE))) {
    if (isRecord(value) && typeof value.email === 'string' && typeof value.publicKey === 'string') {
      out[id] = {createdAt: String(value.createdAt ?? ''), email: value.email, publicKey: value.publicKey}
    }
  }

  return out
}

/** A new RSA key for `email`: the public half is kept in keys.json, the key file (private half) returned once. */
export function issueServiceAccountKey(state: SandboxState, email: string, tokenUri: string, now = new Date()): ServiceAccountKeyFile {
  if (!SERVICE_ACCOUNT.test(email)) throw new Error(`not a service account email: ${email}`)
  const {privateKey, publicKey} = generateKeyPairSync('rsa', {modulusLength: 2048})
  const id = randomBytes(20).toString('hex')
  state.putEntry(KEYS_FILE, id, {createdAt: now.toISOString(), email, publicKey: publicKey.export({format: 'pem', type: 'spki'}).toString()})
  const project = /@([^.]+)\.iam\.gserviceaccount\.com$/.exec(email)?.[1] ?? state.identity().project
  return {
    auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
    auth_uri: 'https://accounts.google.com/o/oauth2/auth',
    client_email: email,
    // Google's client_id is the account's numeric unique id: derived from the email so it is stable.
    client_id: [...email].reduce((n, c) => ((n * 31n) + BigInt(c.codePointAt(0) ?? 0)) % (10n ** 21n), 1n).toString().padStart(21, '1'),
    client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(email)}`,
    private_key: privateKey.export({format: 'pem', type: 'pkcs8'}).toString(),
    private_key_id: id,
    project_id: project,
    token_uri: tokenUri,
    type: 'service_account',
    universe_domain: 'googleapis.com',
  }
}

/** IAM v1 projects.serviceAccounts.keys.create (name: projects/{PROJECT|-}/serviceAccounts/{EMAIL}). */
export const createServiceAccountKey: Handler = (req, ctx, params) => {
  const email = decodeURIComponent(params[1] ?? '')
  const body = jsonBody(req)
  if (body === undefined) return apiError(400, 'Invalid JSON payload received.', 'INVALID_ARGUMENT')
  const type = body.privateKeyType ?? 'TYPE_GOOGLE_CREDENTIALS_FILE'
  if (type !== 'TYPE_GOOGLE_CREDENTIALS_FILE') return apiError(400, `The sandbox issues only JSON keys (TYPE_GOOGLE_CREDENTIALS_FILE), not ${String(type)}.`, 'INVALID_ARGUMENT')
  if (!SERVICE_ACCOUNT.test(email)) return apiError(404, `Service account projects/-/serviceAccounts/${email} does not exist.`, 'NOT_FOUND')
  const now = ctx.now()
  const key = issueServiceAccountKey(ctx.state, email, `${ctx.baseUrl}/token`, now)
  return {
    body: {
      keyAlgorithm: 'KEY_ALG_RSA_2048',
      keyOrigin: 'GOOGLE_PROVIDED',
      keyType: 'USER_MANAGED',
      name: `projects/${key.project_id}/serviceAccounts/${email}/keys/${key.private_key_id}`,
      privateKeyData: Buffer.from(JSON.stringify(key, null, 2)).toString('base64'),
      privateKeyType: 'TYPE_GOOGLE_CREDENTIALS_FILE',
      validAfterTime: now.toISOString().replace(/\.\d+Z$/, 'Z'),
      validBeforeTime: '9999-12-31T23:59:59Z',
    },
    status: 200,
  }
}

function invalidGrant(description: string): Reply {
  return {body: {error: 'invalid_grant', error_description: description}, status: 400}
}

function decodeSegment(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
    return isRecord(value) ? value : undefined
  } catch {
    return undefined
  }
}

/** iat and exp numbers, exp after iat by at most an hour, iat not in the future (beyond the skew), exp not past. */
function shortLivedAndCurrent(claims: Record<string, unknown>, now: Date): boolean {
  const {exp, iat} = claims
  const seconds = Math.floor(now.getTime() / 1000)
  return typeof iat === 'number' && typeof exp === 'number' && exp > iat && exp - iat <= MAX_LIFETIME_SECONDS && iat <= seconds + SKEW_SECONDS && exp > seconds
}

export interface VerifiedAssertion {
  email: string
  /** `target_audience` asks for an ID token instead of an access token. */
  targetAudience?: string
}

/**
 * Verifies a JWT-bearer assertion: RS256 with a key the sandbox issued, `iss` its service account, `aud` one of
 * `audiences` (the token endpoint's URLs), a scope or target audience, iat/exp short-lived and current.
 */
export function verifyAssertion(state: SandboxState, assertion: string, audiences: readonly string[], now: Date): Reply | VerifiedAssertion {
  const parts = assertion.split('.')
  if (parts.length !== 3 || parts.some(p => !/^[\w-]*$/.test(p))) return invalidGrant('Invalid JWT: not a compact JWS.')
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string]
  const header = decodeSegment(headerPart)
  const claims = decodeSegment(payloadPart)
  if (header === undefined || claims === undefined) return invalidGrant('Invalid JWT: header or claims are not JSON.')
  if (header.alg !== 'RS256') return invalidGrant('Invalid JWT Signature.')
  const keys = storedKeys(state)
  const iss = typeof claims.iss === 'string' ? claims.iss : ''
  // With a kid, that key only (Google: "kid ... private key ID"); without, any key of the issuer.
  const candidates = typeof header.kid === 'string'
    ? (Object.hasOwn(keys, header.kid) ? [keys[header.kid]!] : [])
    : Object.values(keys).filter(k => k.email === iss)
  const signed = Buffer.from(`${headerPart}.${payloadPart}`)
  const signature = Buffer.from(signaturePart, 'base64url')
  const key = candidates.find(k => createVerify('RSA-SHA256').update(signed).verify(createPublicKey(k.publicKey), signature))
  if (key === undefined) return invalidGrant('Invalid JWT Signature.')
  if (key.email !== iss) return invalidGrant('Invalid JWT: iss is not the key\'s service account.')
  if (typeof claims.aud !== 'string' || !audiences.includes(claims.aud)) return invalidGrant('Invalid JWT: Failed audience check.')
  if (!shortLivedAndCurrent(claims, now)) {
    return invalidGrant('Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.')
  }

  if (typeof claims.target_audience === 'string' && claims.target_audience !== '') return {email: key.email, targetAudience: claims.target_audience}
  if (typeof claims.scope !== 'string' || claims.scope.trim() === '') return {body: {error: 'invalid_scope', error_description: 'Invalid OAuth scope or ID token audience provided.'}, status: 400}
  return {email: key.email}
}

function segment(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

/** An ID token gcloud can decode (google-auth reads `exp` without verifying it): its signature is random bytes. */
export function idTokenFor(email: string, audience: string, now: Date): string {
  const iat = Math.floor(now.getTime() / 1000)
  const head = `${segment({alg: 'RS256', typ: 'JWT'})}.${segment({
    aud: audience, email, email_verified: true, exp: iat + 3600, iat, iss: 'https://accounts.google.com', sub: email,
  })}`
  return `${head}.${randomBytes(256).toString('base64url')}`
}
