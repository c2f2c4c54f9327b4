// The network path (src/google/network.ts): gcloud's proxy properties and the standard variables, as tables; and a
// real call through a loopback CONNECT proxy (bounded, self-stopping) to a local HTTPS server whose self-signed
// certificate is trusted only through core/custom_ca_certs_file.
import type {AddressInfo} from 'node:net'

import {expect} from 'chai'
import {execFileSync} from 'node:child_process'
import {readFileSync, rmSync} from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import {join} from 'node:path'

import {Secrets, UserError} from '../../src/errors.js'
import {BinauthzClient} from '../../src/google/binauthz-client.js'
import {bypassesProxy, resolveNetwork} from '../../src/google/network.js'
import {thrownBy} from '../helpers/assert.js'
import {tempDir} from '../helpers/tmp.js'
import {TEST_USER_AGENT} from '../helpers/user-agent.js'

const HTTPS_TARGET = new URL('https://binaryauthorization.googleapis.com/')

function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error: unknown) {
    return error
  }

  return undefined
}

/** The test proxy's CONNECT: only to the local API (bounded: nothing else is tunnelled); records what it carries. */
function tunnel({apiPort, client, connects, head, proxied, req}: {
  apiPort: number; client: net.Socket; connects: string[]; head: Buffer; proxied: Buffer[]; req: http.IncomingMessage
}): void {
  connects.push(`${req.url} ${req.headers['proxy-authorization'] ?? '-'}`)
  const [, port] = /:(\d+)$/.exec(req.url ?? '') ?? []
  if (Number(port) !== apiPort) {
    client.end('HTTP/1.1 403 Forbidden\r\n\r\n')
    return
  }

  const upstream = net.connect(apiPort, '127.0.0.1', () => {
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
    if (head.length > 0) upstream.write(head)
    client.on('data', (chunk: Buffer) => proxied.push(chunk))
    upstream.pipe(client)
    client.pipe(upstream)
  })
  upstream.on('error', () => client.destroy())
  client.on('error', () => upstream.destroy())
}

