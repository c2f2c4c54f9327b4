// The base of every binauthz command: --json support, error → exit code mapping, secret-free output.
//
// Error contract (also the --json error shape, printed on stdout under --json):
//   {"schemaVersion": 1, "command": "policy status", "error": {"name": "UserError", "code": "PROJECT_MISSING",
//    "message": "...", "exitCode": 2, "suggestions": ["..."]}} (schemas/error.schema.json)
// Errors that carry a partial result (`jsonResult`, e.g. a deploy whose gcloud failed) print that result with an
// added "error" key instead, so scripts always get the DeployResult.
import {Command} from '@oclif/core/command'
import * as Errors from '@oclif/core/errors'

import type {Prompter, Runtime, Ui} from '../app/ports.js'

import {runConfig} from '../app/context.js'
import {systemClock} from '../app/ports.js'
import {
  abortSignalName, BinauthzError, EXIT_CODES, InterruptedError, Secrets, SIGNAL_EXITS, type StopSignal,
} from '../errors.js'
import {userAgentOf} from '../google/user-agent.js'
import {formatCommand} from '../policy/shell.js'
import {colourDiff, colourEnabled, escapeKeepingDiffColour} from './diff-colour.js'
import {renderError} from './error-output.js'
import {guardProcessOutput} from './output-guard.js'
import {terminalPrompter} from './prompts.js'
import {flagSuggestions, type OwnFlag, withGcloudArgsAfterDashDash} from './usage-hints.js'

/**
 * The version of every --json result's shape (`schemaVersion`), and of the JSON Schemas shipped in schemas/ (one per
 * command: schemas/COMMAND-WORDS.schema.json). Raised when a field is removed or changes meaning; new fields may be
 * added within a version.
 */
export const JSON_SCHEMA_VERSION = 1

/** Every --json object starts with these: which shape it is, and of which command ("deploy run", "policy status", …). */
export function jsonEnvelope(commandId: string | undefined, body: object): object {
  return {command: (commandId ?? '').replaceAll(':', ' '), schemaVersion: JSON_SCHEMA_VERSION, ...body}
}

/** The JSON printed for an error under --json. */
export interface ErrorJson {
  code: string
  exitCode: number
  message: string
  name: string
  suggestions: string[]
}

/** An error that also carries the (partial) result object to print under --json. */
export interface HasJsonResult {
  jsonResult: object
}

function hasJsonResult(err: unknown): err is HasJsonResult {
  return typeof err === 'object' && err !== null && 'jsonResult' in err && typeof (err as {jsonResult: unknown}).jsonResult === 'object'
}

/** Describes any thrown value as the --json error object, the run's secrets (and credential-like text) redacted. */
export function describeError(err: unknown, secrets: Secrets): ErrorJson {
  const safeText = (text: string): string => secrets.safeText(text)
  if (err instanceof BinauthzError) {
    return {
      code: err.code,
      exitCode: err.exitCode,
      message: safeText(err.message),
      name: err.name,
      suggestions: err.suggestions.map(s => safeText(s)),
    }
  }

  if (err instanceof Errors.CLIError) {
    return {
      code: typeof err.code === 'string' ? err.code : 'USAGE',
      exitCode: err.oclif.exit ?? EXIT_CODES.usage,
      message: safeText(err.message),
      name: err.name,
      suggestions: (err.suggestions ?? []).map(s => safeText(s)),
    }
  }

  const message = err instanceof Error ? err.message : String(err)
  return {
    code: 'BUG',
    exitCode: EXIT_CODES.internal,
    message: safeText(`Unexpected error: ${message}`),
    name: 'BugError',
    suggestions: ['Re-run with DEBUG=binauthz* and report the output (it contains no tokens) as a bug.'],
  }
}

/** The signals the run handles, one handler for all (SIGHUP: the terminal or the SSH session went away). */
const STOP_SIGNALS: readonly StopSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP']

/**
 * JSON as printed: JSON.stringify escapes C0 controls but leaves DEL, C1 controls, U+2028/2029 and the bidi
 * overrides raw; they are written as \uXXXX too (the same JSON value, nothing a terminal acts on).
 */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2).replaceAll(
    /[\u007F-\u009F\u2028\u2029\u202A-\u202E\u2066-\u2069\uFEFF]/g,
    ch => `\\u${(ch.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`,
  )
}

/**
 * Resolves once everything written to `stream` so far has been handed to the OS (or the stream is gone): oclif ends
 * a failed run with process.exit, which would otherwise cut a large --json object at the pipe's 64 KiB.
 */
export async function drained(stream: NodeJS.WriteStream): Promise<void> {
  if (stream.destroyed || stream.writableLength === 0) return
  // A reader that left (EPIPE) ends the stream instead of draining it: that ends the wait too.
  await new Promise<void>(resolve => {
    const done = (): void => resolve()
    stream.once('close', done)
    stream.once('error', done)
    stream.write('', done)
  })
}

