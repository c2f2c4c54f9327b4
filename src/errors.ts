// Error kinds and the one exit-code table. The table is a documented contract (README "Exit codes").

import {displayEscape} from './policy/display.js'

export const EXIT_CODES = {
  /** The policy kept changing under us (etag conflicts) and we gave up after bounded retries. */
  conflict: 4,
  /** gcloud ran and failed; its own exit code is passed through when it is non-zero. */
  deployFailed: 1,
  /** A Google API (or the network) failed in a way the user cannot fix with a flag. */
  external: 5,
  /** The terminal went away (SIGHUP): handled like SIGINT, with 128 + 1. */
  hangup: 129,
  /** A bug in binauthz. */
  internal: 70,
  /** Interrupted (Ctrl-C, SIGINT). */
  interrupted: 130,
  /** `binauthz setup` finished, but something a deploy needs is not in place yet (its `Next:` line says what). */
  notReady: 6,
  ok: 0,
  /** The caller may not change the policy, or a confirmation is required and none could be given. */
  permission: 3,
  /** No credentials to act with (no gcloud account, no access token, no credential file): sign in first. */
  signIn: 7,
  /** Stopped by SIGTERM (e.g. a CI job cancelled). */
  terminated: 143,
  /** Bad flags, environment, files or passthrough arguments: nothing was changed. */
  usage: 2,
} as const

export type ExitCodeName = keyof typeof EXIT_CODES

/** What each exit code means, for the README and every command's help (generated from here). */
export const EXIT_CODE_MEANINGS: Readonly<Record<ExitCodeName, string>> = {
  conflict: 'the policy kept changing under us (etag conflicts) and we gave up after bounded retries',
  deployFailed: "gcloud ran and failed (with one region, gcloud's own non-zero exit code is passed through)",
  external: 'a Google API, the network or the sandbox failed; nothing was deployed',
  hangup: 'the terminal hung up (SIGHUP); handled like Ctrl-C: gcloud, when running, gets the signal and ends first',
  internal: 'a bug in binauthz; please report it',
  interrupted: 'interrupted with Ctrl-C (SIGINT); gcloud, when running, gets the signal and ends first',
  notReady: '`binauthz setup` checked everything but a deploy would not work yet (the API, gcloud or the allowlist); its `Next:` line gives the commands',
  ok: 'done (or nothing to do)',
  permission: 'you may not change the policy, your credentials were refused, or a confirmation was needed (use `--yes`); nothing was changed',
  signIn: 'no credentials to act with (no gcloud account, access token or credential file): run the `gcloud auth login` it prints',
  terminated: 'stopped by SIGTERM (e.g. a cancelled CI job); passed on to gcloud the same way',
  usage: 'bad flag, environment variable, file or passthrough argument; nothing was changed',
}

/** Which error class raises a code: UserError, ExternalError (ApiError included), InterruptedError, BugError. */
export type ErrorKind = 'bug' | 'external' | 'interrupted' | 'user'

interface CodeSpec {
  exit: ExitCodeName
  kind: ErrorKind
  meaning: string
}

const user = (exit: ExitCodeName, meaning: string) => ({exit, kind: 'user', meaning}) as const
const external = (exit: ExitCodeName, meaning: string) => ({exit, kind: 'external', meaning}) as const
const google = (answer: string) => external('external', `The Binary Authorization API answered ${answer}.`)

/**
 * THE error registry: every code binauthz reports (the `code` of the --json error object), the one class that raises
 * it and its one exit code. The README's error table and the exit-code section of every command's help are generated
 * from it (npm run readme); test/errors.test.ts checks that every code is documented and every code in src is here.
 */
