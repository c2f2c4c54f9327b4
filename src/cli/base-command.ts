// The base of every binauthz command: --json support, error → exit code mapping, secret-free output.
//
// Error contract (also the --json error shape, printed on stdout under --json):
//   {"schemaVersion": 1, "command": "policy status", "error": {"name": "UserError", "code": "PROJECT_MISSING",
//    "message": "...", "exitCode": 2, "suggestions": ["..."]}} (schemas/error.schema.json)
// Errors that carry a partial result (`jsonResult`, e.g. a deploy whose gcloud failed) print that result with an
// added "error" key instead, so scripts always get the DeployResult.
import {Command, Errors} from '@oclif/core'

import type {Prompter, Runtime, Ui} from '../app/ports.js'

import {runConfig} from '../app/context.js'
import {
  abortSignalName, BinauthzError, EXIT_CODES, InterruptedError, redactSecrets,
} from '../errors.js'
import {colourDiff, colourEnabled} from './diff-colour.js'
import {terminalPrompter} from './prompts.js'

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

/** Describes any thrown value as the --json error object, secrets redacted. */
export function describeError(err: unknown): ErrorJson {
  if (err instanceof BinauthzError) {
    return {
      code: err.code,
      exitCode: err.exitCode,
      message: redactSecrets(err.message),
      name: err.name,
      suggestions: err.suggestions.map(s => redactSecrets(s)),
    }
  }

  if (err instanceof Errors.CLIError) {
    return {
      code: typeof err.code === 'string' ? err.code : 'USAGE',
      exitCode: err.oclif.exit ?? EXIT_CODES.usage,
      message: redactSecrets(err.message),
      name: err.name,
      suggestions: (err.suggestions ?? []).map(s => redactSecrets(s)),
    }
  }

  const message = err instanceof Error ? err.message : String(err)
  return {
    code: 'BUG',
    exitCode: EXIT_CODES.internal,
    message: redactSecrets(`Unexpected error: ${message}`),
    name: 'BugError',
    suggestions: ['Re-run with DEBUG=binauthz* and report the output (it contains no tokens) as a bug.'],
  }
}

function isExitError(err: unknown): boolean {
  return err instanceof Errors.ExitError || (typeof err === 'object' && err !== null && (err as {code?: unknown}).code === 'EEXIT')
}

export abstract class BinauthzCommand extends Command {
  static override enableJsonFlag = true
  /** The run's one interrupt: SIGINT or SIGTERM abort it; everything the run starts (HTTP, gcloud) takes its signal. */
  private readonly interrupt = new AbortController()
  private readonly onSigint = (): void => this.interrupted('SIGINT')
  private readonly onSigterm = (): void => this.interrupted('SIGTERM')

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
    const described = describeError(err)
    // An interruption ends with the code of the signal this run received (130 SIGINT, 143 SIGTERM).
    if (err instanceof InterruptedError && this.signal.aborted) described.exitCode = abortSignalName(this.signal) === 'SIGTERM' ? EXIT_CODES.terminated : EXIT_CODES.interrupted
    if (this.jsonEnabled()) {
      const json = hasJsonResult(err) ? {...err.jsonResult, error: described} : {error: described}
      this.logJson(jsonEnvelope(this.id, json))
      const silent = new Errors.CLIError(described.message, {code: described.code, exit: described.exitCode})
      silent.skipOclifErrorHandling = true
      throw silent
    }

    if (err instanceof Errors.CLIError && !(err instanceof BinauthzError)) {
      // oclif's own errors (parse errors etc.): keep them, but never print a secret.
      err.message = redactSecrets(err.message)
      throw err
    }

    if (err instanceof BinauthzError || described.code !== 'BUG') {
      this.error(described.message, {code: described.code, exit: described.exitCode, suggestions: described.suggestions})
    }

    // A bug: keep the stack available under DEBUG, print the redacted message.
    this.debug(redactSecrets(err.stack ?? String(err)))
    this.error(described.message, {code: 'BUG', exit: EXIT_CODES.internal, suggestions: described.suggestions})
  }

  /** A policy diff for people: coloured when stdout is a terminal (NO_COLOR / FORCE_COLOR honoured), never under --json. */
  protected coloured(diff: string): string {
    return colourDiff(diff, !this.jsonEnabled() && colourEnabled({env: process.env, isTTY: Boolean(process.stdout.isTTY)}))
  }

  override async finally(error: Error | undefined): Promise<unknown> {
    process.off('SIGINT', this.onSigint)
    process.off('SIGTERM', this.onSigterm)
    return super.finally(error)
  }

  override async init(): Promise<void> {
    await super.init()
    // `on`, not `once`: execa's exit hook (signal-exit) re-raises a signal that no other listener is left for.
    process.on('SIGINT', this.onSigint)
    process.on('SIGTERM', this.onSigterm)
  }

  /**
   * Progress and log lines on stderr, also under --json (where stdout holds only the JSON): oclif's logToStderr is
   * silent under --json, so this writes to stderr itself.
   */
  protected note(message = ''): void {
    process.stderr.write(`${redactSecrets(message)}\n`)
  }

  /** Asks the user in a terminal; under --json (or without a terminal, or with CI set) refuses, naming the flag. */
  protected prompter(): Prompter {
    return terminalPrompter(this.jsonEnabled() ? {interactive: false} : {})
  }

  /** The run's runtime, handed to the use case: environment, prompter, interrupt signal, progress lines. */
  protected runtime(): Runtime {
    return {
      config: runConfig(process.env), env: process.env, prompter: this.prompter(), signal: this.signal, ui: this.ui(),
    }
  }

  /** Human output (stdout) — silent under --json. */
  protected say(message = ''): void {
    if (!this.jsonEnabled()) this.log(redactSecrets(message))
  }

  /** The --json output of a successful run: the result in the envelope (schemaVersion, command). */
  protected override toSuccessJson(result: unknown): unknown {
    return typeof result === 'object' && result !== null && !Array.isArray(result) ? jsonEnvelope(this.id, result) : result
  }

  /** Where domain code reports progress: stdout for people, stderr under --json; warnings through oclif. */
  protected ui(): Ui {
    return {
      diff: text => (this.jsonEnabled() ? this.note(text) : this.say(this.coloured(text))),
      info: line => (this.jsonEnabled() ? this.note(line) : this.say(line)),
      warn: line => this.warn(line),
    }
  }

  private interrupted(signal: 'SIGINT' | 'SIGTERM'): void {
    if (this.interrupt.signal.aborted) {
      // A second Ctrl-C while the first is still being honoured: stop now, the way the signal stops any program.
      process.off('SIGINT', this.onSigint)
      process.off('SIGTERM', this.onSigterm)
      process.kill(process.pid, signal)
      return
    }

    if (process.stderr.isTTY) process.stderr.write('\u001B[?25h') // a spinner may have hidden the cursor
    this.interrupt.abort(new InterruptedError(`Interrupted (${signal}).`, {signal}))
  }
}
