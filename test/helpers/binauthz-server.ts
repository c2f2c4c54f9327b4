// A local Binary Authorization v1 stand-in for tests: 127.0.0.1, port 0, in-memory policies, etag checking,
// testIamPermissions, programmable faults, and a record of every request (headers included).
//
//   const server = await startBinauthzServer({policies: {'my-proj': {...}}, permissions: ['binaryauthorization.policy.get']})
//   const client = new BinauthzClient({endpoint: server.endpoint, tokens: {getToken: async () => 'tok'}})
//   server.fault({status: 503, retryAfter: '2'}, {method: 'GET'})       // next GET only (times: 1 by default)
//   server.fault({kind: 'concurrent-write'}, {method: 'PUT', times: 2})  // someone else writes just before our PUT
//   ... server.requests[i].headers.authorization ...
//   await server.close()
//
// Behaviour without faults (mirrors the real API as far as known, see shared/reference/google-cloud-facts.md §1):
// - GET  /v1/projects/P/policy                      -> stored policy, or a default policy for an unknown project
// - PUT  /v1/projects/P/policy                      -> body.etag absent or equal to the stored one: stored (new etag,
//        name and updateTime set, all other fields kept byte-for-byte); stale etag -> 409 ABORTED; name of another
//        project -> 400 INVALID_ARGUMENT; body not JSON -> 400 INVALID_ARGUMENT
// - POST /v1/projects/P/policy:testIamPermissions   -> {"permissions": requested ∩ server.permissions} (omitted when empty)
// - `token` option set: any other Authorization than `Bearer <token>` -> 401 UNAUTHENTICATED
// - anything else -> 404 NOT_FOUND (Google JSON error)
// The project path segment is percent-decoded, so `example.com:p` and `example.com%3Ap` are the same project.

import type {AddressInfo} from 'node:net'

import {once} from 'node:events'
import http from 'node:http'

import type {Policy} from '../../src/policy/types.js'

export interface RecordedRequest {
  body: string
  /** The fault applied to this request, if any. */
  fault?: Fault
  /** Lower-case header names, as node parses them. */
  headers: http.IncomingHttpHeaders
  method: string
  /** Which API method the path addresses. */
  op: Operation
  /** Percent-decoded project from the path, when the path names one. */
  project?: string
  /** Path and query as sent, e.g. `/v1/projects/example.com:p/policy`. */
  url: string
}

export type Operation = 'getPolicy' | 'other' | 'testIamPermissions' | 'updatePolicy'

export type Fault
  /** A Google JSON error: {"error": {code, message, status, details: [{@type ErrorInfo, reason}]}}. */
  = | {apiStatus?: string; kind?: 'status'; message?: string; reason?: string; retryAfter?: string; status: number;}
  /** 200 with `application/json` but a truncated body. */
    | {body: string; headers?: Record<string, string>; kind: 'raw'; status: number;}
  /** 200 with this content type (default text/html) and this body (default a small HTML page). */
    | {body?: string; contentType?: string; kind: 'content-type';}
  /** Waits `delayMs` before answering normally (the timer is cleared by close()). */
    | {bytes: number; kind: 'huge';}
  /** Destroys the socket without any response (the client sees ECONNRESET / socket hang up). */
    | {delayMs: number; kind: 'slow';}
  /** 200 JSON whose body is `bytes` long (a valid policy padded with a long description). */
    | {kind: 'concurrent-write'; namePattern?: string}
  /** 200 with a valid policy named after `project` instead of the requested one. */
    | {kind: 'foreign-policy'; project: string}
  /** Another writer updates the stored policy (new etag, adds `namePattern`) just before this request is handled. */
    | {kind: 'lost-response'}
  /** Handles the request normally (a PUT is applied), then destroys the socket instead of answering. */
    | {kind: 'malformed-json'}
  /** Answers with exactly this status, headers and body. */
    | {kind: 'reset'}

export interface FaultOptions {
  /** Only requests with this method (default: any). */
  method?: 'GET' | 'POST' | 'PUT'
  /** Only requests to this API method (default: any). */
  op?: Operation
  /** How many matching requests it applies to (default 1; Infinity for all). */
  times?: number
}

export interface BinauthzServerOptions {
  /** Permissions testIamPermissions grants (default: policy.get and policy.update). */
  permissions?: readonly string[]
  /** Initial policies by project id; etags are assigned when missing. */
  policies?: Record<string, Policy>
  /** When set, requests must carry `Authorization: Bearer <token>`. */
  token?: string
}

export interface BinauthzServer {
  /** Drops all pending fault rules. */
  clearFaults(): void
  close(): Promise<void>
  /** Base endpoint with a trailing slash, e.g. http://127.0.0.1:41234/ (what the client and the env override take). */
  readonly endpoint: URL
  /** Adds a fault rule; rules are matched in the order added, each consumed `times` times. */
  fault(fault: Fault, options?: FaultOptions): void
  /** Granted permissions; mutate freely. */
  readonly permissions: Set<string>
  /** The stored policy of a project (a deep copy), or undefined when never set/written. */
  policy(project: string): Policy | undefined
  /** Every request received, in order. */
  readonly requests: RecordedRequest[]
  /** Requests filtered by operation. */
  requestsFor(op: Operation): RecordedRequest[]
  /**
   * Between tests: drops fault rules and recorded requests, grants the permissions the server started with again,
   * and stores `policies` (other stored policies and the write count are kept).
   */
  reset(policies?: Record<string, Policy>): void
  /** Replaces a project's stored policy (deep-copied); assigns a fresh etag unless `policy.etag` is given. */
  setPolicy(project: string, policy: Policy): void
  readonly url: string
  /** Number of successful writes. */
  readonly writes: number
}

