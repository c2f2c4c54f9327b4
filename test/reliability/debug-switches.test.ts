// Issue 15 item 5: the access token appears in no output under any debug switch of anything binauthz runs or loads
// (NODE_DEBUG=* and NODE_DEBUG=execa — execa's verbose mode prints a child's output —, DEBUG=*,
// GOOGLE_SDK_NODE_LOGGING=* — google-auth-library, gaxios and gcp-metadata log requests and answers), for every
// credential source (token env, token file, service-account key, external_account, impersonation, gcloud login
// through `gcloud auth print-access-token`, the metadata server), and in no error text, while the API answers as
// an attacker would: the token echoed past the 500th character of a message, inside invalid JSON (V8's parse-error
// snippet), and in a response header binauthz prints. Through the built CLI on its default start path.
//
// One loopback server plays every token minter (the OAuth token endpoint of auth/token_host for a service-account
// key, STS for external_account, IAM Credentials, the metadata server) and the Binary Authorization API; each minted
// token is unique and recorded, and the API records the bearer it got, so the test knows the token really travelled
// before it checks that no byte of it (nor its first 16 characters, nor the key's private key) was printed.
import {expect} from 'chai'
import {generateKeyPairSync, randomBytes} from 'node:crypto'
import {once} from 'node:events'
import {writeFileSync} from 'node:fs'
import http from 'node:http'
import {type AddressInfo} from 'node:net'
import {join} from 'node:path'

import {type CliKit, createCliKit} from '../helpers/reliability-cli.js'

const PROJECT = 'debug-proj'
const ESC = String.fromCodePoint(0x1B)
type Mode = 'echo-header' | 'echo-json-snippet' | 'echo-past-500'
const MODES: readonly Mode[] = ['echo-past-500', 'echo-json-snippet', 'echo-header']

/** A token no generic redaction pattern knows (not ya29., no Bearer in front when printed). */
function mint(kind: string): string {
  return `TOKEN${kind.replaceAll(/\W/g, '')}${randomBytes(18).toString('hex')}`
}

interface Minter {
  bearers: string[]
  close(): Promise<void>
  minted: string[]
  mode: Mode
  url: string
}

function answerJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {'content-type': 'application/json'}).end(JSON.stringify(body))
}

