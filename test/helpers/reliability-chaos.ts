import type {AddressInfo, Socket} from 'node:net'

// A seeded, deterministic chaos proxy for reliability tests: 127.0.0.1, port 0, in front of the sandbox's Binary
// Authorization API (src/sandbox; the proxy is no stand-in of its own: every answer that is not a fault comes from
// the sandbox, and its "other admin" writes through the sandbox too). For each request it decides — from sha256(seed, project,
// n) where n counts that project's requests, so runs against different projects may proceed in parallel and stay
// deterministic — whether to:
//   503       answer 503 UNAVAILABLE (Retry-After 0, 1 or none, chosen from the seed)
//   429       answer 429 RESOURCE_EXHAUSTED (Retry-After 0 or 1)
//   reset     destroy the connection without forwarding (the request never reached the API)
//   lost      forward (a PUT IS applied), then destroy the connection instead of answering
//   stall     forward nothing and never answer (the client's own timeout / --deadline must end it)
//   slow      wait 50..550 ms, then forward normally
//   conflict  PUT only: "another admin" appends an entry to the policy just before the PUT is forwarded, so the
//             PUT's etag is stale and the API answers 409
//   pass      forward unchanged
// Every request, decision and PUT body is recorded; `writers` lists the entries the other admin added.
import {createHash} from 'node:crypto'
import {once} from 'node:events'
import http from 'node:http'

import type {Policy} from '../../src/policy/types.js'

export type ChaosKind = '429' | '503' | 'conflict' | 'lost' | 'pass' | 'reset' | 'slow' | 'stall'

/** Probability of each fault per request (the rest pass); `conflict` applies to PUTs only. */
export type ChaosRates = Partial<Record<Exclude<ChaosKind, 'pass'>, number>>

export interface ChaosOptions {
  /** Rates for particular projects instead of `rates` (e.g. a storm on one, every PUT conflicted on another). */
  projectRates?: Record<string, ChaosRates>
  rates: ChaosRates
  seed: number
  /** Bearer token for the proxy's own "other admin" writes to the upstream. */
  token: string
  /** Base URL of the stand-in, ending with '/'. */
  upstream: string
}

export interface ChaosRecord {
  /** ms since the proxy started, when the request arrived (used only for lower bounds: Retry-After). */
  at: number
  body: string
  kind: ChaosKind
  method: string
  /** Index among this project's requests. */
  n: number
  project?: string
  url: string
}

export interface ChaosProxy {
  close(): Promise<void>
  /** Bodies of PUTs that were forwarded to the upstream (conflict, lost, slow, pass). */
  forwardedPuts(project: string): Policy[]
  records: ChaosRecord[]
  /** Replaces the rates (e.g. to stop faulting). */
  setRates(rates: ChaosRates): void
  url: string
  /** namePatterns added by the simulated other admin (conflict faults), per project. */
  writers: Map<string, string[]>
}

function unit(seed: number, project: string, n: number, salt: string): number {
  return createHash('sha256').update(`${seed}:${project}:${n}:${salt}`).digest().readUInt32BE(0) / (2 ** 32)
}

function projectOf(url: string): string | undefined {
  const match = /^\/v1\/projects\/([^/?]+)\/policy/.exec(url)
  if (!match?.[1]) return undefined
  try {
    return decodeURIComponent(match[1])
  } catch {
    return undefined
  }
}

function googleError(status: number, apiStatus: string, message: string): string {
  return JSON.stringify({error: {code: status, message, status: apiStatus}})
}

interface Upstream {
  body: Buffer
  headers: http.IncomingHttpHeaders
  status: number
}

function forward(upstream: URL, method: string, path: string, headers: http.IncomingHttpHeaders, body: Buffer): Promise<Upstream> {
  return new Promise((resolve, reject) => {
    const target = new URL(path.replace(/^\//, ''), upstream)
    const rest = Object.fromEntries(Object.entries(headers).filter(([name]) => name !== 'connection' && name !== 'host'))
    const req = http.request(target, {agent: false, headers: rest, method}, res => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({body: Buffer.concat(chunks), headers: res.headers, status: res.statusCode ?? 502}))
      res.on('error', reject)
    })
    req.setTimeout(20_000, () => req.destroy(new Error('upstream timed out')))
    req.on('error', reject)
    req.end(body)
  })
}

