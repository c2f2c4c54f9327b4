// End to end: binauthz's policy calls and the REAL gcloud's (528) deploy act as the same principal and send the same
// quota project, for each credential source gcloud knows (src/auth/credentials.ts). The sandbox knows a bearer token
// per principal (tokens.json) and records, per request, whose token it was and the X-Goog-User-Project header; a user
// account is put into gcloud's own credential store (credentials.db + a cached access token in access_tokens.db,
// the tables of core/credentials/creds.py), so gcloud uses it without an OAuth round trip. Skipped, with the reason
// shown, without gcloud or python3 (to write the sqlite stores).
import {expect} from 'chai'
import {execFileSync} from 'node:child_process'
import {
  mkdirSync, readFileSync, rmSync, writeFileSync,
} from 'node:fs'
import {join} from 'node:path'

import type {RequestRecord} from '../../src/sandbox/index.js'

import {runCli} from '../helpers/cli-process.js'
import {withoutCloudsdk, writeHelloSource} from '../helpers/e2e.js'
import {installedGcloud} from '../helpers/installed-gcloud.js'
import {type CliSandbox, startSandboxCli} from '../helpers/sandbox-cli.js'
import {tempDir} from '../helpers/tmp.js'

const GCLOUD = installedGcloud()
function hasPython(): boolean {
  try {
    execFileSync('python3', ['-c', 'import sqlite3'], {stdio: 'ignore'})
    return true
  } catch {
    return false
  }
}

const READY = GCLOUD !== undefined && hasPython()
const SKIP_NOTE = READY ? '' : ' (skipped: needs gcloud on PATH and python3 with sqlite3)'
const SA = 'deployer@sandbox-project.iam.gserviceaccount.com'

/** Writes gcloud's credential store: each account an authorized_user with a cached access token valid for an hour. */
function seedCredentialStore(configDir: string, accounts: Record<string, string>): void {
  const script = `
import sqlite3, json, datetime, sys
d, accounts = sys.argv[1], json.loads(sys.argv[2])
c = sqlite3.connect(d + '/credentials.db')
c.execute('CREATE TABLE IF NOT EXISTS "credentials" (account_id TEXT PRIMARY KEY, value BLOB)')
a = sqlite3.connect(d + '/access_tokens.db')
a.execute('CREATE TABLE IF NOT EXISTS "access_tokens" (account_id TEXT PRIMARY KEY, access_token TEXT, token_expiry TIMESTAMP, rapt_token TEXT, id_token TEXT)')
exp = (datetime.datetime.utcnow() + datetime.timedelta(hours=1)).strftime('%Y-%m-%d %H:%M:%S.%f')
for account, token in accounts.items():
  c.execute('INSERT OR REPLACE INTO credentials VALUES (?,?)', (account, json.dumps({'type': 'authorized_user', 'client_id': 'cid', 'client_secret': 'secret', 'refresh_token': 'rt-' + account, 'token_uri': 'http://127.0.0.1:1/token'})))
  a.execute('INSERT OR REPLACE INTO access_tokens VALUES (?,?,?,?,?)', (account, token, exp, None, None))
c.commit()
a.commit()
`
  execFileSync('python3', ['-c', script, configDir, JSON.stringify(accounts)], {stdio: 'pipe'})
}

const byUs = (r: RequestRecord): boolean => (r.headers?.['user-agent'] ?? '').startsWith('binauthz-deploy/')
/** binauthz's own API calls (the policy); IAM Credentials calls are made as the source principal. */
const ours = (r: RequestRecord): boolean => byUs(r) && r.api !== 'iamcredentials'
/** gcloud's API calls (not the token exchanges). */
const gcloudApi = (r: RequestRecord): boolean => !byUs(r) && r.api !== 'iamcredentials' && r.api !== 'oauth2'
function principals(requests: RequestRecord[], which: (r: RequestRecord) => boolean): string[] {
  return [...new Set(requests.filter(r => which(r)).map(r => r.principal ?? `(${r.auth})`))]
}

function quotaHeaders(requests: RequestRecord[], which: (r: RequestRecord) => boolean): string[] {
  return [...new Set(requests.filter(r => which(r)).map(r => r.headers?.['x-goog-user-project'] ?? '(none)'))]
}

interface DeployJson {
  auth?: {principal: null | string; quotaProject: null | string; source: string}
  error?: unknown
}

