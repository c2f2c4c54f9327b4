// Issue 15 items 3 and 4 through the BUILT CLI against a loopback stand-in of our own that serves the policy as TEXT
// (the sandbox stores JSON values, so it could not show what happens to the text):
// - no blind write: 20 concurrent deploys (separate processes) against a server that omits the etag all refuse
//   clearly (POLICY_WITHOUT_ETAG, exit 5) and none writes: the policy text is unchanged, byte for byte;
// - unknown fields go back exactly: numbers beyond 2^53, -0, 1e400, 1.0, 1E5 and strings with lone surrogates,
//   escapes and controls in fields binauthz does not own are in the PUT body exactly as read.
import {expect} from 'chai'
import {
  createServer, type IncomingMessage, type Server, type ServerResponse,
} from 'node:http'
import {type AddressInfo} from 'node:net'

import {parseJsonLossless, stringifyJson} from '../../src/policy/json-text.js'
import {
  CANARY_TOKEN, type CliKit, createCliKit, REGIONS, runPattern,
} from '../helpers/reliability-cli.js'

const PROJECT = 'rel-text'

/** Fields binauthz does not own, with every number and string a double or a re-encoding would change. */
const UNKNOWN = String.raw`"futureBig":12345678901234567890,"futureNegZero":-0,"futureHuge":1e400,"futureOne":1.0,"futureExp":1E5,`
  + String.raw`"futureList":[9007199254740993,-0.0,0.1,1.5e-400],"futureText":"lone \ud800 surrogate, \u0000 nul, \u202e rlo, \"q\" \\ \/ é"`

function policyText(etag: string | undefined): string {
  return `{"name":"projects/${PROJECT}/policy","admissionWhitelistPatterns":[{"namePattern":"gcr.io/keep-me/**","entryFuture":-0}],`
    + `"defaultAdmissionRule":{"evaluationMode":"ALWAYS_DENY","enforcementMode":"ENFORCED_BLOCK_AND_AUDIT_LOG","ruleFuture":1.0},${UNKNOWN}`
    + `${etag === undefined ? '' : `,"etag":"${etag}"`}}`
}

interface TextServer {
  puts: string[]
  stop(): Promise<void>
  text: string
  url: string
}

function reply(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {'content-type': 'application/json; charset=UTF-8'}).end(body)
}

/** Serves the policy text as stored; `etags: false` drops the etag from every answer and accepts every PUT (last writer wins). */
async function startTextServer(options: {etags: boolean}): Promise<TextServer> {
  let version = 1
  const state: TextServer = {
    puts: [], async stop() {}, text: policyText(options.etags ? 'v1' : undefined), url: '',
  }
  const handle = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    const path = (req.url ?? '').split('?')[0] ?? ''
    if (req.headers.authorization !== `Bearer ${CANARY_TOKEN}`) return reply(res, 401, '{"error":{"code":401,"status":"UNAUTHENTICATED","message":"no"}}')
    if (path === `/v1/projects/${PROJECT}/policy:testIamPermissions`) return reply(res, 200, body)
    if (path !== `/v1/projects/${PROJECT}/policy`) return reply(res, 404, '{"error":{"code":404,"status":"NOT_FOUND","message":"not found"}}')
    if (req.method === 'GET') return reply(res, 200, state.text)
    state.puts.push(body)
    const sent = parseJsonLossless(body) as {etag?: string}
    if (options.etags && sent.etag !== `v${version}`) return reply(res, 409, '{"error":{"code":409,"status":"ABORTED","message":"etag"}}')
    version++
    const {etag: _etag, ...rest} = sent
    state.text = stringifyJson(options.etags ? {...rest, etag: `v${version}`} : rest)
    return reply(res, 200, state.text)
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')))
  })
  server.requestTimeout = 30_000
  await new Promise<void>(resolve => {
    server.listen(0, '127.0.0.1', resolve)
  })
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  state.stop = () => new Promise<void>(resolve => {
    server.closeAllConnections()
    server.close(() => resolve())
  })
  return state
}

/** The text without the members binauthz owns (the allowlist, the etag): what must come back byte for byte. */
function notOurs(text: string): string {
  const {admissionWhitelistPatterns: _a, etag: _e, ...rest} = parseJsonLossless(text) as Record<string, unknown>
  return stringifyJson(rest)
}

describe('reliability 15a: no blind write, and numbers and strings we do not own go back exactly (built CLI, text stand-in)', function () {
  this.timeout(240_000)
  let server: TextServer
  let kit: CliKit

  afterEach(async () => {
    await server.stop()
    kit.cleanup()
  })

  it('20 concurrent deploys against a server that omits the etag: every one refuses clearly, nothing is written', async () => {
    server = await startTextServer({etags: false})
    kit = createCliKit({endpoint: server.url, timeoutMs: 120_000})
    const before = server.text
    const runs = await Promise.all(REGIONS.map(region => kit.run(['deploy', 'run', `svc-${region}`, '--project', PROJECT, '--region', region, '--yes', '--json', '--', '--source=.'])))
    console.log(`      concurrent writers without etags: ${runs.length} (refused: ${runs.filter(r => r.code === 5).length})`)
    for (const run of runs) {
      expect(run.timedOut).to.equal(false)
      expect(run.code, run.stdout.slice(0, 500)).to.equal(5)
      const {error} = JSON.parse(run.stdout) as {error: {code: string; message: string; suggestions: string[]}}
      expect(error.code).to.equal('POLICY_WITHOUT_ETAG')
      expect(error.message).to.include('without an etag').and.include('Nothing was changed')
      expect(error.suggestions.length).to.be.greaterThan(0)
    }

    expect(server.puts, 'a blind write happened').to.deep.equal([])
    expect(server.text).to.equal(before)
    expect(await kit.gcloud.calls()).to.deep.equal([])
  })

  it('a deploy writes back every field it does not own exactly as read: big, negative-zero, huge and 1.0 numbers, odd strings', async () => {
    server = await startTextServer({etags: true})
    kit = createCliKit({endpoint: server.url, timeoutMs: 120_000})
    const before = server.text
    const region = REGIONS[0] as string
    const run = await kit.run(['deploy', 'run', 'svc', '--project', PROJECT, '--region', region, '--yes', '--json', '--', '--source=.'])
    expect(run.code, run.stdout.slice(0, 800) + run.stderr.slice(0, 800)).to.equal(0)
    expect(server.puts).to.have.length(1)
    const put = server.puts[0] as string
    for (const lexeme of ['12345678901234567890', '"futureNegZero":-0,', '1e400', '"futureOne":1.0', '1E5', '9007199254740993', '-0.0', '1.5e-400', '"entryFuture":-0', '"ruleFuture":1.0']) {
      expect(put, lexeme).to.include(lexeme)
    }

    expect(put).to.include(String.raw`lone \ud800 surrogate`)
    expect(notOurs(put)).to.equal(notOurs(before))
    const written = parseJsonLossless(put) as {admissionWhitelistPatterns: {namePattern: string}[]; etag: string}
    expect(written.etag).to.equal('v1')
    expect(written.admissionWhitelistPatterns.map(p => p.namePattern)).to.deep.equal(['gcr.io/keep-me/**', runPattern(PROJECT, region)])
    // The existing entry, unknown field included, is the one read.
    expect(put).to.include('{"namePattern":"gcr.io/keep-me/**","entryFuture":-0}')
    // The backup holds the policy as read, numbers included.
    const backup = kit.dataFiles().find(([file]) => file.endsWith('.json'))
    expect(backup?.[1]).to.include('12345678901234567890').and.include('1e400')
  })
})
