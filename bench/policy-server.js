// A minimal Binary Authorization v1 stand-in for the benchmark (plain Node, no dependencies).
// Run as a child process (`fork`), so the timed commands never wait on the harness's own event loop:
//   parent -> {type: 'stats'} | {type: 'reset'} | {type: 'close'}
//   child  -> {type: 'listening', port} | {type: 'stats', stats: {requests, reads, writes, iam, other}}
// Answers GET/PUT v1/projects/P/policy and POST v1/projects/P/policy:testIamPermissions on 127.0.0.1 only.
// argv: JSON {patterns: string[]} — the allowlist every project's policy starts with.
import http from 'node:http'

const {patterns = []} = JSON.parse(process.argv[2] ?? '{}')
const policies = new Map()
let stats = {
  iam: 0, other: 0, reads: 0, requests: 0, writes: 0,
}
let etagCounter = 1

function policyOf(project) {
  if (!policies.has(project)) {
    policies.set(project, {
      admissionWhitelistPatterns: patterns.map(namePattern => ({namePattern})),
      defaultAdmissionRule: {enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG', evaluationMode: 'ALWAYS_DENY'},
      etag: `"e${etagCounter++}"`,
      globalPolicyEvaluationMode: 'ENABLE',
      name: `projects/${project}/policy`,
      updateTime: '2026-01-01T00:00:00.000000Z',
    })
  }

  return policies.get(project)
}

function send(res, status, body) {
  const text = JSON.stringify(body)
  res.writeHead(status, {'content-length': Buffer.byteLength(text), 'content-type': 'application/json; charset=UTF-8'})
  res.end(text)
}

function error(res, status, apiStatus, message) {
  send(res, status, {error: {code: status, message, status: apiStatus}})
}

const server = http.createServer((req, res) => {
  const chunks = []
  let size = 0
  req.on('data', chunk => {
    size += chunk.length
    if (size <= 1_048_576) chunks.push(chunk)
  })
  req.on('end', () => {
    stats.requests++
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const match = /^\/v1\/projects\/([^/]+)\/policy(:testIamPermissions)?$/.exec(url.pathname)
    if (!match) {
      stats.other++
      error(res, 404, 'NOT_FOUND', `no such path ${url.pathname}`)
      return
    }

    const project = decodeURIComponent(match[1])
    const body = Buffer.concat(chunks).toString('utf8')
    if (match[2]) {
      stats.iam++
      let requested = []
      try {
        requested = JSON.parse(body).permissions ?? []
      } catch {}

      send(res, 200, requested.length > 0 ? {permissions: requested} : {})
      return
    }

    if (req.method === 'GET') {
      stats.reads++
      send(res, 200, policyOf(project))
      return
    }

    if (req.method === 'PUT') {
      stats.writes++
      let next
      try {
        next = JSON.parse(body)
      } catch {
        error(res, 400, 'INVALID_ARGUMENT', 'body is not JSON')
        return
      }

      const current = policyOf(project)
      if (next.etag !== undefined && next.etag !== current.etag) {
        error(res, 409, 'ABORTED', 'stale etag')
        return
      }

      const stored = {
        ...next, etag: `"e${etagCounter++}"`, name: `projects/${project}/policy`, updateTime: new Date().toISOString(),
      }
      policies.set(project, stored)
      send(res, 200, stored)
      return
    }

    stats.other++
    error(res, 405, 'INVALID_ARGUMENT', `method ${req.method} not allowed`)
  })
})

server.keepAliveTimeout = 1000
// PORT env: a fixed port (by hand: `PORT=8765 node bench/policy-server.js '{"patterns": [...]}'`); else any free one.
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const {port} = server.address()
  if (process.send) process.send({port, type: 'listening'})
  else console.log(`Binary Authorization stand-in on http://127.0.0.1:${port}/`)
})

process.on('message', message => {
  if (message?.type === 'stats') process.send?.({stats: {...stats}, type: 'stats'})
  if (message?.type === 'reset') {
    stats = {
      iam: 0, other: 0, reads: 0, requests: 0, writes: 0,
    }
    policies.clear()
  }

  if (message?.type === 'close') {
    server.close()
    server.closeAllConnections?.()
    process.disconnect?.()
  }
})
// The harness going away (even abruptly) ends the server.
process.on('disconnect', () => {
  server.close()
  server.closeAllConnections?.()
})
