import {expect} from 'chai'

import {
  type AttemptFailure, conflictWait, decideRetry, DEFAULT_RETRY, isTransient, parseRetryAfter, type RetryDecision,
} from '../../src/google/retry.js'

const NOW = Date.parse('2026-01-01T00:00:00Z')
const half = (): number => 0.5

describe('google/retry (pure retry decision)', () => {
  describe('decideRetry', () => {
    const s503: AttemptFailure = {kind: 'status', status: 503}
    const table: [title: string, failure: AttemptFailure, replayable: boolean, attempt: number, expected: RetryDecision][] = [
      ['503 on a read: backoff with full jitter', s503, true, 0, {retry: true, waitMs: 250}],
      ['503 on a read, third attempt: the ceiling doubles', s503, true, 2, {retry: true, waitMs: 1000}],
      ['503 on a read, fourth attempt', s503, true, 3, {retry: true, waitMs: 2000}],
      ['500, 502, 504 are transient', {kind: 'status', status: 502}, true, 0, {retry: true, waitMs: 250}],
      ['429 honours Retry-After', {kind: 'status', retryAfterMs: 7000, status: 429}, true, 0, {retry: true, waitMs: 7000}],
      ['Retry-After is capped', {kind: 'status', retryAfterMs: 3_600_000, status: 503}, true, 0, {retry: true, waitMs: 30_000}],
      ['a timeout on a read', {kind: 'timeout'}, true, 0, {retry: true, waitMs: 250}],
      ['a connection reset on a read', {code: 'ECONNRESET', kind: 'network'}, true, 1, {retry: true, waitMs: 500}],
      ['400 is final', {kind: 'status', status: 400}, true, 0, {reason: 'final', retry: false, transient: false}],
      ['401 is final', {kind: 'status', status: 401}, true, 0, {reason: 'final', retry: false, transient: false}],
      ['403 is final', {kind: 'status', status: 403}, true, 0, {reason: 'final', retry: false, transient: false}],
      ['404 is final', {kind: 'status', status: 404}, true, 0, {reason: 'final', retry: false, transient: false}],
      ['409 is final', {kind: 'status', status: 409}, true, 0, {reason: 'final', retry: false, transient: false}],
      ['412 is final', {kind: 'status', status: 412}, true, 0, {reason: 'final', retry: false, transient: false}],
      ['a final failure (stopped sandbox)', {kind: 'final'}, true, 0, {reason: 'final', retry: false, transient: false}],
      ['etag-less PUT: 503 is not replayed', s503, false, 0, {reason: 'final', retry: false, transient: true}],
      ['etag-less PUT: a reset is not replayed', {code: 'ECONNRESET', kind: 'network'}, false, 0, {reason: 'final', retry: false, transient: true}],
      ['etag-less PUT: a timeout is not replayed', {kind: 'timeout'}, false, 0, {reason: 'final', retry: false, transient: true}],
      ['etag-less PUT: 429 is replayed', {kind: 'status', retryAfterMs: 1000, status: 429}, false, 0, {retry: true, waitMs: 1000}],
      ['etag-less PUT: a refused connection is replayed', {code: 'ECONNREFUSED', kind: 'network'}, false, 0, {retry: true, waitMs: 250}],
      ['etag-less PUT: a DNS failure is replayed', {code: 'ENOTFOUND', kind: 'network'}, false, 0, {retry: true, waitMs: 250}],
      ['etag-less PUT: EAI_AGAIN is replayed', {code: 'EAI_AGAIN', kind: 'network'}, false, 0, {retry: true, waitMs: 250}],
      ['no retries left', s503, true, 4, {reason: 'exhausted', retry: false, transient: true}],
    ]
    for (const [title, failure, replayable, attempt, expected] of table) {
      it(title, () => {
        expect(decideRetry({
          attempt, failure, now: NOW, random: half, replayable, settings: DEFAULT_RETRY,
        })).to.deep.equal(expected)
      })
    }

    it('keeps waits within [0, min(cap, base * 2^attempt))', () => {
      const settings = {
        ...DEFAULT_RETRY, backoffBaseMs: 1000, backoffMaxMs: 2500, maxRetries: 10,
      }
      const waits = [0, 1, 2, 3].map(attempt => decideRetry({
        attempt, failure: {kind: 'status', status: 500}, now: NOW, random: () => 0.999_999, replayable: true, settings,
      }))
      expect(waits).to.deep.equal([999, 1999, 2499, 2499].map(waitMs => ({retry: true, waitMs})))
      const zero = decideRetry({
        attempt: 3, failure: {kind: 'timeout'}, now: NOW, random: () => 0, replayable: true, settings,
      })
      expect(zero).to.deep.equal({retry: true, waitMs: 0})
    })

    it('does not wait past the deadline', () => {
      const failure: AttemptFailure = {kind: 'status', retryAfterMs: 20_000, status: 503}
      expect(decideRetry({
        attempt: 0, deadline: NOW + 5000, failure, now: NOW, random: half, replayable: true, settings: DEFAULT_RETRY,
      })).to.deep.equal({reason: 'deadline', retry: false, transient: true})
      expect(decideRetry({
        attempt: 0, deadline: NOW + 30_000, failure, now: NOW, random: half, replayable: true, settings: DEFAULT_RETRY,
      })).to.deep.equal({retry: true, waitMs: 20_000})
    })

    it('draws jitter only when it computes a backoff', () => {
      let draws = 0
      const random = (): number => {
        draws++
        return 0.5
      }

      decideRetry({
        attempt: 0, failure: {kind: 'status', retryAfterMs: 1, status: 429}, now: NOW, random, replayable: true, settings: DEFAULT_RETRY,
      })
      decideRetry({
        attempt: 0, failure: {kind: 'status', status: 404}, now: NOW, random, replayable: true, settings: DEFAULT_RETRY,
      })
      expect(draws).to.equal(0)
    })

    it('a negative maxRetries means no retries', () => {
      expect(decideRetry({
        attempt: 0, failure: {kind: 'timeout'}, now: NOW, random: half, replayable: true, settings: {...DEFAULT_RETRY, maxRetries: -1},
      })).to.deep.equal({reason: 'exhausted', retry: false, transient: true})
    })
  })

  it('isTransient', () => {
    const table: [AttemptFailure, boolean][] = [
      [{kind: 'status', status: 429}, true],
      [{kind: 'status', status: 500}, true],
      [{kind: 'status', status: 501}, false],
      [{kind: 'status', status: 502}, true],
      [{kind: 'status', status: 503}, true],
      [{kind: 'status', status: 504}, true],
      [{kind: 'status', status: 400}, false],
      [{code: 'ECONNRESET', kind: 'network'}, true],
      [{kind: 'timeout'}, true],
      [{kind: 'final'}, false],
    ]
    for (const [failure, expected] of table) expect(isTransient(failure), JSON.stringify(failure)).to.equal(expected)
  })

  it('conflictWait: full jitter from 100 ms, doubling to 2 s', () => {
    expect([1, 2, 3, 4, 5, 6].map(attempt => conflictWait(attempt, DEFAULT_RETRY, () => 0.999))).to.deep.equal([99, 199, 399, 799, 1598, 1998])
    expect(conflictWait(0, DEFAULT_RETRY, () => 0.5)).to.equal(50)
  })

  it('parseRetryAfter: seconds, an HTTP date, or nothing', () => {
    const table: [string | string[] | undefined, number | undefined][] = [
      ['7', 7000],
      ['1.5', 1500],
      [' 3 ', 3000],
      [['2', '9'], 2000],
      ['Thu, 01 Jan 2026 00:00:09 GMT', 9000],
      ['Wed, 31 Dec 2025 23:59:00 GMT', 0],
      ['soon', undefined],
      ['', undefined],
      [undefined, undefined],
    ]
    for (const [value, expected] of table) expect(parseRetryAfter(value, NOW), JSON.stringify(value)).to.equal(expected)
  })
})
