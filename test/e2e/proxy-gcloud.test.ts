// End to end: behind an HTTP proxy, binauthz takes the network path the REAL gcloud 528 takes (core/http_proxy.py:
// proxy/type, address, port; core/custom_ca_certs_file). The Binary Authorization endpoint is https://localhost:FRONT/,
// a TLS front (self-signed, trusted through custom_ca_certs_file) that hands each request to the sandbox; the proxy
// on 127.0.0.1 records every CONNECT and every byte it relays, tunnels CONNECT to the front only, and relays plain
// requests (gcloud's calls to the loopback http overrides) to the sandbox, which understands absolute-URI requests.
// Both programs must reach the policy through a CONNECT tunnel, and the token must never cross the proxy in clear.
// Skipped without gcloud or openssl (for the certificate).
import type {AddressInfo} from 'node:net'

import {expect} from 'chai'
import {execFileSync} from 'node:child_process'
import {readFileSync, rmSync} from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import {join} from 'node:path'

import {runCli} from '../helpers/cli-process.js'
import {
  allowlistOf, denyAllBut, gcloudAgainst, withoutCloudsdk, writeHelloSource,
} from '../helpers/e2e.js'
import {installedGcloud} from '../helpers/installed-gcloud.js'
import {type CliSandbox, startSandboxCli} from '../helpers/sandbox-cli.js'
import {tempDir} from '../helpers/tmp.js'

const GCLOUD = installedGcloud()
function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], {stdio: 'ignore'})
    return true
  } catch {
    return false
  }
}

const READY = GCLOUD !== undefined && hasOpenssl()

function listen(server: net.Server): Promise<number> {
  return new Promise(resolve => {
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port))
  })
}

interface ProxyRecord {
  /** The CONNECT targets, in order. */
  connects: string[]
  frontPort: number
  /** Every byte relayed, both ways. */
  relayed: Buffer[]
  sandboxPort: number
  sockets: Set<net.Socket>
  /** Local ports of the proxy's tunnels to the front: the front serves only requests that came through one. */
  tunnelPorts: Set<number>
}

/** Pipes `from` into `to`, keeping a copy of every chunk. */
function relay(from: net.Socket, to: net.Socket, relayed: Buffer[]): void {
  from.on('data', (chunk: Buffer) => relayed.push(chunk))
  from.pipe(to)
}

/** The proxy: CONNECT only to the front; any other request relayed as it is to the sandbox (absolute-URI requests). */
function recordingProxy(record: ProxyRecord): net.Server {
  const track = (socket: net.Socket): void => {
    record.sockets.add(socket)
    socket.on('close', () => record.sockets.delete(socket))
  }

  return net.createServer(client => {
    track(client)
    client.on('error', () => client.destroy())
    client.once('data', (first: Buffer) => {
      record.relayed.push(first)
      const line = first.toString('latin1').split('\r\n', 1)[0] ?? ''
      const target = /^CONNECT (\S+) HTTP\/1\.[01]$/.exec(line)?.[1]
      if (target !== undefined && target !== `localhost:${record.frontPort}`) {
        client.end('HTTP/1.1 403 Forbidden\r\n\r\n')
        return
      }

      if (target !== undefined) record.connects.push(target)
      const upstream = net.connect(target === undefined ? record.sandboxPort : record.frontPort, '127.0.0.1', () => {
        if (target === undefined) {
          upstream.write(first)
        } else {
          if (upstream.localPort !== undefined) record.tunnelPorts.add(upstream.localPort)
          client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
        }

        relay(client, upstream, record.relayed)
        relay(upstream, client, record.relayed)
      })
      track(upstream)
      upstream.on('error', () => client.destroy())
    })
  })
}

