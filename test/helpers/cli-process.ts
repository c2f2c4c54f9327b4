// Runs the BUILT CLI (bin/run.js of this checkout) as a child process and collects what it prints. The child gets
// exactly the environment given (nothing of this process's env is added); stdin is closed.
//
//   const run = await runCli(['policy', 'status', '--json'], {env, timeoutMs: 45_000})
//   expect(run.code, run.stderr).to.equal(0)
import {type ChildProcess, spawn} from 'node:child_process'
import {once} from 'node:events'
import {fileURLToPath} from 'node:url'

import {validateJsonStdout} from './json-schema.js'

/** bin/run.js of this checkout (dist/test/helpers/x.js → ../../../bin/run.js). */
export const BIN = fileURLToPath(new URL('../../../bin/run.js', import.meta.url))

export interface CliRun {
  args: string[]
  code: null | number
  signal: NodeJS.Signals | null
  stderr: string
  stdout: string
  /** Killed (SIGKILL) by `timeoutMs`: a hang. */
  timedOut: boolean
}

export interface CliRunOptions {
  cwd?: string
  /** The child's complete environment. */
  env: NodeJS.ProcessEnv
  /** Called once the child is started (e.g. to send it a signal later). */
  onSpawn?: (child: ChildProcess) => void
  /** Hard limit: the child is killed with SIGKILL after this many ms (default: no limit of its own). */
  timeoutMs?: number
}

/** Runs `node bin/run.js ...args` and resolves when it has exited and its output is closed. */
export async function runCli(args: readonly string[], options: CliRunOptions): Promise<CliRun> {
  const child = spawn(process.execPath, [BIN, ...args], {
    ...(options.cwd === undefined ? {} : {cwd: options.cwd}),
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const out: Buffer[] = []
  const err: Buffer[] = []
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk))
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk))
  let timedOut = false
  const timer = options.timeoutMs === undefined
    ? undefined
    : setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, options.timeoutMs)
  options.onSpawn?.(child)
  const [code, signal] = (await once(child, 'close')) as [null | number, NodeJS.Signals | null]
  clearTimeout(timer)
  const stdout = Buffer.concat(out).toString('utf8')
  // Every --json result a test produces is checked against its command's schema in schemas/.
  if (!timedOut && signal === null) validateJsonStdout(args, stdout)
  return {
    args: [...args],
    code,
    signal,
    stderr: Buffer.concat(err).toString('utf8'),
    stdout,
    timedOut,
  }
}
