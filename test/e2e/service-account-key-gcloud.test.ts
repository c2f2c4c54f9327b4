// End to end with the REAL gcloud 528: a service-account key in auth/credential_file_override (the property and
// CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE), with and without impersonation on top, and auth/token_host /
// auth/disable_credentials. The key is made by `gcloud iam service-accounts keys create` against the sandbox, which
// keeps its public half and verifies every JWT-bearer assertion itself (src/sandbox/service-account-keys.ts); each
// exchange mints a distinct token bound to the key's account, so the request log shows who made every call.
// The key file's token_uri is pointed at a dead port: gcloud sends the assertion to auth/token_host instead
// (store.py _LoadFromFileOverride: `cred._token_uri = token_host.Get()` for SERVICE_ACCOUNT), and so must binauthz.
import {expect} from 'chai'
import {
  mkdirSync, readFileSync, rmSync, writeFileSync,
} from 'node:fs'
import {join} from 'node:path'

import type {RequestRecord} from '../../src/sandbox/index.js'

import {runCli} from '../helpers/cli-process.js'
import {runProgram, withoutCloudsdk, writeHelloSource} from '../helpers/e2e.js'
import {nodeSqlite, pythonUtcDatetime} from '../helpers/gcloud-token-cache.js'
import {installedGcloud} from '../helpers/installed-gcloud.js'
import {type CliSandbox, startSandboxCli} from '../helpers/sandbox-cli.js'
import {tempDir} from '../helpers/tmp.js'
import {packageUserAgent} from '../helpers/user-agent.js'

const GCLOUD = installedGcloud()
const SKIP_NOTE = GCLOUD === undefined ? ' (skipped: needs gcloud on PATH)' : ''
const KEY_SA = 'ci-deployer@sandbox-project.iam.gserviceaccount.com'
const TARGET = 'runtime-admin@sandbox-project.iam.gserviceaccount.com'
const DEAD_TOKEN_URI = 'http://127.0.0.1:9/token'
/** Whether this Node reads SQLite (node:sqlite, Node ≥ 22.13): binauthz then uses the token gcloud cached. */
const READS_GCLOUD_CACHE = nodeSqlite !== undefined

const byUs = (r: RequestRecord): boolean => (r.headers?.['user-agent'] ?? '').startsWith('binauthz-deploy/')
const ours = (r: RequestRecord): boolean => byUs(r) && r.api !== 'iamcredentials' && r.api !== 'oauth2'
const gcloudApi = (r: RequestRecord): boolean => !byUs(r) && r.api !== 'iamcredentials' && r.api !== 'oauth2'
function principals(requests: RequestRecord[], which: (r: RequestRecord) => boolean): string[] {
  return [...new Set(requests.filter(r => which(r)).map(r => r.principal ?? `(${r.auth})`))]
}

const ourExchanges = (requests: RequestRecord[]): number => requests.filter(r => byUs(r) && r.api === 'oauth2').length

function quotaHeaders(requests: RequestRecord[], which: (r: RequestRecord) => boolean): string[] {
  return [...new Set(requests.filter(r => which(r)).map(r => r.headers?.['x-goog-user-project'] ?? '(none)'))]
}

interface DeployJson {
  auth?: {principal: null | string; quotaProject: null | string; source: string}
  error?: {code?: string}
}

