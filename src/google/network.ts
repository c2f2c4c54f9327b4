// The network path of binauthz's own HTTPS calls, as gcloud 528 chooses its own:
//  - proxy/type, proxy/address, proxy/port (all or none), proxy/username, proxy/password (core/http_proxy.py
//    GetProxyProperties; env CLOUDSDK_PROXY_* over the configuration); when none is set, the standard variables as
//    Python's urllib reads them (GetDefaultProxyInfo → urllib.request.getproxies: `https_proxy` over `HTTPS_PROXY`;
//    proxy_bypass_environment: `no_proxy` over `NO_PROXY`, `*` or a host suffix, optionally with the port);
//  - core/custom_ca_certs_file (CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE over the configuration): the CA bundle TLS trusts
//    instead of the default one (core/transport.py GetDefaultCertificates... ca_certs).
// The token stays inside TLS: HTTPS goes through a proxy only as a CONNECT tunnel (TLS end to end with the API host);
// a proxy that cannot tunnel (http_no_tunnel, SOCKS) is refused, never used in clear. A plain-http endpoint (allowed
// only to loopback, src/google/endpoint.ts) is reached directly, never through a proxy. Redirects are never followed
// (node:http does not), so the token never goes to a redirect target.

import type {Duplex} from 'node:stream'

// Named imports (as in http-transport.ts): esbuild would copy every export of a module's default object at every start.
import {type ClientRequestArgs, Agent as HttpAgent, request as httpRequest} from 'node:http'
import {Agent as HttpsAgent, type AgentOptions as HttpsAgentOptions} from 'node:https'
import {type ConnectionOptions, connect as tlsConnect} from 'node:tls'

import {UserError} from '../errors.js'
import {readRegularFile} from '../store/regular-file.js'

/** gcloud's proxy and CA properties, as read from the configuration file (src/auth/gcloud-config.ts). */
export interface NetworkProperties {
  customCaCertsFile?: string
  /** auth/disable_ssl_validation: gcloud skips TLS certificate verification (so, then, does binauthz). */
  disableSslValidation?: string
  proxyAddress?: string
  proxyPassword?: string
  proxyPort?: string
  proxyType?: string
  proxyUsername?: string
}

export interface ProxyTunnel {
  /** `Proxy-Authorization` for the CONNECT request (the proxy's credential, never the Google token). */
  authorization?: string
  host: string
  /** Where the setting comes from, for messages. */
  origin: string
  port: number
}

export interface NetworkPath {
  /** CA bundle (PEM) trusted instead of Node's default roots. */
  ca?: Buffer
  caFile?: string
  proxy?: ProxyTunnel
  /** Set when gcloud's auth/disable_ssl_validation is on: certificates are not verified (say so on every run). */
  unverified?: {origin: string}
}

const PROXY_SUGGESTIONS = [
  'Use an HTTP proxy that supports CONNECT: `gcloud config set proxy/type http`',
  'Or unset the proxy settings: `gcloud config unset proxy/type` (and proxy/address, proxy/port)',
]

function pick(env: NodeJS.ProcessEnv, variable: string, fromFile: string | undefined, property: string): undefined | {origin: string; value: string} {
  const fromEnv = env[variable]?.trim()
  if (fromEnv) return {origin: variable, value: fromEnv}
  return fromFile?.trim() ? {origin: `gcloud config ${property}`, value: fromFile.trim()} : undefined
}

function basic(user: string | undefined, password: string | undefined): string | undefined {
  if (user === undefined || user === '') return undefined
  return `Basic ${Buffer.from(`${user}:${password ?? ''}`).toString('base64')}`
}

function portOf(value: string, origin: string): number {
  const port = /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new UserError(`${origin} is "${value.slice(0, 40)}", which is not a port number.`, {code: 'INVALID_PROXY', suggestions: PROXY_SUGGESTIONS})
  }

  return port
}

/** PURE: gcloud's proxy properties (all or none of type, address, port), or undefined when none is set. */
function proxyFromProperties(env: NodeJS.ProcessEnv, props: NetworkProperties): ProxyTunnel | undefined {
  const type = pick(env, 'CLOUDSDK_PROXY_TYPE', props.proxyType, 'proxy/type')
  const address = pick(env, 'CLOUDSDK_PROXY_ADDRESS', props.proxyAddress, 'proxy/address')
  const port = pick(env, 'CLOUDSDK_PROXY_PORT', props.proxyPort, 'proxy/port')
  const set = [type, address, port].filter(Boolean).length
  if (set === 0) return undefined
  if (set !== 3 || !type || !address || !port) {
    throw new UserError('Please set all or none of the following properties: proxy/type, proxy/address and proxy/port (as gcloud requires).', {
      code: 'INVALID_PROXY',
      suggestions: PROXY_SUGGESTIONS,
    })
  }

  if (type.value !== 'http') {
    throw new UserError(
      `${type.origin} is ${type.value}: binauthz sends its calls only through an HTTP proxy's CONNECT tunnel `
      + '(its access token must stay inside TLS), and cannot use this proxy type.',
      {code: 'PROXY_UNSUPPORTED', suggestions: PROXY_SUGGESTIONS},
    )
  }

  const user = pick(env, 'CLOUDSDK_PROXY_USERNAME', props.proxyUsername, 'proxy/username')?.value
  const password = pick(env, 'CLOUDSDK_PROXY_PASSWORD', props.proxyPassword, 'proxy/password')?.value
  const authorization = basic(user, password)
  return {
    host: address.value, origin: `${type.origin} / ${address.origin} / ${port.origin}`, port: portOf(port.value, port.origin), ...(authorization ? {authorization} : {}),
  }
}