const DEFAULT_PERMISSIONS = ['binaryauthorization.policy.get', 'binaryauthorization.policy.update']

/** The default policy Google returns for a project that never had one. */
export function defaultPolicy(project: string): Policy {
  return {
    defaultAdmissionRule: {enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG', evaluationMode: 'ALWAYS_ALLOW'},
    globalPolicyEvaluationMode: 'ENABLE',
    name: `projects/${project}/policy`,
  }
}

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  412: 'FAILED_PRECONDITION',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  502: 'UNAVAILABLE',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
}

/** A Google-style JSON error body. */
export function googleError(status: number, message: string, apiStatus?: string, reason?: string): string {
  const error: Record<string, unknown> = {code: status, message, status: apiStatus ?? STATUS_NAMES[status] ?? 'UNKNOWN'}
  if (reason !== undefined) {
    error.details = [
      {
        '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
        domain: 'googleapis.com',
        metadata: {service: 'binaryauthorization.googleapis.com'},
        reason,
      },
    ]
  }

  return JSON.stringify({error})
}

interface Rule {
  fault: Fault
  options: FaultOptions
  remaining: number
}

function parsePath(url: string): {op: Operation; project?: string;} {
  const path = url.split('?')[0] ?? ''
  const match = /^\/v1\/projects\/([^/]+)\/policy(:testIamPermissions)?$/.exec(path)
  if (!match?.[1]) return {op: 'other'}
  let project: string
  try {
    project = decodeURIComponent(match[1])
  } catch {
    return {op: 'other'}
  }

  return {op: match[2] ? 'testIamPermissions' : 'other', project}
}

