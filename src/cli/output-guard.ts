// The last line of defence for tokens: every write to our stdout and stderr has each secret binauthz knows (tokens it
// obtained, registered by src/auth, and an access token given in CLOUDSDK_AUTH_ACCESS_TOKEN) replaced by
// [REDACTED], whoever writes it. Needed because some writers are outside our code: Node's own debug logging
// (NODE_DEBUG=child_process prints a child's whole environment, NODE_DEBUG=* more) is switched on when Node starts
// and cannot be turned off from inside. Only exact secret values are replaced, so no other output changes.

import {redactRegisteredSecrets, registerSecret} from '../errors.js'

const GUARDED = Symbol.for('binauthz.output-guard')

type Write = NodeJS.WriteStream['write']

function guard(stream: NodeJS.WriteStream): void {
  const marked = stream as NodeJS.WriteStream & {[GUARDED]?: true}
  if (marked[GUARDED]) return
  marked[GUARDED] = true
  const original: Write = stream.write.bind(stream)
  const write = (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')
    const redacted = redactRegisteredSecrets(text)
    const out = redacted === text ? chunk : redacted
    return (original as (c: string | Uint8Array, ...r: unknown[]) => boolean)(out, ...rest)
  }

  stream.write = write as Write
}

/** Guards process.stdout and process.stderr (once per process); registers an access token given in the environment. */
export function guardProcessOutput(env: NodeJS.ProcessEnv): void {
  const token = env.CLOUDSDK_AUTH_ACCESS_TOKEN?.trim()
  if (token) registerSecret(token)
  guard(process.stdout)
  guard(process.stderr)
}
