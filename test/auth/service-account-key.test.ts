// A service-account key parsed and signed with node:crypto: the JWT's header and claims as google-auth sends them
// (oauth2/service_account.py _make_authorization_grant_assertion), verifiable with the key's public half; a broken
// key file is a UserError that never shows the key.
import {expect} from 'chai'
import {createPublicKey, createVerify, generateKeyPairSync} from 'node:crypto'

import {GOOGLE_TOKEN_AUDIENCE, parseServiceAccountKey, signAssertion} from '../../src/auth/service-account-key.js'
import {Secrets, UserError} from '../../src/errors.js'

const {privateKey, publicKey} = generateKeyPairSync('rsa', {modulusLength: 2048})
const PEM = privateKey.export({format: 'pem', type: 'pkcs8'}).toString()
const KEY = {
  client_email: 'ci@p.iam.gserviceaccount.com', private_key: PEM, private_key_id: 'abc123', type: 'service_account',
}

function decode(segment: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as Record<string, unknown>
}

function refusal(json: Record<string, unknown>): UserError {
  try {
    parseServiceAccountKey(json, 'key.json', new Secrets())
  } catch (error: unknown) {
    if (error instanceof UserError) return error
    throw error
  }

  throw new Error('accepted')
}

describe('service-account key', () => {
  it('signs an RS256 JWT with kid, iss, scope, aud = Google\'s token endpoint and a one-hour lifetime', () => {
    const key = parseServiceAccountKey(KEY, 'key.json', new Secrets())
    const jwt = signAssertion(key, ['https://www.googleapis.com/auth/cloud-platform'], new Date('2026-01-01T00:00:00Z'))
    const [header, claims, signature] = jwt.split('.') as [string, string, string]
    expect(decode(header)).to.deep.equal({alg: 'RS256', kid: 'abc123', typ: 'JWT'})
    expect(decode(claims)).to.deep.equal({
      aud: GOOGLE_TOKEN_AUDIENCE, exp: 1_767_229_200, iat: 1_767_225_600, iss: 'ci@p.iam.gserviceaccount.com', scope: 'https://www.googleapis.com/auth/cloud-platform',
    })
    expect(createVerify('RSA-SHA256').update(`${header}.${claims}`).verify(createPublicKey(publicKey.export({format: 'pem', type: 'spki'})), Buffer.from(signature, 'base64url'))).to.equal(true)
  })

  it('registers the private key with the run\'s secrets', () => {
    const secrets = new Secrets()
    parseServiceAccountKey(KEY, 'key.json', secrets)
    // redactKnown: the registered values only (the PEM pattern alone would redact it too).
    expect(secrets.redactKnown(`x ${PEM}`)).to.equal('x [REDACTED]')
  })

  it('without private_key_id the header has no kid', () => {
    const {private_key_id: _omitted, ...rest} = KEY
    const jwt = signAssertion(parseServiceAccountKey(rest, 'key.json', new Secrets()), ['s'], new Date())
    expect(decode(jwt.split('.')[0]!)).to.deep.equal({alg: 'RS256', typ: 'JWT'})
  })

  const broken: Array<[string, Record<string, unknown>, string]> = [
    ['no client_email', {...KEY, client_email: undefined}, 'client_email'],
    ['a client_email that is no email', {...KEY, client_email: 'not an email'}, 'client_email'],
    ['no private_key', {...KEY, private_key: undefined}, 'private_key is missing'],
    ['a private_key that is no PEM', {...KEY, private_key: '-----BEGIN PRIVATE KEY-----\nsecret-bytes\n-----END PRIVATE KEY-----\n'}, 'not a PEM private key'],
    ['an EC key', {...KEY, private_key: generateKeyPairSync('ec', {namedCurve: 'P-256'}).privateKey.export({format: 'pem', type: 'pkcs8'}).toString()}, 'not an RSA key'],
    ['a private_key_id with a quote', {...KEY, private_key_id: 'a"b'}, 'private_key_id'],
  ]
  for (const [what, json, why] of broken) {
    it(`refuses ${what} (CREDENTIAL_FILE_INVALID, the key never shown)`, () => {
      const error = refusal(json)
      expect(error.code).to.equal('CREDENTIAL_FILE_INVALID')
      expect(error.message).to.include(why).and.not.include('secret-bytes').and.not.include('PRIVATE KEY')
    })
  }
})
