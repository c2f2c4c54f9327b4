import {expect} from 'chai'
import {rmSync} from 'node:fs'
import {join} from 'node:path'

import type {Policy} from '../../src/policy/types.js'

import {type ApplyOptions, applyPolicyChange} from '../../src/app/policy-change.js'
import {
  ExternalError, InterruptedError, Secrets, UserError,
} from '../../src/errors.js'
import {BinauthzClient, type ClientOptions, type RetryOptions} from '../../src/google/binauthz-client.js'
import {planAllow, planRevoke} from '../../src/policy/plan.js'
import {listPolicyBackups, readPolicyBackupRecord, savePolicyBackup} from '../../src/store/backups.js'
import {rejectionOf} from '../helpers/assert.js'
import {startTestSandbox, type TestSandbox} from '../helpers/sandbox.js'
import {tempDir} from '../helpers/tmp.js'
import {TEST_USER_AGENT} from '../helpers/user-agent.js'

const TOKEN = 'planted-Token-0b5e77a1-transaction'
const PROJECT = 'my-proj'
const PATTERN = 'us-central1-docker.pkg.dev/my-proj/cloud-run-source-deploy/**'
const EXISTING = 'gcr.io/google_containers/*'

/** A policy full of fields this tool does not know, in a deliberate order, including nested unknowns. */
function richPolicy(): Policy {
  return {
    admissionWhitelistPatterns: [{futureEntryField: {a: [1, 2.5, null, true]}, namePattern: EXISTING}],
    clusterAdmissionRules: {
      'us-central1-a.prod': {
        enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG',
        evaluationMode: 'REQUIRE_ATTESTATION',
        futureRuleField: 'x',
        requireAttestationsBy: ['projects/my-proj/attestors/built-by-ci'],
      },
    },
    defaultAdmissionRule: {
      enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG',
      evaluationMode: 'ALWAYS_DENY',
      requireAttestationsBy: [],
    },
    description: 'Managed by hand — ünïcödé ✓',
    emptyList: [],
    emptyObject: {},
    globalPolicyEvaluationMode: 'ENABLE',
    name: `projects/${PROJECT}/policy`,
    someFutureTopLevelField: {big: 12_345_678_901_234, nested: {deeper: ['keep', {me: 'exactly'}]}},
  }
}

function withoutVolatile(policy: Policy): Record<string, unknown> {
  const {admissionWhitelistPatterns: _a, etag: _e, updateTime: _u, ...rest} = policy
  return rest
}

function allow(extra: Partial<ApplyOptions> = {}): ApplyOptions {
  return {
    mode: 'write', plan: policy => planAllow(policy, [PATTERN]), project: PROJECT, ...extra,
  }
}

