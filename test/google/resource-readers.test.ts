import type {AddressInfo} from 'node:net'

import {expect} from 'chai'
import {once} from 'node:events'
import http from 'node:http'

import {Secrets, UserError} from '../../src/errors.js'
import {apiEndpointFrom, FUNCTIONS_API, RUN_API} from '../../src/google/endpoint.js'
import {
  readExistingFunction, readExistingService, regionalEndpoint,
} from '../../src/google/resource-readers.js'
import {rejectionOf} from '../helpers/assert.js'
import {TEST_USER_AGENT} from '../helpers/user-agent.js'

const tokens = {getToken: async () => 'tok'}

/** A local server answering every request with `status` and `body`, recording method, Host and path. */
async function answering(status: number, body: unknown): Promise<{close(): void; seen: {auth?: string; host?: string; path?: string; userAgent?: string}[]; url: URL}> {
  const seen: {auth?: string; host?: string; path?: string; userAgent?: string}[] = []
  const server = http.createServer((req, res) => {
    seen.push({
      auth: req.headers.authorization, host: req.headers.host, path: req.url, userAgent: req.headers['user-agent'],
    })
    res.writeHead(status, {'content-type': 'application/json'}).end(JSON.stringify(body))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const {port} = server.address() as AddressInfo
  return {close: () => server.close(), seen, url: new URL(`http://127.0.0.1:${port}/`)}
}

describe('google/resource-readers', () => {
  it('regional endpoint as gcloud derives it (connection_context.py DeriveRegionalEndpoint): REGION- before the host', () => {
    expect(regionalEndpoint(new URL('https://run.googleapis.com/'), 'us-central1')).to.deep.equal({connect: 'https://us-central1-run.googleapis.com/', url: 'https://us-central1-run.googleapis.com/'})
    expect(regionalEndpoint(new URL('https://run.example.test:8443/base/'), 'eu-west1')).to.deep.equal({connect: 'https://eu-west1-run.example.test:8443/base/', url: 'https://eu-west1-run.example.test:8443/base/'})
    // a loopback stand-in: the regional name does not resolve, so it is sent to the loopback host with that Host header
    expect(regionalEndpoint(new URL('http://127.0.0.1:8765/'), 'us-central1')).to.deep.equal({
      connect: 'http://127.0.0.1:8765/', hostHeader: 'us-central1-127.0.0.1:8765', url: 'http://us-central1-127.0.0.1:8765/',
    })
  })

  it('override env: absolute, trailing /, http only to loopback; unset = Google', () => {
    expect(apiEndpointFrom({}, RUN_API, undefined).href).to.equal('https://run.googleapis.com/')
    expect(apiEndpointFrom({CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN: 'http://127.0.0.1:1/'}, RUN_API, 'https://ignored.example/').href).to.equal('http://127.0.0.1:1/')
    // gcloud's precedence: the variable, else the configuration file's api_endpoint_overrides/run.
    expect(apiEndpointFrom({}, RUN_API, 'http://127.0.0.1:2/').href).to.equal('http://127.0.0.1:2/')
    expect(apiEndpointFrom({}, FUNCTIONS_API, undefined).href).to.equal('https://cloudfunctions.googleapis.com/')
    for (const bad of ['http://evil.example/', 'https://run.example', 'file:///etc/passwd']) {
      expect(() => apiEndpointFrom({CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN: bad}, RUN_API, undefined), bad).to.throw(UserError, /not a usable Cloud Run Admin endpoint/)
    }
  })

  it('service: the build-image-uri annotation; 404 = first deploy', async () => {
    const found = await answering(200, {metadata: {annotations: {'run.googleapis.com/build-image-uri': 'us-central1-docker.pkg.dev/p/r/svc'}}})
    try {
      expect(await readExistingService(found.url, {name: 'svc', project: 'example.com:p', region: 'us-central1'}, {
        quotaProject: 'q', secrets: new Secrets(), tokens, userAgent: TEST_USER_AGENT,
      })).to.deep.equal({
        buildImageUri: 'us-central1-docker.pkg.dev/p/r/svc', exists: true,
      })
      expect(found.seen[0]).to.deep.equal({
        auth: 'Bearer tok', host: `us-central1-127.0.0.1:${found.url.port}`, path: '/apis/serving.knative.dev/v1/namespaces/example.com:p/services/svc', userAgent: TEST_USER_AGENT,
      })
    } finally {
      found.close()
    }

    const missing = await answering(404, {error: {code: 404}})
    try {
      expect(await readExistingFunction(missing.url, {name: 'fn', project: 'p', region: 'us-central1'}, {secrets: new Secrets(), tokens, userAgent: TEST_USER_AGENT})).to.deep.equal({exists: false})
      expect(missing.seen[0]?.path).to.equal('/v2/projects/p/locations/us-central1/functions/fn')
      expect(missing.seen[0]?.userAgent).to.equal(TEST_USER_AGENT)
    } finally {
      missing.close()
    }
  })

  it('a 403 names the role that reads services / functions, never falls back to a guess', async () => {
    const denied = await answering(403, {error: {code: 403, status: 'PERMISSION_DENIED'}})
    try {
      const run = await rejectionOf(readExistingService(denied.url, {name: 'svc', project: 'p', region: 'us-central1'}, {secrets: new Secrets(), tokens, userAgent: TEST_USER_AGENT}))
      expect(run).to.be.instanceOf(UserError)
      expect((run as UserError).code).to.equal('EXISTING_READ_DENIED')
      expect((run as UserError).exitCode).to.equal(3)
      expect((run as UserError).suggestions.join(' ')).to.include('roles/run.viewer')
      const fn = await rejectionOf(readExistingFunction(denied.url, {name: 'fn', project: 'p', region: 'us-central1'}, {secrets: new Secrets(), tokens, userAgent: TEST_USER_AGENT}))
      expect((fn as UserError).suggestions.join(' ')).to.include('roles/cloudfunctions.viewer')
    } finally {
      denied.close()
    }
  })
})