async function startMinter(): Promise<Minter> {
  const state: Minter = {
    bearers: [], async close() {}, minted: [], mode: 'echo-past-500', url: '',
  }
  const give = (kind: string): string => {
    const token = mint(kind)
    state.minted.push(token)
    return token
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const url = req.url ?? ''
      if (url.startsWith('/computeMetadata/')) {
        res.setHeader('metadata-flavor', 'Google')
        answerJson(res, 200, {access_token: give('metadata'), expires_in: 3599, token_type: 'Bearer'})
        return
      }

      // The OAuth token endpoint (auth/token_host): a service-account key's jwt-bearer grant.
      if (url === '/token') return answerJson(res, 200, {access_token: give('oauth'), expires_in: 3599, token_type: 'Bearer'})
      if (url.startsWith('/sts')) return answerJson(res, 200, {
        access_token: give('sts'), expires_in: 3599, issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', token_type: 'Bearer',
      })
      if (url.includes(':generateAccessToken')) return answerJson(res, 200, {accessToken: give('iam'), expireTime: new Date(Date.now() + 3_600_000).toISOString()})
      // The Binary Authorization API, hostile: it echoes the bearer it got where binauthz might print it.
      const bearer = (req.headers.authorization ?? '').replace(/^Bearer /, '')
      state.bearers.push(bearer)
      if (state.mode === 'echo-past-500') {
        answerJson(res, 400, {error: {code: 400, message: `${'x'.repeat(495)} ${bearer} \u001B[31m\u202Eevil`, status: 'INVALID_ARGUMENT'}})
      } else if (state.mode === 'echo-json-snippet') {
        res.writeHead(200, {'content-type': 'application/json'}).end(`{"name": "projects/${PROJECT}/policy", "etag": ${bearer}}`)
      } else {
        res.writeHead(200, {'content-type': `text/html; token=${bearer}`, 'x-echo': bearer}).end(`<html>${bearer}</html>`)
      }
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  state.close = async () => {
    server.closeAllConnections()
    await new Promise<void>(resolve => {
      server.close(() => resolve())
    })
  }

  return state
}

interface Source {
  /** The secrets of this source that exist before the run (a token file's token, a private key). */
  env(kit: CliKit, minter: Minter): {env: NodeJS.ProcessEnv; secrets: string[]}
  name: string
}

const NO_SOURCES = {
  CLOUDSDK_AUTH_ACCESS_TOKEN: undefined, CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: undefined, CLOUDSDK_CORE_ACCOUNT: undefined,
}

const SOURCES: readonly Source[] = [
  {
    env() {
      const token = mint('env')
      return {env: {...NO_SOURCES, CLOUDSDK_AUTH_ACCESS_TOKEN: token}, secrets: [token]}
    },
    name: 'CLOUDSDK_AUTH_ACCESS_TOKEN',
  },
  {
    env(kit) {
      const token = mint('file')
      writeFileSync(kit.tokenFile, `${token}\n`)
      return {env: {...NO_SOURCES, CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: kit.tokenFile}, secrets: [token]}
    },
    name: 'access token file',
  },
  {
    env(kit, minter) {
      const {privateKey} = generateKeyPairSync('rsa', {modulusLength: 2048})
      const pem = privateKey.export({format: 'pem', type: 'pkcs8'}).toString()
      const file = join(kit.dir, 'sa-key.json')
      writeFileSync(file, JSON.stringify({
        client_email: 'ci@debug-proj.iam.gserviceaccount.com', client_id: '1', private_key: pem, private_key_id: 'k1', project_id: PROJECT, type: 'service_account',
      }))
      // binauthz signs the JWT itself and exchanges it at auth/token_host (the minter), as gcloud does.
      const body = pem.split('\n').find(line => line.length > 40) ?? pem
      return {
        env: {...NO_SOURCES, CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE: file, CLOUDSDK_AUTH_TOKEN_HOST: `${minter.url}token`}, secrets: [body],
      }
    },
    name: 'service-account key (credential file override)',
  },
  {
    env(kit, minter) {
      const subject = mint('subject')
      const subjectFile = join(kit.dir, 'subject-token')
      writeFileSync(subjectFile, subject)
      const file = join(kit.dir, 'external.json')
      writeFileSync(file, JSON.stringify({
        audience: '//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/pool/providers/prov',
        credential_source: {file: subjectFile},
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        token_url: `${minter.url}sts`,
        type: 'external_account',
      }))
      return {env: {...NO_SOURCES, CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE: file}, secrets: [subject]}
    },
    name: 'external_account (credential file override)',
  },
  {
    env(kit, minter) {
      const token = mint('source')
      writeFileSync(kit.tokenFile, `${token}\n`)
      return {
        env: {
          ...NO_SOURCES,
          CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS: minter.url,
          CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: kit.tokenFile,
          CLOUDSDK_AUTH_IMPERSONATE_SERVICE_ACCOUNT: 'deployer@debug-proj.iam.gserviceaccount.com',
        },
        secrets: [token],
      }
    },
    name: 'impersonation (IAM Credentials)',
  },
  {
    env(kit) {
      const token = mint('gcloud')
      kit.gcloud.configure({token}) // in the fake's own configuration file, as gcloud keeps it in its credential store
      return {env: {...NO_SOURCES, CLOUDSDK_CORE_ACCOUNT: 'dev@example.com'}, secrets: [token]}
    },
    name: 'gcloud login (gcloud auth print-access-token)',
  },
  {
    env(_kit, minter) {
      return {env: {...NO_SOURCES, GCE_METADATA_HOST: new URL(minter.url).host}, secrets: []}
    },
    name: 'metadata server',
  },
]

const SWITCHES: readonly {env: NodeJS.ProcessEnv; name: string}[] = [
  {env: {NODE_DEBUG: '*'}, name: 'NODE_DEBUG=*'},
  {env: {NODE_DEBUG: 'execa'}, name: 'NODE_DEBUG=execa'},
  {env: {DEBUG: '*'}, name: 'DEBUG=*'},
  {env: {GOOGLE_SDK_NODE_LOGGING: '*'}, name: 'GOOGLE_SDK_NODE_LOGGING=*'},
  {env: {DEBUG: '*', GOOGLE_SDK_NODE_LOGGING: '*', NODE_DEBUG: '*'}, name: 'all at once'},
]

/** Where a secret shows in `text` (for the failure message): the line around it. */
function around(text: string, secret: string): string {
  const at = text.includes(secret) ? text.indexOf(secret) : text.indexOf(secret.slice(0, 16))
  return at === -1 ? '' : JSON.stringify(text.slice(Math.max(0, at - 200), at + 80))
}

/** The secret, or its first 16 characters (a cut through it), anywhere in `text`. */
function leaked(text: string, secret: string): boolean {
  return text.includes(secret) || text.includes(secret.slice(0, 16))
}

describe('issue 15 item 5: no token under any debug switch, for any credential source', function () {
  this.timeout(600_000)
  let minter: Minter
  let kit: CliKit

  before(async () => {
    minter = await startMinter()
    kit = createCliKit({endpoint: minter.url, timeoutMs: 60_000})
  })

  after(async () => {
    kit?.cleanup()
    await minter?.close()
  })

  it('prints no token, key or echo of either in stdout or stderr (switch × source × hostile answer)', async () => {
    let runs = 0
    let tokensSeen = 0
    for (const [s, source] of SOURCES.entries()) {
      for (const [w, debug] of SWITCHES.entries()) {
        const mode = MODES[(s + w) % MODES.length]!
        minter.mode = mode
        const before = {bearers: minter.bearers.length, minted: minter.minted.length}
        const {env, secrets} = source.env(kit, minter)
        const json = (s + w) % 2 === 0
        const run = await kit.run(['policy', 'export', '--project', PROJECT, ...(json ? ['--json'] : [])], {env: {...env, ...debug.env}})
        runs++
        const where = `${source.name} / ${debug.name} / ${mode}${json ? ' / --json' : ''}`
        expect(run.timedOut, where).to.equal(false)
        expect(run.code, `${where}: ${run.stderr.slice(-2000)}`).to.be.oneOf([2, 3, 5])
        const bearers = minter.bearers.slice(before.bearers)
        const secretsOfRun = [...secrets, ...minter.minted.slice(before.minted), ...bearers.filter(b => b !== '')]
        // Every source's token really travels (each exchange reaches the loopback minter), so a leak would be caught.
        expect(bearers.filter(b => b !== ''), `${where}: the API saw no token`).to.not.be.empty
        tokensSeen++

        for (const secret of secretsOfRun) {
          expect(leaked(run.stdout, secret), `${where}: stdout holds a secret: ${around(run.stdout, secret)}`).to.equal(false)
          expect(leaked(run.stderr, secret), `${where}: stderr holds a secret: ${around(run.stderr, secret)}`).to.equal(false)
        }

        // Server text is escaped before it is shown: no raw terminal escape or bidi override reaches the output.
        const shown = run.stdout + run.stderr
        expect(shown.includes(ESC) || shown.includes('\u202E'), `${where}: raw escape shown`).to.equal(false)
      }
    }

    console.log(`      debug switches × credential sources: ${SWITCHES.length} × ${SOURCES.length} = ${runs} runs, ${tokensSeen} with a token that reached the API, 0 leaks`)
    expect(runs).to.equal(SWITCHES.length * SOURCES.length)
  })
})
