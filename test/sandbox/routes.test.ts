import {expect} from 'chai'
import {rmSync} from 'node:fs'
import net from 'node:net'

import {applyUpdateMask} from '../../src/sandbox/functions.js'
import {
  type Sandbox, SandboxState, startSandbox, STATE_FILES,
} from '../../src/sandbox/index.js'
import {redactQuery, requestTarget} from '../../src/sandbox/server.js'
import {tempDir} from '../helpers/tmp.js'
import {at, call, type CallResult} from './client.js'

const P = 'sandbox-project'

describe('sandbox routes', () => {
  describe('sandbox request parsing', () => {
    it('reads absolute-form targets whose host WHATWG URL would reject', () => {
      const target = requestTarget('http://us-central1-127.0.0.1:8765/apis/x?alt=json', 'ignored')
      expect(target.host).to.equal('us-central1-127.0.0.1:8765')
      expect(target.path).to.equal('/apis/x')
      expect(target.query.get('alt')).to.equal('json')
      const origin = requestTarget('/v1/projects/p/policy?alt=json', '127.0.0.1:1')
      expect([origin.host, origin.path]).to.deep.equal(['127.0.0.1:1', '/v1/projects/p/policy'])
    })

    it('redacts signed-URL secrets from logged queries', () => {
      expect(redactQuery(new URLSearchParams('Expires=1&Signature=abc&GoogleAccessId=x'))).to.equal('Expires=1&Signature=REDACTED&GoogleAccessId=REDACTED')
    })

    it('applies a snake_case update mask, clearing masked fields absent from the patch', () => {
      const base = {buildConfig: {entryPoint: 'a', other: 1, runtime: 'nodejs18'}, eventTrigger: {x: 1}, labels: {a: 'b'}}
      const patched = applyUpdateMask(base, {buildConfig: {entryPoint: 'b', runtime: 'nodejs20'}}, 'build_config.entry_point,build_config.runtime,event_trigger')
      expect(patched).to.deep.equal({buildConfig: {entryPoint: 'b', other: 1, runtime: 'nodejs20'}, labels: {a: 'b'}})
      expect(base.eventTrigger).to.deep.equal({x: 1})
    })
  })

  describe('sandbox build, registry and proxy routes', () => {
    let dir: string
    let sandbox: Sandbox
    let state: SandboxState

    beforeEach(async () => {
      dir = tempDir('binauthz-sandbox-routes-')
      sandbox = await startSandbox({policy: 'block-all', stateDir: dir})
      state = new SandboxState(dir)
    })

    afterEach(async () => {
      await sandbox.stop()
      rmSync(dir, {force: true, recursive: true})
    })

    it('creates a repository through a long-running operation', async () => {
      const base = `/v1/projects/${P}/locations/us-central1`
      expect((await call(sandbox, {path: `${base}/repositories/cloud-run-source-deploy`})).status).to.equal(404)
      const op = await call(sandbox, {body: {format: 'DOCKER'}, method: 'POST', path: `${base}/repositories?repositoryId=cloud-run-source-deploy`})
      expect(at(op.json, 'done')).to.equal(false)
      const done = await call(sandbox, {path: `/v1/${at(op.json, 'name')}`})
      expect(at(done.json, 'done')).to.equal(true)
      expect(at(done.json, 'response.name')).to.equal(`projects/${P}/locations/us-central1/repositories/cloud-run-source-deploy`)
      expect((await call(sandbox, {path: `${base}/repositories/cloud-run-source-deploy`})).status).to.equal(200)
    })

    it('builds:submit pushes IMAGE@sha256 and the Cloud Build operation carries the digest; a missing repo fails the build', async () => {
      const via = `us-central1-127.0.0.1:${sandbox.port}`
      await call(sandbox, {body: {name: 'bucket-1'}, method: 'POST', path: `/storage/v1/b?project=${P}`})
      await call(sandbox, {method: 'POST', path: '/upload/storage/v1/b/bucket-1/o?uploadType=media&name=s.zip', rawBody: Buffer.from('zip')})
      const submit = (repo: string): Promise<CallResult> =>
        call(sandbox, {
          body: {buildpackBuild: {baseImage: 'nodejs20'}, imageUri: `us-central1-docker.pkg.dev/${P}/${repo}/svc`, storageSource: {bucket: 'bucket-1', object: 's.zip'}},
          method: 'POST',
          path: `/v2/projects/${P}/locations/us-central1/builds:submit`,
          via,
        })
      const missing = (await submit('cloud-run-source-deploy')).json
      const build = at(missing, 'buildOperation.metadata.build') as {id: string; projectId: string}
      const failed = await call(sandbox, {path: `/v1/projects/${build.projectId}/locations/us-central1/operations/${build.id}`})
      expect(at(failed.json, 'error.code')).to.equal(2)

      await call(sandbox, {body: {}, method: 'POST', path: `/v1/projects/${P}/locations/us-central1/repositories?repositoryId=cloud-run-source-deploy`})
      const ok = (await submit('cloud-run-source-deploy')).json
      expect(at(ok, 'baseImageUri')).to.equal('us-central1-docker.pkg.dev/serverless-runtimes/google-22-full/runtimes/nodejs20')
      const id = at(ok, 'buildOperation.metadata.build.id') as string
      const op = await call(sandbox, {path: `/v1/projects/${P}/locations/us-central1/operations/${id}`})
      expect(at(op.json, 'done')).to.equal(true)
      expect(at(op.json, 'response.status')).to.equal('SUCCESS')
      expect(at(op.json, 'response.results.images.0.digest')).to.match(/^sha256:[0-9a-f]{64}$/)
      const images = state.readJson<{image: string}[]>(STATE_FILES.images, [])
      expect(images.map(i => i.image)).to.deep.equal([`us-central1-docker.pkg.dev/${P}/cloud-run-source-deploy/svc@${at(op.json, 'response.results.images.0.digest')}`])
    })

    it('admits a denied image when a breakglass justification is set', async () => {
      const res = await call(sandbox, {
        body: {
          metadata: {
            annotations: {'run.googleapis.com/binary-authorization': 'default', 'run.googleapis.com/binary-authorization-breakglass': 'incident 42'},
            name: 'urgent',
          },
          spec: {template: {spec: {containers: [{image: 'gcr.io/x/y:1'}]}}},
        },
        method: 'POST',
        path: `/apis/serving.knative.dev/v1/namespaces/${P}/services`,
        via: `europe-west1-127.0.0.1:${sandbox.port}`,
      })
      expect(at(res.json, 'status.conditions.0')).to.include({status: 'True', type: 'Ready'})
    })

    it('requireBinaryAuthorization refuses deploys without the default policy (org policy constraint)', async () => {
      state.writeJson(STATE_FILES.faults, {requireBinaryAuthorization: true})
      const res = await call(sandbox, {
        body: {metadata: {name: 'plain'}, spec: {template: {spec: {containers: [{image: 'gcr.io/x/y:1'}]}}}},
        method: 'POST',
        path: `/apis/serving.knative.dev/v1/namespaces/${P}/services`,
        via: `us-central1-127.0.0.1:${sandbox.port}`,
      })
      expect(res.status).to.equal(400)
      expect(at(res.json, 'error.status')).to.equal('FAILED_PRECONDITION')
      expect(at(res.json, 'error.message')).to.include('constraints/run.allowedBinaryAuthorizationPolicies')
    })

    it('validates without storing on ?dryRun=all (gcloud beta run deploy)', async () => {
      const path = `/apis/serving.knative.dev/v1/namespaces/${P}/services`
      const via = `us-central1-127.0.0.1:${sandbox.port}`
      const body = {metadata: {name: 'dry'}, spec: {template: {spec: {containers: [{image: 'gcr.io/x/y:1'}]}}}}
      expect((await call(sandbox, {
        body, method: 'POST', path: `${path}?dryRun=all`, via,
      })).status).to.equal(200)
      expect(state.readMap(STATE_FILES.services)).to.deep.equal({})
      expect((await call(sandbox, {
        body, method: 'POST', path, via,
      })).status).to.equal(200)
    })

    it('refuses CONNECT tunnels to anything but its own regional gRPC hosts (worker-pools.test.ts) and logs them', async () => {
      const reply = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(sandbox.port, '127.0.0.1', () => socket.write('CONNECT storage.googleapis.com:443 HTTP/1.1\r\nHost: storage.googleapis.com:443\r\n\r\n'))
        let data = ''
        socket.on('data', chunk => {
          data += chunk.toString()
        })
        socket.on('end', () => resolve(data))
        socket.on('error', reject)
        socket.setTimeout(5000, () => socket.destroy(new Error('timeout')))
      })
      expect(reply).to.match(/^HTTP\/1\.1 403/)
      expect(state.requests().at(-1)).to.include({host: 'storage.googleapis.com:443', method: 'CONNECT', status: 403})
    })

    it('lists services across regions and functions of a location', async () => {
      const services = await call(sandbox, {path: `/v1/projects/${P}/locations/-/services`})
      expect(services.json).to.include({kind: 'ServiceList'})
      const functions = await call(sandbox, {path: `/v2/projects/${P}/locations/-/functions`})
      expect(functions.json).to.deep.equal({})
    })
  })
})
