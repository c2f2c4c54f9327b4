// The state gcloud 528 reads back when it redeploys: build-image-uri on Run services, every container of a
// multi-container template, a function's dockerRepository and the Cloud Run service behind it, and the inventory
// built from all of it. Also the regions and repositories Google refuses.
import {expect} from 'chai'
import {rmSync} from 'node:fs'

import type {Policy} from '../../src/policy/types.js'

import {
  type ImageRecord, type Sandbox, SandboxState, startSandbox, STATE_FILES,
} from '../../src/sandbox/index.js'
import {listInventory} from '../../src/sandbox/inventory.js'
import {CLOUD_RUN_REGIONS, isCloudRunRegion} from '../../src/sandbox/regions.js'
import {tempDir} from '../helpers/tmp.js'
import {at, call, type CallResult} from './client.js'

const P = 'sandbox-project'
const KN = `/apis/serving.knative.dev/v1/namespaces/${P}/services`
const DENY_ALL = {enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG', evaluationMode: 'ALWAYS_DENY'} as const
const SOURCE_IMAGE = `us-central1-docker.pkg.dev/${P}/custom-repo/x@sha256:${'a'.repeat(64)}`
const SIDECAR = 'us-docker.pkg.dev/cloudrun/container/hello:latest'

function allowing(patterns: string[]): Policy {
  return {admissionWhitelistPatterns: patterns.map(namePattern => ({namePattern})), defaultAdmissionRule: DENY_ALL}
}

interface Condition {
  message?: string
  status: string
  type: string
}

/** The create body gcloud 528 sends for `run deploy x --container app --source . --container sidecar --image X`. */
function sourceService(containers: {image: string; name: string}[]): object {
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: {
      annotations: {
        'run.googleapis.com/binary-authorization': 'default',
        'run.googleapis.com/build-image-uri': `us-central1-docker.pkg.dev/${P}/custom-repo/x`,
        'run.googleapis.com/build-source-location': 'gs://run-sources-sandbox-project-us-central1/services/x/1.zip#1',
      },
      name: 'x',
      namespace: P,
    },
    spec: {template: {spec: {containers}}},
  }
}

function imagesOf(state: SandboxState): string[] {
  return state.readJson<ImageRecord[]>(STATE_FILES.images, []).map(i => i.image)
}

