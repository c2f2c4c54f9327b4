// One HTTP request over node:http/node:https, with a per-request timeout, a response size limit and an AbortSignal.
// It knows nothing of Google's APIs: it reports what happened (an answer, or why there is none, and whether the request
// had been sent) and leaves the meaning to the caller. It never rejects.

// Named imports, not the modules' default objects: esbuild would copy every export of each (its __toESM) at every start.
import {Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders} from 'node:http'
import {Agent as HttpsAgent, request as httpsRequest} from 'node:https'

export interface TransportLimits {
  /** Longest answer read, in bytes (default 4 MiB). */
  maxResponseBytes: number
  /** Per request, in ms (default 15000). */
  timeoutMs: number
}

export const DEFAULT_LIMITS: Readonly<TransportLimits> = {maxResponseBytes: 4 * 1024 * 1024, timeoutMs: 15_000}

export interface HttpRequest {
  /** A keep-alive agent, or false for a fresh connection. */
  agent: false | HttpAgent
  /**
   * The Authorization header. Set after the request is created, not in its options: NODE_DEBUG=http prints those
   * options (headers included) to stderr, which would print the token.
   */
  authorization?: string
  body?: string
  headers: Readonly<Record<string, string>>
  maxResponseBytes: number
  method: string
  /** Aborting it destroys the request; the outcome is then `aborted`. */
  signal?: AbortSignal
  timeoutMs: number
  url: string
}

export interface HttpResponse {
  body: string
  headers: IncomingHttpHeaders
  status: number
}

/** `sent`: the whole request had been handed to the connection (so the server may have acted on it). */
export type HttpOutcome
  = | {error: NodeJS.ErrnoException; kind: 'network'; sent: boolean}
    | {error: NodeJS.ErrnoException; kind: 'timeout'; sent: boolean}
    | {kind: 'aborted'; sent: boolean}
    | {kind: 'response'; response: HttpResponse}
    | {kind: 'too-large'}

/** A keep-alive agent for the endpoint's protocol. Idle sockets are unref'd by node, so they never keep the process alive. */
export function keepAliveAgent(protocol: string): HttpAgent {
  return protocol === 'https:' ? new HttpsAgent({keepAlive: true, maxSockets: 4}) : new HttpAgent({keepAlive: true, maxSockets: 4})
}

function errnoError(message: string, code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), {code})
}

/** Sends one request and resolves with what happened. */
export function sendHttp(request: HttpRequest): Promise<HttpOutcome> {
  const {signal} = request
  if (signal?.aborted) return Promise.resolve({kind: 'aborted', sent: false})
  const headers: Record<string, string> = {...request.headers}
  if (request.body !== undefined) {
    headers['content-type'] ??= 'application/json'
    headers['content-length'] = String(Buffer.byteLength(request.body))
  }

  const send = request.url.startsWith('https:') ? httpsRequest : httpRequest
  return new Promise(resolve => {
    let settled = false
    let sent = false
    let timedOut = false
    const req = send(request.url, {agent: request.agent, headers, method: request.method})
    const timer = setTimeout(() => {
      timedOut = true
      req.destroy(errnoError('request timed out', 'ETIMEDOUT'))
    }, Math.max(1, request.timeoutMs))
    const onAbort = (): void => {
      finish({kind: 'aborted', sent})
      req.destroy(errnoError('request aborted', 'ABORT_ERR'))
    }

    function finish(outcome: HttpOutcome): void {
      if (settled) return
      settled = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      resolve(outcome)
    }

    const failed = (error: NodeJS.ErrnoException): void => {
      finish(timedOut ? {error, kind: 'timeout', sent} : {error, kind: 'network', sent})
    }

    signal?.addEventListener('abort', onAbort, {once: true})
    if (request.authorization !== undefined) req.setHeader('authorization', request.authorization)
    req.on('finish', () => {
      sent = true
    })
    req.on('error', failed)
    req.on('response', res => {
      const declared = Number(res.headers['content-length'])
      if (Number.isFinite(declared) && declared > request.maxResponseBytes) {
        finish({kind: 'too-large'})
        res.destroy()
        return
      }

      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > request.maxResponseBytes) {
          finish({kind: 'too-large'})
          res.destroy()
          return
        }

        chunks.push(chunk)
      })
      res.on('error', failed)
      res.on('aborted', () => failed(errnoError('response aborted', 'ECONNRESET')))
      res.on('end', () => {
        if (res.complete === false) {
          failed(errnoError('response ended early', 'ECONNRESET'))
          return
        }

        finish({kind: 'response', response: {body: Buffer.concat(chunks).toString('utf8'), headers: res.headers, status: res.statusCode ?? 0}})
      })
    })
    req.end(request.body)
  })
}
