// How an error reads on stderr (without --json). What must be copied is never wrapped and never prefixed: message
// lines that start with whitespace are blocks (commands, YAML, Terraform) and are printed exactly; a suggestion that
// ends in a command prints the command on a line of its own. Without a terminal nothing is wrapped at all (CI logs
// keep every line whole); in a terminal only prose is wrapped to its width. Pure.

import type {ErrorJson} from './base-command.js'

export interface ErrorLayout {
  /** The terminal's width; undefined (no terminal): no wrapping at all. */
  columns?: number
}

/** The command a suggestion ends with ("Re-run with --yes: binauthz …" → prose "Re-run with --yes:", command). */
const COMMAND_TAIL = /^(.*?):\s+((?:gcloud|binauthz|eval|export) .+)$/

/** Splits a suggestion into its prose and the command it names, if any. */
export function splitSuggestion(suggestion: string): {command?: string; prose: string} {
  const match = COMMAND_TAIL.exec(suggestion)
  if (match === null) return {prose: suggestion}
  return {command: match[2] as string, prose: `${match[1] as string}:`}
}

/** Wraps one prose line at `columns` on spaces, continuation lines indented by `hang`; a word longer than a line stays whole. */
export function wrapProse(line: string, columns: number | undefined, first = '', hang = ''): string[] {
  const full = `${first}${line}`
  if (columns === undefined || full.length <= columns) return [full]
  const out: string[] = []
  let current = first
  let empty = true
  for (const word of line.split(' ')) {
    if (!empty && current.length + 1 + word.length > columns) {
      out.push(current)
      current = `${hang}${word}`
    } else {
      current = empty ? `${current}${word}` : `${current} ${word}`
    }

    empty = false
  }

  out.push(current)
  return out
}

/** A line of a message: blocks (indented) and empty lines as they are, prose wrapped in a terminal. */
function messageLine(line: string, layout: ErrorLayout, first = ''): string[] {
  if (line === '' || /^\s/.test(line)) return [`${first}${line}`]
  return wrapProse(line, layout.columns, first)
}

/** The text written to stderr for an error: the message, its code, and what to try, each command on its own line. */
export function renderError(error: Pick<ErrorJson, 'code' | 'message' | 'suggestions'>, layout: ErrorLayout = {}): string {
  const [head = '', ...rest] = error.message.trimEnd().split('\n')
  const lines = [...messageLine(head, layout, 'Error: '), ...rest.flatMap(line => messageLine(line, layout))]
  if (error.code !== 'USAGE' && error.code !== '') lines.push(`Code: ${error.code}`)
  if (error.suggestions.length > 0) {
    lines.push(error.suggestions.length === 1 ? 'Try:' : 'Try one of:')
    for (const suggestion of error.suggestions) {
      const {command, prose} = splitSuggestion(suggestion)
      lines.push(...wrapProse(prose, layout.columns, '  * ', '    '))
      if (command !== undefined) lines.push(`      ${command}`)
    }
  }

  return `${lines.join('\n')}\n`
}
