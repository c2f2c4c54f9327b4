// Credential files binauthz exchanges itself (no google-auth-library): a service-account key's JWT-bearer grant and an
// authorized_user's refresh, both sent to auth/token_host as gcloud 528 does (store.py _LoadFromFileOverride), judged
// by the sandbox's own token endpoint (which records whose token each later call carried); and auth/disable_credentials
// refused before any request.
import {expect} from 'chai'
import {rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {resolveTokenProvider} from '../../src/auth/credentials.js'
import {readGcloudConfig} from '../../src/auth/gcloud-config.js'
import {
  BinauthzError, Secrets, UserError,
} from '../../src/errors.js'
import {issueServiceAccountKey, type ServiceAccountKeyFile} from '../../src/sandbox/index.js'
import {rejectionOf} from '../helpers/assert.js'
import {startTestSandbox, type TestSandbox} from '../helpers/sandbox.js'
import {tempDir} from '../helpers/tmp.js'
import {TEST_USER_AGENT} from '../helpers/user-agent.js'
import {call} from '../sandbox/client.js'
import {writeGcloudDir} from './fixtures.js'

const SA = 'key-holder@sandbox-project.iam.gserviceaccount.com'
const TARGET = 'deployer@sandbox-project.iam.gserviceaccount.com'
const noGoogle = {dmiProductNameFile: '/nonexistent/product_name', secrets: new Secrets(), userAgent: TEST_USER_AGENT}

async function resolve(e: NodeJS.ProcessEnv) {
  return resolveTokenProvider(e, readGcloudConfig(e), noGoogle)
}

describe('credential files exchanged by binauthz itself, at auth/token_host', () => {
  let sandbox: TestSandbox
  let dir: string
  let gcloudDir: string
  let key: ServiceAccountKeyFile
  let keyFile: string

  before(async () => {
    sandbox = await startTestSandbox()
    dir = tempDir('credential-grants')
    gcloudDir = join(dir, 'gcloud')
    writeGcloudDir(gcloudDir, {configs: {default: '[core]\naccount = dev@example.com\n'}})
    // The file's token_uri names a dead port: gcloud replaces it by auth/token_host, so must binauthz.
    key = {...issueServiceAccountKey(sandbox.state, SA, `${sandbox.url}token`), token_uri: 'http://127.0.0.1:9/token'}
    keyFile = join(dir, 'key.json')
    writeFileSync(keyFile, JSON.stringify(key))
  })

  after(async () => {
    await sandbox?.stop()
    if (dir) rmSync(dir, {force: true, recursive: true})
  })

  function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return {
      CLOUDSDK_AUTH_TOKEN_HOST: `${sandbox.url}token`, CLOUDSDK_CONFIG: gcloudDir, HOME: dir, PATH: '/nonexistent', ...extra,
    }
  }

  /** Whose token the sandbox takes `token` for (one GET of the policy). */
  async function principalOf(token: string): Promise<string | undefined> {
    sandbox.state.clearRequests()
    await call(sandbox, {path: `/v1/projects/${sandbox.project}/policy`, token})
    return sandbox.requests()[0]?.principal
  }

  it('a service-account key: one jwt-bearer exchange at auth/token_host, a token that acts as the key\'s account', async () => {
    const provider = await resolve(env({CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE: keyFile}))
    expect(provider.source).to.include({isUser: false, kind: 'credential-file', principal: SA})
    sandbox.state.clearRequests()
    const token = await provider.getToken()
    expect(await provider.getToken()).to.equal(token)
    const exchanges = sandbox.requests().filter(r => r.api === 'oauth2')
    expect(exchanges.map(r => `${r.method} ${r.path} ${r.status}`)).to.deep.equal(['POST /token 200'])
    expect(await principalOf(token)).to.equal(SA)
    expect(noGoogle.secrets.redact(`x ${token} ${key.private_key}`)).to.equal('x [REDACTED] [REDACTED]')
  })

  it('a key\'s own quota_project_id is not a quota project (google-auth ignores it for service accounts)', async () => {
    const withQuota = join(dir, 'key-quota.json')
    writeFileSync(withQuota, JSON.stringify({...key, quota_project_id: 'key-quota'}))
    const provider = await resolve(env({CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE: withQuota}))
    expect(provider.quotaProject).to.equal(undefined)
    // google-auth's with_quota_project_from_environment: GOOGLE_CLOUD_QUOTA_PROJECT is the credential's quota project.
    const fromEnv = await resolve(env({CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE: withQuota, GOOGLE_CLOUD_QUOTA_PROJECT: 'env-quota'}))
    expect(fromEnv.quotaProject).to.equal('env-quota')
    expect(fromEnv.quotaProjectOrigin).to.include('GOOGLE_CLOUD_QUOTA_PROJECT')
  })

  it('reads auth/token_host from the configuration too', async () => {
    const config = join(dir, 'gcloud-token-host')
    writeGcloudDir(config, {configs: {default: `[auth]\ncredential_file_override = ${keyFile}\ntoken_host = ${sandbox.url}token\n`}})
    const provider = await resolve({CLOUDSDK_CONFIG: config, HOME: dir, PATH: '/nonexistent'})
    expect(await principalOf(await provider.getToken())).to.equal(SA)
  })

  it('impersonation on top of the key: IAM Credentials called with the key\'s token, calls act as the target', async () => {
    const provider = await resolve(env({
      CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS: sandbox.url, CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE: keyFile, CLOUDSDK_AUTH_IMPERSONATE_SERVICE_ACCOUNT: TARGET,
    }))
    expect(provider.source).to.include({isUser: false, kind: 'credential-file', principal: TARGET})
    sandbox.state.clearRequests()
    const token = await provider.getToken()
    const calls = sandbox.requests()
    expect(calls.map(r => r.api)).to.deep.equal(['oauth2', 'iamcredentials'])
    expect(calls[1]?.principal).to.equal(SA)
    expect(await principalOf(token)).to.equal(TARGET)
  })

  it('a key the sandbox does not know is refused (CREDENTIAL_REJECTED) without printing the key', async () => {
    const other = join(dir, 'other.json')
    const {private_key: privateKey} = issueServiceAccountKey(sandbox.state, SA, 'unused')
    writeFileSync(other, JSON.stringify({...key, private_key: privateKey}))
    const error = await rejectionOf((await resolve(env({CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE: other}))).getToken())
    expect((error as BinauthzError).code).to.equal('CREDENTIAL_REJECTED')
    expect((error as Error).message).to.include('invalid_grant').and.not.include('PRIVATE KEY')
  })

  it('a broken private key is CREDENTIAL_FILE_INVALID while resolving, before any request', async () => {
    const broken = join(dir, 'broken.json')
    writeFileSync(broken, JSON.stringify({...key, private_key: '-----BEGIN PRIVATE KEY-----\nnot-a-key\n-----END PRIVATE KEY-----\n'}))
    sandbox.state.clearRequests()
    const error = await rejectionOf(resolve(env({CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE: broken})))
    expect((error as UserError).code).to.equal('CREDENTIAL_FILE_INVALID')
    expect((error as Error).message).not.to.include('not-a-key')
    expect(sandbox.requests()).to.deep.equal([])
  })

  it('auth/token_host over plain http to another host is refused before the key is used', async () => {
    const error = await rejectionOf(resolve(env({CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE: keyFile, CLOUDSDK_AUTH_TOKEN_HOST: 'http://token.example/token'})))
    expect((error as UserError).code).to.equal('INVALID_ENDPOINT')
    expect((error as Error).message).to.include('CLOUDSDK_AUTH_TOKEN_HOST').and.include('loopback')
  })

  it('an authorized_user file: its refresh token is exchanged at auth/token_host', async () => {
    sandbox.state.addPrincipalToken('refresh_token:rt-alice-0123456789', 'alice@example.com')
    const file = join(dir, 'user.json')
    writeFileSync(file, JSON.stringify({
      client_id: 'cid', client_secret: 'csecret-0123456789', refresh_token: 'rt-alice-0123456789', token_uri: 'http://127.0.0.1:9/token', type: 'authorized_user',
    }))
    const provider = await resolve(env({CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE: file}))
    expect(provider.source.isUser).to.equal(true)
    expect(await principalOf(await provider.getToken())).to.equal('alice@example.com')
    expect(noGoogle.secrets.redact('rt-alice-0123456789 csecret-0123456789')).to.equal('[REDACTED] [REDACTED]')
  })

  describe('auth/disable_credentials (store.py LoadIfEnabled: gcloud would call unauthenticated)', () => {
    for (const value of ['true', 'True', '1', 'yes', 'on']) {
      it(`CLOUDSDK_AUTH_DISABLE_CREDENTIALS=${value} is refused (CREDENTIALS_DISABLED) with the command that undoes it`, async () => {
        const error = await rejectionOf(resolve(env({CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE: keyFile, CLOUDSDK_AUTH_DISABLE_CREDENTIALS: value})))
        expect((error as UserError).code).to.equal('CREDENTIALS_DISABLED')
        expect((error as UserError).suggestions).to.deep.equal(['unset CLOUDSDK_AUTH_DISABLE_CREDENTIALS'])
      })
    }

    it('the property in the configuration is refused too, naming gcloud config unset', async () => {
      const config = join(dir, 'gcloud-disabled')
      writeGcloudDir(config, {configs: {default: '[core]\naccount = dev@example.com\n[auth]\ndisable_credentials = True\n'}})
      const error = await rejectionOf(resolve({CLOUDSDK_CONFIG: config, HOME: dir, PATH: '/nonexistent'}))
      expect((error as UserError).code).to.equal('CREDENTIALS_DISABLED')
      expect((error as UserError).suggestions).to.deep.equal(['gcloud config unset auth/disable_credentials'])
    })

    it('false, 0 or an empty value change nothing', async () => {
      for (const value of ['false', '0', '']) {
        const provider = await resolve(env({CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE: keyFile, CLOUDSDK_AUTH_DISABLE_CREDENTIALS: value}))
        expect(provider.source.principal).to.equal(SA)
      }
    })
  })
})