describe('sandbox state read back on redeploy', () => {
  let dir: string
  let sandbox: Sandbox
  let state: SandboxState

  beforeEach(async () => {
    dir = tempDir('binauthz-sandbox-state-')
    sandbox = await startSandbox({policy: 'allow-all', stateDir: dir})
    state = new SandboxState(dir)
  })

  afterEach(async () => {
    await sandbox.stop()
    rmSync(dir, {force: true, recursive: true})
  })

  const via = (region = 'us-central1'): string => `${region}-127.0.0.1:${sandbox.port}`

  function seedRepository(location: string, id: string, format = 'DOCKER'): string {
    const name = `projects/${P}/locations/${location}/repositories/${id}`
    state.putEntry(STATE_FILES.repositories, name, {format, name})
    return name
  }

  async function restartWith(policy: Policy): Promise<void> {
    await sandbox.stop()
    sandbox = await startSandbox({policy, stateDir: dir})
  }

  describe('Cloud Run services', () => {
    it('returns run.googleapis.com/build-image-uri exactly as gcloud wrote it, on create and after a replace', async () => {
      await call(sandbox, {
        body: sourceService([{image: SOURCE_IMAGE, name: ''}]), method: 'POST', path: KN, via: via(),
      })
      const read = await call(sandbox, {path: `${KN}/x`, via: via()})
      expect(at(read.json, 'metadata.annotations')).to.include({
        'run.googleapis.com/build-image-uri': `us-central1-docker.pkg.dev/${P}/custom-repo/x`,
        'run.googleapis.com/build-source-location': 'gs://run-sources-sandbox-project-us-central1/services/x/1.zip#1',
      })
      const replaced = await call(sandbox, {
        body: read.json, method: 'PUT', path: `${KN}/x`, via: via(),
      })
      const annotations = at((await call(sandbox, {path: `${KN}/x`, via: via()})).json, 'metadata.annotations') as Record<string, string>
      expect(annotations['run.googleapis.com/build-image-uri']).to.equal(`us-central1-docker.pkg.dev/${P}/custom-repo/x`)
      expect(at(replaced.json, 'metadata.generation')).to.equal(2)
    })

    it('keeps each container name and image of a multi-container template', async () => {
      const containers = [{image: SOURCE_IMAGE, name: 'app'}, {image: SIDECAR, name: 'sidecar'}]
      await call(sandbox, {
        body: sourceService(containers), method: 'POST', path: KN, via: via(),
      })
      const stored = (await call(sandbox, {path: `${KN}/x`, via: via()})).json
      expect((at(stored, 'spec.template.spec.containers') as {image: string; name: string}[]).map(c => [c.name, c.image])).to.deep.equal([
        ['app', SOURCE_IMAGE],
        ['sidecar', SIDECAR],
      ])
    })

    it('asks admission for every container image: a denied sidecar refuses the revision, naming the sidecar', async () => {
      await restartWith(allowing([`us-central1-docker.pkg.dev/${P}/custom-repo/**`]))
      const containers = [{image: SOURCE_IMAGE, name: 'app'}, {image: SIDECAR, name: 'sidecar'}]
      const denied = await call(sandbox, {
        body: sourceService(containers), method: 'POST', path: KN, via: via(),
      })
      const conditions = at(denied.json, 'status.conditions') as Condition[]
      expect(conditions.find(c => c.type === 'Ready')?.status).to.equal('False')
      expect(conditions.find(c => c.type === 'ConfigurationsReady')?.message).to.include(SIDECAR).and.to.match(/binary authorization/i)

      await restartWith(allowing([`us-central1-docker.pkg.dev/${P}/custom-repo/**`, 'us-docker.pkg.dev/cloudrun/container/**']))
      const current = (await call(sandbox, {path: `${KN}/x`, via: via()})).json
      const admitted = await call(sandbox, {
        body: current, method: 'PUT', path: `${KN}/x`, via: via(),
      })
      expect(at(admitted.json, 'status.conditions.0')).to.include({status: 'True', type: 'Ready'})
    })

    it('refuses a region Cloud Run does not serve with Google 400 INVALID_ARGUMENT and a BadRequest field violation', async () => {
      const res = await call(sandbox, {path: `${KN}/x`, via: via('mars-north1')})
      expect(res.status).to.equal(400)
      expect(at(res.json, 'error.status')).to.equal('INVALID_ARGUMENT')
      expect(at(res.json, 'error.message')).to.equal('region: Unsupported region mars-north1')
      expect(at(res.json, 'error.details.0.fieldViolations')).to.deep.equal([{description: 'Unsupported region mars-north1', field: 'region'}])
      const build = await call(sandbox, {
        body: {}, method: 'POST', path: `/v2/projects/${P}/locations/mars-north1/builds:submit`, via: via('mars-north1'),
      })
      expect(build.status).to.equal(400)
      const served = await call(sandbox, {path: `${KN}/x`, via: via('europe-west10')})
      expect(served.status).to.equal(404)
    })

    it('documents the regions it serves', () => {
      expect(CLOUD_RUN_REGIONS).to.include.members(['us-central1', 'europe-west1', 'asia-northeast1', 'me-central2', 'africa-south1'])
      expect(isCloudRunRegion('us-central2')).to.equal(false)
      expect([...CLOUD_RUN_REGIONS].sort()).to.deep.equal(CLOUD_RUN_REGIONS)
    })
  })

  describe('Cloud Functions 2nd gen', () => {
    const base = `/v2/projects/${P}/locations/europe-west1`
    const fnName = `projects/${P}/locations/europe-west1/functions/fn1`

    async function upload(): Promise<{bucket: string; object: string}> {
      const url = (await call(sandbox, {body: {}, method: 'POST', path: `${base}/functions:generateUploadUrl`})).json as Record<string, unknown>
      const target = new URL(url.uploadUrl as string)
      await call(sandbox, {
        headers: {'content-type': 'application/zip'}, method: 'PUT', path: `${target.pathname}${target.search}`, rawBody: Buffer.from('PK zip'), token: null,
      })
      return url.storageSource as {bucket: string; object: string}
    }

    /** Create (no mask) or PATCH (mask) fn1, then poll its operation to the end. */
    async function deploy(buildConfig: Record<string, unknown>, mask?: string): Promise<CallResult> {
      const body = {
        buildConfig: {
          entryPoint: 'handler', runtime: 'nodejs20', source: {storageSource: await upload()}, ...buildConfig,
        },
        name: fnName,
        serviceConfig: {binaryAuthorizationPolicy: 'default'},
      }
      const op = mask === undefined
        ? await call(sandbox, {body, method: 'POST', path: `${base}/functions?functionId=fn1`})
        : await call(sandbox, {body, method: 'PATCH', path: `${base}/functions/fn1?updateMask=${mask}`})
      if (op.status !== 200) return op
      const name = at(op.json, 'name') as string
      await call(sandbox, {path: `/v2/${name}`})
      return call(sandbox, {path: `/v2/${name}`})
    }

    it('keeps buildConfig.dockerRepository across a redeploy whose mask omits it, pushing into that repository each time', async () => {
      const repo = seedRepository('europe-west1', 'fn-repo')
      const created = await deploy({dockerRepository: repo})
      expect(at(created.json, 'response.buildConfig.dockerRepository')).to.equal(repo)
      // What gcloud 528 sends on redeploy (command_lib/functions/v2/deploy/command.py _SetDockerRepositoryConfig):
      // the existing dockerRepository in the body, but not in the update mask.
      const updated = await deploy({dockerRepository: repo}, 'build_config.entry_point,build_config.runtime,build_config.source,event_trigger')
      expect(at(updated.json, 'done')).to.equal(true)
      const fn = (await call(sandbox, {path: `${base}/functions/fn1`})).json
      expect(at(fn, 'buildConfig.dockerRepository')).to.equal(repo)
      expect(imagesOf(state)).to.have.length(2)
      for (const image of imagesOf(state)) expect(image).to.match(/^europe-west1-docker\.pkg\.dev\/sandbox-project\/fn-repo\/sandbox--project__europe--west1__fn1:version_\d$/)
      const records = state.readJson<ImageRecord[]>(STATE_FILES.images, [])
      expect(records.map(r => r.repository)).to.deep.equal([repo, repo])
      expect(records[0]?.digest).to.match(/^sha256:[0-9a-f]{64}$/)
    })

    it('--clear-docker-repository (mask with the field, no value) falls back to gcf-artifacts', async () => {
      const repo = seedRepository('europe-west1', 'fn-repo')
      await deploy({dockerRepository: repo})
      await deploy({}, 'build_config.docker_repository,build_config.source')
      const fn = (await call(sandbox, {path: `${base}/functions/fn1`})).json
      expect(at(fn, 'buildConfig.dockerRepository')).to.equal(`projects/${P}/locations/europe-west1/repositories/gcf-artifacts`)
      expect(imagesOf(state).at(-1)).to.match(/\/gcf-artifacts\//)
    })

    it('refuses a repository Google refuses: wrong format, other location, other project, missing, not DOCKER', async () => {
      seedRepository('us-central1', 'us-repo')
      seedRepository('europe-west1', 'npm-repo', 'NPM')
      const cases: [string, RegExp][] = [
        ['europe-west1-docker.pkg.dev/sandbox-project/fn-repo', /must match the pattern projects\/\{project\}\/locations\/\{location\}\/repositories\/\{repository\}/],
        [`projects/${P}/locations/us-central1/repositories/us-repo`, /cross-location repositories are not supported/],
        ['projects/other-project/locations/europe-west1/repositories/fn-repo', /cross-project repositories are not supported/],
        [`projects/${P}/locations/europe-west1/repositories/nope`, /does not exist/],
        [`projects/${P}/locations/europe-west1/repositories/npm-repo`, /format must be 'DOCKER'/],
      ]
      for (const [dockerRepository, message] of cases) {
        const res = await deploy({dockerRepository})
        expect(res.status, dockerRepository).to.equal(400)
        expect(at(res.json, 'error.status')).to.equal('INVALID_ARGUMENT')
        expect(at(res.json, 'error.message')).to.match(message)
        expect(at(res.json, 'error.details.0.fieldViolations.0.field')).to.equal('build_config.docker_repository')
      }

      expect(state.readMap(STATE_FILES.functions)).to.deep.equal({})
      expect(imagesOf(state)).to.deep.equal([])
    })

    it('refuses a function in a region Cloud Run does not serve', async () => {
      const res = await call(sandbox, {body: {}, method: 'POST', path: `/v2/projects/${P}/locations/mars-north1/functions?functionId=fn1`})
      expect(res.status).to.equal(400)
      expect(at(res.json, 'error.message')).to.equal('location: Unsupported region mars-north1')
    })

    it('shows the function as its Cloud Run service, as Google does', async () => {
      await deploy({})
      const service = await call(sandbox, {path: `${KN}/fn1`, via: via('europe-west1')})
      expect(service.status).to.equal(200)
      const metadata = at(service.json, 'metadata') as {annotations: Record<string, string>; labels: Record<string, string>; name: string}
      expect(metadata.name).to.equal('fn1')
      expect(metadata.labels).to.include({'goog-cloudfunctions-runtime': 'nodejs20', 'goog-managed-by': 'cloudfunctions'})
      expect(metadata.annotations).to.include({'cloudfunctions.googleapis.com/function-id': 'fn1', 'run.googleapis.com/binary-authorization': 'default'})
      expect(metadata.annotations).to.not.have.property('run.googleapis.com/build-image-uri')
      const containers = at(service.json, 'spec.template.spec.containers') as {image: string; name: string}[]
      expect(containers.map(c => c.name)).to.deep.equal(['worker'])
      expect(containers[0]?.image).to.equal(imagesOf(state)[0])
      expect(at(service.json, 'status.conditions.0')).to.include({status: 'True', type: 'Ready'})
    })

    it('asks admission for the digest the function revision really runs (the pushed tag resolved, as Cloud Run does)', async () => {
      await restartWith(allowing([`us-central1-docker.pkg.dev/${P}/custom-repo/**`]))
      const denied = await deploy({})
      const [pushed] = state.readJson<ImageRecord[]>(STATE_FILES.images, [])
      expect(pushed?.image).to.match(/:version_1$/)
      const resolved = `${(pushed?.image ?? '').replace(/:version_1$/, '')}@${pushed?.digest ?? ''}`
      expect(at(denied.json, 'error.code')).to.equal(9)
      expect(at(denied.json, 'error.message')).to.include(`Image ${resolved} denied by Binary Authorization`)
      const service = (await call(sandbox, {path: `${KN}/fn1`, via: via('europe-west1')})).json
      expect(at(service, 'spec.template.spec.containers.0.image')).to.equal(pushed?.image)
    })

    it('keeps annotations a `gcloud run deploy` wrote on the function service when the function is redeployed', async () => {
      await deploy({})
      const current = (await call(sandbox, {path: `${KN}/fn1`, via: via('europe-west1')})).json as {metadata: {annotations: Record<string, string>}}
      const edited = {...current, metadata: {...current.metadata, annotations: {...current.metadata.annotations, 'run.googleapis.com/build-image-uri': `europe-west1-docker.pkg.dev/${P}/cloud-run-source-deploy/fn1`}}}
      expect((await call(sandbox, {
        body: edited, method: 'PUT', path: `${KN}/fn1`, via: via('europe-west1'),
      })).status).to.equal(200)
      await deploy({}, 'build_config.source')
      const after = at((await call(sandbox, {path: `${KN}/fn1`, via: via('europe-west1')})).json, 'metadata.annotations') as Record<string, string>
      expect(after['run.googleapis.com/build-image-uri']).to.equal(`europe-west1-docker.pkg.dev/${P}/cloud-run-source-deploy/fn1`)
      expect(after['cloudfunctions.googleapis.com/function-id']).to.equal('fn1')
    })
  })

  describe('listInventory()', () => {
    it('lists services and functions with their health and images, the function service once', async () => {
      await restartWith(allowing([`us-central1-docker.pkg.dev/${P}/custom-repo/**`, `europe-west1-docker.pkg.dev/${P}/gcf-artifacts/**`]))
      const ok = sourceService([{image: SOURCE_IMAGE, name: 'app'}])
      await call(sandbox, {
        body: ok, method: 'POST', path: KN, via: via(),
      })
      const bad = {...sourceService([{image: SOURCE_IMAGE, name: 'app'}, {image: SIDECAR, name: 'sidecar'}]), metadata: {annotations: {'run.googleapis.com/binary-authorization': 'default'}, name: 'y'}}
      await call(sandbox, {
        body: bad, method: 'POST', path: KN, via: via(),
      })
      const base = `/v2/projects/${P}/locations/europe-west1`
      const url = (await call(sandbox, {body: {}, method: 'POST', path: `${base}/functions:generateUploadUrl`})).json as Record<string, unknown>
      const target = new URL(url.uploadUrl as string)
      await call(sandbox, {
        method: 'PUT', path: `${target.pathname}${target.search}`, rawBody: Buffer.from('PK'), token: null,
      })
      const op = await call(sandbox, {
        body: {buildConfig: {entryPoint: 'h', runtime: 'nodejs20', source: {storageSource: url.storageSource}}, serviceConfig: {binaryAuthorizationPolicy: 'default'}},
        method: 'POST',
        path: `${base}/functions?functionId=fn1`,
      })
      await call(sandbox, {path: `/v2/${at(op.json, 'name') as string}`})

      const inventory = listInventory(state)
      expect(inventory.map(e => [e.kind, e.region, e.name, e.ready])).to.deep.equal([
        ['service', 'us-central1', 'x', true],
        ['service', 'us-central1', 'y', false],
        ['function', 'europe-west1', 'fn1', true],
      ])
      expect(inventory[0]?.images).to.deep.equal([SOURCE_IMAGE])
      expect(inventory[0]).to.not.have.property('message')
      expect(inventory[1]?.images).to.deep.equal([SOURCE_IMAGE, SIDECAR])
      expect(inventory[1]?.message).to.include(SIDECAR).and.to.include('is not ready and cannot serve traffic')
      expect(inventory[2]?.images[0]).to.match(/^europe-west1-docker\.pkg\.dev\/sandbox-project\/gcf-artifacts\//)
    })

    it('lists jobs between services and functions, a job whose images the policy refuses as not ready, with the denial', async () => {
      await restartWith(allowing([`us-central1-docker.pkg.dev/${P}/custom-repo/**`]))
      const job = (name: string, image: string): object => ({
        apiVersion: 'run.googleapis.com/v1',
        kind: 'Job',
        metadata: {annotations: {'run.googleapis.com/binary-authorization': 'default'}, name, namespace: P},
        spec: {template: {spec: {template: {spec: {containers: [{image}]}}}}},
      })
      const jobs = `/apis/run.googleapis.com/v1/namespaces/${P}/jobs`
      await call(sandbox, {
        body: job('j-ok', SOURCE_IMAGE), method: 'POST', path: jobs, via: via(),
      })
      await call(sandbox, {
        body: job('j-denied', SIDECAR), method: 'POST', path: jobs, via: via(),
      })

      const inventory = listInventory(state).filter(e => e.kind === 'job')
      expect(inventory.map(e => [e.region, e.name, e.ready, e.images])).to.deep.equal([
        ['us-central1', 'j-denied', false, [SIDECAR]],
        ['us-central1', 'j-ok', true, [SOURCE_IMAGE]],
      ])
      expect(inventory[0]?.message).to.include(SIDECAR)
      expect(inventory[1]).to.not.have.property('message')
    })

    it('reports a function whose redeploy was refused as not ready, with the refusal', () => {
      state.putEntry(STATE_FILES.functions, `projects/${P}/locations/us-east1/functions/f2`, {
        state: 'ACTIVE', stateMessages: [{message: 'Could not create or update Cloud Run service f2. Denied.', severity: 'ERROR', type: 'CloudRunServiceDeployment'}],
      })
      state.putEntry(STATE_FILES.functions, `projects/${P}/locations/us-east1/functions/f3`, {state: 'FAILED'})
      expect(listInventory(state)).to.deep.equal([
        {
          images: [], kind: 'function', message: 'Could not create or update Cloud Run service f2. Denied.', name: 'f2', ready: false, region: 'us-east1',
        },
        {
          images: [], kind: 'function', message: 'state FAILED', name: 'f3', ready: false, region: 'us-east1',
        },
      ])
    })
  })
})
