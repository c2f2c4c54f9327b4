// Error kinds and the one exit-code table. The table is a documented contract (README "Exit codes").

export const EXIT_CODES = {
  /** The policy kept changing under us (etag conflicts) and we gave up after bounded retries. */
  conflict: 4,
  /** gcloud ran and failed; its own exit code is passed through when it is non-zero. */
  deployFailed: 1,
  /** A Google API (or the network) failed in a way the user cannot fix with a flag. */
  external: 5,
  /** A bug in binauthz. */
  internal: 70,
  /** Interrupted (Ctrl-C, SIGINT). */
  interrupted: 130,
  ok: 0,
  /** The caller may not change the policy, or a confirmation is required and none could be given. */
  permission: 3,
  /** Stopped by SIGTERM (e.g. a CI job cancelled). */
  terminated: 143,
  /** Bad flags, environment, files or passthrough arguments: nothing was changed. */
  usage: 2,
} as const

export type ExitCodeName = keyof typeof EXIT_CODES

export interface ErrorDetails {
  cause?: unknown
  /** Stable machine-readable code, part of the --json contract (e.g. PROJECT_MISSING). */
  code: string
  exit?: ExitCodeName
  /** What to do next: each entry names a flag or an exact command. */
  suggestions?: string[]
}

/** Base of every error we raise on purpose; carries its exit code and suggestions. */
export class BinauthzError extends Error {
  readonly code: string
  readonly exitName: ExitCodeName
  readonly suggestions: readonly string[]

  constructor(message: string, details: ErrorDetails, defaultExit: ExitCodeName) {
    super(redactSecrets(message), details.cause === undefined ? undefined : {cause: details.cause})
    this.code = details.code
    this.exitName = details.exit ?? defaultExit
    this.suggestions = (details.suggestions ?? []).map(s => redactSecrets(s))
  }

  get exitCode(): number {
    return EXIT_CODES[this.exitName]
  }
}

/** Something the user can fix: a flag, an environment variable, a permission, a confirmation. */
export class UserError extends BinauthzError {
  override readonly name = 'UserError'

  constructor(message: string, details: ErrorDetails) {
    super(message, details, 'usage')
  }
}

/** An outside system failed: a Google API, the network, or a gcloud process. */
export class ExternalError extends BinauthzError {
  override readonly name = 'ExternalError'
  /** Evidence of a failed process: command, args, exit code and trimmed, redacted stderr. */
  readonly process?: {args: readonly string[]; command: string; exitCode?: number; stderr?: string}

  constructor(message: string, details: ErrorDetails & {process?: ExternalError['process']}) {
    super(message, details, 'external')
    if (details.process) {
      this.process = {
        ...details.process,
        args: details.process.args.map(a => redactSecrets(a)),
        stderr: details.process.stderr === undefined ? undefined : redactSecrets(details.process.stderr.trim().slice(-4000)),
      }
    }
  }
}

/**
 * The run was interrupted: Ctrl-C (SIGINT, exit 130) or SIGTERM (exit 143), through the command's AbortSignal or at a
 * prompt. `signal` is the one received, when known; the command sets it from its signal handler.
 */
export class InterruptedError extends BinauthzError {
  override readonly name: string = 'InterruptedError'
  readonly signal: 'SIGINT' | 'SIGTERM'

  constructor(message: string, details: Omit<ErrorDetails, 'code' | 'exit'> & {signal?: 'SIGINT' | 'SIGTERM'} = {}) {
    const signal = details.signal ?? 'SIGINT'
    super(message, {...details, code: 'INTERRUPTED', exit: signal === 'SIGTERM' ? 'terminated' : 'interrupted'}, 'interrupted')
    this.signal = signal
  }
}

/** The process signal an abort stands for: its reason's `signal` (the command's handler sets it), else SIGINT. */
export function abortSignalName(signal: AbortSignal): 'SIGINT' | 'SIGTERM' {
  const {reason} = signal
  return typeof reason === 'object' && reason !== null && (reason as {signal?: unknown}).signal === 'SIGTERM' ? 'SIGTERM' : 'SIGINT'
}

/** A broken assumption inside binauthz. */
export class BugError extends BinauthzError {
  override readonly name = 'BugError'

  constructor(message: string, details?: Omit<ErrorDetails, 'exit'>) {
    super(message, details ?? {code: 'BUG'}, 'internal')
  }
}

const SECRET_PATTERNS: RegExp[] = [
  /\bya29\.[\w.-]+/g, // Google OAuth access tokens
  /\b(Bearer\s+)[\w.~+/=-]+/gi,
  /\b(access_token["'=:\s]+)[\w.~+/-]+/gi,
  /\b1\/\/[\w.-]{20,}/g, // Google refresh tokens
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
]

const extraSecrets = new Set<string>()

/** Registers a secret value (e.g. a token we obtained) so it is redacted wherever it would be printed. */
export function registerSecret(secret: string): void {
  if (secret.length >= 8) extraSecrets.add(secret)
}

/** Removes anything that looks like a credential from text that may be printed or logged. */
export function redactSecrets(text: string): string {
  let out = text
  for (const secret of extraSecrets) out = out.split(secret).join('[REDACTED]')
  for (const pattern of SECRET_PATTERNS) {
    out = out.replace(pattern, (_match, prefix: unknown) => (typeof prefix === 'string' ? `${prefix}[REDACTED]` : '[REDACTED]'))
  }

  return out
}

