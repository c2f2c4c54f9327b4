import type {AddressInfo} from 'node:net'

import {expect} from 'chai'
import {once} from 'node:events'
import http from 'node:http'

import type {Policy} from '../../src/policy/types.js'

import {
  BinauthzError, ExternalError, InterruptedError, Secrets, UserError,
} from '../../src/errors.js'
import {BinauthzClient, type ClientOptions, encodeProject} from '../../src/google/binauthz-client.js'
import {ApiError, PolicyConflictError} from '../../src/google/google-errors.js'
import {parseRetryAfter} from '../../src/google/retry.js'
import {rejectionOf} from '../helpers/assert.js'
import {startTestSandbox, type TestSandbox} from '../helpers/sandbox.js'
import {TEST_USER_AGENT} from '../helpers/user-agent.js'

// Deliberately not shaped like a Google token, so only our own scrubbing can hide it.
const TOKEN = 'planted-Token-7f3a9c1e5b-DO-NOT-PRINT'
const PROJECT = 'my-proj'
const DOMAIN_PROJECT = 'example.com:my-proj'

function basePolicy(project: string): Policy {
  return {
    admissionWhitelistPatterns: [{namePattern: 'gcr.io/google_containers/*'}],
    defaultAdmissionRule: {enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG', evaluationMode: 'ALWAYS_DENY'},
    globalPolicyEvaluationMode: 'ENABLE',
    name: `projects/${project}/policy`,
  }
}

/** Everything an error could print: message, suggestions, string form, and the same for its causes. */
function printable(error: unknown): string {
  const parts: string[] = []
  let current: unknown = error
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    if (current instanceof Error) {
      parts.push(String(current), current.message, current.stack ?? '')
      if (current instanceof BinauthzError) parts.push(...current.suggestions, current.code)
      current = current.cause
    } else {
      parts.push(String(current))
      break
    }
  }

  return parts.join('\n')
}

/** A token provider whose refresh() hands out `renewed` tokens in turn (then keeps the last). */
function refreshing(first: string, renewed: string[]): {calls: () => number; tokens: {getToken(): Promise<string>; refresh(): Promise<string>}} {
  let current = first
  let refreshes = 0
  return {
    calls: () => refreshes,
    tokens: {
      async getToken() {
        return current
      },
      async refresh() {
        current = renewed[refreshes] ?? current
        refreshes++
        return current
      },
    },
  }
}

/** Resolves once the sandbox logged `count` requests (a slow answer is logged as soon as it is decided). */
async function untilLogged(server: TestSandbox, count: number): Promise<void> {
  const deadline = Date.now() + 5000
  while (server.requests().length < count) {
    if (Date.now() > deadline) throw new Error(`expected ${count} request(s) in the sandbox log`)
    await new Promise(resolve => {
      setTimeout(resolve, 5)
    })
  }
}

