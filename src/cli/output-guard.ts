// The last line of defence for tokens: while a run lasts, every write to our stdout and stderr has each secret the
// run knows (its Secrets: tokens it obtained, registered by src/auth and src/google, and an access token given in
// CLOUDSDK_AUTH_ACCESS_TOKEN) replaced by [REDACTED], whoever writes it. Needed because some writers are outside our
// code: Node's own debug logging (NODE_DEBUG=child_process prints a child's whole environment, NODE_DEBUG=* more) is
// switched on when Node starts and cannot be turned off from inside. Only exact secret values are replaced, so no
// other output changes. The run installs it (BinauthzCommand.init) and removes it when it ends (finally).

import type {Secrets} from '../errors.js'

type Write = NodeJS.WriteStream['write']

/** Wraps the stream's write; returns what puts the previous one back. */
export function guardStream(stream: NodeJS.WriteStream, secrets: Secrets): () => void {
  const previous: Write = stream.write
  const original = previous.bind(stream) as (c: string | Uint8Array, ...r: unknown[]) => boolean
  const write = (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')
    const redacted = secrets.redactKnown(text)
    return original(redacted === text ? chunk : redacted, ...rest)
  }

  stream.write = write as Write
  return () => {
    // Only our own wrapper is taken off (a writer that wrapped the stream after us keeps its wrapper).
    if (stream.write === write) stream.write = previous
  }
}

/**
 * Guards process.stdout and process.stderr with the run's secrets, first registering an access token given in the
 * environment. Returns what removes the guard (at the end of the run).
 */
export function guardProcessOutput(env: NodeJS.ProcessEnv, secrets: Secrets): () => void {
  const token = env.CLOUDSDK_AUTH_ACCESS_TOKEN?.trim()
  if (token) secrets.add(token)
  const unguard = [guardStream(process.stdout, secrets), guardStream(process.stderr, secrets)]
  return () => {
    for (const off of unguard) off()
  }
}
