import type {AddressInfo} from 'node:net'

// The sandbox HTTP server: one loopback listener that is both the API endpoint (CLOUDSDK_API_ENDPOINT_OVERRIDES_*)
// and gcloud's HTTP proxy (CLOUDSDK_PROXY_*), so absolute-URI requests for regional hosts such as
// `us-central1-127.0.0.1:PORT` (which do not resolve) arrive here too. Routing is by path; the region of Cloud Run
// calls comes from the host. Every API call needs `Authorization: Bearer <the sandbox token>`; every request is
// recorded in requests.jsonl (method, host, path, redacted query, status, allowlisted headers, whether the sandbox
// token was sent — never a credential; Binary Authorization calls also their op, project and body). The one tunnel
// it accepts is CONNECT to its own REGION-127.0.0.1:PORT: Cloud Run v2 over gRPC for worker pools (grpc.ts).
import {createHash, randomBytes, timingSafeEqual} from 'node:crypto'
import http from 'node:http'
import net from 'node:net'
import {setTimeout as sleep} from 'node:timers/promises'

import type {GrpcServer} from './grpc.js'

import {
  apiError, type ApiRequest, type Handler, type Reply, type SandboxContext,
} from './api.js'
import {
  applyFault, consumeCounter, type FaultOutcome, getPolicy, getPolicyIam, takeFault, testPolicyPermissions,
  updatePolicy,
} from './binauthz.js'
import {
  type BinauthzOp, errorStatusFor, type Faults, injectedBinauthzError, normalizeFaults,
} from './faults.js'
import {
  createFunction, deleteFunction, generateUploadUrl, getFunction, getFunctionOperation, listFunctions, listFunctionsV1, listRuntimes, patchFunction,
} from './functions.js'
import {generateAccessToken} from './iamcredentials.js'
import {
  createJob, getExecution, getJob, replaceJob, runJob,
} from './jobs.js'
import {oauthToken} from './oauth.js'
import {
  createRepository,
  defaultBuildServiceAccount,
  getProject,
  getProjectIamPolicy,
  getProjectV3,
  getRepository,
  getServiceAccount,
  getServiceUsage,
  getV1Operation,
  listLocations,
  setProjectIamPolicy,
} from './platform.js'
import {CLOUD_RUN_REGIONS, isCloudRunRegion} from './regions.js'
import {
  createService,
  deleteService,
  getService,
  listServices,
  listServicesV1,
  replaceService,
  serviceIam,
  submitBuild,
} from './run.js'
import {createServiceAccountKey} from './service-account-keys.js'
import {serviceDisabled, serviceOfApi, serviceStateHidden} from './services.js'
import {
  LOGGED_HEADERS, type RequestRecord, type SandboxState, STATE_FILES,
} from './state.js'
import {
  createBucket, getBucket, getObject, listBuckets, signedUpload, uploadObject,
} from './storage.js'
import {sandboxTls} from './tls.js'

const MAX_BODY_BYTES = 64 * 1024 * 1024
const REGIONAL_HOST = /^([a-z]+(?:-[a-z]+)+\d+)-(.+)$/
const SEG = '([^/]+)'

interface Route {
  api: string
  handler: Handler
  method: string
  /** Binary Authorization routes: the API method, recorded in the request log and matched by targeted faults. */
  op?: BinauthzOp
  path: RegExp
  /** Signed uploads and the health probe need no bearer token. */
  public?: boolean
}

function route(method: string, pattern: string, api: string, handler: Handler): Route {
  return {
    api, handler, method, path: new RegExp(`^${pattern}$`), public: false,
  }
}

function binauthzRoute(method: string, pattern: string, op: BinauthzOp, handler: Handler): Route {
  return {...route(method, pattern, 'binaryauthorization', handler), op}
}

/** A route served without the bearer token (e.g. signed upload URLs carry their own signature). */
function publicRoute(method: string, pattern: string, api: string, handler: Handler): Route {
  return {...route(method, pattern, api, handler), public: true}
}

const P = `/v1/projects/${SEG}`
const PL = `${P}/locations/${SEG}`
const KN = `/apis/serving\\.knative\\.dev/v1/namespaces/${SEG}/services`
const RUN_NS = `/apis/run\\.googleapis\\.com/v1/namespaces/${SEG}`

