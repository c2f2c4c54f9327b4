// A service-account key file (type "service_account"), used the way google-auth does for gcloud, with node:crypto
// only (no google-auth-library, which costs a 466 KiB vendor chunk and ~50 ms to load): the RS256 JWT of
// https://developers.google.com/identity/protocols/oauth2/service-account#authorizingrequests (RFC 7523), which the
// token endpoint exchanges for an access token (src/google/oauth-token.ts).
// Claims as google-auth 2.39 sends them (gcloud 528's lib/third_party/google/oauth2/service_account.py
// `_make_authorization_grant_assertion`): iat, exp = iat + 3600, iss = client_email, aud =
// https://oauth2.googleapis.com/token whatever the token endpoint ("When making an access token request this value
// is always https://oauth2.googleapis.com/token"), scope; header kid = private_key_id.
// The file is hostile input: every field is checked, the private key is parsed (a broken one is a clear error) and
// registered as a secret so no output can print it.

import {createPrivateKey, createSign, type KeyObject} from 'node:crypto'

import {type Secrets, UserError} from '../errors.js'

export const GOOGLE_TOKEN_AUDIENCE = 'https://oauth2.googleapis.com/token'
const ASSERTION_LIFETIME_SECONDS = 3600

export interface ServiceAccountKey {
  clientEmail: string
  privateKey: KeyObject
  privateKeyId?: string
  /** The key file's universe_domain (default googleapis.com). */
  universeDomain: string
}

/** PURE but for parsing the PEM: the key of a `service_account` JSON object, or a UserError naming `origin`. */
export function parseServiceAccountKey(json: Record<string, unknown>, origin: string, secrets: Secrets): ServiceAccountKey {
  const invalid = (why: string): never => {
    throw new UserError(`The service-account key ${origin} is not usable: ${why}.`, {
      code: 'CREDENTIAL_FILE_INVALID',
      suggestions: ['Create a new key: gcloud iam service-accounts keys create KEY.json --iam-account=SA_EMAIL', `Or unset ${origin}`],
    })
  }

  const text = (key: string, max: number): string | undefined => {
    const value = json[key]
    return typeof value === 'string' && value.length > 0 && value.length <= max ? value : undefined
  }

  const clientEmail = text('client_email', 320)
  if (clientEmail === undefined || !/^[^\s@]+@[^\s@]+$/.test(clientEmail)) return invalid('its client_email is missing or not an email address')
  const pem = text('private_key', 16_384)
  if (pem === undefined) return invalid('its private_key is missing')
  secrets.add(pem)
  let privateKey: KeyObject
  try {
    privateKey = createPrivateKey({format: 'pem', key: pem})
  } catch {
    return invalid('its private_key is not a PEM private key')
  }

  if (privateKey.asymmetricKeyType !== 'rsa') return invalid('its private_key is not an RSA key (Google signs RS256)')
  const privateKeyId = text('private_key_id', 200)
  if (privateKeyId !== undefined && !/^[\w-]+$/.test(privateKeyId)) return invalid('its private_key_id has characters a key id never has')
  const universeDomain = text('universe_domain', 253) ?? 'googleapis.com'
  return {
    clientEmail, privateKey, universeDomain, ...(privateKeyId === undefined ? {} : {privateKeyId}),
  }
}

function segment(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

/** The signed assertion (compact JWS) for `scopes`, issued at `now`. Register it as a secret before sending it. */
export function signAssertion(key: ServiceAccountKey, scopes: readonly string[], now: Date): string {
  const iat = Math.floor(now.getTime() / 1000)
  const header = {alg: 'RS256', typ: 'JWT', ...(key.privateKeyId === undefined ? {} : {kid: key.privateKeyId})}
  const claims = {
    aud: GOOGLE_TOKEN_AUDIENCE, exp: iat + ASSERTION_LIFETIME_SECONDS, iat, iss: key.clientEmail, scope: scopes.join(' '),
  }
  const signed = `${segment(header)}.${segment(claims)}`
  return `${signed}.${createSign('RSA-SHA256').update(signed).sign(key.privateKey).toString('base64url')}`
}
