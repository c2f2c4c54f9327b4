import type {AddressInfo} from 'node:net'

// Guarantee 4 (secrets): a recognisable access token is planted in CLOUDSDK_AUTH_ACCESS_TOKEN_FILE (it matches none of
// the generic redaction patterns), then every command is run through the built CLI — successes and failures, human
// output, --json, --verbose, DEBUG=* and NODE_DEBUG=http,net — including API errors that echo the token back, and a
// gcloud that fails. No byte of any stdout, stderr, --json object, backup file, saved-defaults file, or gcloud argv
// contains the token (or its distinctive prefix). And the token only travels over https, or http to loopback: an
// http override to another host is refused before any connection, and an https override really speaks TLS.
import {expect} from 'chai'
import {once} from 'node:events'
import {writeFileSync} from 'node:fs'
import net from 'node:net'
import {join} from 'node:path'

import type {Policy} from '../../src/policy/types.js'

import {STATE_FILES} from '../../src/sandbox/index.js'
import {
  CANARY_TOKEN, type CliKit, type CliRun, createCliKit, unwrap,
} from '../helpers/reliability-cli.js'
import {startTestSandbox, type TestSandbox} from '../helpers/sandbox.js'

const PROJECT = 'secret-proj'
const REGION = 'us-east1'
/** Catches partial leaks too (a message cut in the middle of the token). */
const CANARY_PREFIX = CANARY_TOKEN.slice(0, 18)
const DEBUG_ENV = {DEBUG: '*', NODE_DEBUG: 'http,net,tls'}