describe('binauthz transaction', () => {
  let server: TestSandbox
  let client: BinauthzClient
  let waits: number[]

  before(async () => {
    server = await startTestSandbox({project: PROJECT, token: TOKEN})
  })

  after(async () => {
    client.close()
    await server.stop()
  })

  beforeEach(() => {
    server.reset({policies: {[PROJECT]: richPolicy()}})
    client?.close()
    client = makeClient()
  })

  function makeClient(retry: RetryOptions = {}, extra: Partial<ClientOptions> = {}): BinauthzClient {
    waits = []
    return new BinauthzClient({
      endpoint: server.endpoint,
      retry: {
        async sleep(ms) {
          waits.push(ms)
        },
        ...retry,
      },
      secrets: new Secrets(),
      tokens: {getToken: async () => TOKEN}, userAgent: TEST_USER_AGENT,
      ...extra,
    })
  }

  it('an interrupt while the write is on the wire: says it may have landed and names the backup to restore', async () => {
    const controller = new AbortController()
    const interruptible = makeClient({}, {signal: controller.signal})
    server.fault({delayMs: 10_000, kind: 'slow', op: 'updatePolicy'})
    const poll = setInterval(() => {
      if (server.requests('updatePolicy').length > 0) controller.abort()
    }, 10)
    try {
      const error = await rejectionOf(applyPolicyChange(interruptible, allow({backup: async () => '/tmp/before.json', confirm: async () => true})))
      expect(error).to.be.instanceOf(InterruptedError)
      const interrupted = error as InterruptedError
      expect(interrupted.exitCode).to.equal(130)
      expect(interrupted.message).to.contain('may have landed').and.contain('saved in /tmp/before.json')
      expect(interrupted.suggestions).to.include('To put it back: binauthz policy restore --file /tmp/before.json')
    } finally {
      clearInterval(poll)
      interruptible.close()
    }
  })

  it('reads, checks permission, backs up, writes with the etag read, and reports it', async () => {
    const events: string[] = []
    const backedUp: Policy[] = []
    const etagBefore = server.policy(PROJECT).etag
    const result = await applyPolicyChange(
      client,
      allow({
        async backup(policy) {
          backedUp.push(policy)
          return '/tmp/backup.json'
        },
        confirm: async () => true,
        onAttempt: event => events.push(`${event.kind}#${event.attempt}`),
      }),
    )
    expect(result.written).to.equal(true)
    expect(result.declined).to.equal(false)
    expect(result.attempts).to.equal(1)
    expect(result.permission).to.deep.equal({get: true, update: true})
    expect(result.etagBefore).to.equal(etagBefore)
    expect(result.etagAfter).to.equal(server.policy(PROJECT).etag)
    expect(result.etagAfter).not.to.equal(etagBefore)
    expect(result.backupFile).to.equal('/tmp/backup.json')
    expect(result.plan.added).to.deep.equal([PATTERN])
    expect(events).to.deep.equal(['read#1', 'write#1'])
    expect(backedUp).to.have.length(1)
    expect(backedUp[0]?.etag).to.equal(etagBefore)
    expect(server.requests().map(r => r.op)).to.deep.equal(['getPolicy', 'testIamPermissions', 'updatePolicy'])
    expect(JSON.parse(server.requests('updatePolicy')[0]?.body ?? '{}').etag).to.equal(etagBefore)
    expect(server.policy(PROJECT).admissionWhitelistPatterns?.map(p => p.namePattern)).to.deep.equal([EXISTING, PATTERN])
  })

  it('preserves every other field byte-for-byte through a write', async () => {
    const original = server.policy(PROJECT)
    await applyPolicyChange(client, allow())
    const put = JSON.parse(server.requests('updatePolicy')[0]?.body ?? '{}') as Policy
    // The PUT body equals the policy as read (same key order, same values), plus one appended entry.
    expect(JSON.stringify(withoutVolatile(put))).to.equal(JSON.stringify(withoutVolatile(original)))
    expect(JSON.stringify(put.admissionWhitelistPatterns)).to.equal(JSON.stringify([...(original.admissionWhitelistPatterns ?? []), {namePattern: PATTERN}]))
    expect(Object.keys(put)).to.deep.equal(Object.keys(original))
    const stored = server.policy(PROJECT)
    expect(JSON.stringify(withoutVolatile(stored))).to.equal(JSON.stringify(withoutVolatile(original)))
  })

  it('does nothing (no IAM call, no write, no confirm, no backup) when nothing needs to change', async () => {
    let asked = 0
    const result = await applyPolicyChange(
      client,
      {
        async backup() {
          asked++
          return 'x'
        },
        async confirm() {
          asked++
          return true
        },
        mode: 'write',
        plan: policy => planAllow(policy, [EXISTING]),
        project: PROJECT,
      },
    )
    expect(result.written).to.equal(false)
    expect(result.plan.changed).to.equal(false)
    expect(result.permission).to.equal(undefined)
    expect(asked).to.equal(0)
    expect(server.requests().map(r => r.op)).to.deep.equal(['getPolicy'])
  })

  it('re-reads and re-plans after a 409 conflict, then succeeds with both changes kept', async () => {
    const events: string[] = []
    let confirmations = 0
    server.fault({kind: 'concurrent-write', method: 'PUT', namePattern: 'europe-docker.pkg.dev/other/repo/**'})
    const result = await applyPolicyChange(
      client,
      allow({
        async confirm() {
          confirmations++
          return true
        },
        onAttempt: event => events.push(`${event.kind}#${event.attempt}`),
      }),
    )
    expect(result.written).to.equal(true)
    expect(result.attempts).to.equal(2)
    expect(events).to.deep.equal(['read#1', 'write#1', 'conflict#1', 'read#2', 'write#2'])
    expect(confirmations).to.equal(1)
    expect(server.requests().map(r => r.op)).to.deep.equal([
      'getPolicy',
      'testIamPermissions',
      'updatePolicy',
      'getPolicy',
      'updatePolicy',
    ])
    const puts = server.requests('updatePolicy').map(r => JSON.parse(r.body ?? '{}') as Policy)
    expect(puts[1]?.etag).not.to.equal(puts[0]?.etag)
    expect(server.policy(PROJECT).admissionWhitelistPatterns?.map(p => p.namePattern)).to.deep.equal([
      EXISTING,
      'europe-docker.pkg.dev/other/repo/**',
      PATTERN,
    ])
  })

  it('stops re-planning when the concurrent writer already added the pattern', async () => {
    server.fault({kind: 'concurrent-write', method: 'PUT', namePattern: PATTERN})
    const result = await applyPolicyChange(client, allow())
    expect(result.written).to.equal(false)
    expect(result.attempts).to.equal(2)
    expect(result.plan.changed).to.equal(false)
    expect(server.requests('updatePolicy')).to.have.length(1)
  })

  it('treats a replayed PUT whose first attempt was applied as done (conflict, re-read, nothing to change)', async () => {
    server.fault({kind: 'lost-response', method: 'PUT'})
    const result = await applyPolicyChange(client, allow())
    expect(result.plan.changed).to.equal(false)
    expect(server.writes()).to.be.greaterThan(0)
    expect(server.policy(PROJECT).admissionWhitelistPatterns?.map(p => p.namePattern)).to.deep.equal([EXISTING, PATTERN])
  })

  it('gives up with exit code 4 after maxAttempts conflicts', async () => {
    server.fault({kind: 'concurrent-write', method: 'PUT', times: Infinity})
    const error = await rejectionOf(applyPolicyChange(client, allow({maxAttempts: 3})))
    expect(error).to.be.instanceOf(ExternalError)
    const e = error as ExternalError
    expect(e.code).to.equal('POLICY_CONFLICT')
    expect(e.exitCode).to.equal(4)
    expect(e.message).to.contain('3 times')
    expect(e.suggestions.join('\n')).to.match(/again/)
    expect(server.requests('updatePolicy')).to.have.length(3)
    expect(server.requests('getPolicy')).to.have.length(3)
    expect(server.requests('testIamPermissions')).to.have.length(1)
  })

  it('defaults to 25 attempts, with jittered backoff between them', async () => {
    server.fault({kind: 'concurrent-write', method: 'PUT', times: Infinity})
    client = makeClient({random: () => 0.5})
    const error = (await rejectionOf(applyPolicyChange(client, allow()))) as ExternalError
    expect(error.exitCode).to.equal(4)
    expect(error.message).to.contain('25 times')
    expect(server.requests('updatePolicy')).to.have.length(25)
    // Full jitter (random 0.5 here) under a ceiling doubling from 100 ms, capped at 2000 ms; no wait after the last.
    expect(waits).to.deep.equal([50, 100, 200, 400, 800, ...Array.from({length: 19}, () => 1000)])
  })

  it('refuses without the update permission: exit 3 with the admin hand-off, and no write', async () => {
    server.setFaults({deniedPermissions: ['binaryauthorization.policy.update']})
    let backups = 0
    const error = await rejectionOf(applyPolicyChange(
      client,
      allow({
        async backup(): Promise<undefined> {
          backups++
        },
      }),
    ))
    expect(error).to.be.instanceOf(UserError)
    const e = error as UserError
    expect(e.code).to.equal('POLICY_UPDATE_DENIED')
    expect(e.exitCode).to.equal(3)
    expect(e.message).to.contain(PATTERN)
    expect(e.message).to.contain('gcloud container binauthz policy')
    expect(e.message).to.contain('binaryauthorization.policy.update')
    expect(backups).to.equal(0)
    expect(server.requests('updatePolicy')).to.have.length(0)
  })

  it('turns a 403 on the PUT (testIamPermissions failed open) into the same permission error', async () => {
    server.fault({message: 'Permission binaryauthorization.policy.update denied (VPC-SC).', method: 'PUT', status: 403})
    const error = (await rejectionOf(applyPolicyChange(client, allow()))) as UserError
    expect(error).to.be.instanceOf(UserError)
    expect(error.code).to.equal('POLICY_UPDATE_DENIED')
    expect(error.exitCode).to.equal(3)
    expect(error.message).to.contain(PATTERN)
    expect(server.requests('updatePolicy')).to.have.length(1)
  })

  it('explains a revoke without permission without pretending to allowlist', async () => {
    server.setFaults({deniedPermissions: ['binaryauthorization.policy.update']})
    const error = (await rejectionOf(applyPolicyChange(client, {mode: 'write', plan: policy => planRevoke(policy, [EXISTING]), project: PROJECT}))) as UserError
    expect(error.code).to.equal('POLICY_UPDATE_DENIED')
    expect(error.message).to.contain('cannot remove')
    expect(error.message).not.to.contain('cannot allowlist')
    expect(error.message).to.contain(EXISTING)

    const other = (await rejectionOf(applyPolicyChange(client, {
      mode: 'write',
      plan: policy => ({...planAllow(policy, []), after: {...policy, description: 'new'}, changed: true}),
      project: PROJECT,
    }))) as UserError
    expect(other.code).to.equal('POLICY_UPDATE_DENIED')
    expect(other.message).to.contain('cannot change it')
    expect(other.message).to.contain('gcloud container binauthz policy import')
  })

  it('revokes an entry with the same read-modify-write', async () => {
    const result = await applyPolicyChange(client, {mode: 'write', plan: policy => planRevoke(policy, [EXISTING]), project: PROJECT})
    expect(result.written).to.equal(true)
    expect(result.plan.removed).to.deep.equal([EXISTING])
    expect(server.policy(PROJECT).admissionWhitelistPatterns ?? []).to.deep.equal([])
    expect(server.policy(PROJECT).someFutureTopLevelField).to.deep.equal(richPolicy().someFutureTopLevelField)
  })

  it('writes nothing when the confirmation is declined', async () => {
    let backups = 0
    const result = await applyPolicyChange(
      client,
      allow({
        async backup(): Promise<undefined> {
          backups++
        },
        confirm: async () => false,
      }),
    )
    expect(result.declined).to.equal(true)
    expect(result.written).to.equal(false)
    expect(backups).to.equal(0)
    expect(server.requests('updatePolicy')).to.have.length(0)
  })

  it('dry-run reports the plan and whether a write would be allowed, and never writes', async () => {
    let asked = 0
    const confirm = async (): Promise<boolean> => {
      asked++
      return true
    }

    const full = await applyPolicyChange(client, allow({confirm, mode: 'dry-run'}))
    expect(full.written).to.equal(false)
    expect(full.plan.added).to.deep.equal([PATTERN])
    expect(full.permission).to.deep.equal({get: true, update: true})

    server.setFaults({deniedPermissions: ['binaryauthorization.policy.update']})
    const limited = await applyPolicyChange(client, allow({confirm, mode: 'dry-run'}))
    expect(limited.permission).to.deep.equal({get: true, update: false})
    expect(asked).to.equal(0)
    expect(server.requests('updatePolicy')).to.have.length(0)
  })

  it('dry-run tolerates a failing permission check', async () => {
    client.close()
    client = makeClient({maxRetries: 0})
    server.fault({op: 'testIamPermissions', status: 500, times: Infinity})
    const result = await applyPolicyChange(client, allow({mode: 'dry-run'}))
    expect(result.permission).to.equal(undefined)
    expect(result.written).to.equal(false)
  })

  it('no-patch never calls IAM and never writes', async () => {
    const result = await applyPolicyChange(client, allow({mode: 'no-patch'}))
    expect(result.written).to.equal(false)
    expect(result.plan.added).to.deep.equal([PATTERN])
    expect(result.permission).to.equal(undefined)
    expect(server.requests().map(r => r.op)).to.deep.equal(['getPolicy'])
  })

  it('propagates read failures (e.g. 404) unchanged', async () => {
    server.fault({status: 404})
    const error = (await rejectionOf(applyPolicyChange(client, allow()))) as ExternalError
    expect(error.code).to.equal('NOT_FOUND')
    expect(error.exitCode).to.equal(5)
    expect(server.requests('updatePolicy')).to.have.length(0)
  })

  it('writes a real backup of the replaced policy that reads back identically', async () => {
    const dir = tempDir('binauthz-tx-')
    try {
      const env = {BINAUTHZ_DATA_DIR: join(dir, 'data')}
      const before = server.policy(PROJECT)
      const result = await applyPolicyChange(client, allow({backup: policy => savePolicyBackup(env, PROJECT, policy)}))
      expect(result.backupFile).to.be.a('string')
      const restored = (await readPolicyBackupRecord(result.backupFile as string)).policy
      expect(JSON.stringify(restored)).to.equal(JSON.stringify(before))
      const list = await listPolicyBackups(env, PROJECT)
      expect(list.map(e => e.etag)).to.deep.equal([before.etag])
    } finally {
      rmSync(dir, {force: true, recursive: true})
    }
  })

  it('respects the client deadline across conflict rounds', async () => {
    client.close()
    client = makeClient({}, {deadline: Date.now() - 1})
    const error = (await rejectionOf(applyPolicyChange(client, allow()))) as ExternalError
    expect(error.code).to.equal('DEADLINE_EXCEEDED')
    expect(server.requests()).to.have.length(0)
  })

  it('never leaks the token through transaction errors', async () => {
    server.setFaults({deniedPermissions: ['binaryauthorization.policy.update']})
    const denied = (await rejectionOf(applyPolicyChange(client, allow()))) as UserError
    server.setFaults({deniedPermissions: []})
    server.fault({kind: 'concurrent-write', method: 'PUT', times: Infinity})
    const conflict = (await rejectionOf(applyPolicyChange(client, allow({maxAttempts: 2})))) as ExternalError
    for (const error of [denied, conflict]) {
      expect(`${error.message}\n${error.suggestions.join('\n')}\n${String(error.cause)}`).not.to.contain(TOKEN)
    }
  })

  it('no blind write: a read without an etag is refused (POLICY_WITHOUT_ETAG, exit 5) before the backup and the write', async () => {
    server.fault({kind: 'missing-etag', op: 'getPolicy'})
    let backups = 0
    const error = (await rejectionOf(applyPolicyChange(client, allow({
      async backup() {
        backups++
        return '/tmp/x.json'
      },
      confirm: async () => true,
    })))) as ExternalError
    expect(error).to.be.instanceOf(ExternalError)
    expect(error.code).to.equal('POLICY_WITHOUT_ETAG')
    expect(error.exitCode).to.equal(5)
    expect(error.message).to.include('without an etag').and.include('Nothing was changed')
    expect(backups).to.equal(0)
    expect(server.requests('updatePolicy')).to.have.length(0)
    expect(server.policy(PROJECT).admissionWhitelistPatterns?.map(p => p.namePattern)).to.deep.equal([EXISTING])
  })

  it('a read without an etag that needs no change is fine (nothing is written)', async () => {
    server.reset({policies: {[PROJECT]: {...richPolicy(), admissionWhitelistPatterns: [{namePattern: PATTERN}]}}})
    server.fault({kind: 'missing-etag', op: 'getPolicy'})
    const result = await applyPolicyChange(client, allow())
    expect(result.written).to.equal(false)
  })
})
