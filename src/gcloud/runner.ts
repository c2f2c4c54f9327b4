// The only module that starts processes (and the only one importing execa, lazily, and cross-spawn).
// Argument arrays only, never a shell; never mutates the caller's arrays or env.
// The deploy's gcloud (runGcloud) is started with cross-spawn, child_process.spawn itself outside Windows: loading
// execa costs ~20 ms (bench/RESULTS.md), a third of a no-change deploy's budget, for a spawn that needs none of it.

import type {ChildProcess} from 'node:child_process'

import crossSpawn from 'cross-spawn'
import {delimiter, join} from 'node:path'

import {
  abortSignalName, ExternalError, InterruptedError, UserError,
} from '../errors.js'
import {assertStartable, isExecutableFile} from './launcher.js'

/** Keep this much of a running gcloud's stderr for error recognition (src/gcloud/output.ts). */
export const STDERR_TAIL_BYTES = 64 * 1024
/** Upper bound on what captureGcloud buffers from a short-lived gcloud command. */
const CAPTURE_MAX_BUFFER = 16 * 1024 * 1024
const DEFAULT_CAPTURE_TIMEOUT_MS = 60_000

export interface CaptureInvocation {
  args: readonly string[]
  /** The complete environment of the child (NOT merged with process.env); default process.env. */
  env?: NodeJS.ProcessEnv
  /** Aborting it stops gcloud (execa `cancelSignal`, SIGTERM) and rejects with InterruptedError (exit 130). */
  signal?: AbortSignal
  timeoutMs?: number
}

export interface CaptureResult {
  exitCode: number
  stderr: string
  stdout: string
}

export interface RunInvocation {
  args: readonly string[]
  /** The complete environment of the child (NOT merged with process.env); default process.env. */
  env?: NodeJS.ProcessEnv
  /**
   * Several gcloud runs at once: each line of gcloud's output is written whole, led by this prefix (e.g.
   * `[europe-west1] `), so concurrent deploys never interleave mid-line. Output is then piped, never inherited.
   */
  linePrefix?: string
  /** The run's AbortSignal (the command's one signal handler): an abort passes SIGINT, SIGTERM or SIGHUP on to gcloud. */
  signal?: AbortSignal
  /** Whether gcloud's stderr is echoed to ours (default) or only kept for stderrTail ('ignore', e.g. in tests). */
  stderr?: 'ignore' | 'inherit'
  /** Our stdin for gcloud's prompts (default), or none. */
  stdin?: 'ignore' | 'inherit'
  /** Where gcloud's stdout goes: our stdout (default), our stderr (e.g. under --json, keeping stdout for the JSON), or nowhere. */
  stdout?: 'ignore' | 'inherit' | 'stderr'
}

export interface RunResult {
  /** gcloud's exit code; 130 (or 128+n) when it died of a signal. */
  exitCode: number
  /** True when we received SIGINT/SIGTERM/SIGHUP while gcloud ran (forwarded), before it started (then it never started), or gcloud died of one. */
  interrupted: boolean
  /** Set when gcloud died of a signal. */
  signal?: string
  /** The last STDERR_TAIL_BYTES of gcloud's stderr (it was also streamed to ours). */
  stderrTail: string
}

/** The gcloud executable: $BINAUTHZ_GCLOUD, else `gcloud` looked up on the child's PATH. */
export function gcloudExecutable(env: NodeJS.ProcessEnv): string {
  const configured = env.BINAUTHZ_GCLOUD?.trim()
  return configured || 'gcloud'
}