describe(`e2e: binauthz and gcloud act as one principal${SKIP_NOTE}`, function () {
  this.timeout(600_000)
  let dir: string
  let sandbox: CliSandbox
  let userConfig: string

  before(async function () {
    if (!READY) this.skip() // needs the real gcloud and python3
    dir = tempDir('binauthz-e2e-principal-')
    writeHelloSource(dir)
    sandbox = await startSandboxCli({policy: 'block-all', stateDir: join(dir, 'state')})
    // Principals the sandbox knows besides its own account (sandbox-user@example.com, the token file's).
    for (const [token, principal] of Object.entries({
      'alice-token-0123456789': 'alice@example.com', 'bob-token-0123456789': 'bob@example.com', 'carol-token-0123456789': 'carol@example.com',
      'refresh_token:rt-alice@example.com': 'alice@example.com',
      'refresh_token:rt-bob@example.com': 'bob@example.com',
    })) sandbox.state.addPrincipalToken(token, principal)
    // A gcloud configuration dir whose active account is alice (a user), with bob also signed in, no token file, and
    // Application Default Credentials of someone else: gcloud ignores ADC for its own calls, so must binauthz.
    userConfig = join(dir, 'gcloud-user')
    mkdirSync(join(userConfig, 'configurations'), {recursive: true})
    writeFileSync(join(userConfig, 'active_config'), 'default')
    const configFile = join(userConfig, 'configurations', 'config_default')
    const text = readFileSync(join(sandbox.env.CLOUDSDK_CONFIG!, 'configurations', 'config_default'), 'utf8').replace(/^access_token_file = .*\n/m, '').replace(/^account = .*$/m, 'account = alice@example.com')
    writeFileSync(configFile, text)
    writeFileSync(join(userConfig, 'configurations', 'config_other'), text.replace('account = alice@example.com', 'account = bob@example.com'))
    seedCredentialStore(userConfig, {'alice@example.com': 'alice-token-0123456789', 'bob@example.com': 'bob-token-0123456789'})
    writeFileSync(join(userConfig, 'application_default_credentials.json'), JSON.stringify({
      client_id: 'c', client_secret: 's', quota_project_id: 'adc-quota', refresh_token: 'rt-adc', type: 'authorized_user',
    }))
  })

  after(async () => {
    await sandbox?.stop()
    if (dir) rmSync(dir, {force: true, recursive: true})
  })

  function userEnv(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      ...withoutCloudsdk(), ...sandbox.env, CLOUDSDK_CONFIG: userConfig, HOME: dir,
    }
    delete env.CLOUDSDK_AUTH_ACCESS_TOKEN_FILE
    delete env.GOOGLE_APPLICATION_CREDENTIALS
    return env
  }

  function tokenFileEnv(): NodeJS.ProcessEnv {
    return {
      ...withoutCloudsdk(), ...sandbox.env, GOOGLE_APPLICATION_CREDENTIALS: join(userConfig, 'application_default_credentials.json'), HOME: dir,
    }
  }

  /** One deploy through the built CLI; returns its --json result and the sandbox's log of it. */
  async function deploy(name: string, env: NodeJS.ProcessEnv, extra: string[] = []): Promise<{json: DeployJson; requests: RequestRecord[]}> {
    sandbox.state.clearRequests()
    const run = await runCli(['deploy', 'run', name, '--region', 'us-central1', '--yes', '--json', '--', '--source', 'src', '--function', 'handler', ...extra], {
      cwd: dir, env, timeoutMs: 300_000,
    })
    expect(run.code, `${run.stdout}\n${run.stderr}`).to.equal(0)
    return {json: JSON.parse(run.stdout) as DeployJson, requests: sandbox.state.requests()}
  }

  it("a user account of gcloud's store, with ADC of someone else present: both act as the account and bill the project", async () => {
    const {json, requests} = await deploy('svc-user', userEnv())
    expect(json.auth).to.include({principal: 'alice@example.com', quotaProject: 'sandbox-project', source: 'gcloud-account'})
    expect(requests.some(r => ours(r) && r.api === 'binaryauthorization' && r.method === 'PUT')).to.equal(true)
    expect(principals(requests, ours)).to.deep.equal(['alice@example.com'])
    expect(principals(requests, r => r.api === 'run')).to.deep.equal(['alice@example.com'])
    // gcloud 528, billing/quota_project unset (CURRENT_PROJECT), user credentials: X-Goog-User-Project: the project
    // (serviceusage is called without it: enable_resource_quota=False there).
    expect(quotaHeaders(requests, r => r.api === 'run')).to.deep.equal(['sandbox-project'])
    expect(quotaHeaders(requests, ours)).to.deep.equal(['sandbox-project'])
  })

  it('--account after -- picks the account for binauthz too', async () => {
    const {json, requests} = await deploy('svc-account', userEnv(), ['--account', 'bob@example.com'])
    expect(json.auth?.principal).to.equal('bob@example.com')
    expect(principals(requests, ours)).to.deep.equal(['bob@example.com'])
    expect(principals(requests, gcloudApi)).to.deep.equal(['bob@example.com'])
  })

  it('--configuration after -- reads that configuration for binauthz too', async () => {
    const {json, requests} = await deploy('svc-config', userEnv(), ['--configuration=other'])
    expect(json.auth?.principal).to.equal('bob@example.com')
    expect(principals(requests, ours)).to.deep.equal(['bob@example.com'])
    expect(principals(requests, gcloudApi)).to.deep.equal(['bob@example.com'])
  })

  it('--billing-project after -- is the quota project of both', async () => {
    const {json, requests} = await deploy('svc-billing', userEnv(), ['--billing-project=billing-proj'])
    expect(json.auth?.quotaProject).to.equal('billing-proj')
    expect(quotaHeaders(requests, ours)).to.deep.equal(['billing-proj'])
    expect(quotaHeaders(requests, r => r.api === 'run')).to.deep.equal(['billing-proj'])
  })

  it('an access token file (not a user credential): both act as its holder and send no quota project', async () => {
    const {json, requests} = await deploy('svc-file', tokenFileEnv())
    expect(json.auth).to.include({principal: null, quotaProject: null, source: 'access-token-file'})
    expect(principals(requests, ours)).to.deep.equal(['sandbox-user@example.com'])
    expect(principals(requests, gcloudApi)).to.deep.equal(['sandbox-user@example.com'])
    expect(quotaHeaders(requests, ours)).to.deep.equal(['(none)'])
    expect(quotaHeaders(requests, r => r.api === 'run')).to.deep.equal(['(none)'])
  })

  it('CLOUDSDK_AUTH_ACCESS_TOKEN beats the token file for both', async () => {
    const {json, requests} = await deploy('svc-env', {...tokenFileEnv(), CLOUDSDK_AUTH_ACCESS_TOKEN: 'carol-token-0123456789'})
    expect(json.auth?.source).to.equal('access-token-env')
    expect(principals(requests, ours)).to.deep.equal(['carol@example.com'])
    expect(principals(requests, gcloudApi)).to.deep.equal(['carol@example.com'])
  })

  it('--impersonate-service-account after --: both act as the service account (IAM Credentials called as the source)', async () => {
    const {json, requests} = await deploy('svc-imp', tokenFileEnv(), [`--impersonate-service-account=${SA}`])
    expect(json.auth).to.include({principal: SA, quotaProject: null})
    expect(principals(requests, ours)).to.deep.equal([SA])
    expect(principals(requests, gcloudApi)).to.deep.equal([SA])
    expect(principals(requests, r => r.api === 'iamcredentials')).to.deep.equal(['sandbox-user@example.com'])
    expect(requests.filter(r => byUs(r) && r.api === 'iamcredentials')).to.have.length(1)
  })

  it('auth/impersonate_service_account on a gcloud account: gcloud impersonates for binauthz (print-access-token)', async () => {
    const {json, requests} = await deploy('svc-imp-user', {...userEnv(), CLOUDSDK_AUTH_IMPERSONATE_SERVICE_ACCOUNT: SA})
    expect(json.auth).to.include({principal: SA, quotaProject: null, source: 'gcloud-account'})
    expect(principals(requests, ours)).to.deep.equal([SA])
    expect(principals(requests, gcloudApi)).to.deep.equal([SA])
    // Impersonated credentials are not user credentials: gcloud sends no quota project either.
    expect(quotaHeaders(requests, r => r.api === 'run')).to.deep.equal(['(none)'])
  })

  it('setup on a project other than the configured one bills that project (CURRENT_PROJECT is the project worked on)', async () => {
    sandbox.state.clearRequests()
    const run = await runCli(['setup', '--project', 'chosen-project', '--region', 'us-central1', '--kind', 'run', '--no-apply', '--no-save', '--json'], {
      cwd: dir, env: userEnv(), timeoutMs: 300_000,
    })
    const requests = sandbox.state.requests().filter(r => ours(r) && r.api === 'binaryauthorization')
    expect(requests.length, `${run.stdout}\n${run.stderr}`).to.be.greaterThan(0)
    expect(requests.every(r => r.path.includes('/projects/chosen-project/')), requests.map(r => r.path).join(', ')).to.equal(true)
    expect(quotaHeaders(requests, () => true)).to.deep.equal(['chosen-project'])
  })
})