export const ROUTES: readonly Route[] = [
  // IAM Credentials v1: impersonation (gcloud's api_endpoint_overrides/iamcredentials points here)
  route('POST', `/v1/projects/-/serviceAccounts/${SEG}:generateAccessToken`, 'iamcredentials', generateAccessToken),
  // OAuth 2.0 token endpoint (refresh and jwt-bearer grants): the client authenticates with its grant, not a bearer token
  publicRoute('POST', '/token', 'oauth2', oauthToken),
  // IAM v1 service-account keys (`gcloud iam service-accounts keys create`): a key file whose token_uri is the sandbox
  route('POST', `/v1/projects/${SEG}/serviceAccounts/${SEG}/keys`, 'iam', createServiceAccountKey),
  // Binary Authorization v1
  binauthzRoute('GET', `${P}/policy`, 'getPolicy', getPolicy),
  binauthzRoute('PUT', `${P}/policy`, 'updatePolicy', updatePolicy),
  binauthzRoute('POST', `${P}/policy:testIamPermissions`, 'testIamPermissions', testPolicyPermissions),
  binauthzRoute('GET', `${P}/policy:getIamPolicy`, 'getIamPolicy', getPolicyIam),
  // Cloud Run v1 (Knative) + v1 IAM + v2 builds (regional host)
  route('GET', `${KN}/${SEG}`, 'run', getService),
  route('PUT', `${KN}/${SEG}`, 'run', replaceService),
  route('DELETE', `${KN}/${SEG}`, 'run', deleteService),
  route('GET', KN, 'run', listServices),
  route('POST', KN, 'run', createService),
  route('POST', `${PL}/services/${SEG}:(testIamPermissions|getIamPolicy|setIamPolicy)`, 'run', serviceIam),
  route('GET', `${PL}/services/${SEG}:(getIamPolicy)`, 'run', serviceIam),
  route('POST', `/v2/projects/${SEG}/locations/${SEG}/builds:submit`, 'run', submitBuild),
  // Cloud Run v1 jobs and executions (regional host): `gcloud run jobs deploy` (jobs.ts)
  route('POST', `${RUN_NS}/jobs/([^/:]+):run`, 'run', runJob),
  route('GET', `${RUN_NS}/jobs/([^/:]+)`, 'run', getJob),
  route('PUT', `${RUN_NS}/jobs/([^/:]+)`, 'run', replaceJob),
  route('POST', `${RUN_NS}/jobs`, 'run', createJob),
  route('GET', `${RUN_NS}/executions/([^/:]+)`, 'run', getExecution),
  route('GET', `${PL}/services`, 'run', listServicesV1),
  route('GET', `/(v1|v2)/projects/${SEG}/locations`, 'locations', listLocations),
  // Cloud Functions v2
  route('GET', `/v2/projects/${SEG}/locations/${SEG}/functions/${SEG}`, 'cloudfunctions', getFunction),
  route('PATCH', `/v2/projects/${SEG}/locations/${SEG}/functions/${SEG}`, 'cloudfunctions', patchFunction),
  route('DELETE', `/v2/projects/${SEG}/locations/${SEG}/functions/${SEG}`, 'cloudfunctions', deleteFunction),
  route('POST', `/v2/projects/${SEG}/locations/${SEG}/functions`, 'cloudfunctions', createFunction),
  route('GET', `/v2/projects/${SEG}/locations/${SEG}/functions`, 'cloudfunctions', listFunctions),
  route('GET', `${PL}/functions`, 'cloudfunctions', listFunctionsV1),
  route('POST', `/v2/projects/${SEG}/locations/${SEG}/functions:generateUploadUrl`, 'cloudfunctions', generateUploadUrl),
  route('GET', `/v2/projects/${SEG}/locations/${SEG}/runtimes`, 'cloudfunctions', listRuntimes),
  route('GET', `/v2/projects/${SEG}/locations/${SEG}/operations/${SEG}`, 'cloudfunctions', getFunctionOperation),
  // Artifact Registry + Cloud Build (operations share one path)
  route('GET', `${PL}/repositories/${SEG}`, 'artifactregistry', getRepository),
  route('POST', `${PL}/repositories`, 'artifactregistry', createRepository),
  route('GET', `${PL}/operations/${SEG}`, 'operations', getV1Operation),
  route('GET', `${PL}/defaultServiceAccount`, 'cloudbuild', defaultBuildServiceAccount),
  // Service Usage, IAM, Resource Manager
  route('GET', `${P}/services/${SEG}`, 'serviceusage', getServiceUsage),
  route('GET', `${P}/serviceAccounts/${SEG}`, 'iam', getServiceAccount),
  route('GET', P, 'cloudresourcemanager', getProject),
  route('POST', '/v1/projects/([^/:]+):getIamPolicy', 'cloudresourcemanager', getProjectIamPolicy),
  route('POST', '/v1/projects/([^/:]+):setIamPolicy', 'cloudresourcemanager', setProjectIamPolicy),
  route('GET', `/v3/projects/${SEG}`, 'cloudresourcemanager', getProjectV3),
  // Cloud Storage
  route('GET', '/storage/v1/b', 'storage', listBuckets),
  route('POST', '/storage/v1/b', 'storage', createBucket),
  route('GET', `/storage/v1/b/${SEG}`, 'storage', getBucket),
  route('GET', `/storage/v1/b/${SEG}/o/(.+)`, 'storage', getObject),
  route('POST', `/upload/storage/v1/b/${SEG}/o`, 'storage', uploadObject),
  publicRoute('PUT', `/__signed/${SEG}/(.+)`, 'storage-signed', signedUpload),
]

