// The sandbox's service-account keys: issued (IAM keys.create and issueServiceAccountKey) with only the public half
// kept, and accepted by the token endpoint's jwt-bearer grant (RFC 7523) with its own checks: signature, kid, iss, aud,
// scope, iat/exp. Each accepted assertion mints a distinct token bound to the key's service account.
import {expect} from 'chai'
import {createSign, generateKeyPairSync} from 'node:crypto'
import {readFileSync} from 'node:fs'

import {issueServiceAccountKey, type ServiceAccountKeyFile} from '../../src/sandbox/index.js'
import {startTestSandbox, type TestSandbox} from '../helpers/sandbox.js'
import {call} from './client.js'

const SA = 'key-holder@sandbox-project.iam.gserviceaccount.com'
const SCOPE = 'https://www.googleapis.com/auth/cloud-platform'

function now(): number {
  return Math.floor(Date.now() / 1000)
}

function segment(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

function assertion(key: Pick<ServiceAccountKeyFile, 'private_key' | 'private_key_id'>, claims: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  const signed = `${segment({
    alg: 'RS256', kid: key.private_key_id, typ: 'JWT', ...header,
  })}.${segment(claims)}`
  return `${signed}.${createSign('RSA-SHA256').update(signed).sign(key.private_key).toString('base64url')}`
}

describe('sandbox: service-account keys and the jwt-bearer grant', () => {
  let sandbox: TestSandbox
  let key: ServiceAccountKeyFile
  let tokenUri: string

  before(async () => {
    sandbox = await startTestSandbox()
    tokenUri = `${sandbox.url}token`
    key = issueServiceAccountKey(sandbox.state, SA, tokenUri)
  })

  after(async () => sandbox?.stop())

  const claims = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    aud: tokenUri, exp: now() + 3600, iat: now(), iss: SA, scope: SCOPE, ...extra,
  })

  async function exchange(jwt: string, grant = 'urn:ietf:params:oauth:grant-type:jwt-bearer'): Promise<{body: Record<string, unknown>; status: number}> {
    const answer = await call(sandbox, {
      headers: {'content-type': 'application/x-www-form-urlencoded'},
      method: 'POST',
      path: '/token',
      rawBody: Buffer.from(new URLSearchParams({assertion: jwt, grant_type: grant}).toString()),
      token: null,
    })
    return {body: answer.json as Record<string, unknown>, status: answer.status}
  }

  async function principalOf(token: unknown): Promise<string | undefined> {
    sandbox.state.clearRequests()
    await call(sandbox, {path: `/v1/projects/${sandbox.project}/policy`, token: String(token)})
    return sandbox.requests()[0]?.principal
  }

  it('issues a key file shaped like Google\'s, keeping only the public key', () => {
    expect(Object.keys(key).sort()).to.deep.equal([
      'auth_provider_x509_cert_url', 'auth_uri', 'client_email', 'client_id', 'client_x509_cert_url', 'private_key', 'private_key_id', 'project_id', 'token_uri', 'type', 'universe_domain',
    ])
    expect(key).to.include({
      client_email: SA, project_id: 'sandbox-project', token_uri: tokenUri, type: 'service_account',
    })
    expect(key.private_key).to.match(/^-----BEGIN PRIVATE KEY-----/)
    const stored = readFileSync(sandbox.state.file('keys.json'), 'utf8')
    expect(stored).to.include(key.private_key_id).and.include('BEGIN PUBLIC KEY').and.not.include('PRIVATE KEY')
  })

  it('exchanges a valid assertion for a distinct token per call, each acting as the key\'s service account', async () => {
    const first = await exchange(assertion(key, claims({aud: 'https://oauth2.googleapis.com/token'})))
    const second = await exchange(assertion(key, claims()))
    expect(first.status).to.equal(200)
    expect(first.body).to.include({token_type: 'Bearer'})
    expect(first.body.access_token).to.be.a('string').and.not.equal(second.body.access_token)
    expect(await principalOf(first.body.access_token)).to.equal(SA)
    expect(await principalOf(second.body.access_token)).to.equal(SA)
  })

  it('answers target_audience with an ID token whose claims gcloud can read', async () => {
    const {body, status} = await exchange(assertion(key, claims({scope: undefined, target_audience: 'aud-x'})))
    expect(status).to.equal(200)
    const payload = JSON.parse(Buffer.from(String(body.id_token).split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>
    expect(payload).to.include({aud: 'aud-x', email: SA})
    expect(payload.exp).to.be.a('number')
  })

  const refusals: Array<[string, () => string, string]> = [
    ['a signature of another key', () => assertion({...key, private_key: generateKeyPairSync('rsa', {modulusLength: 2048}).privateKey.export({format: 'pem', type: 'pkcs8'}).toString()}, claims()), 'invalid_grant'],
    ['an unknown kid', () => assertion(key, claims(), {kid: 'nope'}), 'invalid_grant'],
    ['HS256', () => assertion(key, claims(), {alg: 'HS256'}), 'invalid_grant'],
    ['iss of another service account', () => assertion(key, claims({iss: 'other@sandbox-project.iam.gserviceaccount.com'})), 'invalid_grant'],
    ['aud of another endpoint', () => assertion(key, claims({aud: 'https://token.example/token'})), 'invalid_grant'],
    ['no scope', () => assertion(key, claims({scope: undefined})), 'invalid_scope'],
    ['an expired assertion', () => assertion(key, claims({exp: now() - 10, iat: now() - 100})), 'invalid_grant'],
    ['a lifetime over an hour', () => assertion(key, claims({exp: now() + 7200})), 'invalid_grant'],
    ['an iat in the future', () => assertion(key, claims({exp: now() + 4000, iat: now() + 1000})), 'invalid_grant'],
    ['not a JWT', () => 'a.b', 'invalid_grant'],
  ]
  for (const [what, make, error] of refusals) {
    it(`refuses ${what} (400 ${error}) and mints nothing`, async () => {
      const before = Object.keys(sandbox.state.principalTokens()).length
      const {body, status} = await exchange(make())
      expect(status).to.equal(400)
      expect(body.error).to.equal(error)
      expect(Object.keys(sandbox.state.principalTokens())).to.have.length(before)
    })
  }

  it('refuses other grants', async () => {
    const {body, status} = await exchange(assertion(key, claims()), 'client_credentials')
    expect(status).to.equal(400)
    expect(body.error).to.equal('unsupported_grant_type')
  })

  it('IAM keys.create (gcloud iam service-accounts keys create) returns a key file the grant accepts', async () => {
    const response = await call(sandbox, {
      body: {privateKeyType: 'TYPE_GOOGLE_CREDENTIALS_FILE'}, method: 'POST', path: `/v1/projects/-/serviceAccounts/${encodeURIComponent(SA)}/keys`,
    })
    expect(response.status).to.equal(200)
    const created = response.json as {name: string; privateKeyData: string}
    const file = JSON.parse(Buffer.from(created.privateKeyData, 'base64').toString('utf8')) as ServiceAccountKeyFile
    expect(created.name).to.equal(`projects/sandbox-project/serviceAccounts/${SA}/keys/${file.private_key_id}`)
    expect(file.token_uri).to.equal(tokenUri)
    const {body} = await exchange(assertion(file, claims()))
    expect(await principalOf(body.access_token)).to.equal(SA)
  })
})
