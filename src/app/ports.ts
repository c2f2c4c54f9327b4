// What the use cases need from the terminal, injected by the command that owns the run (src/cli builds them): the
// use cases never print or prompt themselves. `Ui` takes progress and plan lines (stdout for people, stderr under
// --json); `Prompter` asks questions, or — when nobody can be asked (no terminal, CI set, --json) — throws a UserError
// naming the flag that answers the question, so a script gets an actionable message instead of a hang.

import type {RequestContext} from '../google/request-context.js'
import type {RunConfig} from './context.js'

export interface Ui {
  /** A policy diff (several lines): shown coloured in a terminal; lines through info() when absent. */
  diff?(text: string): void
  info(line: string): void
  warn(line: string): void
}

export const silentUi: Ui = {
  info() {},
  warn() {},
}

export interface Choice<T> {
  checked?: boolean
  description?: string
  name: string
  value: T
}

export interface AskOptions {
  /** The flag that answers this question non-interactively, e.g. "--yes" or "--project". */
  flag: string
  /** The exact command to run instead, with that flag, when nobody can be asked. */
  rerun?: string
}

/**
 * What the command that owns the run hands every use case: built once per run (src/cli/base-command.ts runtime()),
 * with the request context (src/google/request-context.ts) every request of the run carries.
 */
export interface Runtime extends RequestContext {
  /** The run's clock: everything that reads the time (backup names and timestamps, deadlines, retry waits). */
  clock: Clock
  /** gcloud's configuration and the saved defaults, each read at most once in the run. */
  config: RunConfig
  env: NodeJS.ProcessEnv
  /** The command line as typed (bin first): a refused confirmation names it with --yes added. */
  invocation?: readonly string[]
  prompter: Prompter
  /** Aborted by SIGINT / SIGTERM: every request and process the run starts takes it. */
  signal: AbortSignal
  ui: Ui
}

/** Now; tests pass a fixed or stepping one. */
export type Clock = () => Date

export const systemClock: Clock = () => new Date()

export interface Prompter {
  confirm(message: string, options: AskOptions & {default?: boolean}): Promise<boolean>
  input(message: string, options: AskOptions & {default?: string; validate?: (value: string) => string | true}): Promise<string>
  /** Whether questions can be asked at all. */
  readonly interactive: boolean
  select<T>(message: string, choices: readonly Choice<T>[], options: AskOptions & {default?: T}): Promise<T>
}