export const ERROR_CODES = {
  ABORTED: google('ABORTED'),
  ACCESS_TOKEN_FILE_MISSING: user('usage', 'The access-token file gcloud is told to use does not exist or cannot be read.'),
  ALREADY_EXISTS: google('ALREADY_EXISTS'),
  API_ERROR: google('with an error binauthz does not know'),
  ARGV_TOO_LONG: user('usage', 'A gcloud command line would exceed the operating system\'s argument limits (nothing was written).'),
  BACKUP_FAILED: external('external', 'The policy could not be backed up before a write, so nothing was written.'),
  BACKUP_INVALID: user('usage', 'A backup file is not a binauthz policy backup.'),
  BACKUP_LIST_FAILED: external('external', 'The backup directory could not be read.'),
  BACKUP_OTHER_PROJECT: user('usage', 'The backup to restore is a policy of another project.'),
  BUG: {exit: 'internal', kind: 'bug', meaning: 'A bug in binauthz.'},
  CA_CERTS_FILE_UNREADABLE: user('usage', 'gcloud\'s core/custom_ca_certs_file cannot be read.'),
  CANCELLED: google('CANCELLED'),
  CONFIRMATION_DECLINED: user('permission', 'The policy change was declined at the confirmation prompt.'),
  CONFIRMATION_REQUIRED: user('permission', 'A policy change needs confirmation and nobody can be asked (no terminal, CI, --json): pass --yes.'),
  CREDENTIAL_FAILED: external('external', 'The credential file could not produce a token (a network or server failure).'),
  CREDENTIAL_FILE_INVALID: user('usage', 'The credential file (auth/credential_file_override) is not a JSON credential.'),
  CREDENTIAL_FILE_MISSING: user('usage', 'auth/credential_file_override names a file that does not exist.'),
  CREDENTIAL_FILE_UNREADABLE: user('usage', 'The credential file (auth/credential_file_override) cannot be read.'),
  CREDENTIAL_REJECTED: user('usage', 'The credential file\'s grant or key was refused (expired, revoked or invalid).'),
  CREDENTIALS_DISABLED: user('usage', 'gcloud\'s auth/disable_credentials is set: gcloud would call without credentials, so binauthz cannot act as its principal.'),
  DATA_LOSS: google('DATA_LOSS'),
  DEADLINE_EXCEEDED: external('external', 'The --deadline (or the API\'s own deadline) passed.'),
  DEFAULTS_INVALID: user('usage', 'The saved defaults file is not valid.'),
  DEFAULTS_UNWRITABLE: user('usage', 'The saved defaults could not be written.'),
  DEPLOY_FAILED: external('deployFailed', 'gcloud ran and failed in at least one region.'),
  EXISTING_READ_DENIED: user('permission', 'Reading the existing service or function was refused: the role that reads it is named.'),
  EXISTING_READ_FAILED: external('external', 'The existing service or function could not be read.'),
  FAILED_PRECONDITION: google('FAILED_PRECONDITION'),
  FILE_NOT_REGULAR: user('usage', 'A file binauthz is pointed at (gcloud configuration, defaults, token, backup) is a FIFO, device, directory or socket.'),
  FILE_TOO_LARGE: user('usage', 'A file binauthz is pointed at is larger than such a file can be (its bound is in the message).'),
  GCLOUD_AUTH_FAILED: user('usage', '`gcloud auth print-access-token` failed: sign in with gcloud.'),
  GCLOUD_CANNOT_START: user('usage', 'gcloud is on PATH but cannot start: its interpreter (shebang, CLOUDSDK_PYTHON or bundled Python) is missing.'),
  GCLOUD_MISSING: user('usage', 'gcloud is not installed, or BINAUTHZ_GCLOUD does not name an executable.'),
  GCLOUD_TIMEOUT: external('external', 'A short gcloud command did not finish in time.'),
  GCLOUD_WOULD_REFUSE: user('usage', 'gcloud 528 would refuse this deploy (so binauthz does, before any write).'),
  IMAGE_NOT_ADMITTED: user('permission', 'A prebuilt image (plain --image, or a sidecar) is blocked by the policy; the administrator\'s command is printed.'),
  IMPERSONATION_DENIED: user('permission', 'IAM Credentials refused to mint a token for the service account to impersonate.'),
  IMPERSONATION_FAILED: external('external', 'IAM Credentials could not be reached or answered badly.'),
  INTERNAL: google('INTERNAL'),
  INTERRUPTED: {exit: 'interrupted', kind: 'interrupted', meaning: 'Interrupted by SIGINT (exit 130), SIGTERM (exit 143) or SIGHUP (exit 129).'},
  INVALID_ACCESS_TOKEN: user('usage', 'The access token given is not one (empty, several lines, too long).'),
  INVALID_ARGUMENT: google('INVALID_ARGUMENT (the request or the policy was refused)'),
  INVALID_DOCKER_REPOSITORY: user('usage', 'A --docker-repository value is not an Artifact Registry repository.'),
  INVALID_ENDPOINT: user('usage', 'The Binary Authorization endpoint override is not https (or http to loopback).'),
  INVALID_GCLOUD_CONFIGURATION: user('usage', 'The gcloud configuration named does not exist or cannot be read.'),
  INVALID_IMAGE: user('usage', 'An --image value is not a container image reference.'),
  INVALID_IMPERSONATION: user('usage', 'The impersonation value is not a service account or a delegation chain.'),
  INVALID_NAME: user('usage', 'The service or function name is not one Cloud Run accepts.'),
  INVALID_PATTERN: user('usage', 'An allowlist pattern is not valid.'),
  INVALID_PROJECT: user('usage', 'A project ID is not valid.'),
  INVALID_PROXY: user('usage', 'gcloud\'s proxy settings or HTTPS_PROXY are incomplete or invalid.'),
  INVALID_REGION: user('usage', 'A region name is not valid.'),
  MALFORMED_RESPONSE: external('external', 'The API answered with something that is not what it should be.'),
  NETWORK_ERROR: external('external', 'The Binary Authorization API could not be reached.'),
  NO_BACKUP: user('usage', 'There is no backup of the project\'s policy to restore.'),
  NO_CREDENTIALS: user('signIn', 'No credentials were found (no gcloud account, access token or credential file): sign in with `gcloud auth login`.'),
  NOT_ALLOWLISTED: user('permission', 'The build repository is not allowlisted and --no-patch forbids adding it.'),
  NOT_FOUND: external('external', 'The project (or its policy) was not found by the API.'),
  OUT_OF_RANGE: google('OUT_OF_RANGE'),
  PASSTHROUGH_CONFLICT: user('usage', 'An argument after -- contradicts one of binauthz\'s own flags.'),
  PASSTHROUGH_REFUSED: user('usage', 'An argument after -- would undo Binary Authorization or cannot be passed safely.'),
  PERMISSION_DENIED: external('permission', 'The API refused the call for lack of permission on the policy.'),
  POLICY_CONFLICT: external('conflict', 'The policy kept changing while binauthz was updating it.'),
  POLICY_MALFORMED: external('external', 'The API answered with a policy binauthz cannot read.'),
  POLICY_UPDATE_DENIED: user('permission', 'You may not update the policy: the change needed is printed for an administrator.'),
  POLICY_WITHOUT_ETAG: external('external', 'The policy was read without an etag, so it cannot be written safely (binauthz never writes blindly).'),
  PROJECT_MISSING: user('usage', 'No project was given and none is configured.'),
  PROMPT_UNAVAILABLE: user('usage', 'A question needs an answer and nobody can be asked: pass the flag it names.'),
  PROXY_UNSUPPORTED: user('usage', 'A proxy type the token cannot travel through safely (SOCKS, no tunnel, non-http).'),
  REGION_MISSING: user('usage', 'No region was given and none is configured.'),
  REGION_UNLISTED: user('usage', 'A region that Cloud Run and Cloud Functions do not serve (a misspelling?); BINAUTHZ_EXTRA_REGIONS allows a newer one.'),
  RESOURCE_EXHAUSTED: external('external', 'The API quota was exhausted.'),
  RESPONSE_TOO_LARGE: external('external', 'An API answer was larger than binauthz accepts.'),
  SANDBOX_NOT_ANSWERING: external('external', 'No sandbox answers at the loopback endpoint the environment points to.'),
  SANDBOX_NOT_RUNNING: user('usage', 'No sandbox runs for the state directory.'),
  SANDBOX_POLICY_FILE: user('usage', 'The --policy file of `sandbox start` cannot be used.'),
  SANDBOX_RUNNING: user('usage', 'A sandbox already runs for the state directory (with other settings).'),
  SANDBOX_START_FAILED: external('external', 'The background sandbox server did not start (its log tail is shown).'),
  SANDBOX_STOP_FAILED: user('usage', 'The background sandbox did not stop in time.'),
  SERVICE_DISABLED: external('permission', 'The Binary Authorization API is not enabled in the project.'),
  SETUP_NOT_READY: user('notReady', '`binauthz setup` ended "Not ready yet.": the result\'s nextSteps (the `Next:` line) say what to run.'),
  TIMEOUT: external('external', 'The API did not answer in time.'),
  TLS_VERIFICATION_OFF: user('usage', 'NODE_TLS_REJECT_UNAUTHORIZED=0 while gcloud verifies TLS: no token is sent over an unverified connection.'),
  UNAUTHENTICATED: user('permission', 'The API did not accept the credentials.'),
  UNAVAILABLE: google('UNAVAILABLE'),
  UNEXPECTED_CONTENT_TYPE: external('external', 'The API endpoint answered with something other than JSON (a proxy or portal in the way).'),
  UNIMPLEMENTED: google('UNIMPLEMENTED'),
  UNKNOWN: google('UNKNOWN'),
  USAGE: user('usage', 'A flag or argument oclif itself refused.'),
  WRITE_NOT_APPLIED: external('external', 'The API accepted a write whose answer lacks the change.'),
} as const satisfies Record<string, CodeSpec>