function strictPolicy(): Policy {
  return {
    admissionWhitelistPatterns: [{namePattern: 'gcr.io/keep-me/**'}],
    defaultAdmissionRule: {enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG', evaluationMode: 'ALWAYS_DENY'},
    globalPolicyEvaluationMode: 'ENABLE',
    name: `projects/${PROJECT}/policy`,
  }
}

function leaks(text: string): boolean {
  return text.includes(CANARY_PREFIX)
}

/** A plain TCP listener on loopback that records every byte anyone sends it (and never answers). */
async function startTrap(): Promise<{close: () => Promise<void>; port: number; received: () => string;}> {
  const chunks: Buffer[] = []
  const sockets = new Set<net.Socket>()
  const server = net.createServer(socket => {
    sockets.add(socket)
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
    // Hang up after a moment: a TLS client then fails its handshake instead of waiting.
    setTimeout(() => socket.destroy(), 200).unref()
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>(resolve => {
        server.close(() => resolve())
      })
    },
    port: (server.address() as AddressInfo).port,
    received: () => Buffer.concat(chunks).toString('latin1'),
  }
}

describe('reliability 4: the access token never leaks', function () {
  this.timeout(120_000)
  let server: TestSandbox
  let kit: CliKit
  const runs: CliRun[] = []

  const run = async (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> => {
    const result = await kit.run(args, {env})
    runs.push(result)
    return result
  }

  before(async () => {
    server = await startTestSandbox({policy: strictPolicy(), project: PROJECT, token: CANARY_TOKEN})
    kit = createCliKit({endpoint: server.url, timeoutMs: 40_000})
    kit.gcloud.configure({
      responses: [{args: ['version'], stdout: JSON.stringify({core: '2025.06.27', 'Google Cloud SDK': '528.0.0'})}],
    })
  })

  after(async () => {
    await server.stop()
    kit.cleanup()
  })

  it('successful commands: human, --json, --verbose, DEBUG=*, NODE_DEBUG', async () => {
    const deploy = (region: string, ...flags: string[]): string[] => ['deploy', 'run', 'svc', '--project', PROJECT, '--region', region, '--yes', ...flags, '--', '--source=.']
    const ok = [
      await run(deploy('us-east1', '--json'), DEBUG_ENV),
      await run(deploy('us-west1', '--verbose'), DEBUG_ENV),
      await run(deploy('us-west2', '--dry-run', '--verbose'), DEBUG_ENV),
      await run(['deploy', 'function', 'fn', '--project', PROJECT, '--region', 'europe-west1', '--yes', '--verbose', '--json', '--', '--runtime=nodejs20'], DEBUG_ENV),
      await run(['policy', 'status', '--project', PROJECT, '--region', REGION, '--json'], DEBUG_ENV),
      await run(['policy', 'status', '--project', PROJECT, '--region', REGION]),
      await run(['policy', 'export', '--project', PROJECT], DEBUG_ENV),
      await run(['policy', 'allow', '--project', PROJECT, '--pattern', 'us-docker.pkg.dev/secret-proj/extra/**', '--yes', '--json'], DEBUG_ENV),
      await run(['policy', 'revoke', '--project', PROJECT, '--pattern', 'us-docker.pkg.dev/secret-proj/extra/**', '--yes'], DEBUG_ENV),
      await run(['policy', 'restore', '--project', PROJECT, '--list', '--json'], DEBUG_ENV),
      await run(['policy', 'restore', '--project', PROJECT, '--latest', '--yes', '--json'], DEBUG_ENV),
      await run(['setup', '--project', PROJECT, '--region', REGION, '--kind', 'run', '--yes', '--apply', '--save'], DEBUG_ENV),
    ]
    expect(ok.map(r => r.code), ok.map(r => `${r.args.slice(0, 2).join(' ')}: ${r.code} ${unwrap(r.stderr).slice(-300)}`).join('\n')).to.deep.equal(ok.map(() => 0))
    expect(server.writes()).to.be.greaterThan(3)
    // DEBUG output really was produced (so the grep below covers it).
    expect(ok[0]?.stderr).to.match(/\b(config|binauthz|oclif)/)
    for (const r of ok) expect(leaks(r.stdout + r.stderr), r.args.join(' ')).to.equal(false)
  })

  it('failures: API errors that echo the token, malformed answers, network errors, bad token files, a failing gcloud', async () => {
    const deploy = ['deploy', 'run', 'svc', '--project', PROJECT, '--region', 'asia-east1', '--yes', '--json', '--', '--source=.']
    const echo = `Request had invalid authentication credentials: Bearer ${CANARY_TOKEN} (token ${CANARY_TOKEN})`
    const failures: [string, () => Promise<CliRun>, number][] = [
      [
        '401 echoing the token',
        async () => {
          server.fault({message: echo, op: 'getPolicy', status: 401})
          return run(deploy, DEBUG_ENV)
        },
        3,
      ],
      [
        '403 echoing the token',
        async () => {
          server.fault({message: echo, op: 'getPolicy', status: 403})
          return run(['deploy', 'run', 'svc', '--project', PROJECT, '--region', 'asia-east1', '--yes', '--', '--source=.'], DEBUG_ENV)
        },
        3,
      ],
      [
        '500s echoing the token until retries run out',
        async () => {
          server.fault({
            message: echo, op: 'getPolicy', retryAfter: '0', status: 500, times: 5,
          })
          return run(deploy, DEBUG_ENV)
        },
        5,
      ],
      [
        'PUT rejected echoing the token',
        async () => {
          server.fault({message: echo, op: 'updatePolicy', status: 400})
          return run(deploy, DEBUG_ENV)
        },
        5,
      ],
      [
        'a JSON answer that is the token itself',
        async () => {
          server.fault({
            body: `${CANARY_TOKEN} is not JSON`, headers: {'content-type': 'application/json'}, kind: 'raw', op: 'getPolicy', status: 200,
          })
          return run(deploy, DEBUG_ENV)
        },
        5,
      ],
      [
        'an HTML page containing the token',
        async () => {
          server.fault({body: `<html>${CANARY_TOKEN}</html>`, kind: 'html', op: 'getPolicy'})
          return run(['deploy', 'run', 'svc', '--project', PROJECT, '--region', 'asia-east1', '--yes', '--verbose', '--', '--source=.'], DEBUG_ENV)
        },
        5,
      ],
      ['connection refused', async () => run(deploy, {...DEBUG_ENV, CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION: 'http://127.0.0.1:9/'}), 5],
      [
        'token file with a second line',
        async () => {
          const tokenFile = join(kit.dir, 'token-two-lines')
          writeFileSync(tokenFile, `${CANARY_TOKEN}\nsecond-line\n`)
          return run(deploy, {...DEBUG_ENV, CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: tokenFile})
        },
        2,
      ],
      [
        'token file with a space',
        async () => {
          const tokenFile = join(kit.dir, 'token-space')
          writeFileSync(tokenFile, `${CANARY_TOKEN} trailing-part`)
          return run(deploy, {...DEBUG_ENV, CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: tokenFile})
        },
        2,
      ],
      [
        'gcloud fails (its own output is gcloud\'s; ours must not add the token)',
        async () => {
          kit.gcloud.configure({responses: [{args: ['run', 'deploy'], exitCode: 1, stderr: 'ERROR: (gcloud.run.deploy) PERMISSION_DENIED: Binary Authorization denied the image\n'}]})
          return run(deploy, DEBUG_ENV)
        },
        1,
      ],
    ]
    const codes: string[] = []
    for (const [title, go, exit] of failures) {
      server.clearFaults()
      const r = await go()
      codes.push(`${title}: ${r.code}`)
      expect(r.code, `${title}: ${unwrap(r.stderr).slice(-400)}`).to.equal(exit)
      expect(leaks(r.stdout + r.stderr), `${title}\n${r.stdout}\n${r.stderr}`).to.equal(false)
      if (r.args.includes('--json')) {
        const {error} = (JSON.parse(r.stdout) as {error?: {message?: string}})
        expect(error?.message?.length, title).to.be.greaterThan(10)
      }
    }
  })

  it('no file binauthz wrote (backups, saved defaults) and no gcloud argv or environment holds the token', async () => {
    const files = kit.dataFiles()
    expect(files.filter(([name]) => name.endsWith('.json')).length).to.be.greaterThan(3) // backups were written
    for (const [name, content] of files) expect(leaks(content), name).to.equal(false)
    const {readdirSync, readFileSync, statSync} = await import('node:fs')
    const walk = (dir: string): string[] =>
      readdirSync(dir).flatMap(n => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]))
    const configFiles = walk(kit.configDir)
    expect(configFiles.length).to.be.greaterThan(0) // setup --save wrote the defaults
    for (const name of configFiles) expect(leaks(readFileSync(name, 'utf8')), name).to.equal(false)
    const records = await kit.gcloud.records()
    expect(records.length).to.be.greaterThan(0)
    for (const record of records) {
      expect(leaks(JSON.stringify(record.argv)), record.argv.join(' ')).to.equal(false)
      expect(leaks(JSON.stringify(record.env)), 'gcloud environment').to.equal(false)
    }

    // Every request carried the token only in the Authorization header, never in the URL or a body (the sandbox
    // records of Authorization only whether it was `Bearer <the sandbox token>`, which is CANARY_TOKEN).
    const requests = server.requests()
    expect(requests.length).to.be.greaterThan(20)
    for (const request of requests) {
      expect(leaks(request.path + request.query + (request.body ?? ''))).to.equal(false)
      expect(request.auth === 'none' || request.auth === 'sandbox-token', JSON.stringify(request)).to.equal(true)
    }

    // ...and the sandbox's own request log never holds it.
    expect(leaks(readFileSync(server.state.file(STATE_FILES.requests), 'utf8'))).to.equal(false)

    expect(runs.length).to.be.greaterThan(20)
  })

  describe('the token only travels over https, or over http to loopback', () => {
    let trap: Awaited<ReturnType<typeof startTrap>>

    before(async () => {
      trap = await startTrap()
    })

    after(async () => trap.close())

    it('http to another host is refused before any connection, even with proxy variables set', async () => {
      const proxy = `http://127.0.0.1:${trap.port}`
      const r = await run(['deploy', 'run', 'svc', '--project', PROJECT, '--region', REGION, '--yes', '--json', '--', '--source=.'], {
        ALL_PROXY: proxy,
        CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION: 'http://binaryauthorization.evil.example/',
        HTTP_PROXY: proxy,
        http_proxy: proxy,
        HTTPS_PROXY: proxy,
      })
      expect(r.code).to.equal(2)
      expect(unwrap(r.stdout)).to.contain('INVALID_ENDPOINT')
      expect(trap.received()).to.equal('')
    })

    it('an https override speaks TLS: a plain-text listener never sees the token', async () => {
      const deploysBefore = (await kit.gcloud.calls()).length
      const r = await run(['deploy', 'run', 'svc', '--project', PROJECT, '--region', REGION, '--yes', '--json', '--deadline', '10', '--', '--source=.'], {
        CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION: `https://127.0.0.1:${trap.port}/`,
      })
      expect(r.code).to.equal(5)
      expect(trap.received().length).to.be.greaterThan(0) // a TLS ClientHello arrived...
      expect(leaks(trap.received())).to.equal(false) // ...and no token in the clear
      expect(trap.received()).not.to.contain('Authorization')
      expect(leaks(r.stdout + r.stderr)).to.equal(false)
      expect(await kit.gcloud.calls()).to.have.length(deploysBefore)
    })
  })
})