function missingGcloud(executable: string, env: NodeJS.ProcessEnv, code: string | undefined): UserError {
  const viaEnv = Boolean(env.BINAUTHZ_GCLOUD?.trim())
  if (code === 'EACCES') {
    return new UserError(`Cannot execute gcloud at "${executable}": permission denied.`, {
      code: 'GCLOUD_MISSING',
      suggestions: [
        viaEnv ? 'Point BINAUTHZ_GCLOUD at an executable gcloud, or unset it.' : 'Check the gcloud on your PATH: `which gcloud`',
      ],
    })
  }

  return new UserError(
    viaEnv
      ? `gcloud was not found at "${executable}" (from BINAUTHZ_GCLOUD).`
      : 'gcloud was not found on PATH; binauthz runs the Google Cloud CLI for deploys and sign-in.',
    {
      code: 'GCLOUD_MISSING',
      suggestions: [
        'Install the Google Cloud CLI: https://cloud.google.com/sdk/docs/install',
        viaEnv ? 'Fix or unset BINAUTHZ_GCLOUD' : 'Or set BINAUTHZ_GCLOUD=/path/to/gcloud',
      ],
    },
  )
}

/**
 * Finds the gcloud a deploy will run, without starting it: $BINAUTHZ_GCLOUD must be an executable file, else `gcloud`
 * must be on the child's PATH, and able to start (src/gcloud/launcher.ts). Called before the policy is touched, so a missing gcloud never follows a policy write.
 */
export function locateGcloud(env: NodeJS.ProcessEnv): string {
  const executable = gcloudExecutable(env)
  const names = process.platform === 'win32' ? [`${executable}.cmd`, `${executable}.exe`, executable] : [executable]
  const candidates = executable.includes('/') || executable.includes('\\')
    ? [executable]
    : (env.PATH ?? '').split(delimiter).filter(Boolean).flatMap(dir => names.map(name => join(dir, name)))
  const found = candidates.find(candidate => isExecutableFile(candidate))
  if (found === undefined) throw missingGcloud(executable, env, 'ENOENT')
  // Present is not enough: its interpreter (a #! line, the Cloud SDK launcher's python) must be there too.
  assertStartable(found, env)
  return found
}

function isSpawnFailure(result: {code?: string; exitCode?: number; failed?: boolean; signal?: string}): boolean {
  return Boolean(result.failed) && result.exitCode === undefined && result.signal === undefined
    && (result.code === 'ENOENT' || result.code === 'EACCES' || result.code === 'ENOTDIR')
}

const SIGNAL_NUMBERS: Record<string, number> = {
  SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGQUIT: 3, SIGTERM: 15,
}

export interface ProgramInvocation {
  args: readonly string[]
  /** The executable (not looked up through BINAUTHZ_GCLOUD): e.g. gcloud found by the caller, or process.execPath. */
  command: string
  cwd?: string
  /** The complete environment of the child (NOT merged with process.env); default process.env. */
  env?: NodeJS.ProcessEnv
}

/**
 * Runs a program with no stdin and its output shown on ours, for scripts that show commands as a user would type
 * them (the demo). Resolves with its exit code (128 when it died of a signal, 127 with `spawnError` when it could
 * not start); never throws on a failure of the program.
 */
export async function runProgram(inv: ProgramInvocation): Promise<{exitCode: number; spawnError?: string}> {
  const {execa} = await import('execa')
  const result = await execa(inv.command, [...inv.args], {
    cwd: inv.cwd,
    env: {...(inv.env ?? process.env)},
    extendEnv: false,
    reject: false,
    stderr: 'inherit',
    stdin: 'ignore',
    stdout: 'inherit',
    verbose: 'none',
    windowsHide: true,
  })
  if (isSpawnFailure(result)) return {exitCode: 127, spawnError: result.shortMessage}
  return {exitCode: result.exitCode ?? (result.signal ? 128 : 1)}
}

function interruptedCapture(args: readonly string[]): InterruptedError {
  return new InterruptedError(`Interrupted: gcloud ${args.slice(0, 3).join(' ')} was stopped before it finished.`)
}

