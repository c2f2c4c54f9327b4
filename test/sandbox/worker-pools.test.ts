import type net from 'node:net'

// The sandbox's Cloud Run v2 endpoint for worker pools, driven the way gcloud 528's gRPC channel reaches it: CONNECT
// REGION-127.0.0.1:PORT to the sandbox, TLS checked against the sandbox's CA for that name (ALPN h2), then gRPC
// frames over HTTP/2, encoded with the vendored protos. The e2e test (test/e2e/sandbox-worker-pools.test.ts) runs the
// real gcloud; this one pins the tunnel, the certificate, the token check and the admission verdicts.
import * as loader from '@grpc/proto-loader'
import {expect} from 'chai'
import {readFileSync, rmSync} from 'node:fs'
import http from 'node:http'
import http2 from 'node:http2'
import tls from 'node:tls'

import {protosDir} from '../../src/sandbox/grpc.js'
import {STATE_FILES} from '../../src/sandbox/index.js'
import {listInventory} from '../../src/sandbox/inventory.js'
import {sandboxTls, TLS_FILES} from '../../src/sandbox/tls.js'
import {WORKER_POOL_FILES} from '../../src/sandbox/worker-pools.js'
import {denyAllBut} from '../helpers/e2e.js'
import {startTestSandbox, type TestSandbox} from '../helpers/sandbox.js'
import {tempDir} from '../helpers/tmp.js'

const P = 'sandbox-project'
const POOL = `projects/${P}/locations/us-central1/workerPools/pool1`
const IMAGE = 'us-docker.pkg.dev/cloudrun/container/worker-pool:latest'

interface Method {
  path: string
  requestSerialize(value: unknown): Buffer
  responseDeserialize(bytes: Buffer): unknown
}

type Json = Record<string, unknown>

/** A worker pool as gcloud sends it with --binary-authorization=default. */
function poolOf(): Json {
  return {binaryAuthorization: {useDefault: true}, name: POOL, template: {containers: [{image: IMAGE, name: 'worker'}]}}
}

/** CONNECT through the sandbox; resolves the raw tunnel, or rejects with the proxy's status. */
function connect(sandbox: TestSandbox, authority: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', method: 'CONNECT', path: authority, port: sandbox.port,
    })
    req.once('connect', (res, socket) => {
      if (res.statusCode === 200) resolve(socket)
      else {
        socket.destroy()
        reject(new Error(`CONNECT ${authority}: ${res.statusCode}`))
      }
    })
    req.once('error', reject)
    req.end()
  })
}

/**
 * The certificate's DNS names must hold `host` exactly. Node ≥ 24's own check refuses every DNS name whose last label
 * is numeric (`REGION-127.0.0.1` looks like an IPv4 address to it), while gcloud's gRPC (BoringSSL) matches a DNS
 * subjectAltName by name as RFC 6125 says: that match, done here; the chain is still verified by Node under `ca`.
 */
function namesHost(host: string, cert: tls.PeerCertificate): Error | undefined {
  const names = (cert.subjectaltname ?? '').split(', ').filter(name => name.startsWith('DNS:')).map(name => name.slice(4).toLowerCase())
  return names.includes(host.toLowerCase()) ? undefined : new Error(`${host} is not among the certificate's names: ${names.join(', ')}`)
}

function secure(socket: net.Socket, host: string, ca: string): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const secured = tls.connect({
      ALPNProtocols: ['h2'], ca, checkServerIdentity: namesHost, servername: host, socket,
    }, () => resolve(secured))
    secured.once('error', reject)
  })
}

interface Answer {
  message?: string
  status: number
  value?: Json
}