/** The flags a command declares (its own and the base flags), as the usage hints need them. */
export function ownFlagsOf(flags: Readonly<Record<string, {char?: string; type: string}>>): OwnFlag[] {
  return Object.entries(flags).map(([name, flag]) => ({
    ...(flag.char === undefined ? {} : {char: flag.char}), name, takesValue: flag.type === 'option',
  }))
}

/** An error thrown for stderr only: already printed (or printed as JSON), oclif just exits with its code. */
function silenced(described: ErrorJson): Errors.CLIError {
  const silent = new Errors.CLIError(described.message, {code: described.code, exit: described.exitCode, suggestions: described.suggestions})
  silent.skipOclifErrorHandling = true
  return silent
}

/** The width to wrap prose at: the terminal's, or none when stderr is not a terminal (CI logs keep lines whole). */
export function stderrColumns(): number | undefined {
  return process.stderr.isTTY ? Math.max(40, process.stderr.columns || 80) : undefined
}

function isExitError(err: unknown): boolean {
  return err instanceof Errors.ExitError || (typeof err === 'object' && err !== null && (err as {code?: unknown}).code === 'EEXIT')
}

export abstract class BinauthzCommand extends Command {
  static override enableJsonFlag = true
  /** The run's secrets: whoever obtains a token registers it here; everything this run prints is redacted with it. */
  protected readonly secrets = new Secrets()
  /** The run's one interrupt: SIGINT or SIGTERM abort it; everything the run starts (HTTP, gcloud) takes its signal. */
  private readonly interrupt = new AbortController()
  private readonly onSignal = (signal: NodeJS.Signals): void => this.interrupted(signal as StopSignal)
  /** --quiet: human output (say, ui.info) is dropped; errors, and what the command was asked to print (data), are not. */
  private quietRun = false
  /** Takes the output guard off at the end of the run. */
  private unguard?: () => void

  /** Aborted when the user interrupts the run; pass it to every request and process the run starts. */
  protected get signal(): AbortSignal {
    return this.interrupt.signal
  }

  /**
   * Maps errors to exit codes and messages. BinauthzError → its exit code, code and suggestions; under --json the
   * error object (or the partial result with an `error` key) goes to stdout and nothing is printed twice.
   */
  protected override async catch(err: Error & {exitCode?: number}): Promise<never> {
    if (isExitError(err)) throw err
    const described = describeError(err, this.secrets)
    // An interruption ends with the code of the signal this run received (130 SIGINT, 143 SIGTERM, 129 SIGHUP).
    if (err instanceof InterruptedError && this.signal.aborted) described.exitCode = EXIT_CODES[SIGNAL_EXITS[abortSignalName(this.signal)]]
    const usage = err instanceof Errors.CLIError && !(err instanceof BinauthzError)
    if (usage) Object.assign(described, this.usageHelp(err))
    if (this.jsonEnabled()) {
      const json = hasJsonResult(err) ? {...err.jsonResult, error: described} : {error: described}
      this.logJson(jsonEnvelope(this.id, json))
      throw silenced(described)
    }

    // A bug: keep the stack available under DEBUG.
    if (described.code === 'BUG') this.debug(this.secrets.safeText(err.stack ?? String(err)))
    process.stderr.write(renderError(described, {columns: stderrColumns()}))
    throw silenced(described)
  }

  /** A policy diff for people: coloured when stdout is a terminal (NO_COLOR / FORCE_COLOR honoured), never under --json. */
  protected coloured(diff: string): string {
    return colourDiff(this.secrets.safeText(diff), !this.jsonEnabled() && colourEnabled({env: process.env, isTTY: Boolean(process.stdout.isTTY)}))
  }

  /** The command's line as typed words (`binauthz deploy run`). */
  protected commandWords(): string[] {
    return [this.config.bin, ...(this.id?.split(':') ?? [])]
  }

  /** What the command was asked to print (policy export's YAML, allow --print): silent only under --json. */
  protected data(message = ''): void {
    if (!this.jsonEnabled()) this.log(this.secrets.safeText(message))
  }

  override async finally(error: Error | undefined): Promise<unknown> {
    for (const signal of STOP_SIGNALS) process.off(signal, this.onSignal)
    // A failed run ends in oclif's process.exit: first let stdout (the --json object) and stderr drain.
    if (error !== undefined) await Promise.all([drained(process.stdout), drained(process.stderr)])
    this.unguard?.()
    return super.finally(error)
  }

  override async init(): Promise<void> {
    this.unguard = guardProcessOutput(process.env, this.secrets)
    await super.init()
    // `on`, not `once`: execa's exit hook (signal-exit) re-raises a signal that no other listener is left for.
    for (const signal of STOP_SIGNALS) process.on(signal, this.onSignal)
  }

  /** The --json object: written whole, with nothing in it a terminal would act on (see jsonText). */
  override logJson(json: unknown): void {
    process.stdout.write(`${jsonText(json)}\n`)
  }

  /**
   * Progress and log lines on stderr, also under --json (where stdout holds only the JSON): oclif's logToStderr is
   * silent under --json, so this writes to stderr itself.
   */
  protected note(message = ''): void {
    process.stderr.write(`${this.secrets.safeText(message)}\n`)
  }