describe('network path (gcloud core/http_proxy.py, urllib proxies)', () => {
  describe('bypassesProxy (urllib proxy_bypass_environment)', () => {
    const cases: {expected: boolean; host: string; noProxy: string | undefined}[] = [
      {expected: false, host: 'binaryauthorization.googleapis.com', noProxy: undefined},
      {expected: true, host: 'binaryauthorization.googleapis.com', noProxy: '*'},
      {expected: true, host: 'binaryauthorization.googleapis.com', noProxy: 'googleapis.com'},
      {expected: true, host: 'binaryauthorization.googleapis.com', noProxy: '.googleapis.com'},
      {expected: true, host: 'binaryauthorization.googleapis.com', noProxy: 'example.com, binaryauthorization.googleapis.com:443'},
      {expected: false, host: 'binaryauthorization.googleapis.com', noProxy: 'binaryauthorization.googleapis.com:8443'},
      {expected: false, host: 'binaryauthorization.googleapis.com', noProxy: 'apis.com'},
    ]
    for (const c of cases) {
      it(`${c.noProxy ?? '(unset)'} → ${c.expected ? 'direct' : 'proxy'}`, () => {
        expect(bypassesProxy(c.noProxy, c.host, '443')).to.equal(c.expected)
      })
    }
  })

  describe('resolveNetwork', () => {
    const cases: {env: NodeJS.ProcessEnv; expected: undefined | {host: string; port: number}; name: string; props?: Record<string, string>; target?: URL}[] = [
      {env: {}, expected: undefined, name: 'nothing set: direct'},
      {
        env: {}, expected: {host: 'proxy.corp', port: 3128}, name: 'proxy/* in the configuration', props: {proxyAddress: 'proxy.corp', proxyPort: '3128', proxyType: 'http'},
      },
      {
        env: {CLOUDSDK_PROXY_ADDRESS: 'env.corp', CLOUDSDK_PROXY_PORT: '8080', CLOUDSDK_PROXY_TYPE: 'http'},
        expected: {host: 'env.corp', port: 8080},
        name: 'CLOUDSDK_PROXY_* over the configuration',
        props: {proxyAddress: 'proxy.corp', proxyPort: '3128', proxyType: 'http'},
      },
      {
        env: {HTTPS_PROXY: 'http://upper:1', https_proxy: 'http://lower:2'}, expected: {host: 'lower', port: 2}, name: 'https_proxy over HTTPS_PROXY (urllib)',
      },
      {
        env: {HTTPS_PROXY: 'http://p:1'}, expected: {host: 'gcloud.corp', port: 9}, name: 'gcloud properties over the variables', props: {proxyAddress: 'gcloud.corp', proxyPort: '9', proxyType: 'http'},
      },
      {env: {HTTPS_PROXY: 'http://p:1', NO_PROXY: '.googleapis.com'}, expected: undefined, name: 'NO_PROXY bypasses the variable'},
      {env: {HTTPS_PROXY: 'http://p:1', NO_PROXY: 'x', no_proxy: ''}, expected: {host: 'p', port: 1}, name: 'an empty no_proxy: proxy'},
      {
        env: {CLOUDSDK_PROXY_ADDRESS: 'p', CLOUDSDK_PROXY_PORT: '1', CLOUDSDK_PROXY_TYPE: 'http'},
        expected: undefined,
        name: 'a plain-http loopback endpoint is reached directly',
        target: new URL('http://127.0.0.1:8080/'),
      },
    ]
    for (const c of cases) {
      it(c.name, () => {
        const path = resolveNetwork(c.env, c.props ?? {}, c.target ?? HTTPS_TARGET)
        expect(path.proxy === undefined ? undefined : {host: path.proxy.host, port: path.proxy.port}).to.deep.equal(c.expected)
      })
    }

    const refusals: {code: string; env: NodeJS.ProcessEnv; name: string; props?: Record<string, string>}[] = [
      {code: 'INVALID_PROXY', env: {CLOUDSDK_PROXY_TYPE: 'http'}, name: 'type without address and port (gcloud: all or none)'},
      {
        code: 'PROXY_UNSUPPORTED', env: {}, name: 'socks5 (no CONNECT tunnel)', props: {proxyAddress: 'p', proxyPort: '1', proxyType: 'socks5'},
      },
      {
        code: 'PROXY_UNSUPPORTED', env: {}, name: 'http_no_tunnel (the token would reach the proxy in clear)', props: {proxyAddress: 'p', proxyPort: '1', proxyType: 'http_no_tunnel'},
      },
      {code: 'PROXY_UNSUPPORTED', env: {HTTPS_PROXY: 'socks5://p:1'}, name: 'a socks URL in HTTPS_PROXY'},
      {code: 'INVALID_PROXY', env: {CLOUDSDK_PROXY_ADDRESS: 'p', CLOUDSDK_PROXY_PORT: '99999', CLOUDSDK_PROXY_TYPE: 'http'}, name: 'a port out of range'},
      {code: 'CA_CERTS_FILE_UNREADABLE', env: {CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE: '/nonexistent/ca.pem'}, name: 'a missing CA bundle'},
      {code: 'FILE_NOT_REGULAR', env: {CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE: '/dev/zero'}, name: 'a device as the CA bundle (never read)'},
    ]
    for (const c of refusals) {
      it(`refuses ${c.name}`, () => {
        const error = thrown(() => resolveNetwork(c.env, c.props ?? {}, HTTPS_TARGET))
        expect(error).to.be.instanceOf(UserError)
        expect((error as UserError).code).to.equal(c.code)
      })
    }

    it('sends proxy/username and proxy/password as Basic Proxy-Authorization', () => {
      const path = resolveNetwork({}, {
        proxyAddress: 'p', proxyPassword: 'pw', proxyPort: '1', proxyType: 'http', proxyUsername: 'me',
      }, HTTPS_TARGET)
      expect(path.proxy?.authorization).to.equal(`Basic ${Buffer.from('me:pw').toString('base64')}`)
    })
  })

  describe('TLS verification (auth/disable_ssl_validation; NODE_TLS_REJECT_UNAUTHORIZED)', () => {
    const api = new URL('https://binaryauthorization.googleapis.com/')

    it('refuses an https endpoint when only Node\'s verification is off (gcloud still verifies)', () => {
      const error = thrownBy(() => resolveNetwork({NODE_TLS_REJECT_UNAUTHORIZED: '0'}, {}, api)) as UserError
      expect(error.code).to.equal('TLS_VERIFICATION_OFF')
      expect(error.suggestions[0]).to.equal('unset NODE_TLS_REJECT_UNAUTHORIZED')
    })

    it('goes on unverified when gcloud\'s own property is on, from the environment or the configuration', () => {
      expect(resolveNetwork({NODE_TLS_REJECT_UNAUTHORIZED: '0'}, {disableSslValidation: 'true'}, api).unverified)
      .to.deep.equal({origin: 'gcloud config auth/disable_ssl_validation'})
      for (const value of ['1', 'on', 'yes', 'y', 'TRUE']) {
        expect(resolveNetwork({CLOUDSDK_AUTH_DISABLE_SSL_VALIDATION: value}, {}, api).unverified, value).to.not.equal(undefined)
      }

      for (const value of ['false', '0', 'no', 'none', 'maybe']) {
        expect(resolveNetwork({CLOUDSDK_AUTH_DISABLE_SSL_VALIDATION: value}, {}, api).unverified, value).to.equal(undefined)
      }
    })

    it('does not concern a loopback http endpoint (no TLS there)', () => {
      expect(resolveNetwork({NODE_TLS_REJECT_UNAUTHORIZED: '0'}, {}, new URL('http://127.0.0.1:8080/'))).to.deep.equal({})
    })
  })

  describe('through a loopback CONNECT proxy to an HTTPS API', function () {
    this.timeout(60_000)
    const TOKEN = 'ya29.token-that-must-stay-inside-tls-0123456789'
    let dir: string
    let api: https.Server
    let proxy: http.Server
    let apiSeen: {authorization?: string; path?: string; quota?: string}[]
    const connects: string[] = []
    const proxied: Buffer[] = []
    let caFile: string
    let apiPort: number
    let proxyPort: number
    let stopTimer: NodeJS.Timeout

    before(async function () {
      try {
        execFileSync('openssl', ['version'], {stdio: 'ignore'})
      } catch {
        this.skip() // openssl makes the self-signed certificate
      }

      dir = tempDir('binauthz-proxy-')
      caFile = join(dir, 'cert.pem')
      const key = join(dir, 'key.pem')
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', caFile, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], {stdio: 'ignore'})
      apiSeen = []
      api = https.createServer({cert: readFileSync(caFile), key: readFileSync(key)}, (req, res) => {
        apiSeen.push({
          ...(req.headers.authorization === undefined ? {} : {authorization: req.headers.authorization}),
          ...(req.url === undefined ? {} : {path: req.url}),
          ...(typeof req.headers['x-goog-user-project'] === 'string' ? {quota: req.headers['x-goog-user-project']} : {}),
        })
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify({defaultAdmissionRule: {enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG', evaluationMode: 'ALWAYS_DENY'}, etag: '"e1"', name: 'projects/p/policy'}))
      })
      await new Promise<void>(done => {
        api.listen(0, '127.0.0.1', done)
      })
      apiPort = (api.address() as AddressInfo).port
      proxy = http.createServer((_req, res) => {
        res.statusCode = 405
        res.end()
      })
      proxy.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => tunnel({
        apiPort, client, connects, head, proxied, req,
      }))
      await new Promise<void>(done => {
        proxy.listen(0, '127.0.0.1', done)
      })
      proxyPort = (proxy.address() as AddressInfo).port
      // Self-stopping: whatever happens to the test, the servers close within a minute.
      stopTimer = setTimeout(() => {
        proxy.closeAllConnections()
        proxy.close()
        api.closeAllConnections()
        api.close()
      }, 60_000)
      stopTimer.unref()
    })

    after(() => {
      clearTimeout(stopTimer)
      proxy?.closeAllConnections()
      proxy?.close()
      api?.closeAllConnections()
      api?.close()
      if (dir) rmSync(dir, {force: true, recursive: true})
    })

    function client(env: NodeJS.ProcessEnv): BinauthzClient {
      const endpoint = new URL(`https://localhost:${apiPort}/`)
      return new BinauthzClient({
        endpoint,
        network: resolveNetwork(env, {}, endpoint), quotaProject: 'billing-proj', secrets: new Secrets(), tokens: {getToken: async () => TOKEN}, userAgent: TEST_USER_AGENT,
      })
    }

    it('tunnels with CONNECT (proxy credentials to the proxy, the token only inside TLS to the API host)', async () => {
      const c = client({
        CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE: caFile, CLOUDSDK_PROXY_ADDRESS: '127.0.0.1', CLOUDSDK_PROXY_PASSWORD: 'pw', CLOUDSDK_PROXY_PORT: String(proxyPort), CLOUDSDK_PROXY_TYPE: 'http', CLOUDSDK_PROXY_USERNAME: 'me',
      })
      try {
        const policy = await c.getPolicy('p')
        expect(policy.name).to.equal('projects/p/policy')
      } finally {
        c.close()
      }

      expect(connects).to.deep.equal([`localhost:${apiPort} Basic ${Buffer.from('me:pw').toString('base64')}`])
      expect(apiSeen.at(-1)).to.deep.equal({authorization: `Bearer ${TOKEN}`, path: '/v1/projects/p/policy', quota: 'billing-proj'})
      const bytes = Buffer.concat(proxied).toString('latin1')
      expect(bytes.length).to.be.greaterThan(0)
      expect(bytes).not.to.include(TOKEN)
      expect(bytes).not.to.include('Bearer')
    })

    it('HTTPS_PROXY works the same way; NO_PROXY goes direct', async () => {
      connects.length = 0
      const viaEnv = client({CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE: caFile, HTTPS_PROXY: `http://127.0.0.1:${proxyPort}`})
      await viaEnv.getPolicy('p')
      viaEnv.close()
      expect(connects).to.have.length(1)
      const direct = client({CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE: caFile, HTTPS_PROXY: `http://127.0.0.1:${proxyPort}`, NO_PROXY: 'localhost'})
      await direct.getPolicy('p')
      direct.close()
      expect(connects).to.have.length(1)
    })

    it('with gcloud\'s auth/disable_ssl_validation on, binauthz skips verification too (as gcloud does)', async () => {
      const endpoint = new URL(`https://localhost:${apiPort}/`)
      const network = resolveNetwork({CLOUDSDK_AUTH_DISABLE_SSL_VALIDATION: 'True'}, {}, endpoint)
      expect(network.unverified).to.deep.equal({origin: 'CLOUDSDK_AUTH_DISABLE_SSL_VALIDATION'})
      const unverified = new BinauthzClient({
        endpoint,
        network, retry: {maxRetries: 0}, secrets: new Secrets(), tokens: {getToken: async () => TOKEN}, userAgent: TEST_USER_AGENT,
      })
      try {
        expect((await unverified.getPolicy('p')).name).to.equal('projects/p/policy')
      } finally {
        unverified.close()
      }
    })

    it('without the CA bundle the self-signed API is not trusted (the bundle is what TLS trusts)', async () => {
      const untrusted = new BinauthzClient({
        endpoint: new URL(`https://localhost:${apiPort}/`),
        retry: {maxRetries: 0}, secrets: new Secrets(), tokens: {getToken: async () => TOKEN}, userAgent: TEST_USER_AGENT,
      })
      let error: unknown
      try {
        await untrusted.getPolicy('p')
      } catch (error_: unknown) {
        error = error_
      } finally {
        untrusted.close()
      }

      expect(error).to.be.instanceOf(Error)
    })
  })
})
