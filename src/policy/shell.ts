// How a command is shown so it can be copied into a POSIX shell. Display only: binauthz never runs a shell string.

/** One argument, single-quoted only when it holds anything beyond the characters every shell leaves alone. */
export function shellArg(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", String.raw`'\''`)}'`
}

/** A whole argv, ready to paste. */
export function formatCommand(argv: readonly string[]): string {
  return argv.map(arg => shellArg(arg)).join(' ')
}