describe('binauthz client (against the sandbox)', () => {
  let server: TestSandbox
  const clients: BinauthzClient[] = []

  before(async () => {
    server = await startTestSandbox({project: PROJECT, token: TOKEN})
  })

  after(async () => {
    for (const client of clients) client.close()
    await server.stop()
  })

  beforeEach(() => {
    server.reset({policies: {[DOMAIN_PROJECT]: basePolicy(DOMAIN_PROJECT), [PROJECT]: basePolicy(PROJECT)}})
  })

  function make(extra: Partial<ClientOptions> = {}): {client: BinauthzClient; waits: number[]} {
    const waits: number[] = []
    const client = new BinauthzClient({
      endpoint: server.endpoint,
      secrets: new Secrets(),
      tokens: {getToken: async () => TOKEN}, userAgent: TEST_USER_AGENT,
      ...extra,
      retry: {
        random: () => 0.5,
        async sleep(ms) {
          waits.push(ms)
        },
        ...extra.retry,
      },
    })
    clients.push(client)
    return {client, waits}
  }

  describe('happy path', () => {
    it('reads the policy with the expected request', async () => {
      const {client} = make()
      const policy = await client.getPolicy(PROJECT)
      expect(policy.name).to.equal(`projects/${PROJECT}/policy`)
      expect(policy.etag).to.be.a('string')
      expect(server.requests()).to.have.length(1)
      const request = server.requests()[0]
      expect(request?.method).to.equal('GET')
      expect(request?.path).to.equal(`/v1/projects/${PROJECT}/policy`)
      expect(request?.query).to.equal('')
      expect(request?.op).to.equal('getPolicy')
      expect(request?.project).to.equal(PROJECT)
      expect(request?.auth).to.equal('sandbox-token')
      expect(JSON.stringify(request)).not.to.contain(TOKEN)
      expect(request?.headers?.['user-agent']).to.equal(TEST_USER_AGENT)
      expect(request?.headers?.accept).to.equal('application/json')
      expect(request?.headers?.['x-goog-user-project']).to.equal(undefined)
    })

    it('sends X-Goog-User-Project when a quota project is set', async () => {
      const {client} = make({quotaProject: 'billing-proj'})
      await client.getPolicy(PROJECT)
      expect(server.requests()[0]?.headers?.['x-goog-user-project']).to.equal('billing-proj')
    })

    it('keeps the colon of a domain-scoped project readable in the URL', async () => {
      expect(encodeProject('example.com:my-proj')).to.equal('example.com:my-proj')
      expect(encodeProject('a b/c')).to.equal('a%20b%2Fc')
      const {client} = make()
      const policy = await client.getPolicy(DOMAIN_PROJECT)
      expect(policy.name).to.equal(`projects/${DOMAIN_PROJECT}/policy`)
      expect(server.requests()[0]?.path).to.equal('/v1/projects/example.com:my-proj/policy')
      expect(server.requests()[0]?.project).to.equal(DOMAIN_PROJECT)
    })

    it('respects a path prefix in the endpoint', async () => {
      const {client} = make({endpoint: new URL('prefix/', server.endpoint)})
      const error = await rejectionOf(client.getPolicy(PROJECT))
      expect(server.requests()[0]?.path).to.equal(`/prefix/v1/projects/${PROJECT}/policy`)
      expect((error as ApiError).status).to.equal(404)
    })

    it('updates the policy with its etag and JSON headers, returning the new etag', async () => {
      const {client} = make()
      const before = await client.getPolicy(PROJECT)
      const after = await client.updatePolicy(PROJECT, {
        ...before,
        admissionWhitelistPatterns: [...(before.admissionWhitelistPatterns ?? []), {namePattern: 'us-docker.pkg.dev/p/r/**'}],
      })
      expect(after.etag).to.be.a('string').and.not.equal(before.etag)
      const put = server.requests('updatePolicy')[0]
      expect(put?.method).to.equal('PUT')
      expect(put?.headers?.['content-type']).to.equal('application/json')
      expect(put?.auth).to.equal('sandbox-token')
      expect(JSON.parse(put?.body ?? '{}').etag).to.equal(before.etag)
      expect(server.policy(PROJECT).admissionWhitelistPatterns?.map(p => p.namePattern)).to.include('us-docker.pkg.dev/p/r/**')
      expect(server.requests().map(r => r.op)).to.deep.equal(['getPolicy', 'updatePolicy'])
    })

    it('rejects a stale etag with PolicyConflictError (exit 4) without retrying', async () => {
      const {client} = make()
      const before = await client.getPolicy(PROJECT)
      server.setPolicy(PROJECT, basePolicy(PROJECT)) // someone else wrote: new etag
      const error = await rejectionOf(client.updatePolicy(PROJECT, before))
      expect(error).to.be.instanceOf(PolicyConflictError)
      expect(error).to.be.instanceOf(ExternalError)
      expect((error as PolicyConflictError).code).to.equal('POLICY_CONFLICT')
      expect((error as PolicyConflictError).exitCode).to.equal(4)
      expect(server.requests('updatePolicy')).to.have.length(1)
    })

    for (const [status, apiStatus] of [
      [412, 'FAILED_PRECONDITION'],
      [400, 'FAILED_PRECONDITION'],
    ] as const) {
      it(`treats ${status} ${apiStatus} on PUT as a conflict`, async () => {
        const {client} = make()
        server.fault({apiStatus, method: 'PUT', status})
        const error = await rejectionOf(client.updatePolicy(PROJECT, basePolicy(PROJECT)))
        expect(error).to.be.instanceOf(PolicyConflictError)
        expect((error as PolicyConflictError).status).to.equal(status)
      })
    }

    it('tests IAM permissions', async () => {
      const {client} = make()
      const all = ['binaryauthorization.policy.get', 'binaryauthorization.policy.update']
      expect(await client.testIamPermissions(PROJECT, all)).to.deep.equal(all)
      server.setFaults({deniedPermissions: ['binaryauthorization.policy.update']})
      expect(await client.testIamPermissions(PROJECT, all)).to.deep.equal(['binaryauthorization.policy.get'])
      server.setFaults({grantedPermissions: []})
      expect(await client.testIamPermissions(PROJECT, all)).to.deep.equal([])
      const request = server.requests('testIamPermissions')[0]
      expect(request?.method).to.equal('POST')
      expect(request?.path).to.equal(`/v1/projects/${PROJECT}/policy:testIamPermissions`)
      expect(JSON.parse(request?.body ?? '{}')).to.deep.equal({permissions: all})
    })
  })

  describe('error mapping', () => {
    it('maps 403 PERMISSION_DENIED to ApiError with exit code 3', async () => {
      const {client} = make()
      server.fault({message: 'Permission denied on resource project my-proj.', status: 403})
      const error = await rejectionOf(client.getPolicy(PROJECT))
      expect(error).to.be.instanceOf(ApiError)
      const e = error as ApiError
      expect(e.name).to.equal('ApiError')
      expect(e.status).to.equal(403)
      expect(e.apiStatus).to.equal('PERMISSION_DENIED')
      expect(e.code).to.equal('PERMISSION_DENIED')
      expect(e.exitCode).to.equal(3)
      expect(e.message).to.contain('Permission denied on resource project my-proj.')
      expect(server.requests()).to.have.length(1)
    })

    it('maps SERVICE_DISABLED to the exact enable command', async () => {
      const {client} = make()
      server.fault({message: 'Binary Authorization API has not been used in project 123 before or it is disabled.', reason: 'SERVICE_DISABLED', status: 403})
      const error = (await rejectionOf(client.getPolicy(PROJECT))) as ApiError
      expect(error.code).to.equal('SERVICE_DISABLED')
      expect(error.reason).to.equal('SERVICE_DISABLED')
      expect(error.exitCode).to.equal(3)
      expect(error.suggestions).to.include(`gcloud services enable binaryauthorization.googleapis.com --project=${PROJECT}`)
    })

    it('maps 404 to an ExternalError with a project hint', async () => {
      const {client} = make()
      server.fault({message: 'Project not found.', status: 404})
      const error = (await rejectionOf(client.getPolicy('no-such-proj'))) as ApiError
      expect(error).to.be.instanceOf(ExternalError)
      expect(error.code).to.equal('NOT_FOUND')
      expect(error.exitCode).to.equal(5)
      expect(error.message).to.contain('no-such-proj')
      expect(error.suggestions.join('\n')).to.contain('gcloud projects describe no-such-proj')
      expect(server.requests()).to.have.length(1)
    })

    it('maps 401 to a UserError suggesting gcloud auth login', async () => {
      const {client} = make({tokens: {getToken: async () => 'wrong-token-value-123456'}})
      const error = (await rejectionOf(client.getPolicy(PROJECT))) as UserError
      expect(error).to.be.instanceOf(UserError)
      expect(error.code).to.equal('UNAUTHENTICATED')
      expect(error.suggestions).to.include('gcloud auth login')
      expect(server.requests()).to.have.length(1)
    })

    it('maps an HTML error page to an ApiError by status', async () => {
      const {client} = make({retry: {maxRetries: 0}})
      server.fault({
        body: '<html>Bad Gateway</html>', headers: {'content-type': 'text/html'}, kind: 'raw', status: 502,
      })
      const error = (await rejectionOf(client.getPolicy(PROJECT))) as ApiError
      expect(error).to.be.instanceOf(ApiError)
      expect(error.status).to.equal(502)
      expect(error.exitCode).to.equal(5)
    })

    it('rejects malformed JSON without retrying', async () => {
      const {client} = make()
      server.fault({kind: 'truncated'})
      const error = (await rejectionOf(client.getPolicy(PROJECT))) as ExternalError
      expect(error).to.be.instanceOf(ExternalError)
      expect(error.code).to.equal('MALFORMED_RESPONSE')
      expect(error.message).to.match(/malformed JSON/)
      expect(server.requests()).to.have.length(1)
    })

    it('rejects a non-JSON content type (e.g. a captive portal)', async () => {
      const {client} = make()
      server.fault({kind: 'html'})
      const error = (await rejectionOf(client.getPolicy(PROJECT))) as ExternalError
      expect(error.code).to.equal('UNEXPECTED_CONTENT_TYPE')
      expect(error.message).to.contain('text/html')
      expect(server.requests()).to.have.length(1)
    })

    it('rejects a policy that belongs to another project', async () => {
      const {client} = make()
      server.fault({foreignProject: 'someone-else', kind: 'foreign-policy'})
      const error = (await rejectionOf(client.getPolicy(PROJECT))) as ExternalError
      expect(error).to.be.instanceOf(ExternalError)
      expect(error.code).to.equal('POLICY_MALFORMED')
      expect(error.message).to.contain('projects/someone-else/policy')
      expect(error.message).to.contain(PROJECT)
    })

    it('rejects a body larger than maxResponseBytes', async () => {
      const {client} = make({transport: {maxResponseBytes: 10_000}})
      server.fault({bytes: 50_000, kind: 'huge'})
      const error = (await rejectionOf(client.getPolicy(PROJECT))) as ExternalError
      expect(error.code).to.equal('RESPONSE_TOO_LARGE')
      expect(server.requests()).to.have.length(1)
    })

    it('rejects a body larger than the default 4 MiB cap, but reads one just below it', async () => {
      const {client} = make()
      server.fault({bytes: (4 * 1024 * 1024) + 1, kind: 'huge'})
      const error = (await rejectionOf(client.getPolicy(PROJECT))) as ExternalError
      expect(error.code).to.equal('RESPONSE_TOO_LARGE')
      server.fault({bytes: (4 * 1024 * 1024) - 16, kind: 'huge'})
      const policy = await client.getPolicy(PROJECT)
      expect(policy.description).to.have.length.greaterThan(4_000_000)
    })

    it('rejects a body that exceeds the cap while streaming (no Content-Length)', async () => {
      const chunked = http.createServer((_req, res) => {
        res.writeHead(200, {'content-type': 'application/json'})
        res.write('{"description":"')
        res.write('y'.repeat(5000))
        res.end('"}')
      })
      chunked.listen(0, '127.0.0.1')
      await once(chunked, 'listening')
      try {
        const other = new BinauthzClient({
          endpoint: new URL(`http://127.0.0.1:${(chunked.address() as AddressInfo).port}/`),
          secrets: new Secrets(),
          tokens: {getToken: async () => TOKEN},
          transport: {maxResponseBytes: 1000}, userAgent: TEST_USER_AGENT,
        })
        clients.push(other)
        const error = (await rejectionOf(other.getPolicy(PROJECT))) as ExternalError
        expect(error.code).to.equal('RESPONSE_TOO_LARGE')
      } finally {
        chunked.closeAllConnections()
        chunked.close()
      }
    })
  })

  describe('retries', () => {
    it('honours Retry-After seconds on 429, then succeeds', async () => {
      const {client, waits} = make()
      server.fault({retryAfter: '7', status: 429})
      const policy = await client.getPolicy(PROJECT)
      expect(policy.name).to.equal(`projects/${PROJECT}/policy`)
      expect(waits).to.deep.equal([7000])
      expect(server.requests()).to.have.length(2)
    })

    it('honours Retry-After as an HTTP date, and caps huge values', async () => {
      const now = Date.parse('2026-01-01T00:00:00Z')
      expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:09 GMT', now)).to.equal(9000)
      expect(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', now)).to.equal(0)
      expect(parseRetryAfter('1.5', now)).to.equal(1500)
      expect(parseRetryAfter('soon', now)).to.equal(undefined)
      expect(parseRetryAfter(undefined, now)).to.equal(undefined)

      const {client, waits} = make()
      server.fault({retryAfter: new Date(Date.now() + 60_000).toUTCString(), status: 503})
      server.fault({retryAfter: '3600', status: 429})
      await client.getPolicy(PROJECT)
      expect(waits).to.have.length(2)
      expect(waits[0]).to.equal(30_000)
      expect(waits[1]).to.equal(30_000)
    })

    it('retries 503 with exponential backoff and full jitter, then succeeds', async () => {
      const {client, waits} = make({retry: {backoffBaseMs: 100, random: () => 0.5}})
      server.fault({status: 503, times: 3})
      await client.getPolicy(PROJECT)
      expect(waits).to.deep.equal([50, 100, 200])
      expect(server.requests()).to.have.length(4)
    })

    it('keeps backoff waits within [0, cap)', async () => {
      const {client, waits} = make({
        retry: {
          backoffBaseMs: 1000, backoffMaxMs: 2500, maxRetries: 4, random: () => 0.999_999,
        },
      })
      server.fault({status: 500, times: 4})
      await client.getPolicy(PROJECT)
      expect(waits).to.deep.equal([999, 1999, 2499, 2499])
    })

    it('gives up after maxRetries with the last error and the attempt count', async () => {
      const {client, waits} = make({retry: {maxRetries: 2}})
      server.fault({message: 'The service is currently unavailable.', status: 503, times: Infinity})
      const error = (await rejectionOf(client.getPolicy(PROJECT))) as ApiError
      expect(error).to.be.instanceOf(ApiError)
      expect(error.status).to.equal(503)
      expect(error.exitCode).to.equal(5)
      expect(error.message).to.contain('after 3 attempts')
      expect(server.requests()).to.have.length(3)
      expect(waits).to.have.length(2)
    })

    it('does not retry 400, 401, 403, 404', async () => {
      for (const status of [400, 401, 403, 404]) {
        server.state.clearRequests()
        const {client} = make()
        server.fault({status, times: Infinity})
        await rejectionOf(client.getPolicy(PROJECT))
        server.clearFaults()
        expect(server.requests(), String(status)).to.have.length(1)
      }
    })

    it('retries testIamPermissions on 503', async () => {
      const {client} = make()
      server.fault({op: 'testIamPermissions', status: 503})
      expect(await client.testIamPermissions(PROJECT, ['binaryauthorization.policy.get'])).to.deep.equal(['binaryauthorization.policy.get'])
      expect(server.requests('testIamPermissions')).to.have.length(2)
    })

    it('retries a PUT that carries an etag; a replay of an applied PUT then conflicts', async () => {
      const {client} = make()
      const before = await client.getPolicy(PROJECT)
      server.fault({method: 'PUT', status: 503})
      await client.updatePolicy(PROJECT, before)
      expect(server.requests('updatePolicy')).to.have.length(2)

      // The first PUT was applied but its answer was lost: the replay carries a stale etag and must conflict.
      const current = await client.getPolicy(PROJECT)
      const writes = server.writes()
      server.fault({kind: 'lost-response', method: 'PUT'})
      const error = await rejectionOf(client.updatePolicy(PROJECT, {...current, description: 'mine'}))
      expect(error).to.be.instanceOf(PolicyConflictError)
      expect(server.writes()).to.equal(writes + 1)
      expect(server.requests('updatePolicy')).to.have.length(4)
      expect(server.policy(PROJECT).description).to.equal('mine')
    })

    it('does not retry an etag-less PUT on 503 or a reset, but does on 429', async () => {
      const {client} = make()
      const {etag: _etag, ...withoutEtag} = basePolicy(PROJECT)
      server.fault({method: 'PUT', status: 503, times: Infinity})
      expect(await rejectionOf(client.updatePolicy(PROJECT, withoutEtag))).to.be.instanceOf(ApiError)
      expect(server.requests('updatePolicy')).to.have.length(1)
      server.clearFaults()

      server.fault({kind: 'reset', method: 'PUT'})
      expect(((await rejectionOf(client.updatePolicy(PROJECT, withoutEtag))) as ExternalError).code).to.equal('NETWORK_ERROR')
      expect(server.requests('updatePolicy')).to.have.length(2)

      server.fault({method: 'PUT', retryAfter: '1', status: 429})
      await client.updatePolicy(PROJECT, withoutEtag)
      expect(server.requests('updatePolicy')).to.have.length(4)
      // A request that cannot be replayed never rides on a reused keep-alive socket (no idle-close race).
      expect(server.requests('updatePolicy').map(r => r.headers?.connection)).to.deep.equal(['close', 'close', 'close', 'close'])
      await client.updatePolicy(PROJECT, await client.getPolicy(PROJECT))
      expect(server.requests('updatePolicy')[4]?.headers?.connection).to.equal('keep-alive')
    })

    it('retries a connection reset, and reports it when retries are exhausted', async () => {
      const {client} = make()
      server.fault({kind: 'reset'})
      await client.getPolicy(PROJECT)
      expect(server.requests()).to.have.length(2)

      const {client: once_} = make({retry: {maxRetries: 0}})
      server.fault({kind: 'reset'})
      const error = (await rejectionOf(once_.getPolicy(PROJECT))) as ExternalError
      expect(error.code).to.equal('NETWORK_ERROR')
      expect(error.exitCode).to.equal(5)
      expect(error.message).to.contain(server.endpoint.origin)
    })

    it('reports a refused loopback connection as a stopped sandbox, at once (no retries)', async () => {
      const probe = http.createServer()
      probe.listen(0, '127.0.0.1')
      await once(probe, 'listening')
      const {port} = (probe.address() as AddressInfo)
      await new Promise<void>(resolve => {
        probe.close(() => resolve())
      })
      const {client, waits} = make({endpoint: new URL(`http://127.0.0.1:${port}/`), retry: {maxRetries: 1}})
      const error = (await rejectionOf(client.getPolicy(PROJECT))) as ExternalError
      expect(error.code).to.equal('SANDBOX_NOT_ANSWERING')
      expect(error.message).to.equal(`No sandbox answers at http://127.0.0.1:${port}/: binauthz sandbox start`)
      expect(error.suggestions).to.deep.equal(['binauthz sandbox start'])
      expect(waits).to.have.length(0)
    })

    it('times out a slow response and retries it', async () => {
      const {client} = make({retry: {maxRetries: 0}, transport: {timeoutMs: 100}})
      server.fault({delayMs: 10_000, kind: 'slow'})
      const error = (await rejectionOf(client.getPolicy(PROJECT))) as ExternalError
      expect(error.code).to.equal('TIMEOUT')
      expect(error.message).to.contain('100 ms')

      server.state.clearRequests()
      const {client: patient} = make({retry: {maxRetries: 1}, transport: {timeoutMs: 100}})
      server.fault({delayMs: 10_000, kind: 'slow'})
      await patient.getPolicy(PROJECT)
      expect(server.requests()).to.have.length(2)
    })
  })

  describe('stalled body', () => {
    it('times out a response that stalls after its headers', async () => {
      let requests = 0
      const stalling = http.createServer((_req, res) => {
        requests += 1
        res.writeHead(200, {'content-type': 'application/json'})
        res.write('{"name": ')
      })
      stalling.listen(0, '127.0.0.1')
      await once(stalling, 'listening')
      try {
        const stalled = new BinauthzClient({
          endpoint: new URL(`http://127.0.0.1:${(stalling.address() as AddressInfo).port}/`),
          retry: {maxRetries: 1, async sleep() {}},
          secrets: new Secrets(),
          tokens: {getToken: async () => TOKEN},
          transport: {timeoutMs: 100}, userAgent: TEST_USER_AGENT,
        })
        clients.push(stalled)
        const error = (await rejectionOf(stalled.getPolicy(PROJECT))) as ExternalError
        expect(error.code).to.equal('TIMEOUT')
        expect(error.message).to.contain('after 2 attempts')
        expect(requests).to.equal(2)
      } finally {
        stalling.closeAllConnections()
        stalling.close()
      }
    })
  })

  describe('deadline', () => {
    it('sends nothing once the deadline has passed', async () => {
      const {client} = make({deadline: Date.now() - 1})
      const error = (await rejectionOf(client.getPolicy(PROJECT))) as ExternalError
      expect(error.code).to.equal('DEADLINE_EXCEEDED')
      expect(error.exitCode).to.equal(5)
      expect(server.requests()).to.have.length(0)
    })

    it('does not wait past the deadline for a Retry-After', async () => {
      const {client, waits} = make({deadline: Date.now() + 5000})
      server.fault({retryAfter: '20', status: 503})
      const error = (await rejectionOf(client.getPolicy(PROJECT))) as ExternalError
      expect(error.code).to.equal('DEADLINE_EXCEEDED')
      expect(error.message).to.contain('HTTP 503')
      expect(waits).to.deep.equal([])
      expect(server.requests()).to.have.length(1)
    })

    it('cuts a slow request short at the deadline', async () => {
      const {client} = make({deadline: Date.now() + 150, transport: {timeoutMs: 60_000}})
      server.fault({delayMs: 10_000, kind: 'slow'})
      const error = (await rejectionOf(client.getPolicy(PROJECT))) as ExternalError
      expect(error.code).to.equal('DEADLINE_EXCEEDED')
      expect(server.requests()).to.have.length(1)
    })
  })

  describe('secrets', () => {
    it('never shows the token in any error, even when the server echoes it', async () => {
      const errors: unknown[] = []
      const {client} = make({retry: {maxRetries: 0}})
      const faults = [
        {message: `Token ${TOKEN} lacks permission`, status: 403},
        {message: `nothing for ${TOKEN}`, status: 404},
        {message: `bad ${TOKEN}`, status: 400},
        {message: `unavailable ${TOKEN}`, status: 503},
        {
          body: JSON.stringify({error: {code: 500, message: `Authorization: Bearer ${TOKEN}`, status: 'INTERNAL'}}), headers: {'content-type': 'application/json'}, kind: 'raw', status: 500,
        },
        {kind: 'truncated'},
        {body: TOKEN, kind: 'html'},
        {kind: 'reset'},
        {foreignProject: 'other', kind: 'foreign-policy'},
        {bytes: 5_000_000, kind: 'huge'},
      ] as const
      for (const fault of faults) {
        server.fault(fault)
        errors.push(await rejectionOf(client.getPolicy(PROJECT)))
      }

      server.fault({message: `conflict ${TOKEN}`, method: 'PUT', status: 409})
      errors.push(
        await rejectionOf(client.updatePolicy(PROJECT, basePolicy(PROJECT))),
        await rejectionOf(make({tokens: {getToken: async () => `${TOKEN}-x`}}).client.getPolicy(PROJECT)),
      )
      const {client: slow} = make({retry: {maxRetries: 0}, transport: {timeoutMs: 50}})
      server.fault({delayMs: 5000, kind: 'slow'})
      errors.push(await rejectionOf(slow.getPolicy(PROJECT)))

      expect(errors).to.have.length(faults.length + 3)
      for (const error of errors) {
        expect(error).to.be.instanceOf(BinauthzError)
        expect(printable(error)).not.to.contain(TOKEN)
        expect(JSON.stringify(error)).not.to.contain(TOKEN)
      }

      // The sandbox's request log keeps whether the sandbox token was sent, or a fingerprint; never a credential.
      const log = server.requests()
      expect(log.map(r => r.auth)).to.include('other').and.include('sandbox-token')
      expect(JSON.stringify(log)).not.to.contain(TOKEN)
    })
  })

  describe('401: one fresh token from the TokenProvider', () => {
    it('asks for a new token once and sends the request again with it (no wait, not counted as a retry)', async () => {
      const provider = refreshing('expired-token-value-1234', [TOKEN])
      const {client, waits} = make({retry: {maxRetries: 0}, tokens: provider.tokens})
      const policy = await client.getPolicy(PROJECT)
      expect(policy.name).to.equal(`projects/${PROJECT}/policy`)
      expect(provider.calls()).to.equal(1)
      expect(server.requests().map(r => [r.status, r.auth])).to.deep.equal([[401, 'other'], [200, 'sandbox-token']])
      expect(waits).to.deep.equal([])
      // Later calls use the fresh token from getToken() directly.
      await client.getPolicy(PROJECT)
      expect(provider.calls()).to.equal(1)
      expect(server.requests()).to.have.length(3)
    })

    it('refreshes only once: a second 401 is UNAUTHENTICATED', async () => {
      const provider = refreshing('expired-token-value-1234', ['still-wrong-token-5678'])
      const {client} = make({tokens: provider.tokens})
      const error = (await rejectionOf(client.getPolicy(PROJECT))) as UserError
      expect(error).to.be.instanceOf(UserError)
      expect(error.code).to.equal('UNAUTHENTICATED')
      expect(provider.calls()).to.equal(1)
      expect(server.requests()).to.have.length(2)
    })

    it('does not send again when the refresh brings the same token', async () => {
      const provider = refreshing('expired-token-value-1234', [])
      const {client} = make({tokens: provider.tokens})
      expect(((await rejectionOf(client.getPolicy(PROJECT))) as UserError).code).to.equal('UNAUTHENTICATED')
      expect(provider.calls()).to.equal(1)
      expect(server.requests()).to.have.length(1)
    })

    it('also resends an etag-less PUT (a 401 was refused before anything was done)', async () => {
      const provider = refreshing('expired-token-value-1234', [TOKEN])
      const {client} = make({tokens: provider.tokens})
      const {etag: _etag, ...withoutEtag} = basePolicy(PROJECT)
      await client.updatePolicy(PROJECT, {...withoutEtag, description: 'fresh'})
      expect(server.requests('updatePolicy').map(r => r.status)).to.deep.equal([401, 200])
      expect(server.policy(PROJECT).description).to.equal('fresh')
    })
  })

  describe('abort (the signal option)', () => {
    it('destroys the request in flight and rejects with INTERRUPTED (exit 130) at once', async () => {
      const controller = new AbortController()
      const {client} = make({signal: controller.signal})
      server.fault({delayMs: 20_000, kind: 'slow'})
      const started = Date.now()
      const reading = client.getPolicy(PROJECT)
      await untilLogged(server, 1)
      controller.abort()
      const error = (await rejectionOf(reading)) as InterruptedError
      expect(Date.now() - started).to.be.below(5000)
      expect(error).to.be.instanceOf(InterruptedError)
      expect(error.code).to.equal('INTERRUPTED')
      expect(error.exitName).to.equal('interrupted')
      expect(error.exitCode).to.equal(130)
      expect(error.message).to.equal(`Interrupted while trying to read the Binary Authorization policy of project ${PROJECT}; nothing was changed by this request.`)
      expect(server.requests()).to.have.length(1)
    })

    it('an update whose request was sent says the write may have landed', async () => {
      const {client: reader} = make()
      const before = await reader.getPolicy(PROJECT)
      const controller = new AbortController()
      const {client} = make({signal: controller.signal})
      // The sandbox decides (and stores) a slow PUT at once, then holds the answer: the write lands, its answer is lost.
      server.fault({delayMs: 20_000, kind: 'slow', method: 'PUT'})
      const writing = client.updatePolicy(PROJECT, {...before, description: 'landed'})
      await untilLogged(server, 2)
      controller.abort()
      const error = (await rejectionOf(writing)) as InterruptedError
      expect(error.code).to.equal('INTERRUPTED')
      expect(error.message).to.equal(`Interrupted while trying to update the Binary Authorization policy of project ${PROJECT}: the write had already been sent, so it may have landed.`)
      expect(error.suggestions).to.deep.equal(['Check whether the entry is there before retrying: binauthz policy status'])
      expect(server.policy(PROJECT).description).to.equal('landed')
    })

    it('an update whose answer was lost says so when aborted while waiting to retry', async () => {
      const {client: reader} = make()
      const before = await reader.getPolicy(PROJECT)
      const controller = new AbortController()
      const client = new BinauthzClient({
        endpoint: server.endpoint,
        retry: {backoffBaseMs: 60_000, random: () => 0.5}, secrets: new Secrets(), signal: controller.signal, tokens: {getToken: async () => TOKEN}, userAgent: TEST_USER_AGENT,
      })
      clients.push(client)
      server.fault({kind: 'lost-response', method: 'PUT'})
      const writing = client.updatePolicy(PROJECT, {...before, description: 'lost'})
      await untilLogged(server, 2)
      await new Promise(resolve => {
        setTimeout(resolve, 50)
      })
      controller.abort()
      const error = (await rejectionOf(writing)) as InterruptedError
      expect(error.message).to.contain('the write had already been sent, so it may have landed')
      expect(server.requests('updatePolicy')).to.have.length(1)
      expect(server.policy(PROJECT).description).to.equal('lost')
    })

    it('stops waiting between attempts (a long Retry-After)', async () => {
      const controller = new AbortController()
      const client = new BinauthzClient({
        endpoint: server.endpoint, secrets: new Secrets(), signal: controller.signal, tokens: {getToken: async () => TOKEN}, userAgent: TEST_USER_AGENT,
      })
      clients.push(client)
      server.fault({retryAfter: '25', status: 503})
      const started = Date.now()
      const reading = client.getPolicy(PROJECT)
      await untilLogged(server, 1)
      await new Promise(resolve => {
        setTimeout(resolve, 50)
      })
      controller.abort()
      const error = (await rejectionOf(reading)) as InterruptedError
      expect(error.code).to.equal('INTERRUPTED')
      expect(Date.now() - started).to.be.below(5000)
      expect(server.requests()).to.have.length(1)
    })

    it('stops waiting for the token', async () => {
      const controller = new AbortController()
      const {client} = make({signal: controller.signal, tokens: {getToken: () => new Promise<string>(() => {})}})
      const reading = client.getPolicy(PROJECT)
      controller.abort()
      expect(((await rejectionOf(reading)) as InterruptedError).code).to.equal('INTERRUPTED')
      expect(server.requests()).to.have.length(0)
    })

    it('an already aborted signal sends nothing; an unsent update changed nothing', async () => {
      const {client} = make({signal: AbortSignal.abort()})
      const error = (await rejectionOf(client.updatePolicy(PROJECT, basePolicy(PROJECT)))) as InterruptedError
      expect(error.code).to.equal('INTERRUPTED')
      expect(error.message).to.equal(`Interrupted while trying to update the Binary Authorization policy of project ${PROJECT}; nothing was changed by this request.`)
      expect(server.requests()).to.have.length(0)
    })

    it('conflictBackoff rejects with INTERRUPTED instead of waiting', async () => {
      const controller = new AbortController()
      const client = new BinauthzClient({
        endpoint: server.endpoint,
        retry: {conflictBackoffBaseMs: 60_000, conflictBackoffMaxMs: 60_000, random: () => 0.5},
        secrets: new Secrets(),
        signal: controller.signal,
        tokens: {getToken: async () => TOKEN},
        userAgent: TEST_USER_AGENT,
      })
      clients.push(client)
      const waiting = client.conflictBackoff(1)
      controller.abort()
      expect(((await rejectionOf(waiting)) as InterruptedError).exitCode).to.equal(130)
    })
  })
})
