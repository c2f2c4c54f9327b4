// The commands a person would copy out of binauthz's output (see test/e2e/printed-commands.test.ts).

/**
 * The commands in a CLI's output: lines that are a command (`binauthz …`, `gcloud …`, indented or not, never with a
 * prefix), and the command of a "See: …" / "Did you mean …?" line.
 */
export function printedCommands(output: string): string[] {
  const commands: string[] = []
  for (const raw of output.split('\n')) {
    const line = raw.trim()
    const pointer = /^(?:See:|Did you mean) (binauthz .*?)\??$/.exec(line)
    if (pointer?.[1]) commands.push(pointer[1])
    else if (/^(?:binauthz|gcloud) /.test(line)) commands.push(line)
  }

  return [...new Set(commands)]
}