export type ErrorCode = keyof typeof ERROR_CODES
/** The codes one class may raise. */
export type CodeOf<K extends ErrorKind> = {[C in ErrorCode]: (typeof ERROR_CODES)[C]['kind'] extends K ? C : never}[ErrorCode]

/** Google's canonical status of an API error answer, as our code (API_ERROR when it is none binauthz knows). */
export function googleStatusCode(status: string | undefined): CodeOf<'external'> {
  const known: readonly string[] = ['ABORTED',
    'ALREADY_EXISTS',
    'CANCELLED',
    'DATA_LOSS',
    'DEADLINE_EXCEEDED',
    'FAILED_PRECONDITION',
    'INTERNAL',
    'INVALID_ARGUMENT',
    'NOT_FOUND',
    'OUT_OF_RANGE',
    'PERMISSION_DENIED',
    'RESOURCE_EXHAUSTED',
    'UNAVAILABLE',
    'UNIMPLEMENTED',
    'UNKNOWN']
  return status !== undefined && known.includes(status) ? status as CodeOf<'external'> : 'API_ERROR'
}

export interface ErrorDetails<C extends ErrorCode = ErrorCode> {
  cause?: unknown
  /** Stable machine-readable code, part of the --json contract (e.g. PROJECT_MISSING); its exit code is the registry's. */
  code: C
  /** What to do next: each entry names a flag or an exact command. */
  suggestions?: string[]
}

