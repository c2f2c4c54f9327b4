// The sandbox's Binary Authorization API as tests use it: policies per project, the permission model, the request
// log, reset(), and every targeted fault (binauthzFaults) with its count.
import {expect} from 'chai'
import {readFileSync, rmSync} from 'node:fs'
import {setTimeout as sleep} from 'node:timers/promises'

import {normalizeFaultRule, normalizeFaults} from '../../src/sandbox/faults.js'
import {type Sandbox, startSandbox, STATE_FILES} from '../../src/sandbox/index.js'
import {rejectionOf} from '../helpers/assert.js'
import {tempDir} from '../helpers/tmp.js'
import {at, call} from './client.js'

const TOKEN = 'binauthz-sandbox-test-token-0042'
const OWN = 'own-proj'
const DOMAIN = 'example.com:p'

function policy(project: string, patterns: string[] = []): Record<string, unknown> {
  return {
    admissionWhitelistPatterns: patterns.map(namePattern => ({namePattern})),
    defaultAdmissionRule: {enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG', evaluationMode: 'ALWAYS_DENY'},
    globalPolicyEvaluationMode: 'ENABLE',
    name: `projects/${project}/policy`,
  }
}

function path(project: string, suffix = ''): string {
  return `/v1/projects/${project}/policy${suffix}`
}

describe('sandbox Binary Authorization API', () => {
  let dir: string
  let sandbox: Sandbox

  beforeEach(async () => {
    dir = tempDir('binauthz-sandbox-')
    sandbox = await startSandbox({
      policies: {[DOMAIN]: policy(DOMAIN, ['gcr.io/domain/**'])}, policy: policy(OWN), project: OWN, stateDir: dir, token: TOKEN,
    })
  })

  afterEach(async () => {
    await sandbox.stop()
    rmSync(dir, {force: true, recursive: true})
  })

  describe('projects, etags and the request log', () => {
    it('serves its own project and every seeded one (percent-decoded), and refuses others with 403', async () => {
      expect(sandbox.token).to.equal(TOKEN)
      const own = await call(sandbox, {path: path(OWN)})
      expect(at(own.json, 'name')).to.equal(`projects/${OWN}/policy`)
      const plain = await call(sandbox, {path: path(DOMAIN)})
      const encoded = await call(sandbox, {path: path('example.com%3Ap')})
      expect(plain.status).to.equal(200)
      expect(encoded.json).to.deep.equal(plain.json)
      expect(at(plain.json, 'admissionWhitelistPatterns.0.namePattern')).to.equal('gcr.io/domain/**')
      expect((await call(sandbox, {path: path('nobody')})).status).to.equal(403)
      expect(sandbox.requests().map(r => r.project)).to.deep.equal([OWN, DOMAIN, DOMAIN, 'nobody'])
    })

    it('gives every write a new etag (also a seed of the same content), refuses stale etags and foreign names', async () => {
      const first = sandbox.policy(DOMAIN)
      sandbox.setPolicy(DOMAIN, policy(DOMAIN, ['gcr.io/domain/**']))
      const second = sandbox.policy(DOMAIN)
      expect(second.etag).to.be.a('string').and.not.equal(first.etag)
      const stale = await call(sandbox, {body: {...first, description: 'x'}, method: 'PUT', path: path(DOMAIN)})
      expect(stale.status).to.equal(409)
      expect(at(stale.json, 'error.status')).to.equal('ABORTED')
      const wrongName = await call(sandbox, {body: {...second, name: 'projects/other/policy'}, method: 'PUT', path: path(DOMAIN)})
      expect(wrongName.status).to.equal(400)
      const ok = await call(sandbox, {body: {...second, description: 'd'}, method: 'PUT', path: path(DOMAIN)})
      expect(ok.status).to.equal(200)
      expect(at(ok.json, 'etag')).not.to.equal(second.etag)
      expect(sandbox.policy(DOMAIN).description).to.equal('d')
      expect(sandbox.writes()).to.equal(1)
      expect(sandbox.writes(DOMAIN)).to.equal(1)
      expect(sandbox.writes(OWN)).to.equal(0)
      sandbox.setPolicy(OWN, {...policy(OWN), etag: 'given/etag'})
      expect(sandbox.policy(OWN).etag).to.equal('given/etag')
    })

    it('logs op, project, allowlisted headers, the body and whether the sandbox token was sent, never a credential', async () => {
      await call(sandbox, {headers: {'user-agent': 'ua/1', 'x-goog-user-project': 'billing', 'x-secret': 's3cr3t'}, path: path(OWN)})
      await call(sandbox, {body: {permissions: ['binaryauthorization.policy.get']}, method: 'POST', path: path(OWN, ':testIamPermissions')})
      await call(sandbox, {path: path(OWN), token: 'wrong-token-0123'})
      await call(sandbox, {path: path(OWN), token: null})
      const [get, iam, wrong, none] = sandbox.requests()
      expect(get).to.deep.include({
        api: 'binaryauthorization', auth: 'sandbox-token', method: 'GET', op: 'getPolicy', path: path(OWN), project: OWN, query: '', status: 200,
      })
      expect(get?.headers).to.deep.include({'user-agent': 'ua/1', 'x-goog-user-project': 'billing'})
      expect(get?.headers).not.to.have.property('x-secret')
      expect(get?.headers).not.to.have.property('authorization')
      expect(iam?.op).to.equal('testIamPermissions')
      expect(JSON.parse(iam?.body ?? '{}')).to.deep.equal({permissions: ['binaryauthorization.policy.get']})
      expect(iam?.headers?.['content-type']).to.equal('application/json')
      expect(wrong).to.deep.include({auth: 'other', status: 401})
      expect(wrong?.authFingerprint).to.match(/^[\da-f]{12}$/)
      expect(none).to.deep.include({auth: 'none', status: 401})
      const log = readFileSync(sandbox.state.file(STATE_FILES.requests), 'utf8')
      for (const secret of [TOKEN, 'wrong-token-0123', 's3cr3t']) expect(log).not.to.contain(secret)
    })
  })

  describe('permissions', () => {
    it('testIamPermissions answers requested ∩ granted, minus denied; GET and PUT need theirs', async () => {
      const all = ['binaryauthorization.policy.get', 'binaryauthorization.policy.update', 'other.permission']
      const ask = async (): Promise<unknown> => (await call(sandbox, {body: {permissions: all}, method: 'POST', path: path(DOMAIN, ':testIamPermissions')})).json
      expect(await ask()).to.deep.equal({permissions: all.slice(0, 2)})
      sandbox.setFaults({deniedPermissions: ['binaryauthorization.policy.update']})
      expect(await ask()).to.deep.equal({permissions: ['binaryauthorization.policy.get']})
      const put = await call(sandbox, {body: sandbox.policy(DOMAIN), method: 'PUT', path: path(DOMAIN)})
      expect(put.status).to.equal(403)
      expect(at(put.json, 'error.details.0.reason')).to.equal('IAM_PERMISSION_DENIED')
      sandbox.setFaults({deniedPermissions: [], grantedPermissions: ['binaryauthorization.policy.update', 'other.permission']})
      expect(await ask()).to.deep.equal({permissions: ['binaryauthorization.policy.update', 'other.permission']})
      expect((await call(sandbox, {path: path(DOMAIN)})).status).to.equal(403)
      sandbox.setFaults({grantedPermissions: []})
      expect(await ask()).to.deep.equal({})
    })

    it('reset() empties the log, drops every knob (so grants everything again) and seeds policies', async () => {
      sandbox.setFaults({grantedPermissions: []})
      sandbox.fault({status: 503, times: 5})
      expect((await call(sandbox, {path: path(OWN)})).status).to.equal(503)
      sandbox.reset({policies: {[OWN]: {...policy(OWN), description: 'after reset'}}})
      expect(sandbox.requests()).to.deep.equal([])
      expect(normalizeFaults(sandbox.state.readJson(STATE_FILES.faults, {})).binauthzFaults).to.deep.equal([])
      const got = await call(sandbox, {path: path(OWN)})
      expect(got.status).to.equal(200)
      expect(at(got.json, 'description')).to.equal('after reset')
      expect(sandbox.policy(DOMAIN).admissionWhitelistPatterns?.[0]?.namePattern).to.equal('gcr.io/domain/**')
    })
  })

  describe('targeted faults', () => {
    it('matches method, op and project, counts `times` down in faults.json, and keeps "always" rules', async () => {
      sandbox.fault({
        method: 'GET', reason: 'SERVICE_DISABLED', retryAfter: '3', status: 403, times: 2,
      })
      sandbox.fault({op: 'testIamPermissions', project: DOMAIN, status: 500})
      sandbox.fault({op: 'updatePolicy', status: 429, times: Number.POSITIVE_INFINITY})
      const first = await call(sandbox, {path: path(OWN)})
      expect(first.status).to.equal(403)
      expect(first.headers['retry-after']).to.equal('3')
      expect(at(first.json, 'error.status')).to.equal('PERMISSION_DENIED')
      expect(at(first.json, 'error.details.0.reason')).to.equal('SERVICE_DISABLED')
      expect(at(first.json, 'error.details.0.@type')).to.equal('type.googleapis.com/google.rpc.ErrorInfo')
      const rules = (): unknown => sandbox.state.readJson<{binauthzFaults?: unknown[]}>(STATE_FILES.faults, {}).binauthzFaults
      expect((rules() as {times: number}[])[0]?.times).to.equal(1)
      expect((await call(sandbox, {body: {permissions: []}, method: 'POST', path: path(OWN, ':testIamPermissions')})).status).to.equal(200)
      expect((await call(sandbox, {body: {permissions: []}, method: 'POST', path: path(DOMAIN, ':testIamPermissions')})).status).to.equal(500)
      expect((await call(sandbox, {path: path(OWN)})).status).to.equal(403)
      expect((await call(sandbox, {path: path(OWN)})).status).to.equal(200)
      for (let i = 0; i < 3; i++) expect((await call(sandbox, {body: sandbox.policy(OWN), method: 'PUT', path: path(OWN)})).status).to.equal(429)
      expect(rules()).to.deep.equal([{
        kind: 'status', op: 'updatePolicy', status: 429, times: 'always',
      }])
      expect(sandbox.requests().map(r => r.fault ?? '-')).to.deep.equal(['status', '-', 'status', 'status', '-', 'status', 'status', 'status'])
      sandbox.clearFaults()
      expect((await call(sandbox, {body: sandbox.policy(OWN), method: 'PUT', path: path(OWN)})).status).to.equal(200)
    })

    it('answers wrong bodies: html, raw, truncated, huge, not-policy, missing-etag, foreign-policy', async () => {
      sandbox.fault({kind: 'html'})
      const html = await call(sandbox, {path: path(OWN)})
      expect(html.headers['content-type']).to.match(/^text\/html/)
      expect(html.text).to.contain('<html>')
      sandbox.fault({
        body: '<p>Bad Gateway</p>', headers: {'content-type': 'text/html'}, kind: 'raw', status: 502,
      })
      expect(await call(sandbox, {path: path(OWN)})).to.deep.include({status: 502, text: '<p>Bad Gateway</p>'})
      sandbox.fault({kind: 'truncated'})
      const truncated = await call(sandbox, {path: path(OWN)})
      expect(truncated.status).to.equal(200)
      expect(truncated.headers['content-type']).to.match(/^application\/json/)
      expect(truncated.json).to.equal(undefined)
      expect(JSON.stringify(sandbox.policy(OWN)).startsWith(truncated.text)).to.equal(true)
      sandbox.fault({bytes: 100_000, kind: 'huge'})
      const huge = await call(sandbox, {path: path(OWN)})
      expect(Buffer.byteLength(huge.text)).to.equal(100_000)
      expect(at(huge.json, 'name')).to.equal(`projects/${OWN}/policy`)
      sandbox.fault({kind: 'not-policy'})
      expect((await call(sandbox, {path: path(OWN)})).json).to.deep.equal({})
      sandbox.fault({kind: 'missing-etag'})
      const noEtag = await call(sandbox, {path: path(OWN)})
      expect(at(noEtag.json, 'name')).to.equal(`projects/${OWN}/policy`)
      expect(at(noEtag.json, 'etag')).to.equal(undefined)
      sandbox.fault({foreignProject: 'someone-else', kind: 'foreign-policy'})
      expect(at((await call(sandbox, {path: path(OWN)})).json, 'name')).to.equal('projects/someone-else/policy')
    })

    it('concurrent-write: another writer appends an entry (new etag) just before our PUT, which then conflicts', async () => {
      const before = sandbox.policy(DOMAIN)
      sandbox.fault({kind: 'concurrent-write', method: 'PUT', namePattern: 'gcr.io/racer/**'})
      const put = await call(sandbox, {body: {...before, description: 'mine'}, method: 'PUT', path: path(DOMAIN)})
      expect(put.status).to.equal(409)
      const after = sandbox.policy(DOMAIN)
      expect(after.etag).not.to.equal(before.etag)
      expect(after.admissionWhitelistPatterns?.map(p => p.namePattern)).to.deep.equal(['gcr.io/domain/**', 'gcr.io/racer/**'])
      expect(after.description).to.equal(undefined)
      expect(sandbox.writes()).to.equal(0)
    })

    it('reset and lost-response destroy the connection; a lost PUT was applied', async () => {
      sandbox.fault({kind: 'reset'})
      expect(await rejectionOf(call(sandbox, {path: path(OWN)}))).to.be.instanceOf(Error)
      const before = sandbox.policy(OWN)
      sandbox.fault({kind: 'lost-response', method: 'PUT'})
      expect(await rejectionOf(call(sandbox, {body: {...before, description: 'applied'}, method: 'PUT', path: path(OWN)}))).to.be.instanceOf(Error)
      expect(sandbox.policy(OWN).description).to.equal('applied')
      expect(sandbox.writes()).to.equal(1)
      expect(sandbox.requests().map(r => [r.fault, r.status])).to.deep.equal([['reset', 0], ['lost-response', 200]])
    })

    it('slow: the answer is decided and logged at once, held for delayMs, and stop() does not wait for it', async () => {
      sandbox.fault({delayMs: 150, kind: 'slow'})
      const started = Date.now()
      expect((await call(sandbox, {path: path(OWN)})).status).to.equal(200)
      expect(Date.now() - started).to.be.at.least(140)
      sandbox.fault({delayMs: 60_000, kind: 'slow'})
      const pending = call(sandbox, {path: path(OWN)}).catch((error: unknown) => error)
      for (let i = 0; i < 400 && sandbox.requests().length < 2; i++) await sleep(5)
      expect(sandbox.requests().map(r => r.delayMs)).to.deep.equal([150, 60_000])
      await sandbox.stop()
      expect(await pending).to.be.instanceOf(Error)
    })

    it('reads rules from untrusted JSON: unknown kinds and used-up rules are dropped', () => {
      expect(normalizeFaultRule({kind: 'explode'})).to.deep.equal([])
      expect(normalizeFaultRule({status: 503, times: 0})).to.deep.equal([])
      expect(normalizeFaultRule({op: 'other', status: 503})).to.deep.equal([])
      expect(normalizeFaultRule('x')).to.deep.equal([])
      expect(normalizeFaultRule({method: 'put', status: 503, times: 'always'})).to.deep.equal([{
        kind: 'status', method: 'PUT', status: 503, times: 'always',
      }])
      expect(normalizeFaults({binauthzFaults: [{kind: 'reset'}, 7]}).binauthzFaults).to.deep.equal([{kind: 'reset', times: 1}])
    })
  })
})