describe(`e2e: a service-account key (auth/credential_file_override) with the real gcloud${SKIP_NOTE}`, function () {
  this.timeout(600_000)
  let dir: string
  let sandbox: CliSandbox
  let keyFile: string
  /** A gcloud configuration without the sandbox's access_token_file (token_host, proxy and overrides kept). */
  let configDir: string
  let configText: string

  before(async function () {
    if (GCLOUD === undefined) this.skip() // needs the real gcloud
    dir = tempDir('binauthz-e2e-sakey-')
    writeHelloSource(dir)
    sandbox = await startSandboxCli({policy: 'block-all', stateDir: join(dir, 'state')})
    keyFile = join(dir, 'key.json')
    // What a user would do: gcloud itself asks the sandbox's IAM keys.create for the key file.
    const created = await runProgram(GCLOUD!, ['iam', 'service-accounts', 'keys', 'create', keyFile, `--iam-account=${KEY_SA}`], {
      cwd: dir, env: {...withoutCloudsdk(), ...sandbox.env, HOME: dir},
    })
    expect(created.code, created.stderr).to.equal(0)
    const key = JSON.parse(readFileSync(keyFile, 'utf8')) as Record<string, unknown>
    expect(key).to.include({client_email: KEY_SA, token_uri: `${sandbox.url}token`, type: 'service_account'})
    writeFileSync(keyFile, JSON.stringify({...key, token_uri: DEAD_TOKEN_URI}))
    configDir = join(dir, 'gcloud-key')
    mkdirSync(join(configDir, 'configurations'), {recursive: true})
    writeFileSync(join(configDir, 'active_config'), 'default')
    configText = readFileSync(join(sandbox.env.CLOUDSDK_CONFIG!, 'configurations', 'config_default'), 'utf8')
    .replace(/^access_token_file = .*\n/m, '')
    .replace(/^account = .*\n/m, '')
    expect(configText).to.include(`token_host = ${sandbox.url}token`)
    writeFileSync(join(configDir, 'configurations', 'config_default'), configText)
  })

  after(async () => {
    await sandbox?.stop()
    if (dir) rmSync(dir, {force: true, recursive: true})
  })

  /** The sandbox's environment without its token file, on the configuration above. */
  function keyEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      ...withoutCloudsdk(), ...sandbox.env, CLOUDSDK_CONFIG: configDir, HOME: dir, ...extra,
    }
    delete env.CLOUDSDK_AUTH_ACCESS_TOKEN_FILE
    return env
  }

  async function deploy(name: string, env: NodeJS.ProcessEnv): Promise<{code: null | number; json: DeployJson; output: string; requests: RequestRecord[]}> {
    sandbox.state.clearRequests()
    const run = await runCli(['deploy', 'run', name, '--region', 'us-central1', '--yes', '--json', '--', '--source', 'src', '--function', 'handler'], {
      cwd: dir, env, timeoutMs: 300_000,
    })
    return {
      code: run.code, json: JSON.parse(run.stdout || '{}') as DeployJson, output: `${run.stdout}\n${run.stderr}`, requests: sandbox.state.requests(),
    }
  }

  it('CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE: both act as the key\'s account, both exchange at auth/token_host, no quota project', async () => {
    const {code, json, output, requests} = await deploy('svc-key-env', keyEnv({CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE: keyFile}))
    expect(code, output).to.equal(0)
    expect(json.auth).to.include({principal: KEY_SA, quotaProject: null, source: 'credential-file'})
    expect(requests.some(r => ours(r) && r.api === 'binaryauthorization' && r.method === 'PUT')).to.equal(true)
    expect(principals(requests, ours)).to.deep.equal([KEY_SA])
    expect(principals(requests, gcloudApi)).to.deep.equal([KEY_SA])
    // The key's token_uri is a dead port: both sent the assertion to auth/token_host (the sandbox), one for binauthz.
    const exchanges = requests.filter(r => r.api === 'oauth2')
    expect(exchanges.filter(r => byUs(r)).map(r => r.status)).to.deep.equal([200])
    expect(exchanges.some(r => !byUs(r) && r.status === 200)).to.equal(true)
    // creds.py GetQuotaProject: CURRENT_PROJECT applies to user credentials only; a service account sends none.
    expect(quotaHeaders(requests, r => r.api === 'run')).to.deep.equal(['(none)'])
    expect(quotaHeaders(requests, ours)).to.deep.equal(['(none)'])
    expect(output).not.to.include('PRIVATE KEY')
  })

  it('a key file\'s own quota_project_id: neither sends it; GOOGLE_CLOUD_QUOTA_PROJECT: both send that', async () => {
    const withQuota = join(dir, 'key-quota.json')
    writeFileSync(withQuota, JSON.stringify({...JSON.parse(readFileSync(keyFile, 'utf8')) as object, quota_project_id: 'key-quota'}))
    const {code, json, output, requests} = await deploy('svc-key-quota', keyEnv({CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE: withQuota}))
    expect(code, output).to.equal(0)
    expect(json.auth).to.include({principal: KEY_SA, quotaProject: null})
    expect(quotaHeaders(requests, r => r.api === 'run' && !byUs(r))).to.deep.equal(['(none)'])
    expect(quotaHeaders(requests, ours)).to.deep.equal(['(none)'])
    // google-auth (auth/_default.py _apply_quota_project_id) gives a credential file GOOGLE_CLOUD_QUOTA_PROJECT: both send it.
    const withEnv = await deploy('svc-key-quota-env', keyEnv({CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE: withQuota, GOOGLE_CLOUD_QUOTA_PROJECT: 'env-quota'}))
    expect(withEnv.code, withEnv.output).to.equal(0)
    expect(withEnv.json.auth?.quotaProject).to.equal('env-quota')
    expect(quotaHeaders(withEnv.requests, r => r.api === 'run' && !byUs(r))).to.deep.equal(['env-quota'])
    expect(quotaHeaders(withEnv.requests, ours)).to.deep.equal(['env-quota'])
  })

  it('auth/credential_file_override in the configuration: the same', async () => {
    const withProperty = join(dir, 'gcloud-key-property')
    mkdirSync(join(withProperty, 'configurations'), {recursive: true})
    writeFileSync(join(withProperty, 'active_config'), 'default')
    writeFileSync(join(withProperty, 'configurations', 'config_default'), configText.replace('[auth]\n', `[auth]\ncredential_file_override = ${keyFile}\n`))
    const {code, json, output, requests} = await deploy('svc-key-prop', keyEnv({CLOUDSDK_CONFIG: withProperty}))
    expect(code, output).to.equal(0)
    expect(json.auth?.principal).to.equal(KEY_SA)
    expect(principals(requests, ours)).to.deep.equal([KEY_SA])
    expect(principals(requests, gcloudApi)).to.deep.equal([KEY_SA])
  })

  it('impersonation on top of the key: both act as the target; IAM Credentials is called as the key\'s account', async () => {
    const {code, json, output, requests} = await deploy('svc-key-imp', keyEnv({CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE: keyFile, CLOUDSDK_AUTH_IMPERSONATE_SERVICE_ACCOUNT: TARGET}))
    expect(code, output).to.equal(0)
    expect(json.auth).to.include({principal: TARGET, quotaProject: null, source: 'credential-file'})
    expect(principals(requests, ours)).to.deep.equal([TARGET])
    expect(principals(requests, gcloudApi)).to.deep.equal([TARGET])
    expect(principals(requests, r => r.api === 'iamcredentials')).to.deep.equal([KEY_SA])
    expect(requests.filter(r => byUs(r) && r.api === 'iamcredentials')).to.have.length(1)
    expect(quotaHeaders(requests, r => r.api === 'run')).to.deep.equal(['(none)'])
    expect(quotaHeaders(requests, ours)).to.deep.equal(['(none)'])
    // One User-Agent on every call binauthz makes itself, the installed package's: the key's token grant (none where
    // binauthz reads the token gcloud cached in the first test), IAM Credentials, the policy read and write, and the
    // reader of the existing Cloud Run service.
    const mine = requests.filter(r => byUs(r))
    expect([...new Set(mine.map(r => r.headers?.['user-agent']))]).to.deep.equal([packageUserAgent()])
    const apis = READS_GCLOUD_CACHE ? ['binaryauthorization', 'iamcredentials', 'run'] : ['binaryauthorization', 'iamcredentials', 'oauth2', 'run']
    expect([...new Set(mine.map(r => r.api))].sort()).to.deep.equal(apis)
  })

  it(`gcloud's access-token cache: binauthz uses the token gcloud cached for the key${READS_GCLOUD_CACHE ? '' : ' (Node without node:sqlite: it exchanges its own)'}`, async () => {
    // A configuration of its own, its cache warmed the way a user's is: a gcloud command with the key.
    const cacheConfig = join(dir, 'gcloud-key-cache')
    mkdirSync(join(cacheConfig, 'configurations'), {recursive: true})
    writeFileSync(join(cacheConfig, 'active_config'), 'default')
    writeFileSync(join(cacheConfig, 'configurations', 'config_default'), configText)
    const env = keyEnv({CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE: keyFile, CLOUDSDK_CONFIG: cacheConfig})
    sandbox.state.clearRequests()
    const printed = await runProgram(GCLOUD!, ['auth', 'print-access-token'], {cwd: dir, env})
    expect(printed.code, printed.stderr).to.equal(0)
    expect(sandbox.state.requests().filter(r => r.api === 'oauth2' && r.status === 200).length).to.be.greaterThan(0)
    const warm = await deploy('svc-key-cache', env)
    expect(warm.code, warm.output).to.equal(0)
    expect(principals(warm.requests, ours)).to.deep.equal([KEY_SA])
    expect(ourExchanges(warm.requests)).to.equal(READS_GCLOUD_CACHE ? 0 : 1)
    if (!READS_GCLOUD_CACHE) return
    // What binauthz finds in the cache is gcloud's to write; it is read, never changed.
    const db = new nodeSqlite!.DatabaseSync(join(cacheConfig, 'access_tokens.db'))
    const setRow = (token: string, expiresInSeconds: number): void => {
      const expiry = pythonUtcDatetime(Date.now() + (expiresInSeconds * 1000))
      db.prepare('UPDATE access_tokens SET access_token = ?, token_expiry = ? WHERE account_id = ?').run(token, expiry, KEY_SA)
    }

    try {
      // Within gcloud's 300 s refresh window (store.py _CREDENTIALS_EXPIRY_WINDOW): gcloud would refresh, so does binauthz.
      const [{access_token: cachedToken}] = db.prepare('SELECT access_token FROM access_tokens WHERE account_id = ?').all(KEY_SA) as [{access_token: string}]
      setRow(cachedToken, 200)
      const expiring = await deploy('svc-key-cache-expiring', env)
      expect(expiring.code, expiring.output).to.equal(0)
      expect(ourExchanges(expiring.requests)).to.equal(1)
      // A cached token the API refuses (revoked, or another sandbox's): binauthz's 401 brings one exchange of its own
      // and its policy calls go on as the key's account; gcloud's deploy sends the cached token and fails on it.
      setRow('ya29.revoked-token-in-gclouds-cache', 3000)
      const refused = await deploy('svc-key-cache-refused', env)
      expect(ourExchanges(refused.requests)).to.equal(1)
      expect(principals(refused.requests, r => ours(r) && r.status !== 401)).to.deep.equal([KEY_SA])
      expect(refused.requests.some(r => ours(r) && r.api === 'binaryauthorization' && r.status === 200)).to.equal(true)
      expect(refused.code, refused.output).to.not.equal(0)
      expect(refused.output).to.include('UNAUTHENTICATED')
    } finally {
      db.close()
    }
  })

  it('without auth/token_host both go to oauth2.googleapis.com, not to the key\'s token_uri: both fail, no policy call', async () => {
    const key = JSON.parse(readFileSync(keyFile, 'utf8')) as Record<string, unknown>
    const sandboxUri = join(dir, 'key-sandbox-uri.json')
    writeFileSync(sandboxUri, JSON.stringify({...key, token_uri: `${sandbox.url}token`}))
    const noTokenHost = join(dir, 'gcloud-no-token-host')
    mkdirSync(join(noTokenHost, 'configurations'), {recursive: true})
    writeFileSync(join(noTokenHost, 'active_config'), 'default')
    writeFileSync(join(noTokenHost, 'configurations', 'config_default'), configText.replace(/^token_host = .*\n/m, ''))
    const env = keyEnv({CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE: sandboxUri, CLOUDSDK_CONFIG: noTokenHost})
    delete env.CLOUDSDK_AUTH_TOKEN_HOST
    sandbox.state.clearRequests()
    const printed = await runProgram(GCLOUD!, ['auth', 'print-access-token', '--verbosity=debug'], {cwd: dir, env})
    expect(printed.code).to.not.equal(0)
    expect(printed.stderr).to.include('oauth2.googleapis.com')
    const {code, output, requests} = await deploy('svc-key-nohost', env)
    expect(code, output).to.equal(5)
    expect(output).to.include('CREDENTIAL_FAILED').and.include('oauth2.googleapis.com')
    // Neither reached the sandbox's /token (the file's token_uri) nor any API.
    expect(requests.filter(r => r.api === 'oauth2' || r.api === 'binaryauthorization')).to.deep.equal([])
  })

  it('auth/disable_credentials: gcloud calls unauthenticated (yet print-access-token prints a token); binauthz refuses first', async () => {
    const env = keyEnv({CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE: keyFile, CLOUDSDK_AUTH_DISABLE_CREDENTIALS: 'true'})
    sandbox.state.clearRequests()
    const listed = await runProgram(GCLOUD!, ['run', 'services', 'list', '--region=us-central1', '--format=value(metadata.name)'], {cwd: dir, env})
    expect(listed.code, listed.stderr).to.not.equal(0)
    const gcloudCalls = sandbox.state.requests().filter(r => gcloudApi(r))
    expect(gcloudCalls.length).to.be.greaterThan(0)
    expect(principals(gcloudCalls, () => true)).to.deep.equal(['(none)'])
    const printed = await runProgram(GCLOUD!, ['auth', 'print-access-token'], {cwd: dir, env})
    expect(printed.code, printed.stderr).to.equal(0)
    const {code, json, requests} = await deploy('svc-key-disabled', env)
    expect(code).to.equal(2)
    expect(json.error?.code).to.equal('CREDENTIALS_DISABLED')
    expect(requests.filter(r => byUs(r))).to.deep.equal([])
  })
})
