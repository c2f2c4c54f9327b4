// A tiny node:http client for sandbox tests: direct (origin-form) or proxy-style (absolute-URI) requests.
import {readFileSync} from 'node:fs'
import http from 'node:http'

import type {Sandbox} from '../../src/sandbox/index.js'

export interface CallOptions {
  body?: unknown
  headers?: Record<string, string>
  method?: string
  path: string
  rawBody?: Buffer
  /** Bearer token; null sends none. Default: the sandbox's token. */
  token?: null | string
  /** Host to address through the proxy form, e.g. `us-central1-127.0.0.1:PORT`. Absent: direct request. */
  via?: string
}

export interface CallResult {
  headers: http.IncomingHttpHeaders
  json: unknown
  status: number
  text: string
}

/** The value at a dotted path ('status.conditions.0.type') of a parsed JSON answer; undefined when absent. */
export function at(json: unknown, path: string): unknown {
  let value = json
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined
    value = (value as Record<string, unknown>)[key]
  }

  return value
}

export function sandboxToken(sandbox: Sandbox): string {
  return readFileSync(sandbox.env.CLOUDSDK_AUTH_ACCESS_TOKEN_FILE ?? '', 'utf8').trim()
}

export function call(sandbox: Sandbox, options: CallOptions): Promise<CallResult> {
  const token = options.token === undefined ? sandboxToken(sandbox) : options.token
  const payload = options.rawBody ?? (options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body)))
  const headers: Record<string, string> = {
    ...(payload && !options.rawBody ? {'content-type': 'application/json'} : {}),
    ...(token === null ? {} : {authorization: `Bearer ${token}`}),
    ...(options.via ? {host: options.via} : {}),
    ...options.headers,
  }
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        headers,
        host: '127.0.0.1',
        method: options.method ?? 'GET',
        path: options.via ? `http://${options.via}${options.path}` : options.path,
        port: sandbox.port,
        timeout: 10_000,
      },
      res => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let json: unknown
          try {
            json = text ? JSON.parse(text) : undefined
          } catch {
            json = undefined
          }

          resolve({
            headers: res.headers, json, status: res.statusCode ?? 0, text,
          })
        })
      },
    )
    req.on('timeout', () => req.destroy(new Error('request timed out')))
    req.on('error', reject)
    req.end(payload)
  })
}
