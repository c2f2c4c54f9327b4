import type {AddressInfo} from 'node:net'

import {expect} from 'chai'
import {generateKeyPairSync} from 'node:crypto'
import {mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {createServer, type RequestListener} from 'node:http'
import {join} from 'node:path'

import {MAX_TOKEN_LENGTH} from '../../src/auth/access-token.js'
import {type ResolveTokenOptions, resolveTokenProvider} from '../../src/auth/credentials.js'
import {readGcloudConfig} from '../../src/auth/gcloud-config.js'
import {metadataServerLikely} from '../../src/auth/metadata-server.js'
import {
  BinauthzError, Secrets, UserError,
} from '../../src/errors.js'
import {rejectionOf} from '../helpers/assert.js'
import {createFakeGcloud, FAKE_TOKEN, type FakeGcloud} from '../helpers/fake-gcloud.js'
import {tempDir} from '../helpers/tmp.js'

/** A local STS-style token endpoint that records each request (method, path, whether the scope was asked for). */
function tokenEndpoint(requests: string[]): RequestListener {
  return (req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString()
    })
    req.on('end', () => {
      requests.push(`${req.method} ${req.url} ${body.includes('cloud-platform') ? 'cloud-platform' : 'no-scope'}`)
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({
        access_token: 'ya29.from-local-sts-0123456789', expires_in: 3600, issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', token_type: 'Bearer',
      }))
    })
  }
}

import {TEST_USER_AGENT} from '../helpers/user-agent.js'
import {writeGcloudDir} from './fixtures.js'

const TOKEN = 'ya29.test-token-from-file-abcdefghijklmnop'
const AUTHORIZED_USER = JSON.stringify({
  client_id: 'client.apps.googleusercontent.com',
  client_secret: 'secret',
  quota_project_id: 'quota-proj',
  refresh_token: '1//refresh-token-value-abcdefghijklmnopqrstuvwxyz',
  type: 'authorized_user',
})

/** A service-account key file (its token_uri is never contacted: gcloud uses auth/token_host). */
const SERVICE_ACCOUNT_KEY = JSON.stringify({
  client_email: 'sa@p.iam.gserviceaccount.com',
  private_key: generateKeyPairSync('rsa', {modulusLength: 2048}).privateKey.export({format: 'pem', type: 'pkcs8'}).toString(),
  token_uri: 'http://127.0.0.1:9/token',
  type: 'service_account',
})

/** What gcloud writes for each stored credential: CONFIG/legacy_credentials/ACCOUNT/adc.json. */
function storeLegacyCredential(configDir: string, account: string, json: object | string): void {
  mkdirSync(join(configDir, 'legacy_credentials', account), {recursive: true})
  writeFileSync(join(configDir, 'legacy_credentials', account, 'adc.json'), typeof json === 'string' ? json : JSON.stringify(json))
}