/** The answer when the knob `disabledApis` disables the route's API (or hides that state from Service Usage). */
function disabledAnswer(found: Route, params: readonly string[], faults: Faults, projectNumber: string): Reply | undefined {
  if (faults.disabledApis.length === 0) return undefined
  if (found.api === 'serviceusage') {
    const service = params[1] ?? ''
    return faults.disabledApis.includes(service) ? serviceStateHidden(service) : undefined
  }

  const service = serviceOfApi(found.api)
  return service !== undefined && faults.disabledApis.includes(service) ? serviceDisabled(found.api, projectNumber) : undefined
}

export interface ServerOptions {
  /** Fixed clock for tests. */
  now?: () => Date
  /** Where unexpected handler errors are reported (default: stderr). */
  onError?: (error: unknown) => void
  port?: number
  state: SandboxState
}

export interface RunningServer {
  close(): Promise<void>
  port: number
  url: string
}

interface Target {
  host: string
  path: string
  query: URLSearchParams
}

/** Reads the request target in absolute form (proxy requests) or origin form (direct requests). */
export function requestTarget(rawUrl: string, hostHeader: string | undefined): Target {
  // Parsed by hand: WHATWG URL rejects hosts such as `us-central1-127.0.0.1` (a numeric last label must be IPv4).
  const absolute = /^https?:\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?/i.exec(rawUrl)
  if (absolute) {
    return {host: absolute[1] ?? '', path: absolute[2] || '/', query: new URLSearchParams(absolute[3] ?? '')}
  }

  const origin = /^([^?#]*)(?:\?([^#]*))?/.exec(rawUrl)
  return {host: hostHeader ?? '', path: origin?.[1] || '/', query: new URLSearchParams(origin?.[2] ?? '')}
}

const SECRET_QUERY_KEYS = new Set(['access_token', 'googleaccessid', 'key', 'signature'])

export function redactQuery(query: URLSearchParams): string {
  const out = new URLSearchParams()
  for (const [key, value] of query) out.append(key, SECRET_QUERY_KEYS.has(key.toLowerCase()) ? 'REDACTED' : value)
  return out.toString()
}

function matchRoute(method: string, path: string): {allowed: string[]} | {params: string[]; route: Route;} {
  const allowed: string[] = []
  for (const candidate of ROUTES) {
    const match = candidate.path.exec(path)
    if (!match) continue
    if (candidate.method !== method) {
      allowed.push(candidate.method)
      continue
    }

    const params = match.slice(1).map(p => {
      try {
        return decodeURIComponent(p ?? '')
      } catch {
        return p ?? ''
      }
    })
    return {params, route: candidate}
  }

  return {allowed}
}

/** What the server decided for one request: the reply, plus how it is delivered (targeted faults). */
interface Outcome extends Partial<Omit<FaultOutcome, 'reply'>> {
  fault?: string
  reply: Reply
}

interface LogEntry {
  api: string
  body: Buffer | undefined
  method: string
  outcome: Outcome
  routed: undefined | {params: string[]; route: Route}
  target: Target
}

const MAX_LOGGED_BODY = 1024 * 1024

/**
 * Of Authorization, only whether it was a token the sandbox knows and whose it is, else a fingerprint: never the
 * credential.
 */
function authOf(header: string | undefined, token: Buffer, state: SandboxState): Pick<RequestRecord, 'auth' | 'authFingerprint' | 'principal'> {
  if (header === undefined || header === '') return {auth: 'none'}
  const principal = principalOf(header, token, state)
  if (principal !== undefined) return {auth: 'sandbox-token', principal}
  return {auth: 'other', authFingerprint: createHash('sha256').update(header).digest('hex').slice(0, 12)}
}

/** The principal a bearer token acts as: the sandbox account for the sandbox token, else tokens.json's entry. */
function principalOf(header: string | undefined, token: Buffer, state: SandboxState): string | undefined {
  if (bearerMatches(header, token)) return state.identity().account
  const given = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1]
  if (given === undefined) return undefined
  const tokens = state.principalTokens()
  return Object.hasOwn(tokens, given) ? tokens[given] : undefined
}

function loggedHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of LOGGED_HEADERS) {
    const value = headers[name]
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value
  }

  return out
}