describe('sandbox Cloud Run v2 (worker pools over gRPC)', function () {
  this.timeout(60_000)
  let sandbox: TestSandbox
  let methods: Record<string, Method>
  const host = 'us-central1-127.0.0.1'

  before(async () => {
    const definition = await loader.load(['google/cloud/run/v2/worker_pool.proto', 'google/longrunning/operations.proto'], {
      defaults: false, enums: String, includeDirs: [protosDir()], longs: String, oneofs: true,
    })
    methods = {
      ...definition['google.cloud.run.v2.WorkerPools'] as unknown as Record<string, Method>,
      GetOperation: (definition['google.longrunning.Operations'] as unknown as Record<string, Method>).GetOperation as Method,
    }
  })

  beforeEach(async () => {
    sandbox = await startTestSandbox({policy: denyAllBut(['gcr.io/other-team/*'])})
  })

  afterEach(async () => {
    await sandbox.stop()
  })

  /** One unary call through a fresh tunnel (as gcloud's channel opens one per process). */
  async function rpc(name: string, request: Json, token: null | string = sandbox.token): Promise<Answer> {
    const method = methods[name]
    if (!method) throw new Error(`no method ${name}`)
    const ca = readFileSync(sandbox.state.file(TLS_FILES.ca), 'utf8')
    const secured = await secure(await connect(sandbox, `${host}:${sandbox.port}`), host, ca)
    // WHATWG URL refuses REGION-127.0.0.1 as a host: the session's origin is a placeholder, :authority the real one.
    const session = http2.connect('https://localhost', {createConnection: () => secured})
    try {
      const message = method.requestSerialize(request)
      const frame = Buffer.concat([Buffer.from([0]), Buffer.alloc(4), message])
      frame.writeUInt32BE(message.length, 1)
      const stream = session.request({
        ':authority': `${host}:${sandbox.port}`, ':method': 'POST', ':path': method.path, 'content-type': 'application/grpc', te: 'trailers', ...(token === null ? {} : {authorization: `Bearer ${token}`}),
      })
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      // An error is a trailers-only answer (grpc-status in the headers), a success has trailers after the message.
      const trailers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
        let seen: http2.IncomingHttpHeaders = {}
        stream.once('response', headers => {
          seen = {...seen, ...headers}
        })
        stream.once('trailers', headers => {
          seen = {...seen, ...headers}
        })
        stream.once('close', () => resolve(seen))
        stream.once('error', reject)
        stream.end(frame)
      })
      const body = Buffer.concat(chunks)
      const status = Number(trailers['grpc-status'])
      return {
        message: typeof trailers['grpc-message'] === 'string' ? decodeURIComponent(trailers['grpc-message']) : undefined,
        status,
        ...(status === 0 ? {value: method.responseDeserialize(body.subarray(5)) as Json} : {}),
      }
    } finally {
      session.close()
      secured.destroy()
    }
  }

  const pools = (): Record<string, Json> => sandbox.state.readMap(WORKER_POOL_FILES.pools)

  it('tunnels only its own regional hosts of known regions; the server certificate is valid for them under the sandbox CA', async () => {
    for (const authority of ['storage.googleapis.com:443', `mars-north9-127.0.0.1:${sandbox.port}`, `us-central1-127.0.0.1:${sandbox.port + 1}`]) {
      let refused = ''
      await connect(sandbox, authority).then(s => s.destroy(), (error: Error) => {
        refused = error.message
      })
      expect(refused).to.equal(`CONNECT ${authority}: 403`)
    }

    const ca = readFileSync(sandbox.state.file(TLS_FILES.ca), 'utf8')
    const secured = await secure(await connect(sandbox, `europe-west1-127.0.0.1:${sandbox.port}`), 'europe-west1-127.0.0.1', ca)
    expect([secured.authorized, secured.alpnProtocol]).to.deep.equal([true, 'h2'])
    secured.destroy()
    // Another CA is not trusted: the certificate really is the sandbox CA's.
    const other = await connect(sandbox, `${host}:${sandbox.port}`)
    const elsewhere = tempDir('binauthz-other-ca-')
    try {
      const untrusted = await secure(other, host, sandboxTls(elsewhere, [host]).ca).catch((error: unknown) => error)
      expect(untrusted).to.be.instanceOf(Error)
    } finally {
      other.destroy()
      rmSync(elsewhere, {force: true, recursive: true})
    }
  })

  it('needs the sandbox token (UNAUTHENTICATED, logged without it); an absent pool is NOT_FOUND as Cloud Run words it', async () => {
    const anonymous = await rpc('GetWorkerPool', {name: POOL}, null)
    expect(anonymous.status).to.equal(16)
    const wrong = await rpc('GetWorkerPool', {name: POOL}, 'not-the-token')
    expect(wrong.status).to.equal(16)
    const absent = await rpc('GetWorkerPool', {name: POOL})
    expect([absent.status, absent.message]).to.deep.equal([5, `Resource 'pool1' of kind 'WORKER_POOL' in region 'us-central1' in project '${P}' does not exist.`])
    const logged = sandbox.requests().filter(r => r.path.endsWith('/GetWorkerPool'))
    expect(logged.map(r => [r.auth, r.status, r.host])).to.deep.equal([
      ['none', 401, `${host}:${sandbox.port}`], ['other', 401, `${host}:${sandbox.port}`], ['sandbox-token', 404, `${host}:${sandbox.port}`],
    ])
    expect(JSON.stringify(sandbox.requests())).to.not.include(sandbox.token)
    expect(listInventory(sandbox.state)).to.deep.equal([])
  })

  it('judges every image on create and on update: a denied revision fails the operation with FAILED_PRECONDITION and is stored as failed', async () => {
    const created = await rpc('UpdateWorkerPool', {allowMissing: true, workerPool: poolOf()})
    expect(created.status).to.equal(0)
    const operation = created.value as {done: boolean; error?: {code: number; message: string}; name: string}
    expect(operation.done).to.equal(true)
    expect(operation.error?.code).to.equal(9)
    expect(operation.error?.message).to.match(/^Revision 'pool1-00001-\w{3}' is not ready and cannot serve traffic\. Image us-docker\.pkg\.dev\/cloudrun\/container\/worker-pool:latest denied by Binary Authorization/)
    expect(pools()['us-central1/pool1']).to.deep.include({generation: '1', latestReadyRevision: ''})
    expect((pools()['us-central1/pool1']?.terminalCondition as Json).state).to.equal('CONDITION_FAILED')
    // The operation can be read back, as GAPIC polls it while not done.
    const polled = await rpc('GetOperation', {name: operation.name})
    expect((polled.value as {error?: {code: number}}).error?.code).to.equal(9)

    // Allowlisted: the update is admitted (a second generation of the same pool, the GET serves it).
    sandbox.setPolicy(P, denyAllBut([IMAGE]))
    const updated = await rpc('UpdateWorkerPool', {allowMissing: true, workerPool: poolOf()})
    expect((updated.value as {error?: unknown; response?: unknown}).error).to.equal(undefined)
    const got = await rpc('GetWorkerPool', {name: POOL})
    expect(got.value).to.deep.include({generation: '2', name: POOL})
    expect((got.value?.terminalCondition as Json).state).to.equal('CONDITION_SUCCEEDED')

    // A sidecar that is not allowlisted denies the whole update; without Binary Authorization nothing is judged.
    const sidecar = {...poolOf(), template: {containers: [{image: IMAGE}, {image: 'gcr.io/elsewhere/side:1'}]}}
    const denied = await rpc('UpdateWorkerPool', {allowMissing: true, workerPool: sidecar})
    expect((denied.value as {error?: {message: string}}).error?.message).to.include('gcr.io/elsewhere/side:1 denied by Binary Authorization')
    const unenforced = await rpc('UpdateWorkerPool', {allowMissing: true, workerPool: {...sidecar, binaryAuthorization: {}}})
    expect((unenforced.value as {error?: unknown}).error).to.equal(undefined)
    expect(pools()['us-central1/pool1']?.generation).to.equal('4')
    expect(sandbox.state.readMap(WORKER_POOL_FILES.pools)['us-central1/pool1']?.latestReadyRevision).to.match(/\/revisions\/pool1-00004-\w{3}$/)
    // Break-glass admits what the policy denies.
    const breakglass = await rpc('UpdateWorkerPool', {allowMissing: true, workerPool: {...sidecar, binaryAuthorization: {breakglassJustification: 'incident 42', useDefault: true}}})
    expect((breakglass.value as {error?: unknown}).error).to.equal(undefined)
    expect(pools()['us-central1/pool1']?.generation).to.equal('5')
    // `sandbox status` lists it with its health and every image.
    expect(listInventory(sandbox.state)).to.deep.equal([{
      images: [IMAGE, 'gcr.io/elsewhere/side:1'], kind: 'worker-pool', name: 'pool1', ready: true, region: 'us-central1',
    }])
  })

  it('refuses an update of an absent pool without allow_missing, another project, an unsupported region, and a disabled Run API', async () => {
    expect((await rpc('UpdateWorkerPool', {workerPool: poolOf()})).status).to.equal(5)
    expect((await rpc('UpdateWorkerPool', {allowMissing: true, workerPool: {...poolOf(), name: 'projects/other/locations/us-central1/workerPools/x'}})).status).to.equal(7)
    const region = await rpc('UpdateWorkerPool', {allowMissing: true, workerPool: {...poolOf(), name: `projects/${P}/locations/mars-north9/workerPools/x`}})
    expect([region.status, region.message]).to.deep.equal([3, 'region: Unsupported region mars-north9'])
    // The organisation-policy knob: a pool without "default" is refused before anything is stored.
    sandbox.setFaults({requireBinaryAuthorization: true})
    const withoutDefault = await rpc('UpdateWorkerPool', {allowMissing: true, workerPool: {...poolOf(), binaryAuthorization: {}}})
    expect(withoutDefault.status).to.equal(9)
    expect(withoutDefault.message).to.match(/^Constraint constraints\/run\.allowedBinaryAuthorizationPolicies violated for worker pool pool1/)
    // The disabledApis knob reaches the gRPC endpoint too.
    sandbox.setFaults({disabledApis: ['run.googleapis.com']})
    const disabled = await rpc('UpdateWorkerPool', {allowMissing: true, workerPool: poolOf()})
    expect([disabled.status, disabled.message]).to.deep.equal([7, `Cloud Run Admin API has not been used in project ${sandbox.state.identity().projectNumber} before or it is disabled.`])
    expect(pools()).to.deep.equal({})
    expect(sandbox.state.readJson(STATE_FILES.images, [])).to.deep.equal([])
  })
})