/** Runs a short gcloud command and captures its output (no streaming). Never throws on a non-zero exit. */
export async function captureGcloud(inv: CaptureInvocation): Promise<CaptureResult> {
  const env = inv.env ?? process.env
  const executable = gcloudExecutable(env)
  const args = [...inv.args]
  if (inv.signal?.aborted) throw interruptedCapture(args)
  const {execa} = await import('execa')
  const result = await execa(executable, args, {
    ...(inv.signal === undefined ? {} : {cancelSignal: inv.signal}),
    encoding: 'utf8',
    env: {...env},
    extendEnv: false,
    maxBuffer: CAPTURE_MAX_BUFFER,
    reject: false,
    stderr: 'pipe',
    stdin: 'ignore',
    stdout: 'pipe',
    stripFinalNewline: false,
    timeout: inv.timeoutMs ?? DEFAULT_CAPTURE_TIMEOUT_MS,
    // NODE_DEBUG=execa would otherwise print the child's output: `gcloud auth print-access-token` prints a token.
    verbose: 'none',
    windowsHide: true,
  })
  if (result.isCanceled) throw interruptedCapture(args)
  if (isSpawnFailure(result)) throw missingGcloud(executable, env, result.code)
  const stdout = typeof result.stdout === 'string' ? result.stdout : ''
  const stderr = typeof result.stderr === 'string' ? result.stderr : ''
  if (result.timedOut) {
    throw new ExternalError(`gcloud ${args.slice(0, 3).join(' ')} did not finish within ${inv.timeoutMs ?? DEFAULT_CAPTURE_TIMEOUT_MS} ms.`, {
      code: 'GCLOUD_TIMEOUT',
      process: {args, command: executable, stderr},
      suggestions: [`Run \`gcloud ${args.join(' ')}\` yourself to see what it waits for.`],
    })
  }

  const exitCode = result.exitCode ?? (result.signal ? 128 + (SIGNAL_NUMBERS[result.signal] ?? 0) : 1)
  return {exitCode, stderr, stdout}
}

/**
 * How runGcloud connects gcloud: output streamed to ours (as asked), its stderr piped to us (echoed, and kept for the
 * tail); with a line prefix (several regions at once) both outputs are piped and written line by line, no stdin.
 */
function streamingStdio(inv: RunInvocation): ['ignore' | 'inherit', 2 | 'ignore' | 'inherit' | 'pipe', 'pipe'] {
  if (inv.linePrefix !== undefined) return ['ignore', inv.stdout === 'ignore' ? 'ignore' : 'pipe', 'pipe']
  return [inv.stdin ?? 'inherit', inv.stdout === 'stderr' ? 2 : (inv.stdout === 'ignore' ? 'ignore' : 'inherit'), 'pipe']
}

/**
 * Writes a stream's text to `out` one whole line at a time, each led by `prefix`; a last line without its newline is
 * written when the stream ends. Carriage returns (a progress bar redrawing itself) end a line too.
 */
function prefixedLines(prefix: string, out: NodeJS.WritableStream): {end: () => void; take: (chunk: Buffer | string) => void} {
  let pending = ''
  return {
    end() {
      if (pending !== '') out.write(`${prefix}${pending}\n`)
      pending = ''
    },
    take(chunk) {
      pending += typeof chunk === 'string' ? chunk : chunk.toString('utf8')
      const lines = pending.split(/\r?\n|\r/)
      pending = lines.pop() ?? ''
      for (const line of lines) out.write(`${prefix}${line}\n`)
    },
  }
}

/** Keeps the last STDERR_TAIL_BYTES of a stream, cut at a line start when the beginning was dropped. */
function tailKeeper(): {keep: (chunk: Buffer | string) => void; text: () => string} {
  let tail = Buffer.alloc(0)
  return {
    keep(chunk) {
      const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
      tail = tail.length + data.length <= STDERR_TAIL_BYTES
        ? Buffer.concat([tail, data])
        : Buffer.concat([tail, data]).subarray(-STDERR_TAIL_BYTES)
    },
    text() {
      // No half-character or half-line leads the tail.
      const text = tail.toString('utf8')
      if (tail.length < STDERR_TAIL_BYTES) return text
      const nl = text.indexOf('\n')
      return nl !== -1 && nl < 1024 ? text.slice(nl + 1) : text
    },
  }
}