function loggedBody(body: Buffer): Pick<RequestRecord, 'body' | 'bodyBytes'> {
  return body.length > MAX_LOGGED_BODY ? {bodyBytes: body.length} : {body: body.toString('utf8'), bodyBytes: body.length}
}

function bearerMatches(header: string | undefined, token: Buffer): boolean {
  if (!header) return false
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
  if (!match) return false
  const given = Buffer.from(match[1] ?? '')
  return given.length === token.length && timingSafeEqual(given, token)
}

async function readBody(req: http.IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    const buffer = chunk as Buffer
    size += buffer.length
    if (size > MAX_BODY_BYTES) return undefined
    chunks.push(buffer)
  }

  return Buffer.concat(chunks)
}

function send(res: http.ServerResponse, reply: Reply): void {
  const headers: Record<string, string> = {...reply.headers}
  let payload: Buffer
  if (reply.raw) {
    payload = reply.raw
  } else {
    payload = Buffer.from(reply.body === undefined ? '' : `${JSON.stringify(reply.body)}\n`)
    headers['content-type'] ??= 'application/json; charset=UTF-8'
  }

  headers['content-length'] = String(payload.length)
  res.writeHead(reply.status, headers)
  res.end(payload)
}

/** Starts the sandbox server on 127.0.0.1 (port 0 = any free port). */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const {state} = options
  const now = options.now ?? (() => new Date())
  const token = Buffer.from(state.token())
  const signingKey = randomBytes(32).toString('hex')
  const onError = options.onError ?? ((error: unknown) => process.stderr.write(`sandbox: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`))
  let binauthzCalls = 0
  let baseUrl = ''
  let port = 0

  const pending = new Set<AbortController>()
  const requestContext = (): SandboxContext => ({
    baseUrl, faults: normalizeFaults(state.readJson<unknown>(STATE_FILES.faults, {})), identity: state.identity(), now, signingKey, state,
  })
  // Cloud Run v2 over gRPC (worker pools): TLS with the sandbox's own CA, made at start so that the CA file named by
  // `sandbox env` exists before gcloud reads it; the gRPC server itself starts on the first tunnel.
  const tls = sandboxTls(state.dir, CLOUD_RUN_REGIONS.map(region => `${region}-127.0.0.1`), now())
  let grpcServer: Promise<GrpcServer> | undefined
  const tunnels = new Set<net.Socket>()
  const grpc = (): Promise<GrpcServer> => {
    grpcServer ??= import('./grpc.js').then(({startGrpc}) => startGrpc({
      context: requestContext,
      log: record => state.appendRequest({...record, time: now().toISOString()}),
      principal: header => principalOf(header, token, state),
      tls,
    }))
    return grpcServer
  }

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET'
    const target = requestTarget(req.url ?? '/', req.headers.host)
    const region = REGIONAL_HOST.exec(target.host.replace(/:\d+$/, ''))?.[1]
    let api = 'unknown'
    let outcome: Outcome
    let body: Buffer | undefined
    let routed: undefined | {params: string[]; route: Route}
    try {
      body = await readBody(req)
      if (target.path === '/__sandbox/health' && method === 'GET') {
        api = 'sandbox'
        outcome = {reply: {body: {ok: true, project: state.identity().project}, status: 200}}
      } else if (body === undefined) {
        outcome = {reply: apiError(413, 'Request body too large for the sandbox.', 'INVALID_ARGUMENT')}
      } else {
        const found = matchRoute(method, target.path)
        if ('allowed' in found) {
          outcome = {
            reply: found.allowed.length > 0
              ? apiError(405, `Method ${method} is not allowed on ${target.path} (allowed: ${found.allowed.join(', ')}).`, 'UNIMPLEMENTED')
              : apiError(404, `The sandbox does not implement ${method} ${target.path}.`, 'NOT_FOUND'),
          }
        } else {
          routed = found
          api = found.route.api
          outcome = await dispatch(found.route, found.params, {
            body,
            headers: req.headers,
            host: target.host,
            method,
            path: target.path,
            query: target.query,
            region,
          })
        }
      }
    } catch (error: unknown) {
      onError(error)
      outcome = {reply: apiError(500, `Sandbox internal error: ${error instanceof Error ? error.message : String(error)}`, 'INTERNAL')}
    }

    // The health probe (used by `sandbox start/status`) is not an API call: keep it out of the log.
    if (api !== 'sandbox') log(req, {
      api, body, method, outcome, routed, target,
    })
    await deliver(req, res, outcome)
  }

  const log = (req: http.IncomingMessage, entry: LogEntry): void => {
    const {api, body, outcome, routed, target} = entry
    const op = routed?.route.op
    try {
      state.appendRequest({
        api,
        ...authOf(req.headers.authorization, token, state),
        ...(api === 'binaryauthorization' && body !== undefined ? loggedBody(body) : {}),
        ...(outcome.delayMs === undefined ? {} : {delayMs: outcome.delayMs}),
        ...(outcome.fault === undefined ? {} : {fault: outcome.fault}),
        headers: loggedHeaders(req.headers),
        host: target.host,
        method: entry.method,
        ...(op === undefined ? {} : {op, project: routed?.params[0] ?? ''}),
        path: target.path,
        query: redactQuery(target.query),
        status: outcome.reply.status,
        time: now().toISOString(),
      })
    } catch (error: unknown) {
      onError(error)
    }
  }

  const deliver = async (req: http.IncomingMessage, res: http.ServerResponse, outcome: Outcome): Promise<void> => {
    if (outcome.delivery === 'reset') {
      req.socket.destroy()
      return
    }

    if (outcome.delayMs !== undefined && outcome.delayMs > 0) {
      // The answer is decided (and logged); it is held, and dropped if the client goes away or the server closes.
      const abort = new AbortController()
      pending.add(abort)
      const gone = (): void => abort.abort()
      res.once('close', gone)
      try {
        await sleep(outcome.delayMs, undefined, {signal: abort.signal})
      } catch {
        return
      } finally {
        pending.delete(abort)
        res.off('close', gone)
      }
    }

    if (outcome.delivery === 'lost') {
      req.socket.destroy()
      return
    }

    send(res, outcome.reply)
  }

  const dispatch = async (found: Route, params: string[], apiReq: ApiRequest): Promise<Outcome> => {
    const principal = principalOf(apiReq.headers.authorization as string | undefined, token, state)
    if (!found.public && principal === undefined) {
      return {
        reply: apiError(
          401,
          'Request is missing required authentication credential. Expected the sandbox access token (see `binauthz sandbox env`).',
          'UNAUTHENTICATED',
        ),
      }
    }

    const ctx = requestContext()
    const {faults} = ctx
    if (faults.latencyMs > 0) await sleep(faults.latencyMs)
    const disabled = disabledAnswer(found, params, faults, ctx.identity.projectNumber)
    if (disabled !== undefined) return {fault: 'disabledApis', reply: disabled}
    if (found.api === 'binaryauthorization') {
      const n = binauthzCalls++
      if (faults.binauthzLatencyMs > 0) await sleep(faults.binauthzLatencyMs)
      const forced = consumeCounter(ctx, 'binauthzFailNext') ? errorStatusFor(faults, n) : undefined
      const status = forced ?? injectedBinauthzError(faults, n)
      if (status !== undefined) {
        const reply
          = status === 429
            ? apiError(429, 'Quota exceeded for quota metric binaryauthorization requests (sandbox fault injection).', 'RESOURCE_EXHAUSTED')
            : apiError(503, 'The service is currently unavailable (sandbox fault injection).', 'UNAVAILABLE')
        return {
          fault: forced === undefined ? 'binauthzErrorRate' : 'binauthzFailNext',
          reply: faults.retryAfterSeconds >= 0 ? {...reply, headers: {'retry-after': String(faults.retryAfterSeconds)}} : reply,
        }
      }

      const project = params[0] ?? ''
      const rule = takeFault(ctx, {method: apiReq.method, op: found.op, project})
      if (rule) {
        return {
          ...applyFault(rule, {
            ctx, handle: () => found.handler(apiReq, ctx, params), n, project,
          }),
          fault: rule.kind ?? 'status',
        }
      }
    }

    return {reply: found.handler(principal === undefined ? apiReq : {...apiReq, principal}, ctx, params)}
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      onError(error)
      if (!res.headersSent) send(res, apiError(500, 'Sandbox internal error.', 'INTERNAL'))
    })
  })
  // gcloud tunnels (CONNECT) only for TLS: the sandbox serves one TLS endpoint, Cloud Run v2 over gRPC on its own
  // regional hosts (REGION-127.0.0.1:PORT, grpc.ts), and refuses every other tunnel explicitly.
  server.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    const target = req.url ?? ''
    const regional = REGIONAL_HOST.exec(target)
    const ours = regional !== null && isCloudRunRegion(regional[1] ?? '') && [`127.0.0.1:${port}`, `localhost:${port}`].includes(regional[2] ?? '')
    const record = (status: number): void => {
      try {
        state.appendRequest({
          api: 'proxy', host: target, method: 'CONNECT', path: '', query: '', status, time: now().toISOString(),
        })
      } catch (error: unknown) {
        onError(error)
      }
    }

    socket.on('error', () => socket.destroy())
    if (!ours) {
      record(403)
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n')
      return
    }

    grpc().then(({port: grpcPort}) => {
      const upstream = net.connect(grpcPort, '127.0.0.1', () => {
        record(200)
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n')
        if (head.length > 0) upstream.write(head)
        socket.pipe(upstream)
        upstream.pipe(socket)
      })
      tunnels.add(socket)
      socket.once('close', () => {
        tunnels.delete(socket)
        upstream.destroy()
      })
      upstream.on('error', () => socket.destroy())
      upstream.once('close', () => socket.destroy())
    }, (error: unknown) => {
      onError(new Error(`the Cloud Run v2 gRPC endpoint (worker pools) could not start: ${error instanceof Error ? error.message : String(error)}`))
      record(502)
      socket.end('HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n')
    })
  })
  server.keepAliveTimeout = 5000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  port = (server.address() as AddressInfo).port
  baseUrl = `http://127.0.0.1:${port}`
  return {
    close: () =>
      new Promise<void>(resolve => {
        for (const abort of pending) abort.abort()
        for (const socket of tunnels) socket.destroy()
        const closing = grpcServer?.then(g => g.close(), () => {})
        server.close(() => {
          if (closing) closing.then(() => resolve(), () => resolve())
          else resolve()
        })
        server.closeAllConnections()
      }),
    port,
    url: `${baseUrl}/`,
  }
}