export async function startChaosProxy(options: ChaosOptions): Promise<ChaosProxy> {
  const upstream = new URL(options.upstream)
  let rates = {...options.rates}
  const started = Date.now()
  const records: ChaosRecord[] = []
  const counters = new Map<string, number>()
  const writers = new Map<string, string[]>()
  const sockets = new Set<Socket>()
  const timers = new Set<NodeJS.Timeout>()
  let writerCount = 0

  const decide = (project: string, n: number, method: string): ChaosKind => {
    let r = unit(options.seed, project, n, 'kind')
    const order: Exclude<ChaosKind, 'pass'>[] = ['503', '429', 'reset', 'lost', 'stall', 'slow', 'conflict']
    for (const kind of order) {
      const p = (options.projectRates?.[project] ?? rates)[kind] ?? 0
      if (kind === 'conflict' && method !== 'PUT') continue
      if (r < p) return kind
      r -= p
    }

    return 'pass'
  }

  /** The "other admin": GET, append an entry, PUT with the etag read (straight to the upstream). */
  const otherAdminWrites = async (project: string): Promise<void> => {
    const path = `/v1/projects/${encodeURIComponent(project).replaceAll('%3A', ':')}/policy`
    const auth = {authorization: `Bearer ${options.token}`, 'content-type': 'application/json'}
    const got = await forward(upstream, 'GET', path, auth, Buffer.alloc(0))
    if (got.status !== 200) return
    const policy = JSON.parse(got.body.toString('utf8')) as Policy
    const namePattern = `gcr.io/other-admin-${++writerCount}/**`
    const next = {...policy, admissionWhitelistPatterns: [...(policy.admissionWhitelistPatterns ?? []), {namePattern}]}
    const put = await forward(upstream, 'PUT', path, auth, Buffer.from(JSON.stringify(next)))
    if (put.status === 200) writers.set(project, [...(writers.get(project) ?? []), namePattern])
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    const handle = async (): Promise<void> => {
      const body = Buffer.concat(chunks)
      const url = req.url ?? '/'
      const method = req.method ?? 'GET'
      const project = projectOf(url)
      const key = project ?? ''
      const n = counters.get(key) ?? 0
      counters.set(key, n + 1)
      const kind = project === undefined ? 'pass' : decide(key, n, method)
      records.push({
        at: Date.now() - started, body: body.toString('utf8'), kind, method, n, project, url,
      })

      const answer = (status: number, apiStatus: string, retryAfter: string | undefined): void => {
        const headers: Record<string, string> = {'content-type': 'application/json; charset=UTF-8'}
        if (retryAfter !== undefined) headers['retry-after'] = retryAfter
        res.writeHead(status, headers)
        res.end(googleError(status, apiStatus, `Injected ${status} (chaos seed ${options.seed}).`))
      }

      const pick = <T>(choices: readonly T[]): T => choices[Math.floor(unit(options.seed, key, n, 'choice') * choices.length)] as T

      switch (kind) {
      case '429': {
        answer(429, 'RESOURCE_EXHAUSTED', pick(['0', '1'] as const))
        return
      }

      case '503': {
        answer(503, 'UNAVAILABLE', pick(['0', '1', undefined] as const))
        return
      }

      case 'conflict': {
        await otherAdminWrites(key)
        break
      }

      case 'reset': {
        req.socket.destroy()
        return
      }

      case 'slow': {
        await new Promise<void>(resolve => {
          const timer = setTimeout(() => {
            timers.delete(timer)
            resolve()
          }, 50 + Math.floor(unit(options.seed, key, n, 'delay') * 500))
          timers.add(timer)
        })
        break
      }

      case 'stall': {
        return
      } // never answered; the socket is destroyed by close()

      default: {
        break
      }
      }

      if (res.destroyed) return
      const up = await forward(upstream, method, url, req.headers, body)
      if (kind === 'lost') {
        req.socket.destroy()
        return
      }

      const headers: Record<string, string> = {}
      for (const [name, value] of Object.entries(up.headers)) {
        if (typeof value === 'string' && !['connection', 'content-length', 'keep-alive', 'transfer-encoding'].includes(name)) headers[name] = value
      }

      res.writeHead(up.status, headers)
      res.end(up.body)
    }

    req.on('end', () => {
      handle().catch(() => {
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(502, {'content-type': 'application/json'})
          res.end(googleError(502, 'UNAVAILABLE', 'chaos proxy: upstream failed'))
        } else {
          req.socket.destroy()
        }
      })
    })
  })
  server.on('connection', socket => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const {port} = server.address() as AddressInfo

  return {
    async close() {
      for (const timer of timers) clearTimeout(timer)
      for (const socket of sockets) socket.destroy()
      await new Promise<void>(resolve => {
        server.close(() => resolve())
      })
    },
    forwardedPuts(project) {
      return records
      .filter(r => r.method === 'PUT' && r.project === project && !['429', '503', 'reset', 'stall'].includes(r.kind))
      .map(r => JSON.parse(r.body) as Policy)
    },
    records,
    setRates(next) {
      rates = {...next}
    },
    url: `http://127.0.0.1:${port}/`,
    writers,
  }
}