/** Base of every error we raise on purpose; carries its code (and so its exit code) and suggestions. */
export class BinauthzError extends Error {
  readonly code: ErrorCode
  /** The class family that raised it; the registry gives each code exactly one. */
  readonly kind: ErrorKind
  readonly suggestions: readonly string[]

  protected constructor(message: string, details: ErrorDetails, kind: ErrorKind) {
    // Redacted, then escaped: a message may quote a server, a file or a passthrough value; it is shown to people
    // (where the run's printer also redacts the run's registered secrets: base-command.ts describeError).
    super(safeText(message), details.cause === undefined ? undefined : {cause: details.cause})
    this.code = details.code
    this.kind = kind
    this.suggestions = (details.suggestions ?? []).map(s => safeText(s))
  }

  get exitCode(): number {
    return EXIT_CODES[this.exitName]
  }

  get exitName(): ExitCodeName {
    return ERROR_CODES[this.code].exit
  }
}

/** Something the user can fix: a flag, an environment variable, a permission, a confirmation. */
export class UserError extends BinauthzError {
  declare readonly code: CodeOf<'user'>
  override readonly name = 'UserError'

  constructor(message: string, details: ErrorDetails<CodeOf<'user'>>) {
    super(message, details, 'user')
  }
}

/** An outside system failed: a Google API, the network, or a gcloud process. */
export class ExternalError extends BinauthzError {
  declare readonly code: CodeOf<'external'>
  override readonly name: string = 'ExternalError'
  /** Evidence of a failed process (kept, never printed): command, args, exit code and trimmed stderr, credential-like text redacted. */
  readonly process?: {args: readonly string[]; command: string; exitCode?: number; stderr?: string}

  constructor(message: string, details: ErrorDetails<CodeOf<'external'>> & {process?: ExternalError['process']}) {
    super(message, details, 'external')
    if (details.process) {
      this.process = {
        ...details.process,
        args: details.process.args.map(a => redactPatterns(a)),
        // Redact before cutting: a cut through a token would leave a part no pattern recognises.
        stderr: details.process.stderr === undefined ? undefined : redactPatterns(details.process.stderr.trim()).slice(-4000),
      }
    }
  }
}

/** The signals a run handles (the command's one handler), each ending the run with its own exit code (128 + n). */
export type StopSignal = 'SIGHUP' | 'SIGINT' | 'SIGTERM'