  /** Asks the user in a terminal; under --json (or without a terminal, or with CI set) refuses, naming the flag. */
  protected prompter(): Prompter {
    return terminalPrompter(this.jsonEnabled() ? {interactive: false} : {})
  }

  /**
   * --quiet: from now on only errors (and data) are printed — except text shown before a question a person in a
   * terminal may be asked (`confirmable`: no --yes), which they must see to answer.
   */
  protected quiet(quiet: boolean, confirmable = false): void {
    this.quietRun = quiet && !(confirmable && this.prompter().interactive)
  }

  /** The run's runtime, handed to the use case: environment, prompter, interrupt signal, progress lines. */
  protected runtime(): Runtime {
    return {
      clock: systemClock,
      config: runConfig(process.env),
      env: process.env,
      invocation: [...this.commandWords(), ...this.argv],
      prompter: this.prompter(),
      secrets: this.secrets,
      signal: this.signal,
      ui: this.ui(),
      userAgent: this.userAgent(),
    }
  }

  /** Human output (stdout) — silent under --json and --quiet. */
  protected say(message = ''): void {
    if (!this.jsonEnabled() && !this.quietRun) this.log(escapeKeepingDiffColour(message, text => this.secrets.safeText(text)))
  }

  /** The --json output of a successful run: the result in the envelope (schemaVersion, command). */
  protected override toSuccessJson(result: unknown): unknown {
    return typeof result === 'object' && result !== null && !Array.isArray(result) ? jsonEnvelope(this.id, result) : result
  }

  /** Where domain code reports progress: stdout for people, stderr under --json; warnings on stderr. */
  protected ui(): Ui {
    return {
      diff: text => (this.jsonEnabled() ? this.note(text) : this.say(this.coloured(text))),
      info: line => (this.jsonEnabled() ? this.note(line) : this.say(line)),
      // Not oclif's warn: its `›` prefix and wrapping would break a command or hand-off line.
      warn: line => {
        if (!this.quietRun) process.stderr.write(`${this.secrets.safeText(`Warning: ${line}`)}\n`)
      },
    }
  }

  /** The User-Agent of the run's requests, from the package.json oclif already read (no file read of ours). */
  protected userAgent(): string {
    return userAgentOf(this.config)
  }

  private interrupted(signal: StopSignal): void {
    if (this.interrupt.signal.aborted) {
      // A second Ctrl-C while the first is still being honoured: stop now, the way the signal stops any program.
      for (const s of STOP_SIGNALS) process.off(s, this.onSignal)
      process.kill(process.pid, signal)
      return
    }

    if (process.stderr.isTTY) process.stderr.write('\u001B[?25h') // a spinner may have hidden the cursor
    this.interrupt.abort(new InterruptedError(`Interrupted (${signal}).`, {signal}))
  }

  /**
   * A parse error of oclif's with what helps: the corrected command when gcloud's flags came before `--`, the
   * nearest flag for a misspelt one, and one pointer to --help (never the whole help).
   */
  private usageHelp(err: Errors.CLIError): Pick<ErrorJson, 'message' | 'suggestions'> {
    const ctor = this.ctor as typeof BinauthzCommand & {passthroughToGcloud?: boolean}
    const flags = ownFlagsOf({...ctor.baseFlags, ...ctor.flags} as Record<string, {char?: string; type: string}>)
    const unknown = (err as {flags?: unknown}).flags
    const near = flagSuggestions(Array.isArray(unknown) ? unknown.map(String) : [], flags)
    const words = this.commandWords()
    // oclif's own lines (e.g. which flags exclude each other), without its "See more help" (ours is below).
    const lines = this.secrets.safeText(err.message).split('\n').filter(line => !/^\s*See more help with --help\s*$/.test(line))
    const dashdash = this.argv.indexOf('--')
    const own = dashdash === -1 ? this.argv : this.argv.slice(0, dashdash)
    const after = dashdash === -1 ? [] : this.argv.slice(dashdash + 1)
    const corrected = ctor.passthroughToGcloud && near.length === 0 ? withGcloudArgsAfterDashDash(words, own, after, flags) : undefined
    if (corrected === undefined) {
      // The whole command line with each misspelt flag replaced: it runs as printed.
      const fixed = this.argv.map(arg => {
        const hit = near.find(n => arg === n.flag || arg.startsWith(`${n.flag}=`))
        return hit === undefined ? arg : `${hit.nearest}${arg.slice((hit.flag.split('=')[0] ?? '').length)}`
      })
      if (near.length > 0) lines.push(`Did you mean ${this.secrets.safeText(formatCommand([...words, ...fixed]))}?`)
    } else {
      lines.push('gcloud\'s arguments go after --:', `  ${this.secrets.safeText(corrected)}`)
    }

    lines.push(`See: ${words.join(' ')} --help`)
    return {message: lines.join('\n'), suggestions: []}
  }
}