describe(`e2e: binauthz and gcloud behind one HTTP proxy${READY ? '' : ' (skipped: needs gcloud and openssl)'}`, function () {
  this.timeout(300_000)
  let dir: string
  let sandbox: CliSandbox
  let front: https.Server
  let proxy: net.Server
  let frontPort: number
  let proxyPort: number
  let caFile: string
  const connects: string[] = []
  const relayed: Buffer[] = []
  const sockets = new Set<net.Socket>()
  const tunnelPorts = new Set<number>()
  /** User agents of the requests the front served (all came through a tunnel; others are refused). */
  const served: string[] = []
  let stopTimer: NodeJS.Timeout

  before(async function () {
    if (!READY) this.skip() // needs the real gcloud and openssl
    dir = tempDir('binauthz-e2e-proxy-')
    writeHelloSource(dir)
    caFile = join(dir, 'cert.pem')
    const key = join(dir, 'key.pem')
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', caFile, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], {stdio: 'ignore'})
    sandbox = await startSandboxCli({policy: denyAllBut([]), stateDir: join(dir, 'state')})

    front = https.createServer({cert: readFileSync(caFile), key: readFileSync(key)}, (req, res) => {
      if (!tunnelPorts.has(req.socket.remotePort ?? 0)) {
        res.writeHead(403).end('not through the proxy')
        return
      }

      served.push(`${req.method} ${req.headers['user-agent'] ?? ''}`)
      const upstream = http.request({
        headers: req.headers, host: '127.0.0.1', method: req.method, path: req.url, port: sandbox.port,
      }, answer => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      })
      upstream.on('error', () => res.destroy())
      req.pipe(upstream)
    })
    frontPort = await listen(front)
    proxy = recordingProxy({
      connects, frontPort, relayed, sandboxPort: sandbox.port, sockets, tunnelPorts,
    })
    proxyPort = await listen(proxy)
    // Self-stopping: whatever happens to the test, the servers close within five minutes.
    stopTimer = setTimeout(() => stopServers(), 300_000)
    stopTimer.unref()
  })

  function stopServers(): void {
    for (const socket of sockets) socket.destroy()
    proxy?.close()
    front?.closeAllConnections()
    front?.close()
  }

  after(async () => {
    clearTimeout(stopTimer)
    stopServers()
    await sandbox?.stop()
    if (dir) rmSync(dir, {force: true, recursive: true})
  })

  /** The sandbox's settings, with the policy API behind TLS and every call through the proxy (gcloud's properties). */
  function proxiedEnv(): Record<string, string> {
    const {NO_PROXY: _a, no_proxy: _b, ...rest} = sandbox.env
    return {
      ...rest,
      CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION: `https://localhost:${frontPort}/`,
      CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE: caFile,
      CLOUDSDK_PROXY_ADDRESS: '127.0.0.1',
      CLOUDSDK_PROXY_PORT: String(proxyPort),
      CLOUDSDK_PROXY_TYPE: 'http',
    }
  }

  it('gcloud reads the policy through a CONNECT tunnel to the TLS endpoint', async () => {
    connects.length = 0
    const got = await gcloudAgainst({
      dir, gcloud: GCLOUD!, sandboxEnv: proxiedEnv(), timeoutMs: 120_000,
    }, ['container', 'binauthz', 'policy', 'export'])
    expect(got.exitCode, got.stderr).to.equal(0)
    expect(got.stdout).to.include('defaultAdmissionRule')
    expect(connects).to.include(`localhost:${frontPort}`)
  })

  it('binauthz deploys the same way: policy only through the tunnel (never in clear at the proxy); gcloud deploys', async () => {
    connects.length = 0
    relayed.length = 0
    served.length = 0
    const env: NodeJS.ProcessEnv = {
      ...withoutCloudsdk(), ...proxiedEnv(), BINAUTHZ_CONFIG_DIR: join(dir, 'config'), BINAUTHZ_DATA_DIR: join(dir, 'data'), BINAUTHZ_GCLOUD: GCLOUD!,
    }
    delete env.HTTPS_PROXY
    delete env.https_proxy
    const got = await runCli(['deploy', 'run', 'hello', '--region', 'us-central1', '--yes', '--json', '--', '--source', 'src'], {cwd: dir, env, timeoutMs: 240_000})
    expect(got.code, `${got.stdout}\n${got.stderr}`).to.equal(0)
    expect(allowlistOf(sandbox.state)).to.deep.equal([`us-central1-docker.pkg.dev/${sandbox.project}/cloud-run-source-deploy/**`])
    // binauthz's policy read and write were served by the front, which serves only what came through a tunnel.
    expect(served.filter(s => s.includes('binauthz-deploy/')).map(s => s.split(' ')[0])).to.include.members(['GET', 'PUT'])
    // binauthz's policy calls and gcloud's (the deploy reads nothing of the policy): tunnels to the front only.
    expect(connects.length).to.be.greaterThan(0)
    expect(new Set(connects)).to.deep.equal(new Set([`localhost:${frontPort}`]))
    const tunnelled = Buffer.concat(relayed).toString('latin1')
    expect(tunnelled).to.include('CONNECT localhost:')
    // gcloud sends its token in clear to the loopback http overrides (through the proxy, as configured); binauthz's
    // calls went only through the tunnel, so the policy PUT's body never crossed the proxy in clear.
    expect(tunnelled).to.not.include('admissionWhitelistPatterns')
  })
})