/** Which exit a handled signal ends the run with. */
export const SIGNAL_EXITS: Readonly<Record<StopSignal, ExitCodeName>> = {SIGHUP: 'hangup', SIGINT: 'interrupted', SIGTERM: 'terminated'}

function isStopSignal(value: unknown): value is StopSignal {
  return value === 'SIGHUP' || value === 'SIGINT' || value === 'SIGTERM'
}

/**
 * The run was interrupted: Ctrl-C (SIGINT, exit 130), SIGTERM (exit 143) or SIGHUP (exit 129), through the command's
 * AbortSignal or at a prompt. `signal` is the one received, when known; the command sets it from its signal handler.
 */
export class InterruptedError extends BinauthzError {
  override readonly name: string = 'InterruptedError'
  readonly signal: StopSignal

  constructor(message: string, details: Omit<ErrorDetails, 'code'> & {signal?: StopSignal} = {}) {
    super(message, {...details, code: 'INTERRUPTED'}, 'interrupted')
    this.signal = details.signal ?? 'SIGINT'
  }

  override get exitName(): ExitCodeName {
    return SIGNAL_EXITS[this.signal]
  }
}

/** The process signal an abort stands for: its reason's `signal` (the command's handler sets it), else SIGINT. */
export function abortSignalName(signal: AbortSignal): StopSignal {
  const {reason} = signal
  const named = typeof reason === 'object' && reason !== null ? (reason as {signal?: unknown}).signal : undefined
  return isStopSignal(named) ? named : 'SIGINT'
}

/** A broken assumption inside binauthz. */
export class BugError extends BinauthzError {
  override readonly name = 'BugError'

  constructor(message: string, details: Omit<ErrorDetails, 'code'> = {}) {
    super(message, {...details, code: 'BUG'}, 'bug')
  }
}

const SECRET_PATTERNS: RegExp[] = [
  /\bya29\.[\w.-]+/g, // Google OAuth access tokens
  /\b(Bearer\s+)[\w.~+/=-]+/gi,
  /\b(access_token["'=:\s]+)[\w.~+/-]+/gi,
  /\b1\/\/[\w.-]{20,}/g, // Google refresh tokens
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
]

/**
 * The secrets one run knows: the tokens it obtained and the key material it read (src/auth, src/google register them),
 * and an access token given in CLOUDSDK_AUTH_ACCESS_TOKEN. Created once by the command with the run's Runtime and
 * handed to whoever obtains a token and to whoever prints (src/cli/base-command.ts, output-guard.ts): nothing global.
 */
export class Secrets {
  private readonly values = new Set<string>()

  /** Registers a secret value so it is redacted wherever this run prints it (shorter than 8 characters: ignored). */
  add(secret: string): void {
    if (secret.length >= 8) this.values.add(secret)
  }

  /** The registered values, then anything that looks like a credential (SECRET_PATTERNS), replaced by [REDACTED]. */
  redact(text: string): string {
    let out = text
    for (const secret of this.values) out = out.split(secret).join('[REDACTED]')
    return redactPatterns(out)
  }

  /** Replaces only the exact values registered: cheap, and changes nothing else in the text. */
  redactKnown(text: string): string {
    let out = text
    for (const secret of this.values) if (out.includes(secret)) out = out.split(secret).join('[REDACTED]')
    return out
  }

  /** Text ready to show: this run's secrets and credential-like text redacted, controls and bidi overrides escaped. */
  safeText(text: string): string {
    return displayEscape(this.redact(text), {keepLines: true})
  }
}

/**
 * Text ready to show as far as the text itself tells: credential-like text redacted (SECRET_PATTERNS), controls (but
 * newlines and tabs) and bidi overrides escaped. The run's registered secrets are redacted where it prints
 * (Secrets.safeText, and the output guard on every write).
 */
export function safeText(text: string): string {
  return displayEscape(redactPatterns(text), {keepLines: true})
}

/** Removes anything that looks like a credential (SECRET_PATTERNS): pure, needs no run. */
export function redactPatterns(text: string): string {
  let out = text
  for (const pattern of SECRET_PATTERNS) {
    out = out.replace(pattern, (_match, prefix: unknown) => (typeof prefix === 'string' ? `${prefix}[REDACTED]` : '[REDACTED]'))
  }

  return out
}