describe('credentials', () => {
  let dir: string
  let gcloudDir: string
  let fake: FakeGcloud
  /** No Google hardware here, whatever machine runs the tests. */
  const noGoogle: ResolveTokenOptions = {dmiProductNameFile: '/nonexistent/product_name', secrets: new Secrets(), userAgent: TEST_USER_AGENT}

  beforeEach(() => {
    dir = tempDir('credentials')
    gcloudDir = join(dir, 'gcloud')
    writeGcloudDir(gcloudDir, {})
    fake = createFakeGcloud()
  })

  afterEach(() => {
    fake.cleanup()
    rmSync(dir, {force: true, recursive: true})
  })

  /** An isolated environment: its own HOME and gcloud config dir, the fake gcloud first on PATH. */
  function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return {
      CLOUDSDK_CONFIG: gcloudDir, HOME: dir, PATH: fake.path, ...extra,
    }
  }

  async function resolve(e: NodeJS.ProcessEnv) {
    return resolveTokenProvider(e, readGcloudConfig(e), noGoogle)
  }

  function withAccount(): void {
    writeGcloudDir(gcloudDir, {configs: {default: '[core]\naccount = dev@example.com\nproject = my-proj\n'}})
  }

  describe('access token file', () => {
    it('reads CLOUDSDK_AUTH_ACCESS_TOKEN_FILE (trimmed) without spawning anything', async () => {
      const file = join(dir, 'token')
      writeFileSync(file, `  ${TOKEN}\n`)
      withAccount()
      writeFileSync(join(gcloudDir, 'application_default_credentials.json'), AUTHORIZED_USER)
      const provider = await resolve(env({CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: file}))
      expect(provider.source.kind).to.equal('access-token-file')
      expect(provider.source.detail).to.include('CLOUDSDK_AUTH_ACCESS_TOKEN_FILE').and.include(file)
      expect(await provider.getToken()).to.equal(TOKEN)
      expect(await provider.getToken()).to.equal(TOKEN)
      expect(await fake.calls()).to.deep.equal([])
    })

    it('registers the token as a secret', async () => {
      const file = join(dir, 'token')
      const token = 'opaque-token-without-known-shape-123'
      writeFileSync(file, token)
      await (await resolve(env({CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: file}))).getToken()
      expect(noGoogle.secrets.redact(`header ${token}`)).to.equal('header [REDACTED]')
    })

    it('reads auth/access_token_file from the gcloud configuration', async () => {
      const file = join(dir, 'token')
      writeFileSync(file, TOKEN)
      writeGcloudDir(gcloudDir, {configs: {default: `[core]\naccount = a@b.c\n[auth]\naccess_token_file = ${file}\n`}})
      const provider = await resolve(env())
      expect(provider.source.kind).to.equal('access-token-file')
      expect(provider.source.detail).to.include("auth/access_token_file in gcloud configuration 'default'")
      expect(await provider.getToken()).to.equal(TOKEN)
    })

    it('prefers the environment variable over the configuration property', async () => {
      writeFileSync(join(dir, 'a'), 'token-from-env-aaaaaaaa')
      writeFileSync(join(dir, 'b'), 'token-from-config-bbbbbb')
      writeGcloudDir(gcloudDir, {configs: {default: `[auth]\naccess_token_file = ${join(dir, 'b')}\n`}})
      const provider = await resolve(env({CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: join(dir, 'a')}))
      expect(await provider.getToken()).to.equal('token-from-env-aaaaaaaa')
    })

    it('fails with a UserError naming the variable when the file is missing', async () => {
      const error = await rejectionOf(resolve(env({CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: join(dir, 'nope')})))
      expect(error).to.be.instanceOf(UserError)
      expect((error as UserError).code).to.equal('ACCESS_TOKEN_FILE_MISSING')
      expect((error as UserError).message).to.include('CLOUDSDK_AUTH_ACCESS_TOKEN_FILE').and.include(join(dir, 'nope'))
    })

    const bad: {content: string; name: string;}[] = [
      {content: '', name: 'empty'},
      {content: ' \n\t\n', name: 'only whitespace'},
      {content: 'ya29.first-line-secret\nya29.second-line-secret\n', name: 'multi-line'},
      {content: 'a'.repeat(MAX_TOKEN_LENGTH + 1), name: 'over-long'},
      {content: 'b'.repeat(5 * 1024 * 1024), name: 'huge'},
      {content: 'Bearer secret-value-xyz', name: 'with spaces'},
      {content: 'tok\u0000en-secret-value', name: 'binary'},
    ]
    for (const c of bad) {
      it(`rejects a token file that is ${c.name}, naming the file and not echoing the content`, async () => {
        const file = join(dir, 'token')
        writeFileSync(file, c.content)
        const error = await rejectionOf(resolve(env({CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: file})))
        expect(error).to.be.instanceOf(UserError)
        // A file beyond any token's size is refused before it is read (src/store/regular-file.ts).
        expect((error as UserError).code).to.equal(c.name === 'huge' ? 'FILE_TOO_LARGE' : 'INVALID_ACCESS_TOKEN')
        const {message} = (error as UserError)
        expect(message).to.include(file).and.include('CLOUDSDK_AUTH_ACCESS_TOKEN_FILE')
        expect(message).not.to.include('secret')
        expect(message).not.to.include('aaaaaaaaaa')
      })
    }
  })

  describe('auth/credential_file_override (store.py _LoadFromFileOverride)', () => {
    it('uses CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE over the active account, without spawning or importing anything', async () => {
      const file = join(dir, 'cred.json')
      writeFileSync(file, AUTHORIZED_USER)
      withAccount()
      const provider = await resolve(env({CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE: file}))
      expect(provider.source.kind).to.equal('credential-file')
      expect(provider.source.isUser).to.equal(true)
      expect(provider.source.detail).to.include('CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE').and.include(file).and.include('authorized_user')
      expect(provider.source.detail).not.to.include('refresh')
      expect(provider.quotaProject).to.equal('quota-proj')
      expect(await fake.calls()).to.deep.equal([])
    })

    it('reads auth/credential_file_override from the configuration; a service-account key is its client_email', async () => {
      const file = join(dir, 'key.json')
      writeFileSync(file, SERVICE_ACCOUNT_KEY)
      writeGcloudDir(gcloudDir, {configs: {default: `[core]\naccount = dev@example.com\n[auth]\ncredential_file_override = ${file}\n`}})
      const provider = await resolve(env())
      expect(provider.source).to.include({isUser: false, kind: 'credential-file', principal: 'sa@p.iam.gserviceaccount.com'})
    })

    it('fails with a UserError when the override names a missing file', async () => {
      withAccount()
      const error = await rejectionOf(resolve(env({CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE: join(dir, 'missing.json')})))
      expect((error as UserError).code).to.equal('CREDENTIAL_FILE_MISSING')
      expect((error as UserError).message).to.include('CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE')
    })

    it('fails with a UserError when the credential file is not JSON', async () => {
      const file = join(dir, 'cred.json')
      writeFileSync(file, '-----BEGIN PRIVATE KEY-----\nsecret\n-----END PRIVATE KEY-----\n')
      const error = await rejectionOf(resolve(env({CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE: file})))
      expect((error as UserError).code).to.equal('CREDENTIAL_FILE_INVALID')
      expect((error as UserError).message).not.to.include('secret')
    })

    it('reports a library failure as CREDENTIAL_FAILED without secrets and without network', async () => {
      const file = join(dir, 'cred.json')
      writeFileSync(file, JSON.stringify({type: 'no-such-type'}))
      const provider = await resolve(env({CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE: file}))
      const error = await rejectionOf(provider.getToken())
      expect(error).to.be.instanceOf(BinauthzError)
      expect((error as BinauthzError).code).to.be.oneOf(['CREDENTIAL_REJECTED', 'CREDENTIAL_FAILED'])
      expect(error instanceof UserError ? 'CREDENTIAL_REJECTED' : 'CREDENTIAL_FAILED').to.equal((error as BinauthzError).code)
    })

    it('ignores Application Default Credentials, as gcloud does for its own calls', async () => {
      const file = join(dir, 'adc.json')
      writeFileSync(file, AUTHORIZED_USER)
      writeFileSync(join(gcloudDir, 'application_default_credentials.json'), AUTHORIZED_USER)
      withAccount()
      const provider = await resolve(env({GOOGLE_APPLICATION_CREDENTIALS: file}))
      expect(provider.source).to.include({kind: 'gcloud-account', principal: 'dev@example.com'})
      const error = await rejectionOf(resolve({...env({GOOGLE_APPLICATION_CREDENTIALS: file}), CLOUDSDK_CONFIG: join(dir, 'empty-gcloud')}))
      expect((error as UserError).code).to.equal('NO_CREDENTIALS')
    })

    it('gets a token through google-auth-library from a local token endpoint, once', async () => {
      const requests: string[] = []
      const server = createServer(tokenEndpoint(requests))
      await new Promise<void>(done => {
        server.listen(0, '127.0.0.1', done)
      })
      try {
        const {port} = server.address() as AddressInfo
        const subject = join(dir, 'subject-token')
        writeFileSync(subject, 'subject-token-value')
        const file = join(dir, 'external.json')
        writeFileSync(file, JSON.stringify({
          audience: '//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/pool/providers/local',
          credential_source: {file: subject},
          subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
          token_url: `http://127.0.0.1:${port}/v1/token`,
          type: 'external_account',
        }))
        const detectionBefore = process.env.METADATA_SERVER_DETECTION
        const provider = await resolve(env({CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE: file}))
        expect(provider.source.detail).to.include('external_account')
        expect(await provider.getToken()).to.equal('ya29.from-local-sts-0123456789')
        expect(await provider.getToken()).to.equal('ya29.from-local-sts-0123456789')
        expect(requests).to.deep.equal(['POST /v1/token cloud-platform'])
        expect(process.env.METADATA_SERVER_DETECTION).to.equal(detectionBefore)
        expect(noGoogle.secrets.redact('x ya29.from-local-sts-0123456789')).not.to.include('from-local')
      } finally {
        server.close()
      }
    })

    it('uses a metadata server only with cheap evidence of one, and does not contact it while resolving', async () => {
      const provider = await resolve(env({GCE_METADATA_HOST: '127.0.0.1:9'}))
      expect(provider.source).to.deep.equal({detail: 'metadata server (default service account)', isUser: false, kind: 'metadata-server'})
    })

    it('prefers an explicit gcloud login over an ambient metadata server', async () => {
      withAccount()
      const provider = await resolve(env({GCE_METADATA_HOST: '127.0.0.1:9'}))
      expect(provider.source.kind).to.equal('gcloud-account')
    })

    describe('metadataServerLikely', () => {
      let dmi: string

      beforeEach(() => {
        dmi = join(dir, 'product_name')
      })

      const cases: {dmi?: string; env: NodeJS.ProcessEnv; expected: boolean; name: string;}[] = [
        {env: {}, expected: false, name: 'nothing'},
        {env: {GCE_METADATA_HOST: 'metadata.google.internal'}, expected: true, name: 'GCE_METADATA_HOST'},
        {env: {GCE_METADATA_IP: '169.254.169.254'}, expected: true, name: 'GCE_METADATA_IP'},
        {env: {METADATA_SERVER_DETECTION: 'assume-present'}, expected: true, name: 'assume-present'},
        {env: {K_SERVICE: 'svc'}, expected: true, name: 'Cloud Run'},
        {
          dmi: 'Google Compute Engine\n', env: {}, expected: true, name: 'Google hardware',
        },
        {
          dmi: 'KVM\n', env: {}, expected: false, name: 'other hardware',
        },
        {
          dmi: 'Google', env: {GCE_METADATA_HOST: 'x', METADATA_SERVER_DETECTION: 'none'}, expected: false, name: 'detection none wins',
        },
      ]
      for (const c of cases) {
        it(c.name, () => {
          if (c.dmi !== undefined) writeFileSync(dmi, c.dmi)
          expect(metadataServerLikely(c.env, dmi)).to.equal(c.expected)
        })
      }
    })
  })

  describe('gcloud account', () => {
    it('runs exactly one `gcloud auth print-access-token`, lazily, with our environment', async () => {
      withAccount()
      const e = env({CLOUDSDK_ACTIVE_CONFIG_NAME: 'default'})
      const provider = await resolve(e)
      expect(provider.source).to.deep.equal({
        detail: "gcloud account dev@example.com (core/account in gcloud configuration 'default')", isUser: true, kind: 'gcloud-account', principal: 'dev@example.com',
      })
      expect(await fake.calls()).to.deep.equal([])
      const tokens = await Promise.all([provider.getToken(), provider.getToken()])
      expect(tokens).to.deep.equal([FAKE_TOKEN, FAKE_TOKEN])
      expect(await provider.getToken()).to.equal(FAKE_TOKEN)
      expect(await fake.calls()).to.deep.equal([['auth', 'print-access-token']])
      // The token lives in the run's provider, not in the process: another provider (another run) asks gcloud again.
      expect(await (await resolve(e)).getToken()).to.equal(FAKE_TOKEN)
      expect(await fake.calls()).to.have.length(2)
      const [record] = await fake.records()
      expect(record?.env).to.include({CLOUDSDK_ACTIVE_CONFIG_NAME: 'default', CLOUDSDK_CONFIG: gcloudDir, CLOUDSDK_CORE_DISABLE_PROMPTS: '1'})
    })

    it('refresh() runs gcloud again for a new token, which getToken() then returns', async () => {
      withAccount()
      const provider = await resolve(env())
      expect(await provider.getToken()).to.equal(FAKE_TOKEN)
      fake.configure({token: `${FAKE_TOKEN}-renewed`})
      expect(await provider.refresh?.()).to.equal(`${FAKE_TOKEN}-renewed`)
      expect(await provider.getToken()).to.equal(`${FAKE_TOKEN}-renewed`)
      expect(await fake.calls()).to.have.length(2)
    })

    it('an access token file cannot be refreshed (no refresh())', async () => {
      const file = join(dir, 'token')
      writeFileSync(file, TOKEN)
      const provider = await resolve(env({CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: file}))
      expect(provider.refresh).to.equal(undefined)
    })

    it('is not chosen without an active account, even with a credential store (gcloud: NoActiveAccountException)', async () => {
      writeFileSync(join(gcloudDir, 'credentials.db'), '')
      const error = await rejectionOf(resolve(env()))
      expect((error as UserError).code).to.equal('NO_CREDENTIALS')
      expect(await fake.calls()).to.deep.equal([])
    })

    it('honours CLOUDSDK_CORE_ACCOUNT', async () => {
      const provider = await resolve(env({CLOUDSDK_CORE_ACCOUNT: 'ci@example.com'}))
      expect(provider.source.detail).to.include('ci@example.com')
    })

    it('turns a gcloud failure into a UserError suggesting `gcloud auth login`', async () => {
      withAccount()
      fake.configure({
        responses: [
          {args: ['auth', 'print-access-token'], exitCode: 1, stderr: 'ERROR: (gcloud.auth.print-access-token) Something else broke. ya29.leaked-token-value\n'},
        ],
      })
      const provider = await resolve(env())
      const error = await rejectionOf(provider.getToken())
      expect(error).to.be.instanceOf(UserError)
      expect((error as UserError).code).to.equal('GCLOUD_AUTH_FAILED')
      expect((error as UserError).message).to.include('Something else broke')
      expect((error as UserError).message).not.to.include('leaked-token-value')
      expect((error as UserError).suggestions.join('\n')).to.include('gcloud auth login')
      // A failure is not cached: the next call tries again.
      fake.configure({})
      expect(await provider.getToken()).to.equal(FAKE_TOKEN)
    })

    // store.py NoCredentialsForAccountException / a refresh that needs a new sign-in: its own code (exit 7) and the
    // exact command for that account.
    for (const stderr of [
      'ERROR: (gcloud.auth.print-access-token) Your current active account [dev@example.com] does not have any valid credentials\nPlease run:\n\n  $ gcloud auth login\n\nto obtain new credentials.\n',
      'ERROR: (gcloud.auth.print-access-token) Reauthentication failed. cannot prompt during non-interactive execution.\n',
      'ERROR: (gcloud.auth.print-access-token) There was a problem refreshing your current auth tokens: (\'invalid_grant: Bad Request\')\n',
    ]) {
      it(`no valid credential for the account (${stderr.slice(39, 80)}…): NO_CREDENTIALS, exit 7, \`gcloud auth login dev@example.com\``, async () => {
        withAccount()
        fake.configure({responses: [{args: ['auth', 'print-access-token'], exitCode: 1, stderr}]})
        const error = await rejectionOf((await resolve(env())).getToken())
        expect((error as UserError).code).to.equal('NO_CREDENTIALS')
        expect((error as UserError).exitCode).to.equal(7)
        expect((error as UserError).suggestions[0]).to.equal('Sign in: gcloud auth login dev@example.com')
        expect((error as UserError).suggestions.join('\n')).not.to.include('application-default')
      })
    }

    it('rejects output that is not a single token', async () => {
      withAccount()
      fake.configure({responses: [{args: ['auth', 'print-access-token'], stdout: 'WARNING: something\nya29.abcdefghijk\n'}]})
      const error = await rejectionOf((await resolve(env())).getToken())
      expect((error as UserError).code).to.equal('GCLOUD_AUTH_FAILED')
      expect((error as UserError).message).not.to.include('abcdefghijk')
    })

    it('reports a missing gcloud as GCLOUD_MISSING', async () => {
      withAccount()
      const empty = join(dir, 'empty-bin')
      mkdirSync(empty)
      const error = await rejectionOf((await resolve(env({PATH: empty}))).getToken())
      expect((error as UserError).code).to.equal('GCLOUD_MISSING')
    })
  })

  describe('no credentials', () => {
    it('fails with NO_CREDENTIALS and the login commands, spawning nothing', async () => {
      const error = await rejectionOf(resolve(env()))
      expect(error).to.be.instanceOf(UserError)
      expect((error as UserError).code).to.equal('NO_CREDENTIALS')
      expect((error as UserError).exitCode).to.equal(7)
      const suggestions = (error as UserError).suggestions.join('\n')
      expect((error as UserError).suggestions[0]).to.equal('Sign in: gcloud auth login')
      expect(suggestions).to.include('gcloud config set account').and.not.include('application-default')
      expect(await fake.calls()).to.deep.equal([])
    })

    it('says ADC would not help when GOOGLE_APPLICATION_CREDENTIALS is set (gcloud does not read it)', async () => {
      const error = await rejectionOf(resolve(env({GOOGLE_APPLICATION_CREDENTIALS: join(dir, 'adc.json')})))
      expect((error as UserError).code).to.equal('NO_CREDENTIALS')
      expect((error as UserError).suggestions.join('\n')).to.include('`gcloud auth application-default login` would not help')
    })

    it('ignores ~/.config/gcloud when CLOUDSDK_CONFIG points elsewhere', async () => {
      const home = join(dir, 'home')
      writeGcloudDir(join(home, '.config', 'gcloud'), {configs: {default: '[core]\naccount = other@example.com\n'}})
      const error = await rejectionOf(resolve(env({HOME: home})))
      expect((error as UserError).code).to.equal('NO_CREDENTIALS')
    })
  })

  describe('the order (store.py _Load): each source beats every later one', () => {
    /** Sources, strongest first; a case sets a source and every weaker one, and expects the strongest. */
    const cases: {expected: {kind: string; principal?: string}; name: string; setup: (e: NodeJS.ProcessEnv) => NodeJS.ProcessEnv}[] = [
      {
        expected: {kind: 'access-token-env'}, name: 'CLOUDSDK_AUTH_ACCESS_TOKEN', setup: e => ({...e, CLOUDSDK_AUTH_ACCESS_TOKEN: TOKEN}),
      },
      {
        expected: {kind: 'access-token-file'}, name: 'CLOUDSDK_AUTH_ACCESS_TOKEN_FILE', setup: e => ({...e, CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: join(dir, 'token')}),
      },
      {
        expected: {kind: 'credential-file', principal: 'sa@p.iam.gserviceaccount.com'},
        name: 'CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE',
        setup: e => ({...e, CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE: join(dir, 'key.json')}),
      },
      {
        expected: {kind: 'gcloud-account', principal: 'env@example.com'}, name: 'CLOUDSDK_CORE_ACCOUNT over core/account', setup: e => ({...e, CLOUDSDK_CORE_ACCOUNT: 'env@example.com'}),
      },
      {expected: {kind: 'gcloud-account', principal: 'dev@example.com'}, name: 'core/account of the active configuration', setup: e => e},
    ]
    for (const [index, c] of cases.entries()) {
      it(`${c.name} wins over ${cases.slice(index + 1).map(w => w.name).join(', ') || 'nothing'} (and ADC, and a metadata server)`, async () => {
        writeFileSync(join(dir, 'token'), TOKEN)
        writeFileSync(join(dir, 'key.json'), SERVICE_ACCOUNT_KEY)
        writeFileSync(join(gcloudDir, 'application_default_credentials.json'), AUTHORIZED_USER)
        withAccount()
        let e = env({GCE_METADATA_HOST: '127.0.0.1:9', GOOGLE_APPLICATION_CREDENTIALS: join(gcloudDir, 'application_default_credentials.json')})
        for (const weaker of cases.slice(index)) e = weaker.setup(e)
        const provider = await resolve(e)
        expect(provider.source).to.include(c.expected)
        expect(await fake.calls()).to.deep.equal([])
      })
    }

    it('CLOUDSDK_ACTIVE_CONFIG_NAME chooses the configuration whose account is used', async () => {
      writeGcloudDir(gcloudDir, {configs: {default: '[core]\naccount = dev@example.com\n', other: '[core]\naccount = other@example.com\n'}})
      const provider = await resolve(env({CLOUDSDK_ACTIVE_CONFIG_NAME: 'other'}))
      expect(provider.source).to.include({kind: 'gcloud-account', principal: 'other@example.com'})
    })

    it('an activated service account is not a user credential (no CURRENT_PROJECT quota project)', async () => {
      const provider = await resolve(env({CLOUDSDK_CORE_ACCOUNT: 'ci@p.iam.gserviceaccount.com'}))
      expect(provider.source.isUser).to.equal(false)
    })

    it('the type of the stored credential decides, from legacy_credentials/ACCOUNT/adc.json (store.py _LegacyGenerator)', async () => {
      const workload = 'principal://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/pool/subject/ci'
      storeLegacyCredential(gcloudDir, workload, {audience: '//iam.googleapis.com/x', type: 'external_account'})
      expect((await resolve(env({CLOUDSDK_CORE_ACCOUNT: workload}))).source.isUser).to.equal(false)
      const workforce = 'principal://iam.googleapis.com/locations/global/workforcePools/staff/subject/me'
      storeLegacyCredential(gcloudDir, workforce, {type: 'external_account', workforce_pool_user_project: 'p'})
      expect((await resolve(env({CLOUDSDK_CORE_ACCOUNT: workforce}))).source.isUser).to.equal(true)
      storeLegacyCredential(gcloudDir, 'me@example.com', {type: 'authorized_user'})
      expect((await resolve(env({CLOUDSDK_CORE_ACCOUNT: 'me@example.com'}))).source.isUser).to.equal(true)
      // Not JSON: the name decides.
      storeLegacyCredential(gcloudDir, 'ci@p.iam.gserviceaccount.com', 'not json')
      expect((await resolve(env({CLOUDSDK_CORE_ACCOUNT: 'ci@p.iam.gserviceaccount.com'}))).source.isUser).to.equal(false)
    })
  })

  describe('impersonation (store.py Load → IAM Credentials generateAccessToken)', () => {
    const SA = 'target@p.iam.gserviceaccount.com'
    let server: ReturnType<typeof createServer>
    let seen: {authorization?: string; body: string; url?: string}[]
    let endpoint: string

    beforeEach(async () => {
      seen = []
      server = createServer((req, res) => {
        let body = ''
        req.on('data', (chunk: Buffer) => {
          body += chunk.toString()
        })
        req.on('end', () => {
          seen.push({body, ...(req.headers.authorization === undefined ? {} : {authorization: req.headers.authorization}), ...(req.url === undefined ? {} : {url: req.url})})
          res.setHeader('content-type', 'application/json')
          if (body.includes('denied@')) {
            res.statusCode = 403
            res.end(JSON.stringify({error: {code: 403, message: 'Permission iam.serviceAccounts.getAccessToken denied', status: 'PERMISSION_DENIED'}}))
            return
          }

          res.end(JSON.stringify({accessToken: 'ya29.impersonated-0123456789', expireTime: '2030-01-01T00:00:00Z'}))
        })
      })
      await new Promise<void>(done => {
        server.listen(0, '127.0.0.1', done)
      })
      endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
    })

    afterEach(() => {
      server.close()
    })

    it('on a token file: one generateAccessToken at the override endpoint, with the source token, no gcloud', async () => {
      const provider = await resolve(env({
        CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS: endpoint, CLOUDSDK_AUTH_ACCESS_TOKEN: TOKEN, CLOUDSDK_AUTH_IMPERSONATE_SERVICE_ACCOUNT: SA,
      }))
      expect(provider.source).to.include({isUser: false, kind: 'access-token-env', principal: SA})
      expect(await provider.getToken()).to.equal('ya29.impersonated-0123456789')
      expect(await provider.getToken()).to.equal('ya29.impersonated-0123456789')
      expect(seen).to.have.length(1)
      expect(seen[0]?.url).to.equal(`/v1/projects/-/serviceAccounts/${encodeURIComponent(SA)}:generateAccessToken`)
      expect(seen[0]?.authorization).to.equal(`Bearer ${TOKEN}`)
      expect(JSON.parse(seen[0]?.body ?? '{}')).to.deep.equal({lifetime: '3600s', scope: ['https://www.googleapis.com/auth/cloud-platform']})
      expect(await fake.calls()).to.deep.equal([])
    })

    it('a delegation chain (DELEGATE,...,TARGET): the last is the target, the others delegates in order', async () => {
      writeFileSync(join(dir, 'token'), TOKEN)
      writeGcloudDir(gcloudDir, {
        configs: {default: `[auth]\nimpersonate_service_account = a@p.iam.gserviceaccount.com, b@p.iam.gserviceaccount.com,${SA}\n[api_endpoint_overrides]\niamcredentials = ${endpoint}\n`},
      })
      const provider = await resolve(env({CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: join(dir, 'token')}))
      expect(provider.source.impersonation).to.deep.equal({delegates: ['a@p.iam.gserviceaccount.com', 'b@p.iam.gserviceaccount.com'], target: SA})
      await provider.getToken()
      expect(JSON.parse(seen[0]?.body ?? '{}').delegates).to.deep.equal([
        'projects/-/serviceAccounts/a@p.iam.gserviceaccount.com', 'projects/-/serviceAccounts/b@p.iam.gserviceaccount.com',
      ])
    })

    it('a refusal is IMPERSONATION_FAILED naming the role, without the token', async () => {
      const provider = await resolve(env({
        CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS: endpoint, CLOUDSDK_AUTH_ACCESS_TOKEN: TOKEN, CLOUDSDK_AUTH_IMPERSONATE_SERVICE_ACCOUNT: `denied@p.iam.gserviceaccount.com,${SA}`,
      }))
      const error = await rejectionOf(provider.getToken())
      expect(error).to.be.instanceOf(UserError)
      expect((error as UserError).code).to.equal('IMPERSONATION_DENIED')
      expect((error as UserError).exitCode).to.equal(3)
      expect((error as UserError).suggestions.join('\n')).to.include('roles/iam.serviceAccountTokenCreator')
      expect((error as UserError).message).not.to.include(TOKEN)
    })

    it('on a gcloud account: no IAM call of ours; gcloud print-access-token impersonates (the property is in its environment)', async () => {
      withAccount()
      const provider = await resolve(env({CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS: endpoint, CLOUDSDK_AUTH_IMPERSONATE_SERVICE_ACCOUNT: SA}))
      expect(provider.source).to.include({isUser: false, kind: 'gcloud-account', principal: SA})
      expect(await provider.getToken()).to.equal(FAKE_TOKEN)
      expect(seen).to.have.length(0)
      const [record] = await fake.records()
      expect(record?.env).to.include({CLOUDSDK_AUTH_IMPERSONATE_SERVICE_ACCOUNT: SA})
    })

    it('refuses a value that is not a service account list', async () => {
      const error = await rejectionOf(resolve(env({CLOUDSDK_AUTH_ACCESS_TOKEN: TOKEN, CLOUDSDK_AUTH_IMPERSONATE_SERVICE_ACCOUNT: 'a@p.iam.gserviceaccount.com,,'})))
      expect((error as UserError).code).to.equal('INVALID_IMPERSONATION')
    })

    it('refuses a plain-http IAM Credentials endpoint that is not loopback (the token would travel in clear)', async () => {
      const error = await rejectionOf(resolve(env({
        CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS: 'http://iam.example.com/', CLOUDSDK_AUTH_ACCESS_TOKEN: TOKEN, CLOUDSDK_AUTH_IMPERSONATE_SERVICE_ACCOUNT: SA,
      })))
      expect((error as UserError).code).to.equal('INVALID_ENDPOINT')
    })
  })
})
