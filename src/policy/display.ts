// How text binauthz does not control (passthrough values, names, file paths, what a server or gcloud said) is
// shown: control characters (C0, DEL, C1: terminal escapes, carriage returns) and the bidirectional overrides and
// isolates (U+202A–U+202E, U+2066–U+2069), which can make a displayed command read as another, are written as
// visible escapes. Display only: gcloud and the API always get the values verbatim. Pure.

/** Control characters (C0, DEL, C1), line/paragraph separators, BOM and the bidi overrides and isolates. */
function isUnsafe(code: number): boolean {
  return code <= 0x1F || (code >= 0x7F && code <= 0x9F) || code === 0x20_28 || code === 0x20_29
    || (code >= 0x20_2A && code <= 0x20_2E) || (code >= 0x20_66 && code <= 0x20_69) || code === 0xFE_FF
}

/** Whether `text` holds anything displayEscape would change (\n and \t included). */
export function hasUnsafeCharacters(text: string): boolean {
  for (const ch of text) if (isUnsafe(ch.codePointAt(0) ?? 0)) return true
  return false
}

/** Each character of `text`, escaped on its own. */
function escapedChars(text: string): string[] {
  return [...text].map(ch => displayEscape(ch))
}

function escapeOne(ch: string): string {
  const code = ch.codePointAt(0) ?? 0
  if (ch === '\n') return String.raw`\n`
  if (ch === '\r') return String.raw`\r`
  if (ch === '\t') return String.raw`\t`
  return code <= 0xFF ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`
}

/**
 * `text` with every control character and bidi override written as a visible escape (`\x1b`, `\u202e`, `\r`).
 * `keepLines`: newlines and tabs stay (multi-line messages of our own), everything else is escaped.
 */
export function displayEscape(text: string, options: {keepLines?: boolean} = {}): string {
  if (!hasUnsafeCharacters(text)) return text
  let out = ''
  for (const ch of text) {
    const keep = !isUnsafe(ch.codePointAt(0) ?? 0) || (options.keepLines === true && (ch === '\n' || ch === '\t'))
    out += keep ? ch : escapeOne(ch)
  }

  return out
}

/**
 * Text a server (or another program) sent, ready to quote in a message: secrets redacted FIRST (`redact`: e.g.
 * the run's Secrets.redact of src/errors.ts, plus the call's own token) (so a cut never
 * splits a token and leaves part of it), whitespace runs collapsed to one space, escaped, then cut to `max`
 * characters (cut between escapes, never inside one).
 */
export function serverText(text: string, redact: (s: string) => string, max = 500): string {
  const oneLine = redact(text).replaceAll(/[\t\n\r ]+/g, ' ').trim()
  const escaped = displayEscape(oneLine)
  if (escaped.length <= max) return escaped
  // Cut between escapes, never inside one.
  let kept = ''
  for (const ch of escapedChars(oneLine)) {
    if (kept.length + ch.length > max) break
    kept += ch
  }

  return `${kept}…`
}
