// What a usage error adds to oclif's message (pure): the nearest command or flag for a misspelt one, and — for the
// deploy commands, whose gcloud arguments go after `--` — the command line corrected when gcloud's flags were typed
// before `--` (the likeliest slip: `binauthz deploy run fn --source .`).

import {formatCommand} from '../policy/shell.js'

/** One of the command's own flags, as oclif declares it. */
export interface OwnFlag {
  char?: string
  name: string
  /** The flag takes a value (`--region us-central1`), unlike a boolean. */
  takesValue: boolean
}

/** Levenshtein distance (small strings only: command and flag names). */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({length: b.length + 1}, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost)
    }

    previous = current
  }

  return previous[b.length] ?? 0
}

/** The candidate nearest to `typed`, when it is near enough to be a slip (a third of its length, at least 2 edits). */
export function nearest(typed: string, candidates: readonly string[]): string | undefined {
  const limit = Math.max(2, Math.floor(typed.length / 3))
  let best: undefined | {distance: number; word: string}
  for (const word of candidates) {
    const distance = editDistance(typed, word)
    if (distance <= limit && (best === undefined || distance < best.distance)) best = {distance, word}
  }

  return best?.word
}

/** The flag's name without dashes and value: `--regoin=x` → `regoin`, `-z` → `z`. */
function flagName(token: string): string {
  return token.replace(/^--?/, '').split('=')[0] ?? ''
}

function findFlag(token: string, flags: readonly OwnFlag[]): OwnFlag | undefined {
  const name = flagName(token)
  return token.startsWith('--') ? flags.find(f => f.name === name) : flags.find(f => f.char === name)
}

/** Unknown flags that are near one of the command's own: "--regoin" → "--region". */
export function flagSuggestions(unknown: readonly string[], flags: readonly OwnFlag[]): {flag: string; nearest: string}[] {
  const names = flags.map(f => f.name)
  return unknown.flatMap(flag => {
    const near = flag.startsWith('--') ? nearest(flagName(flag), names) : undefined
    return near === undefined ? [] : [{flag, nearest: `--${near}`}]
  })
}

/**
 * The deploy command line with every argument binauthz does not know moved after `--` (before what already was
 * there): `binauthz deploy run fn --source . --region r` → `binauthz deploy run fn --region r -- --source .`.
 * The first bare word is the NAME; an unknown flag takes the next bare word as its value. Undefined when nothing moves.
 */
export function withGcloudArgsAfterDashDash(command: readonly string[], own: readonly string[], passthrough: readonly string[], flags: readonly OwnFlag[]): string | undefined {
  const keep: string[] = []
  const move: string[] = []
  let named = false
  for (let i = 0; i < own.length; i++) {
    const token = own[i] as string
    const next = own[i + 1]
    const joined = token.includes('=')
    if (token.startsWith('-') && token !== '-') {
      const known = findFlag(token, flags)
      const target = known === undefined ? move : keep
      target.push(token)
      const takesValue = known === undefined ? next !== undefined && !next.startsWith('-') : known.takesValue
      if (!joined && takesValue && next !== undefined) {
        target.push(next)
        i++
      }
    } else if (named) {
      move.push(token)
    } else {
      keep.push(token)
      named = true
    }
  }

  if (move.length === 0) return undefined
  return formatCommand([...command, ...keep, '--', ...move, ...passthrough])
}
