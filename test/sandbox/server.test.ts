import {expect} from 'chai'
import {
  readdirSync, readFileSync, rmSync, statSync, writeFileSync,
} from 'node:fs'
import {join} from 'node:path'

import {
  type Sandbox, SandboxState, startSandbox, STATE_FILES,
} from '../../src/sandbox/index.js'
import {tempDir} from '../helpers/tmp.js'
import {at, call, sandboxToken} from './client.js'

const P = 'sandbox-project'
const POLICY = `/v1/projects/${P}/policy`

function allFiles(dir: string): string[] {
  return readdirSync(dir).flatMap(name => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? allFiles(path) : [path]
  })
}

describe('sandbox server', () => {
  let dir: string
  let sandbox: Sandbox
  let state: SandboxState

  beforeEach(async () => {
    dir = tempDir('binauthz-sandbox-')
    sandbox = await startSandbox({stateDir: dir})
    state = new SandboxState(dir)
  })

  afterEach(async () => {
    await sandbox.stop()
    rmSync(dir, {force: true, recursive: true})
  })

  function setFaults(faults: object): void {
    writeFileSync(join(dir, STATE_FILES.faults), JSON.stringify(faults))
  }

  describe('disabledApis', () => {
    it('answers a disabled API as Google does (403 SERVICE_DISABLED, the service in the ErrorInfo) and hides its state from Service Usage', async () => {
      setFaults({disabledApis: ['artifactregistry.googleapis.com']})
      const repo = await call(sandbox, {path: `/v1/projects/${P}/locations/us-central1/repositories/cloud-run-source-deploy`})
      expect(repo.status).to.equal(403)
      expect(at(repo.json, 'error.status')).to.equal('PERMISSION_DENIED')
      expect(at(repo.json, 'error.message')).to.match(/^Artifact Registry API has not been used in project 123456789012 before or it is disabled\. Enable it by visiting https:\/\/console\.developers\.google\.com\/apis\/api\/artifactregistry\.googleapis\.com\/overview\?project=123456789012 then retry\./)
      expect(at(repo.json, 'error.details.0.reason')).to.equal('SERVICE_DISABLED')
      expect(at(repo.json, 'error.details.0.metadata.service')).to.equal('artifactregistry.googleapis.com')
      const usage = await call(sandbox, {path: `/v1/projects/${P}/services/artifactregistry.googleapis.com`})
      expect(usage.status).to.equal(403)
      // Other APIs, and the state of other services, are untouched.
      expect((await call(sandbox, {path: `/v1/projects/${P}/services/run.googleapis.com`})).status).to.equal(200)
      expect((await call(sandbox, {path: POLICY})).status).to.equal(200)
      expect(state.requests().find(r => r.path.endsWith('/cloud-run-source-deploy'))?.status).to.equal(403)
    })
  })

  describe('authentication and logging', () => {
    it('answers 401 UNAUTHENTICATED without the bearer token, and with a wrong one', async () => {
      const none = await call(sandbox, {path: POLICY, token: null})
      const wrong = await call(sandbox, {path: POLICY, token: 'nope'})
      expect(none.status).to.equal(401)
      expect(at(none.json, 'error.status')).to.equal('UNAUTHENTICATED')
      expect(wrong.status).to.equal(401)
    })

    it('serves the health probe without a token', async () => {
      const res = await call(sandbox, {path: '/__sandbox/health', token: null})
      expect(res.json).to.deep.equal({ok: true, project: P})
    })

    it('records method, host and path of every request and never writes the token anywhere else', async () => {
      await call(sandbox, {path: POLICY})
      await call(sandbox, {path: `/apis/serving.knative.dev/v1/namespaces/${P}/services/x`, via: `us-central1-127.0.0.1:${sandbox.port}`})
      const records = state.requests()
      expect(records.map(r => [r.method, r.host, r.path, r.status])).to.deep.equal([
        ['GET', `127.0.0.1:${sandbox.port}`, POLICY, 200],
        ['GET', `us-central1-127.0.0.1:${sandbox.port}`, `/apis/serving.knative.dev/v1/namespaces/${P}/services/x`, 404],
      ])
      const token = sandboxToken(sandbox)
      const leaks = allFiles(dir).filter(f => !f.endsWith(`/${STATE_FILES.token}`) && readFileSync(f, 'utf8').includes(token))
      expect(leaks).to.deep.equal([])
      expect(statSync(join(dir, STATE_FILES.token)).mode % 0o100).to.equal(0)
    })

    it('answers unknown paths with a Google-style 404', async () => {
      const res = await call(sandbox, {path: '/v9/nothing'})
      expect(res.status).to.equal(404)
      expect(at(res.json, 'error.message')).to.include('does not implement GET /v9/nothing')
    })
  })

  describe('Binary Authorization policy', () => {
    it('returns a default ALWAYS_ALLOW policy with name and etag', async () => {
      const res = await call(sandbox, {path: POLICY})
      expect(res.status).to.equal(200)
      expect(at(res.json, 'name')).to.equal(`projects/${P}/policy`)
      expect(at(res.json, 'defaultAdmissionRule.evaluationMode')).to.equal('ALWAYS_ALLOW')
      expect(at(res.json, 'etag')).to.be.a('string')
    })

    it('replaces the whole policy with a matching etag, keeping unknown fields verbatim', async () => {
      const before = (await call(sandbox, {path: POLICY})).json as Record<string, unknown>
      const body = {
        ...before,
        admissionWhitelistPatterns: [{futureField: {a: [1]}, namePattern: 'us-central1-docker.pkg.dev/p/cloud-run-source-deploy/**'}],
        futureTopLevel: {nested: true},
      }
      const put = await call(sandbox, {body, method: 'PUT', path: POLICY})
      expect(put.status).to.equal(200)
      expect(at(put.json, 'etag')).to.not.equal(before.etag)
      const after = (await call(sandbox, {path: POLICY})).json as Record<string, unknown>
      expect(after.futureTopLevel).to.deep.equal({nested: true})
      expect(after.admissionWhitelistPatterns).to.deep.equal(body.admissionWhitelistPatterns)
      expect(after.etag).to.equal(at(put.json, 'etag'))
      expect(after.updateTime).to.be.a('string')
    })

    it('refuses a stale etag with 409 ABORTED and accepts a missing etag', async () => {
      const before = (await call(sandbox, {path: POLICY})).json as Record<string, unknown>
      await call(sandbox, {body: {...before, description: 'first'}, method: 'PUT', path: POLICY})
      const stale = await call(sandbox, {body: {...before, description: 'second'}, method: 'PUT', path: POLICY})
      expect(stale.status).to.equal(409)
      expect(at(stale.json, 'error.status')).to.equal('ABORTED')
      const {etag: _etag, ...noEtag} = before
      const lastWriter = await call(sandbox, {body: {...noEtag, description: 'third'}, method: 'PUT', path: POLICY})
      expect(lastWriter.status).to.equal(200)
      expect(at(lastWriter.json, 'description')).to.equal('third')
    })

    it('refuses malformed policies with 400 INVALID_ARGUMENT', async () => {
      const before = (await call(sandbox, {path: POLICY})).json as Record<string, unknown>
      const badPattern = await call(sandbox, {body: {...before, admissionWhitelistPatterns: [{namePattern: 'gcr.io/*/x'}]}, method: 'PUT', path: POLICY})
      const noRule = await call(sandbox, {body: {name: before.name}, method: 'PUT', path: POLICY})
      const otherName = await call(sandbox, {body: {...before, name: 'projects/other/policy'}, method: 'PUT', path: POLICY})
      expect([badPattern.status, noRule.status, otherName.status]).to.deep.equal([400, 400, 400])
      expect(at(badPattern.json, 'error.status')).to.equal('INVALID_ARGUMENT')
    })

    it('answers 403 for another project', async () => {
      const res = await call(sandbox, {path: '/v1/projects/someone-else/policy'})
      expect(res.status).to.equal(403)
      expect(at(res.json, 'error.status')).to.equal('PERMISSION_DENIED')
    })

    it('testIamPermissions grants both permissions, or omits denied ones (and PUT then answers 403)', async () => {
      const permissions = ['binaryauthorization.policy.get', 'binaryauthorization.policy.update']
      const granted = await call(sandbox, {body: {permissions}, method: 'POST', path: `${POLICY}:testIamPermissions`})
      expect(granted.json).to.deep.equal({permissions})
      setFaults({deniedPermissions: ['binaryauthorization.policy.update']})
      const limited = await call(sandbox, {body: {permissions}, method: 'POST', path: `${POLICY}:testIamPermissions`})
      expect(limited.json).to.deep.equal({permissions: ['binaryauthorization.policy.get']})
      const before = (await call(sandbox, {path: POLICY})).json as Record<string, unknown>
      const put = await call(sandbox, {body: before, method: 'PUT', path: POLICY})
      expect(put.status).to.equal(403)
      expect(at(put.json, 'error.message')).to.include('binaryauthorization.policy.update')
    })

    it('forces etag conflicts on the next N PUTs and counts them down in faults.json', async () => {
      setFaults({etagConflicts: 2, seed: 5})
      const statuses: number[] = []
      for (let i = 0; i < 3; i++) {
        const current = (await call(sandbox, {path: POLICY})).json as Record<string, unknown>
        statuses.push((await call(sandbox, {body: {...current, description: `try ${i}`}, method: 'PUT', path: POLICY})).status)
      }

      expect(statuses).to.deep.equal([409, 409, 200])
      expect(JSON.parse(readFileSync(join(dir, STATE_FILES.faults), 'utf8'))).to.deep.equal({etagConflicts: 0, seed: 5})
    })

    it('injects 429/503 with Retry-After, deterministically', async () => {
      setFaults({binauthzErrorStatus: 429, binauthzFailNext: 1, retryAfterSeconds: 3})
      const limited = await call(sandbox, {path: POLICY})
      expect(limited.status).to.equal(429)
      expect(limited.headers['retry-after']).to.equal('3')
      expect((await call(sandbox, {path: POLICY})).status).to.equal(200)
      setFaults({binauthzErrorRate: 1})
      const unavailable = await call(sandbox, {path: POLICY})
      expect(unavailable.status).to.equal(503)
      expect(at(unavailable.json, 'error.status')).to.equal('UNAVAILABLE')
      setFaults({binauthzErrorRate: 0.5, seed: 42})
      const first: number[] = []
      for (let i = 0; i < 20; i++) first.push((await call(sandbox, {path: POLICY})).status)
      expect(first).to.include(200)
      expect(first).to.include(503)
    })
  })

  const via = (): string => `us-central1-127.0.0.1:${sandbox.port}`

  describe('Cloud Run (Knative v1 on the regional host)', () => {
    const services = `/apis/serving.knative.dev/v1/namespaces/${P}/services`
    const body = (image: string): object => ({
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: {annotations: {'run.googleapis.com/binary-authorization': 'default'}, name: 'svc1', namespace: P},
      spec: {template: {spec: {containers: [{image}]}}},
    })

    it('refuses a denied image with Ready=False and a ConfigurationsReady message naming Binary Authorization', async () => {
      await sandbox.stop()
      sandbox = await startSandbox({policy: 'block-all', stateDir: dir})
      const res = await call(sandbox, {
        body: body('us-central1-docker.pkg.dev/p/repo/app:1'), method: 'POST', path: services, via: via(),
      })
      expect(res.status).to.equal(200)
      const conditions = at(res.json, 'status.conditions') as {message?: string; status: string; type: string;}[]
      expect(conditions.map(c => [c.type, c.status])).to.deep.equal([
        ['Ready', 'False'],
        ['ConfigurationsReady', 'False'],
        ['RoutesReady', 'False'],
      ])
      expect(conditions[1]?.message).to.include('denied by Binary Authorization')
      expect(at(res.json, 'status.observedGeneration')).to.equal(at(res.json, 'metadata.generation'))
    })

    it('admits an allowlisted image, and a replace bumps generation and observedGeneration', async () => {
      await sandbox.stop()
      sandbox = await startSandbox({
        policy: {
          admissionWhitelistPatterns: [{namePattern: 'us-central1-docker.pkg.dev/p/repo/**'}],
          defaultAdmissionRule: {enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG', evaluationMode: 'ALWAYS_DENY'},
        },
        stateDir: dir,
      })
      const created = await call(sandbox, {
        body: body('us-central1-docker.pkg.dev/p/repo/app:1'), method: 'POST', path: services, via: via(),
      })
      expect(at(created.json, 'status.conditions.0')).to.include({status: 'True', type: 'Ready'})
      const existing = (await call(sandbox, {path: `${services}/svc1`, via: via()})).json as Record<string, unknown>
      const replaced = await call(sandbox, {
        body: {...existing, spec: {template: {spec: {containers: [{image: 'us-central1-docker.pkg.dev/p/repo/app:2'}]}}}},
        method: 'PUT',
        path: `${services}/svc1`,
        via: via(),
      })
      expect(at(replaced.json, 'metadata.generation')).to.equal(2)
      expect(at(replaced.json, 'status.observedGeneration')).to.equal(2)
      expect(at(replaced.json, 'status.latestReadyRevisionName')).to.match(/^svc1-00002-[a-z]{3}$/)
      expect(state.readMap(STATE_FILES.services)['us-central1/svc1']).to.have.nested.property('metadata.generation', 2)
    })

    it('needs the regional host', async () => {
      const res = await call(sandbox, {path: `${services}/svc1`})
      expect(res.status).to.equal(400)
    })
  })

  describe('Cloud Functions v2 and Storage', () => {
    const base = `/v2/projects/${P}/locations/europe-west1`

    async function upload(): Promise<{bucket: string; object: string}> {
      const url = (await call(sandbox, {body: {}, method: 'POST', path: `${base}/functions:generateUploadUrl`})).json as Record<string, unknown>
      const target = new URL(url.uploadUrl as string)
      const put = await call(sandbox, {
        headers: {'content-type': 'application/zip'}, method: 'PUT', path: `${target.pathname}${target.search}`, rawBody: Buffer.from('PK zip'), token: null,
      })
      expect(put.status).to.equal(200)
      return url.storageSource as {bucket: string; object: string}
    }

    async function deploy(): Promise<unknown[]> {
      const source = await upload()
      const op = await call(sandbox, {
        body: {
          buildConfig: {entryPoint: 'handler', runtime: 'nodejs20', source: {storageSource: source}},
          name: `projects/${P}/locations/europe-west1/functions/fn1`,
          serviceConfig: {binaryAuthorizationPolicy: 'default'},
        },
        method: 'POST',
        path: `${base}/functions?functionId=fn1`,
      })
      const name = at(op.json, 'name') as string
      const polls = [op.json]
      for (let i = 0; i < 2; i++) polls.push((await call(sandbox, {path: `/v2/${name}`})).json)
      return polls
    }

    it('refuses a tampered signed URL', async () => {
      const url = (await call(sandbox, {body: {}, method: 'POST', path: `${base}/functions:generateUploadUrl`})).json as Record<string, unknown>
      const target = new URL((url.uploadUrl as string).replace(/Signature=[^&]+/, 'Signature=forged'))
      const put = await call(sandbox, {
        method: 'PUT', path: `${target.pathname}${target.search}`, rawBody: Buffer.from('x'), token: null,
      })
      expect(put.status).to.equal(403)
    })

    it('deploys an admitted function: stages first, then done with the function', async () => {
      const polls = await deploy()
      expect(at(polls[1], 'done')).to.equal(false)
      expect((at(polls[1], 'metadata.stages') as {name: string}[]).map(stage => stage.name)).to.deep.equal(['BUILD', 'SERVICE'])
      expect(at(polls[2], 'done')).to.equal(true)
      expect(at(polls[2], 'response.state')).to.equal('ACTIVE')
      const images = state.readJson<{image: string}[]>(STATE_FILES.images, [])
      expect(images[0]?.image).to.match(/^europe-west1-docker\.pkg\.dev\/sandbox-project\/gcf-artifacts\//)
    })

    it('fails a denied function with operation error code 9 naming Binary Authorization', async () => {
      await sandbox.stop()
      sandbox = await startSandbox({policy: 'block-all', stateDir: dir})
      const polls = await deploy()
      expect(at(polls[1], 'error')).to.equal(undefined)
      expect(at(polls[2], 'error.code')).to.equal(9)
      expect(at(polls[2], 'error.message')).to.include('Binary Authorization')
    })

    it('creates, lists and uploads into buckets (multipart, quoted boundary, LF)', async () => {
      const created = await call(sandbox, {body: {location: 'us-central1', name: 'run-sources-x'}, method: 'POST', path: `/storage/v1/b?project=${P}`})
      expect(created.status).to.equal(200)
      const listed = await call(sandbox, {path: `/storage/v1/b?project=${P}&prefix=run-sources`})
      expect((at(listed.json, 'items') as {name: string}[]).map(b => b.name)).to.deep.equal(['run-sources-x'])
      const multipart = Buffer.from('--==7==\nContent-Type: application/json\n\n{"size":"3"}\n--==7==\nContent-Type: application/zip\n\nabc\n--==7==--')
      const uploaded = await call(sandbox, {
        headers: {'content-type': "multipart/related; boundary='==7=='"},
        method: 'POST',
        path: '/upload/storage/v1/b/run-sources-x/o?uploadType=multipart&name=services%2Fsvc%2Fa.zip',
        rawBody: multipart,
      })
      expect(uploaded.status).to.equal(200)
      expect(uploaded.json).to.include({bucket: 'run-sources-x', name: 'services/svc/a.zip', size: '3'})
      expect(at(uploaded.json, 'generation')).to.match(/^\d+$/)
    })
  })
})
