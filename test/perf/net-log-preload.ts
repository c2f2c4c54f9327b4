// Preloaded into the CLI by test/perf (NODE_OPTIONS=--import=...): appends "host:port" (or the socket path) of every
// TCP/IPC connection the process opens to $BINAUTHZ_TEST_NET_LOG, so tests can assert that e.g. no metadata server
// is probed. Every client (node:http/https, undici's fetch, google-auth-library's gaxios) ends in Socket#connect.
import {appendFileSync} from 'node:fs'
import net from 'node:net'

const file = process.env.BINAUTHZ_TEST_NET_LOG

function describe(args: unknown[]): string {
  let first = args[0]
  // net.connect() passes its normalized [options, callback] array.
  if (Array.isArray(first)) first = first[0]
  if (typeof first === 'number') return `${typeof args[1] === 'string' ? args[1] : 'localhost'}:${first}`
  if (typeof first === 'string') return first
  if (first && typeof first === 'object') {
    const options = first as {host?: string; path?: string; port?: number | string;}
    if (options.path) return options.path
    return `${options.host ?? 'localhost'}:${options.port}`
  }

  return 'unknown'
}

if (file) {
  const original = net.Socket.prototype.connect
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
    appendFileSync(file, `${describe(args)}\n`)
    return (original as (...a: unknown[]) => net.Socket).apply(this, args)
  } as typeof original
}
