// Colour for the policy diff in a terminal (pure). NO_COLOR (https://no-color.org) turns colour off whatever else is
// set; FORCE_COLOR turns it on without a terminal ("0" or "false" turn it off); otherwise colour only on a terminal
// whose TERM is not "dumb".

const RESET = '\u001B[0m'
const COLOURS = {'+': '\u001B[32m', '-': '\u001B[31m', '@': '\u001B[36m'} as const

export interface ColourContext {
  env: NodeJS.ProcessEnv
  isTTY: boolean
}

export function colourEnabled({env, isTTY}: ColourContext): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  const force = env.FORCE_COLOR
  if (force !== undefined) return force !== '0' && force.toLowerCase() !== 'false'
  return isTTY && env.TERM !== 'dumb'
}

/** The colour codes colourDiff writes, and only those (a capture group: split() keeps them). */
export const DIFF_COLOUR_CODES = new RegExp(`(${RESET.slice(0, 1)}\\[(?:0|3[126])m)`)

/**
 * `text` made safe to show by `escape` everywhere but in the colour codes of our own diffs: those are ours (the
 * diff's content was escaped before it was coloured); any other control character, a server's included, is escaped.
 */
export function escapeKeepingDiffColour(text: string, escape: (part: string) => string): string {
  return text.split(DIFF_COLOUR_CODES).map((part, i) => (i % 2 === 1 ? part : escape(part))).join('')
}

/** The diff text with added lines green, removed lines red and hunk headers cyan (unchanged when `enabled` is false). */
export function colourDiff(diff: string, enabled: boolean): string {
  if (!enabled) return diff
  return diff.split('\n').map(line => {
    const mark = line.startsWith('@@') ? '@' : line[0]
    const colour = mark === '@' || ((mark === '+' || mark === '-') && line[1] === ' ') ? COLOURS[mark] : undefined
    return colour === undefined ? line : `${colour}${line}${RESET}`
  }).join('\n')
}