export async function startBinauthzServer(options: BinauthzServerOptions = {}): Promise<BinauthzServer> {
  const policies = new Map<string, Policy>()
  const requests: RecordedRequest[] = []
  const permissions = new Set(options.permissions ?? DEFAULT_PERMISSIONS)
  const rules: Rule[] = []
  const timers = new Set<NodeJS.Timeout>()
  let etagCounter = 0
  let writes = 0

  const nextEtag = (): string => Buffer.from(`etag-${++etagCounter}-${Date.now()}`).toString('base64')
  const store = (project: string, policy: Policy, etag?: string): void => {
    policies.set(project, {...structuredClone(policy), etag: etag ?? nextEtag()})
  }

  for (const [project, policy] of Object.entries(options.policies ?? {})) store(project, policy, policy.etag)

  const current = (project: string): Policy => {
    let policy = policies.get(project)
    if (!policy) {
      // Google returns a default policy (with an etag) for a project that never had one.
      store(project, defaultPolicy(project))
      policy = policies.get(project) as Policy
    }

    return policy
  }

  const takeFault = (method: string, op: Operation): Fault | undefined => {
    for (const rule of rules) {
      if (rule.remaining <= 0) continue
      if (rule.options.method !== undefined && rule.options.method !== method) continue
      if (rule.options.op !== undefined && rule.options.op !== op) continue
      rule.remaining -= 1
      return rule.fault
    }

    return undefined
  }

  const lost = new WeakSet<http.ServerResponse>()
  const send = (res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void => {
    if (lost.has(res)) {
      res.socket?.destroy()
      return
    }

    res.writeHead(status, {'content-type': 'application/json; charset=UTF-8', ...headers})
    res.end(body)
  }

  const handle = (req: http.IncomingMessage, res: http.ServerResponse, record: RecordedRequest): void => {
    const {op, project} = record
    const {fault} = record
    if (fault !== undefined) {
      switch (fault.kind) {
      case 'concurrent-write':
      case 'slow': {
        break
      } // applied before dispatch

      case 'content-type': {
        res.writeHead(200, {'content-type': fault.contentType ?? 'text/html; charset=UTF-8'})
        res.end(fault.body ?? '<html><body>Sign in to continue</body></html>')
        return
      }

      case 'foreign-policy': {
        send(res, 200, JSON.stringify({...defaultPolicy(fault.project), etag: nextEtag()}))
        return
      }

      case 'huge': {
        const base = JSON.stringify({...current(project ?? 'unknown'), description: ''})
        const pad = Math.max(0, fault.bytes - base.length)
        send(res, 200, base.replace('"description":""', `"description":"${'x'.repeat(pad)}"`))
        return
      }

      case 'lost-response': {
        lost.add(res)
        break
      }

      case 'malformed-json': {
        send(res, 200, '{"name": "projects/')
        return
      }

      case 'raw': {
        res.writeHead(fault.status, fault.headers ?? {})
        res.end(fault.body)
        return
      }

      case 'reset': {
        req.socket.destroy()
        return
      }

      case 'status':
      case undefined: {
        const headers: Record<string, string> = {}
        if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter
        send(res, fault.status, googleError(fault.status, fault.message ?? `Injected HTTP ${fault.status}.`, fault.apiStatus, fault.reason), headers)
        return
      }
      }
    }

    if (options.token !== undefined && req.headers.authorization !== `Bearer ${options.token}`) {
      send(res, 401, googleError(401, 'Request had invalid authentication credentials. Expected OAuth 2 access token.'))
      return
    }

    if (project === undefined) {
      send(res, 404, googleError(404, `The requested URL ${record.url.split('?')[0]} was not found.`))
      return
    }

    if (op === 'getPolicy' && req.method === 'GET') {
      send(res, 200, JSON.stringify(current(project)))
      return
    }

    if (op === 'updatePolicy' && req.method === 'PUT') {
      let body: unknown
      try {
        body = JSON.parse(record.body)
      } catch {
        send(res, 400, googleError(400, 'Invalid JSON payload received.'))
        return
      }

      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        send(res, 400, googleError(400, 'Invalid JSON payload received. Expected an object.'))
        return
      }

      const incoming = body as Policy
      if (incoming.name !== undefined && incoming.name !== `projects/${project}/policy`) {
        send(res, 400, googleError(400, `Policy name "${String(incoming.name)}" does not match projects/${project}/policy.`))
        return
      }

      const stored = current(project)
      if (incoming.etag !== undefined && incoming.etag !== stored.etag) {
        send(res, 409, googleError(409, 'Concurrent policy update; the etag does not match.', 'ABORTED'))
        return
      }

      const {etag: _etag, updateTime: _updateTime, ...fields} = incoming
      store(project, {...fields, name: `projects/${project}/policy`, updateTime: new Date().toISOString()})
      writes += 1
      send(res, 200, JSON.stringify(policies.get(project)))
      return
    }

    if (op === 'testIamPermissions' && req.method === 'POST') {
      let requested: unknown
      try {
        requested = (JSON.parse(record.body) as {permissions?: unknown}).permissions
      } catch {
        send(res, 400, googleError(400, 'Invalid JSON payload received.'))
        return
      }

      const list = Array.isArray(requested) ? requested.filter((p): p is string => typeof p === 'string') : []
      const granted = list.filter(p => permissions.has(p))
      send(res, 200, JSON.stringify(granted.length > 0 ? {permissions: granted} : {}))
      return
    }

    send(res, 404, googleError(404, `Method ${req.method ?? '?'} ${record.url} is not supported.`))
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const parsed = parsePath(req.url ?? '/')
      let {op} = parsed
      if (parsed.project !== undefined && op === 'other') op = req.method === 'PUT' ? 'updatePolicy' : 'getPolicy'
      const method = req.method ?? 'GET'
      const record: RecordedRequest = {
        body: Buffer.concat(chunks).toString('utf8'),
        fault: takeFault(method, op),
        headers: {...req.headers},
        method,
        op,
        project: parsed.project,
        url: req.url ?? '/',
      }
      requests.push(record)
      const {fault} = record
      if (fault?.kind === 'concurrent-write' && parsed.project !== undefined) {
        const before = current(parsed.project)
        const patterns = [...(before.admissionWhitelistPatterns ?? [])]
        patterns.push({namePattern: fault.namePattern ?? `gcr.io/other-writer-${etagCounter}/**`})
        store(parsed.project, {...before, admissionWhitelistPatterns: patterns, updateTime: new Date().toISOString()})
      }

      if (fault?.kind === 'slow') {
        const timer = setTimeout(() => {
          timers.delete(timer)
          if (!res.destroyed) handle(req, res, record)
        }, fault.delayMs)
        timers.add(timer)
        return
      }

      handle(req, res, record)
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const {port} = server.address() as AddressInfo
  const endpoint = new URL(`http://127.0.0.1:${port}/`)

  return {
    clearFaults() {
      rules.length = 0
    },
    async close() {
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      const closed = new Promise<void>(resolve => {
        server.close(() => resolve())
      })
      server.closeAllConnections()
      await closed
    },
    endpoint,
    fault(fault, faultOptions = {}) {
      rules.push({fault, options: faultOptions, remaining: faultOptions.times ?? 1})
    },
    permissions,
    policy(project) {
      const policy = policies.get(project)
      return policy === undefined ? undefined : structuredClone(policy)
    },
    requests,
    requestsFor(op) {
      return requests.filter(r => r.op === op)
    },
    reset(resetPolicies = {}) {
      rules.length = 0
      requests.length = 0
      permissions.clear()
      for (const permission of options.permissions ?? DEFAULT_PERMISSIONS) permissions.add(permission)
      for (const [project, policy] of Object.entries(resetPolicies)) store(project, policy, policy.etag)
    },
    setPolicy(project, policy) {
      store(project, policy, policy.etag)
    },
    url: endpoint.href,
    get writes() {
      return writes
    },
  }
}