interface Finished {
  exitCode?: number
  isCanceled?: boolean
  signal?: string
}

function runResult(result: Finished, interrupted: boolean, stderrTail: string): RunResult {
  const {signal} = result
  const stopped = interrupted || Boolean(result.isCanceled) || signal === 'SIGINT' || signal === 'SIGTERM' || signal === 'SIGHUP'
  const exitCode = result.exitCode ?? (signal ? 128 + (SIGNAL_NUMBERS[signal] ?? 0) : 1)
  return signal
    ? {
      exitCode, interrupted: stopped, signal, stderrTail,
    }
    : {exitCode, interrupted: stopped, stderrTail}
}

/**
 * Runs gcloud with its output streamed live to ours (stdout to our stdout or stderr, stderr to our stderr)
 * while keeping the last 64 KiB of its stderr. Never throws on a non-zero exit.
 * The run's `signal` (the command's one signal handler) is the only interrupt: an abort passes the signal it stands
 * for (SIGINT or SIGTERM) on to gcloud, which ends as it does on Ctrl-C, and the run is reported as `interrupted`
 * with gcloud's own exit; an abort before the spawn means gcloud is not started (exit 130 / 143).
 */
export async function runGcloud(inv: RunInvocation): Promise<RunResult> {
  const env = inv.env ?? process.env
  const executable = gcloudExecutable(env)
  const args = [...inv.args]
  const tail = tailKeeper()
  const {signal} = inv
  if (signal?.aborted) return {exitCode: 128 + (SIGNAL_NUMBERS[abortSignalName(signal)] ?? 2), interrupted: true, stderrTail: ''}
  const child = crossSpawn(executable, args, {env: {...env}, stdio: streamingStdio(inv), windowsHide: true})
  let interrupted = false
  const forward = (): void => {
    interrupted = true
    try {
      child.kill(abortSignalName(signal as AbortSignal))
    } catch {
      // the child is already gone
    }
  }

  signal?.addEventListener('abort', forward, {once: true})
  const prefix = inv.linePrefix
  const stderrLines = prefix === undefined || inv.stderr === 'ignore' ? undefined : prefixedLines(prefix, process.stderr)
  child.stderr?.on('data', (chunk: Buffer) => {
    tail.keep(chunk)
    if (stderrLines) stderrLines.take(chunk)
    else if (inv.stderr !== 'ignore' && prefix === undefined) process.stderr.write(chunk)
  })
  child.stderr?.on('end', () => stderrLines?.end())
  if (prefix !== undefined && child.stdout) {
    const stdoutLines = prefixedLines(prefix, inv.stdout === 'stderr' ? process.stderr : process.stdout)
    child.stdout.on('data', stdoutLines.take)
    child.stdout.on('end', stdoutLines.end)
  }

  let ended
  try {
    ended = await childEnded(child)
  } finally {
    signal?.removeEventListener('abort', forward)
  }

  if ('spawnError' in ended) throw missingGcloud(executable, env, ended.spawnError)
  return runResult(ended, interrupted, tail.text())
}

/** The child's exit once its output is drained ('close'), or the error code when it could not be started. */
function childEnded(child: ChildProcess): Promise<Finished | {spawnError: string | undefined}> {
  return new Promise((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      // A spawn failure has no pid; an error after the start (a failed kill) changes nothing: 'close' follows.
      if (child.pid === undefined) {
        if (['EACCES', 'ENOENT', 'ENOTDIR'].includes(error.code ?? '')) resolve({spawnError: error.code})
        else reject(error)
      }
    })
    child.once('close', (code: null | number, signal: NodeJS.Signals | null) => {
      resolve(signal ? {signal} : {exitCode: code ?? 1})
    })
  })
}
