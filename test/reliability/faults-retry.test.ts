// Guarantee 2 (faults), the retry rules: bounded attempts, exponential backoff with full jitter, Retry-After honoured,
// and the overall --deadline respected — through the built CLI where the outcome is observable from outside (exit
// code, --json error, requests the stand-in received and when, gcloud's record), and in-process where the exact wait
// schedule is (the client's injectable sleep/random).
import {expect} from 'chai'

import {ExternalError, Secrets} from '../../src/errors.js'
import {BinauthzClient} from '../../src/google/binauthz-client.js'
import {rejectionOf} from '../helpers/assert.js'
import {type ChaosProxy, startChaosProxy} from '../helpers/reliability-chaos.js'
import {original} from '../helpers/reliability-checks.js'
import {
  CANARY_TOKEN, type CliKit, type CliRun, createCliKit, patternsOf, unwrap,
} from '../helpers/reliability-cli.js'
import {startTestSandbox, type TestSandbox} from '../helpers/sandbox.js'
import {TEST_USER_AGENT} from '../helpers/user-agent.js'

const PROJECT = 'rel-retry'
const REGION = 'us-east1'

function deploy(extra: string[] = []): string[] {
  return ['deploy', 'run', 'svc', '--project', PROJECT, '--region', REGION, '--yes', '--json', ...extra, '--', '--source=.']
}

function errorOf(run: CliRun): {code?: string; exitCode?: number; message?: string; suggestions?: string[]} {
  return (JSON.parse(run.stdout) as {error?: {code?: string; exitCode?: number; message?: string; suggestions?: string[]}}).error ?? {}
}

/** A client whose waits are recorded instead of slept, with a pinned jitter source. */
function recordingClient(endpoint: URL, random: () => number, waits: number[]): BinauthzClient {
  return new BinauthzClient({
    endpoint,
    retry: {
      random,
      async sleep(ms) {
        waits.push(ms)
      },
    },
    secrets: new Secrets(),
    tokens: {getToken: async () => CANARY_TOKEN}, userAgent: TEST_USER_AGENT,
  })
}

