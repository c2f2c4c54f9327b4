// How a command is shown so it can be copied into a POSIX shell. Display only: binauthz never runs a shell string,
// and gcloud gets its arguments verbatim; only what is shown is escaped.

import {displayEscape, hasUnsafeCharacters} from './display.js'

/**
 * One argument, single-quoted only when it holds anything beyond the characters every shell leaves alone. An
 * argument with control characters or bidi overrides (a terminal escape, a right-to-left override that would make
 * the command read as another) is shown in ANSI-C quoting, `$'…\x1b…\u202e…'` (bash, zsh, ksh), so it is both
 * visible and still the same argument when pasted.
 */
export function shellArg(value: string): string {
  if (/^[\w@%+=:,./-]+$/.test(value)) return value
  if (hasUnsafeCharacters(value)) return `$'${displayEscape(value.replaceAll('\\', '\\\\').replaceAll("'", String.raw`\'`))}'`
  return `'${value.replaceAll("'", String.raw`'\''`)}'`
}

/** A whole argv, ready to paste. */
export function formatCommand(argv: readonly string[]): string {
  return argv.map(arg => shellArg(arg)).join(' ')
}
