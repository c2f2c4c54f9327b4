// The only module that imports @inquirer/prompts (lazily: it costs ~50 ms). Prompts run only when stdin and the
// prompt's output are terminals and CI is unset; otherwise each prompt throws a UserError naming the flag that
// answers it, so scripts get an actionable message instead of a hang. Ctrl-C at a prompt becomes an
// 'interrupted' error (exit 130) so callers can rely on nothing after the prompt having run.

import {isatty} from 'node:tty'

import type {Choice, Prompter} from '../app/ports.js'

import {InterruptedError, UserError} from '../errors.js'
import {isCiValue} from './renderer.js'

/** Where a prompt would be shown; injectable so tests can pretend to be (or not be) a terminal. */
export interface PromptIo {
  env?: NodeJS.ProcessEnv
  input?: NodeJS.ReadableStream & {isTTY?: boolean}
  /** false forbids prompts outright (e.g. under --json); undefined decides from the streams and CI. */
  interactive?: boolean
  output?: NodeJS.WritableStream & {isTTY?: boolean}
}

export interface PromptOptions extends PromptIo {
  /** The flag that answers this prompt non-interactively, e.g. "--yes" or "--project". */
  flag: string
  /** The exact command to run instead, with that flag (suggested when no prompt can be shown). */
  rerun?: string
}

export type {Choice} from '../app/ports.js'

function isCiSet(env: NodeJS.ProcessEnv): boolean {
  return isCiValue(env.CI)
}

/** Whether prompts may be shown: stdin and output are terminals and CI is unset. */
export function canPrompt(io: PromptIo = {}): boolean {
  if (io.interactive === false) return false
  const env = io.env ?? process.env
  // isatty(0) rather than process.stdin.isTTY: the getter builds the stdin stream (a few ms of every start) that a
  // run without prompts never reads.
  const inputIsTerminal = io.input ? Boolean(io.input.isTTY) : isatty(0)
  const output = io.output ?? process.stdout
  return inputIsTerminal && Boolean(output.isTTY) && !isCiSet(env)
}

function whyNoPrompt(io: PromptIo): string {
  if (io.interactive === false) return 'prompts are off (--json)'
  const env = io.env ?? process.env
  return isCiSet(env) ? 'CI is set' : 'this is not an interactive terminal'
}

function requireTty(options: PromptOptions, what: string, confirmation: boolean): void {
  if (canPrompt(options)) return
  throw new UserError(`Cannot ask ${what}: ${whyNoPrompt(options)}. Pass ${options.flag} instead.`, {
    code: confirmation ? 'CONFIRMATION_REQUIRED' : 'PROMPT_UNAVAILABLE',
    suggestions: [options.rerun === undefined ? `Re-run with ${options.flag}` : `Re-run with ${options.flag}: ${options.rerun}`],
  })
}

function context(options: PromptIo): {input?: NodeJS.ReadableStream; output?: NodeJS.WritableStream} {
  return {
    ...(options.input ? {input: options.input} : {}),
    ...(options.output ? {output: options.output} : {}),
  }
}

/** Ctrl-C inside inquirer rejects with ExitPromptError; map it to our 'interrupted' exit. */
function mapPromptError(error: unknown): unknown {
  if (error instanceof Error && (error.name === 'ExitPromptError' || error.name === 'AbortPromptError')) {
    return new InterruptedError('Interrupted: nothing was changed by the unanswered prompt.', {cause: error})
  }

  return error
}

async function run<T>(ask: () => Promise<T>): Promise<T> {
  try {
    return await ask()
  } catch (error) {
    throw mapPromptError(error)
  }
}

/** Yes/no question. Without a terminal throws UserError CONFIRMATION_REQUIRED (exit 'permission') naming the flag. */
export async function confirmPrompt(message: string, options: PromptOptions & {default?: boolean}): Promise<boolean> {
  requireTty(options, `for confirmation ("${message}")`, true)
  const {confirm} = await import('@inquirer/prompts')
  return run(() => confirm({default: options.default ?? false, message}, context(options)))
}

/** Pick one of `choices`. Without a terminal throws UserError PROMPT_UNAVAILABLE naming the flag. */
export async function selectPrompt<T>(
  message: string,
  choices: readonly Choice<T>[],
  options: PromptOptions & {default?: T},
): Promise<T> {
  requireTty(options, `"${message}"`, false)
  const {select} = await import('@inquirer/prompts')
  return run(() =>
    select<T>(
      {
        choices: choices.map(c => ({name: c.name, value: c.value, ...(c.description ? {description: c.description} : {})})),
        message,
        ...(options.default === undefined ? {} : {default: options.default}),
      },
      context(options),
    ))
}

/** Free text. `validate` returns true or the message to show. Without a terminal throws naming the flag. */
export async function inputPrompt(
  message: string,
  options: PromptOptions & {default?: string; validate?: (value: string) => string | true},
): Promise<string> {
  requireTty(options, `"${message}"`, false)
  const {input} = await import('@inquirer/prompts')
  const {validate} = options
  return run(() =>
    input(
      {
        message,
        ...(options.default === undefined ? {} : {default: options.default}),
        ...(validate ? {validate: (value: string) => validate(value)} : {}),
      },
      context(options),
    ))
}

/** Pick any of `choices`. Without a terminal throws naming the flag. */
export async function checkboxPrompt<T>(
  message: string,
  choices: readonly Choice<T>[],
  options: PromptOptions & {required?: boolean},
): Promise<T[]> {
  requireTty(options, `"${message}"`, false)
  const {checkbox} = await import('@inquirer/prompts')
  return run(() =>
    checkbox<T>(
      {
        choices: choices.map(c => ({checked: c.checked ?? false, name: c.name, value: c.value})),
        message,
        ...(options.required ? {required: true} : {}),
      },
      context(options),
    ))
}

/** The Prompter the use cases get: these prompts, shown on `io` (or refused, naming the flag, where none can be). */
export function terminalPrompter(io: PromptIo = {}): Prompter {
  return {
    confirm: (message, options) => confirmPrompt(message, {...io, ...options}),
    input: (message, options) => inputPrompt(message, {...io, ...options}),
    interactive: canPrompt(io),
    select: (message, choices, options) => selectPrompt(message, choices, {...io, ...options}),
  }
}