describe('reliability 2: retries are bounded, back off with jitter, honour Retry-After and --deadline', function () {
  this.timeout(60_000)
  let server: TestSandbox
  let proxy: ChaosProxy
  let kit: CliKit

  beforeEach(async () => {
    server = await startTestSandbox({policy: original(PROJECT), project: PROJECT, token: CANARY_TOKEN})
    // A proxy that injects nothing: it only records when each request arrived.
    proxy = await startChaosProxy({
      rates: {}, seed: 1, token: CANARY_TOKEN, upstream: server.url,
    })
    kit = createCliKit({endpoint: proxy.url, readersEndpoint: server.url, timeoutMs: 30_000})
  })

  afterEach(async () => {
    await proxy.close()
    await server.stop()
    kit.cleanup()
  })

  const nothingChanged = async (): Promise<void> => {
    expect(server.writes()).to.equal(0)
    expect(patternsOf(server.policy(PROJECT))).to.deep.equal(patternsOf(original(PROJECT)))
    expect(await kit.gcloud.calls()).to.deep.equal([])
  }

  it('a persistently failing API: exactly 5 attempts (1 + 4 retries), then exit 5 with a clear error, no deploy', async () => {
    server.fault({
      op: 'getPolicy', retryAfter: '0', status: 503, times: Infinity,
    })
    const run = await kit.run(deploy())
    expect(run.code, run.stderr).to.equal(5)
    const error = errorOf(run)
    expect(error.exitCode).to.equal(5)
    expect(error.code).to.equal('UNAVAILABLE')
    expect(error.message).to.match(/unavailable.*read the Binary Authorization policy.*Gave up after 5 attempts/s)
    expect(error.suggestions?.length).to.be.greaterThan(0)
    expect(server.requests('getPolicy')).to.have.length(5)
    await nothingChanged()
  })

  it('429 on the PUT with Retry-After: 2 waits at least 2 s before the replay, then succeeds', async () => {
    server.fault({op: 'updatePolicy', retryAfter: '2', status: 429})
    const run = await kit.run(deploy())
    expect(run.code, run.stdout + run.stderr).to.equal(0)
    const puts = proxy.records.filter(r => r.method === 'PUT')
    expect(puts).to.have.length(2)
    // A lower bound only (never flaky): the replay did not come before the server said it may.
    expect((puts[1]?.at ?? 0) - (puts[0]?.at ?? 0)).to.be.at.least(1950)
    expect(server.writes()).to.equal(1)
    expect(await kit.gcloud.calls()).to.have.length(1)
  })

  it('503 with Retry-After: 1 on the read waits at least 1 s, then succeeds', async () => {
    server.fault({op: 'getPolicy', retryAfter: '1', status: 503})
    const run = await kit.run(deploy())
    expect(run.code, run.stdout + run.stderr).to.equal(0)
    const gets = proxy.records.filter(r => r.method === 'GET')
    expect(gets.length).to.be.at.least(2)
    expect((gets[1]?.at ?? 0) - (gets[0]?.at ?? 0)).to.be.at.least(950)
  })

  it('--deadline ends a hung API call: exit 5 DEADLINE_EXCEEDED, no write, no deploy', async () => {
    server.fault({delayMs: 120_000, kind: 'slow', op: 'getPolicy'})
    const run = await kit.run(deploy(['--deadline', '2']), {timeoutMs: 25_000})
    expect(run.timedOut).to.equal(false)
    expect(run.code, run.stderr).to.equal(5)
    const error = errorOf(run)
    expect(error.code).to.equal('DEADLINE_EXCEEDED')
    expect(error.message).to.contain('overall deadline')
    expect(error.suggestions?.join('\n')).to.contain('--deadline')
    await nothingChanged()
  })

  it('a request that never answers times out after 15 s and is retried (deadline permitting): exit 0', async () => {
    server.fault({delayMs: 60_000, kind: 'slow', op: 'getPolicy'})
    const run = await kit.run(deploy(['--deadline', '50']), {timeoutMs: 45_000})
    expect(run.code, run.stdout + run.stderr).to.equal(0)
    const gets = proxy.records.filter(r => r.method === 'GET')
    expect(gets.length).to.be.at.least(2)
    expect((gets[1]?.at ?? 0) - (gets[0]?.at ?? 0)).to.be.at.least(14_900)
    expect(server.writes()).to.equal(1)
    expect(await kit.gcloud.calls()).to.have.length(1)
  })

  it('a Retry-After beyond --deadline is not waited for: exit 5 DEADLINE_EXCEEDED after one request', async () => {
    server.fault({
      op: 'getPolicy', retryAfter: '600', status: 503, times: Infinity,
    })
    const run = await kit.run(deploy(['--deadline', '3']), {timeoutMs: 25_000})
    expect(run.timedOut).to.equal(false)
    expect(run.code).to.equal(5)
    expect(errorOf(run).code).to.equal('DEADLINE_EXCEEDED')
    expect(server.requests('getPolicy')).to.have.length(1)
    await nothingChanged()
  })

  it('--deadline is validated (integer 1..3600): exit 2 before any request', async () => {
    for (const value of ['0', '-5', 'soon', '3601', '1.5']) {
      const run = await kit.run(['deploy', 'run', 'svc', '--project', PROJECT, '--region', REGION, '--yes', '--deadline', value, '--', '--source=.'])
      expect(run.code, `--deadline ${value}: ${run.stderr}`).to.equal(2)
      expect(unwrap(run.stderr)).to.match(/deadline/i)
    }

    expect(proxy.records).to.deep.equal([])
    await nothingChanged()
  })

  describe('the wait schedule (in-process client, injected sleep and jitter source)', () => {
    it('exponential ceilings 500/1000/2000/4000 ms with full jitter, at most 4 retries', async () => {
      server.fault({op: 'getPolicy', status: 503, times: Infinity})
      const high: number[] = []
      const error = await rejectionOf(recordingClient(server.endpoint, () => 0.999, high).getPolicy(PROJECT))
      expect(error).to.be.instanceOf(ExternalError)
      expect(high).to.deep.equal([499, 999, 1998, 3996])
      expect(server.requests('getPolicy')).to.have.length(5)

      // Jitter: a different random draw gives different waits under the same ceilings.
      const draws = [0.1, 0.7, 0.3, 0.9]
      const jittered: number[] = []
      await rejectionOf(recordingClient(server.endpoint, () => draws.shift() ?? 0, jittered).getPolicy(PROJECT))
      expect(jittered).to.deep.equal([50, 700, 600, 3600])
    })

    it('Retry-After replaces the jittered wait (capped at 30 s)', async () => {
      server.fault({op: 'getPolicy', retryAfter: '7', status: 429})
      server.fault({op: 'getPolicy', retryAfter: '86400', status: 503})
      const waits: number[] = []
      await recordingClient(server.endpoint, () => 0.5, waits).getPolicy(PROJECT)
      expect(waits).to.deep.equal([7000, 30_000])
    })

    it('etag conflicts back off with jitter too, and give up with exit 4 rather than sleep past the deadline', async () => {
      const {applyPolicyChange} = await import('../../src/app/policy-change.js')
      const {planAllow} = await import('../../src/policy/plan.js')
      server.fault({kind: 'concurrent-write', op: 'updatePolicy', times: Infinity})
      const waits: number[] = []
      const c = new BinauthzClient({
        deadline: Date.now() + 3000,
        endpoint: server.endpoint,
        retry: {
          random: () => 0.999,
          async sleep(ms) {
            waits.push(ms)
            await new Promise(resolve => {
              setTimeout(resolve, ms)
            })
          },
        },
        secrets: new Secrets(),
        tokens: {getToken: async () => CANARY_TOKEN}, userAgent: TEST_USER_AGENT,
      })
      const error = (await rejectionOf(applyPolicyChange(c, {mode: 'write', plan: p => planAllow(p, ['us-east1-docker.pkg.dev/rel-retry/r/**']), project: PROJECT}))) as ExternalError
      expect(error.exitCode).to.equal(4)
      expect(error.code).to.equal('POLICY_CONFLICT')
      // Doubling ceilings from 100 ms; the fifth wait (1599 ms, at ~1.5 s elapsed) would have crossed the deadline.
      expect(waits).to.deep.equal([99, 199, 399, 799])
      expect(patternsOf(server.policy(PROJECT))).not.to.include('us-east1-docker.pkg.dev/rel-retry/r/**')
    })
  })
})