/** Python's urllib: the lower-case variable wins over the upper-case one. */
function envProxyVariable(env: NodeJS.ProcessEnv, name: string): undefined | {origin: string; value: string} {
  const lower = env[name.toLowerCase()]?.trim()
  if (lower) return {origin: name.toLowerCase(), value: lower}
  const upper = env[name.toUpperCase()]?.trim()
  return upper ? {origin: name.toUpperCase(), value: upper} : undefined
}

/** PURE: urllib.request.proxy_bypass_environment for `host:port`. */
export function bypassesProxy(noProxy: string | undefined, host: string, port: string): boolean {
  if (noProxy === undefined || noProxy.trim() === '') return false
  if (noProxy.trim() === '*') return true
  const hostOnly = host.toLowerCase().replaceAll(/^\[|\]$/g, '')
  for (const raw of noProxy.split(',')) {
    const entry = raw.trim().toLowerCase().replace(/^\./, '')
    if (entry === '') continue
    if (entry === `${hostOnly}:${port}` || entry === hostOnly || hostOnly.endsWith(`.${entry}`)) return true
  }

  return false
}

function proxyFromEnvironment(env: NodeJS.ProcessEnv, target: URL): ProxyTunnel | undefined {
  const variable = envProxyVariable(env, 'https_proxy')
  if (variable === undefined) return undefined
  const noProxy = envProxyVariable(env, 'no_proxy')?.value
  if (bypassesProxy(noProxy, target.hostname, target.port || '443')) return undefined
  let url: URL
  try {
    url = new URL(/^[a-z][a-z\d+.-]*:\/\//i.test(variable.value) ? variable.value : `http://${variable.value}`)
  } catch {
    throw new UserError(`${variable.origin} is not a proxy URL.`, {code: 'INVALID_PROXY', suggestions: [`Fix or unset ${variable.origin}`]})
  }

  if (url.protocol !== 'http:') {
    throw new UserError(`${variable.origin} names a ${url.protocol.replace(':', '')} proxy; binauthz tunnels only through http:// proxies (CONNECT).`, {
      code: 'PROXY_UNSUPPORTED',
      suggestions: [`Set ${variable.origin}=http://HOST:PORT, or unset it`],
    })
  }

  const authorization = basic(url.username ? decodeURIComponent(url.username) : undefined, url.password ? decodeURIComponent(url.password) : undefined)
  return {
    host: url.hostname.replaceAll(/^\[|\]$/g, ''), origin: variable.origin, port: url.port === '' ? 80 : Number(url.port), ...(authorization ? {authorization} : {}),
  }
}

/** A CA bundle (PEM) larger than this is refused: the system's whole bundle is ~200 KiB. */
const MAX_CA_FILE_BYTES = 8 * 1024 * 1024

/** core/properties.py _GetBoolProperty: these spellings are true, anything else false. */
function isTrue(value: string | undefined): boolean {
  return value !== undefined && ['1', 'on', 'true', 'y', 'yes'].includes(value.toLowerCase())
}

/**
 * TLS verification as gcloud does it: off only when gcloud's own auth/disable_ssl_validation is (core/transport.py
 * passes disable_ssl_certificate_validation to its HTTP clients). Node's NODE_TLS_REJECT_UNAUTHORIZED=0 alone switches
 * verification off for this process while gcloud still verifies: the token would go to whoever answers, so refuse.
 */
function verification(env: NodeJS.ProcessEnv, props: NetworkProperties): NetworkPath['unverified'] {
  const setting = pick(env, 'CLOUDSDK_AUTH_DISABLE_SSL_VALIDATION', props.disableSslValidation, 'auth/disable_ssl_validation')
  if (setting && isTrue(setting.value)) return {origin: setting.origin}
  if (env.NODE_TLS_REJECT_UNAUTHORIZED === '0') {
    throw new UserError(
      'NODE_TLS_REJECT_UNAUTHORIZED=0 switches off TLS certificate verification for Node, but gcloud still verifies '
      + '(auth/disable_ssl_validation is not set): binauthz does not send an access token over an unverified connection.',
      {
        code: 'TLS_VERIFICATION_OFF',
        suggestions: [
          'unset NODE_TLS_REJECT_UNAUTHORIZED',
          'Or trust your proxy\'s CA instead: gcloud config set core/custom_ca_certs_file /path/to/ca.pem',
        ],
      },
    )
  }

  return undefined
}

/**
 * The network path to `target` (an API base URL): the CA bundle, TLS verification and, for https, the proxy tunnel.
 * Reads the CA file (sync, small); throws UserError for settings gcloud rejects or binauthz cannot honour safely.
 */
export function resolveNetwork(env: NodeJS.ProcessEnv, props: NetworkProperties, target: URL): NetworkPath {
  const out: NetworkPath = {}
  if (target.protocol === 'https:') {
    const unverified = verification(env, props)
    if (unverified) out.unverified = unverified
  }

  const caSetting = pick(env, 'CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE', props.customCaCertsFile, 'core/custom_ca_certs_file')
  if (caSetting && target.protocol === 'https:') {
    // A FIFO, device or directory is refused without blocking (src/store/regular-file.ts).
    const read = readRegularFile(caSetting.value, {maxBytes: MAX_CA_FILE_BYTES, what: `The CA bundle (${caSetting.origin})`})
    const ca = read.kind === 'text' ? Buffer.from(read.text, 'utf8') : undefined

    if (ca === undefined) {
      throw new UserError(`${caSetting.origin} names ${caSetting.value}, which cannot be read as a CA bundle.`, {
        code: 'CA_CERTS_FILE_UNREADABLE',
        suggestions: [`Fix or unset ${caSetting.origin}`],
      })
    }

    out.ca = ca
    out.caFile = caSetting.value
  }

  // Plain http is allowed to loopback endpoints only, and goes there directly (never in clear through a proxy).
  if (target.protocol !== 'https:') return out
  const proxy = proxyFromProperties(env, props) ?? proxyFromEnvironment(env, target)
  if (proxy) out.proxy = proxy
  return out
}

/** An https.Agent whose connections are CONNECT tunnels through `proxy`, with TLS to the API host inside. */
class TunnelAgent extends HttpsAgent {
  constructor(private readonly proxy: ProxyTunnel, options: HttpsAgentOptions) {
    super(options)
  }

  override createConnection(options: ClientRequestArgs, callback?: (error: Error | null, stream: Duplex) => void): undefined {
    const done = callback ?? ((): void => {})
    const host = options.host ?? 'localhost'
    const port = Number(options.port ?? 443)
    const authority = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
    const connect = httpRequest({
      agent: false,
      headers: {host: authority, ...(this.proxy.authorization ? {'proxy-authorization': this.proxy.authorization} : {})},
      host: this.proxy.host,
      method: 'CONNECT',
      path: authority,
      port: this.proxy.port,
    })
    connect.setTimeout(30_000, () => connect.destroy(Object.assign(new Error('proxy CONNECT timed out'), {code: 'ETIMEDOUT'})))
    connect.once('connect', (res, socket) => {
      connect.setTimeout(0)
      if (res.statusCode !== 200) {
        socket.destroy();
        (done as (e: Error) => void)(Object.assign(new Error(`the proxy ${this.proxy.host}:${this.proxy.port} (${this.proxy.origin}) answered ${res.statusCode} to CONNECT ${authority}`), {code: 'EPROXY'}))
        return
      }

      const tlsOptions = options as ConnectionOptions
      const secure = tlsConnect({
        ...tlsOptions, host, port, servername: tlsOptions.servername ?? host, socket,
      })
      done(null, secure)
    })
    connect.once('error', error => (done as (e: Error) => void)(error))
    connect.end()
    return undefined
  }
}

/** The agent for a request: keep-alive for replayable calls, a one-shot one otherwise; false when Node's default does. */
export function agentFor(path: NetworkPath, protocol: string, keepAlive: boolean): false | HttpAgent {
  const tlsOptions = {...(path.ca === undefined ? {} : {ca: path.ca}), ...(path.unverified ? {rejectUnauthorized: false} : {})}
  if (protocol === 'https:' && path.proxy) return new TunnelAgent(path.proxy, {keepAlive, maxSockets: 4, ...tlsOptions})
  if (!keepAlive) return protocol === 'https:' && (path.ca || path.unverified) ? new HttpsAgent({keepAlive: false, ...tlsOptions}) : false
  return protocol === 'https:' ? new HttpsAgent({keepAlive: true, maxSockets: 4, ...tlsOptions}) : new HttpAgent({keepAlive: true, maxSockets: 4})
}
