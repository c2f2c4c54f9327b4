// YAML for policies. policyToYaml prints the policy byte for byte as `gcloud container binauthz policy export` does
// (ruamel.yaml's safe dumper as gcloud's YAML printer configures it: sorted keys, plain / single- / double-quoted /
// literal scalars chosen as ruamel chooses them, folding at column 80). isPlainSafe and quoteYamlString are the
// conservative quoting of the YAML snippets we write by hand (the admin hand-off). Pure: no I/O.

import type {Policy} from './types.js'

import {JsonNumber} from './json-text.js'

// YAML 1.1 and 1.2 scalars that would not read back as a string.
const RESERVED_WORDS = /^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE|y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$/

/** True when `value` can be written as a plain YAML scalar and reads back as the same string. */
export function isPlainSafe(value: string): boolean {
  if (value.length === 0) return false
  // Start with a letter, "_" or "/": excludes indicators (- ? : , [ ] { } # & * ! | > ' " % @ `), numbers,
  // dates, .inf/.nan and "=" / "<<".
  if (!/^[A-Za-z_/][A-Za-z0-9_./*@:+=-]*$/.test(value)) return false
  if (RESERVED_WORDS.test(value)) return false
  // ": " cannot occur (no spaces); a trailing ":" would make it a key.
  if (value.endsWith(':')) return false
  return true
}

const YAML_ESCAPES: Readonly<Record<string, string>> = {
  '\t': String.raw`\t`,
  '\n': String.raw`\n`,
  '\r': String.raw`\r`,
  '"': String.raw`\"`,
  '\\': String.raw`\\`,
}

/** A YAML double-quoted scalar: JSON-style escapes, everything outside printable ASCII as \uXXXX / \UXXXXXXXX. */
export function quoteYamlString(value: string): string {
  let out = '"'
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0
    const escaped = YAML_ESCAPES[ch]
    if (escaped !== undefined) out += escaped
    else if (code >= 0x20 && code <= 0x7E) out += ch
    else if (code > 0xFF_FF) out += `\\U${code.toString(16).padStart(8, '0')}`
    else out += `\\u${code.toString(16).padStart(4, '0')}`
  }

  return `${out}"`
}

/** Values JSON would drop from an object (and that YAML cannot represent). */
function isOmitted(value: unknown): boolean {
  return value === undefined || typeof value === 'function' || typeof value === 'symbol'
}

function entriesOf(record: Record<string, unknown>): [string, unknown][] {
  return Object.entries(record).filter(([, v]) => !isOmitted(v))
}

// ---------------------------------------------------------------------------------------------------------------
// The policy as gcloud 528 prints it. `gcloud container binauthz policy export` returns the policy message and the
// default YAML printer dumps it: lib/googlecloudsdk/core/resource/yaml_printer.py (ruamel.yaml `typ='safe'`, block
// style, allow_unicode, YAML 1.2, strings with "\n" as literal `|` blocks) and lib/third_party/ruamel/yaml:
// representer.py sorts mapping keys; emitter.py (analyze_scalar, choose_scalar_style, write_plain /
// write_single_quoted / write_double_quoted / write_literal, width 80) decides quoting and folding, ported below;
// resolver.py (1.2 implicit resolvers) says which plain scalars would not read back as strings.

/** ruamel's best_width: plain and quoted scalars fold at a space past this column. */
const BEST_WIDTH = 80
const BREAKS = '\n\u0085\u2028\u2029'
const WHITESPACE = `\0 \t\r${BREAKS}`

// resolver.py implicit_resolvers for YAML 1.2, each tried only for its first characters (as ruamel does).
const IMPLICIT_1_2: {first: string; re: RegExp}[] = [
  {first: 'tTfF', re: /^(?:true|True|TRUE|false|False|FALSE)$/},
  {first: '-+0123456789.', re: /^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+|[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/},
  {first: '-+0123456789', re: /^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+)$/},
  {first: '<', re: /^<<$/},
  {first: '~nN', re: /^(?:~|null|Null|NULL)$/},
  {first: '0123456789', re: /^(?:\d{4}-\d\d-\d\d|\d{4}-\d\d?-\d\d?(?:[Tt]|[ \t]+)\d\d?:\d\d:\d\d(?:\.\d*)?(?:[ \t]*(?:Z|[-+]\d\d?(?::\d\d)?))?)$/},
  {first: '=', re: /^=$/},
  {first: '!&*', re: /^[!&*]$/},
]

/** True when a plain scalar `value` reads back as a string (resolver.py, YAML 1.2). */
function resolvesToString(value: string): boolean {
  if (value === '') return false // the null resolver's empty alternative
  const first = value[0] ?? ''
  return !IMPLICIT_1_2.some(r => r.first.includes(first) && r.re.test(value))
}

interface Analysis {
  allowBlockPlain: boolean
  allowSingleQuoted: boolean
  empty: boolean
  multiline: boolean
}

function isPrintable(ch: string): boolean {
  const c = ch.codePointAt(0) ?? 0
  // allow_unicode = True and unicode_supplementary (Python 3): these are written as they are.
  return ch === '\n' || (c >= 0x20 && c <= 0x7E) || ((c === 0x85 || (c >= 0xA0 && c <= 0xD7_FF) || (c >= 0xE0_00 && c <= 0xFF_FD) || (c >= 0x1_00_00 && c <= 0x10_FF_FF)) && c !== 0xFE_FF)
}

/** emitter.py analyze_scalar, block context only (what a policy needs). */
function analyze(text: string): Analysis {
  if (text === '') return {
    allowBlockPlain: true, allowSingleQuoted: true, empty: true, multiline: false,
  }
  const chars = [...text]
  let blockIndicators = text.startsWith('---') || text.startsWith('...')
  let lineBreaks = false
  let special = false
  let leadingSpace = false
  let leadingBreak = false
  let trailingSpace = false
  let trailingBreak = false
  let breakSpace = false
  let spaceBreak = false
  let precededByWhitespace = true
  let followedByWhitespace = chars.length === 1 || WHITESPACE.includes(chars[1] ?? '')
  let previousSpace = false
  let previousBreak = false
  for (const [index, ch] of chars.entries()) {
    if (index === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(ch)) blockIndicators = true
      if ('?:'.includes(ch) && followedByWhitespace) blockIndicators = true
      if (ch === '-' && followedByWhitespace) blockIndicators = true
    } else {
      if (ch === ':' && followedByWhitespace) blockIndicators = true
      if (ch === '#' && precededByWhitespace) blockIndicators = true
    }

    if (BREAKS.includes(ch)) lineBreaks = true
    if (!isPrintable(ch)) special = true
    if (ch === ' ') {
      if (index === 0) leadingSpace = true
      if (index === chars.length - 1) trailingSpace = true
      if (previousBreak) breakSpace = true
      previousSpace = true
      previousBreak = false
    } else if (BREAKS.includes(ch)) {
      if (index === 0) leadingBreak = true
      if (index === chars.length - 1) trailingBreak = true
      if (previousSpace) spaceBreak = true
      previousSpace = false
      previousBreak = true
    } else {
      previousSpace = false
      previousBreak = false
    }

    precededByWhitespace = WHITESPACE.includes(ch)
    followedByWhitespace = index + 2 >= chars.length || WHITESPACE.includes(chars[index + 2] ?? '')
  }

  // Spaces after a break, a space before a break and special characters leave only double quotes.
  const allowSingleQuoted = !(breakSpace || special || spaceBreak)
  const allowBlockPlain = allowSingleQuoted && !(leadingSpace || leadingBreak || trailingSpace || trailingBreak || lineBreaks || blockIndicators)
  return {
    allowBlockPlain, allowSingleQuoted, empty: false, multiline: lineBreaks,
  }
}

type Style = '"' | '' | '\'' | '|'

/** emitter.py choose_scalar_style for a string in block context (`|` when the printer marked it _LiteralLines). */
function chooseStyle(text: string, simpleKey: boolean, isKey: boolean): Style {
  const a = analyze(text)
  const literal = !isKey && text.includes('\n') // yaml_printer.py _UpdateTypesForOutput marks values only
  if (!literal && resolvesToString(text) && !(simpleKey && (a.empty || a.multiline)) && a.allowBlockPlain) return ''
  if (literal) return '|'
  if (text.includes('\'') || text.includes('\n')) return '"'
  if (a.allowSingleQuoted && !(simpleKey && a.multiline)) return '\''
  return '"'
}

const ESCAPES: Readonly<Record<string, string>> = {
  '\0': '0', '\t': 't', '\n': 'n', '\u000B': 'v', '\f': 'f', '\r': 'r', '\u00A0': '_', '\u2028': 'L', '\u2029': 'P', '\u0007': 'a', '\b': 'b', '\u001B': 'e', '\u0085': 'N', '"': '"', '\\': '\\',
}

/** The emitter's writing state, as in emitter.py: column, whether the last write was whitespace / indentation. */
class Writer {
  column = 0
  indention = true
  /** A `|+` literal was the last thing written: the document needs an explicit end ("..."). */
  openEnded = false
  out = ''
  whitespace = true

  indent(indent: number): void {
    if (!this.indention || this.column > indent || (this.column === indent && !this.whitespace)) this.lineBreak()
    if (this.column < indent) {
      this.whitespace = true
      this.write(' '.repeat(indent - this.column))
    }
  }

  indicator(text: string, needWhitespace: boolean, whitespace = false, indention = false): void {
    const data = this.whitespace || !needWhitespace ? text : ` ${text}`
    this.whitespace = whitespace
    this.indention = this.indention && indention
    this.openEnded = false
    this.write(data)
  }

  /** emitter.py write_line_break: a line break ("\n" unless the text holds another, such as U+2028). */
  lineBreak(data = '\n'): void {
    this.out += data
    this.whitespace = true
    this.indention = true
    this.column = 0
  }

  write(data: string): void {
    this.out += data
    this.column += [...data].length
  }
}

/** emitter.py write_plain (a plain scalar never holds a line break here). */
function writePlain(w: Writer, text: string, indent: number, split: boolean): void {
  if (text === '') return
  if (!w.whitespace) w.write(' ')
  w.whitespace = false
  w.indention = false
  const chars = [...text]
  let spaces = false
  let start = 0
  for (let end = 0; end <= chars.length; end++) {
    const ch = chars[end]
    if (spaces) {
      if (ch !== ' ') {
        if (start + 1 === end && w.column > BEST_WIDTH && split) {
          w.indent(indent)
          w.whitespace = false
          w.indention = false
        } else {
          w.write(chars.slice(start, end).join(''))
        }

        start = end
      }
    } else if (ch === undefined || ch === ' ') {
      w.write(chars.slice(start, end).join(''))
      start = end
    }

    if (ch !== undefined) spaces = ch === ' '
  }
}

/** emitter.py write_single_quoted. */
function writeSingleQuoted(w: Writer, text: string, indent: number, split: boolean): void {
  w.indicator('\'', true)
  const chars = [...text]
  let spaces = false
  let breaks = false
  let start = 0
  for (let end = 0; end <= chars.length; end++) {
    const ch = chars[end]
    if (spaces) {
      if (ch === undefined || ch !== ' ') {
        if (start + 1 === end && w.column > BEST_WIDTH && split && start !== 0 && end !== chars.length) w.indent(indent)
        else w.write(chars.slice(start, end).join(''))
        start = end
      }
    } else if (breaks) {
      if (ch === undefined || !BREAKS.includes(ch)) {
        if (chars[start] === '\n') w.lineBreak()
        for (const br of chars.slice(start, end)) w.lineBreak(br)

        w.indent(indent)
        start = end
      }
    } else if ((ch === undefined || ` ${BREAKS}'`.includes(ch)) && start < end) {
      w.write(chars.slice(start, end).join(''))
      start = end
    }

    if (ch === '\'') {
      w.write('\'\'')
      start = end + 1
    }

    if (ch !== undefined) {
      spaces = ch === ' '
      breaks = BREAKS.includes(ch)
    }
  }

  w.indicator('\'', false)
}

function isDoubleQuotedRaw(ch: string): boolean {
  const c = ch.codePointAt(0) ?? 0
  if ('"\\\u0085\u2028\u2029\uFEFF'.includes(ch)) return false
  return (c >= 0x20 && c <= 0x7E) || (c >= 0xA0 && c <= 0xD7_FF) || (c >= 0xE0_00 && c <= 0xFF_FD)
}

function escapeOf(ch: string): string {
  const named = ESCAPES[ch]
  if (named !== undefined) return `\\${named}`
  const c = ch.codePointAt(0) ?? 0
  const hex = c.toString(16).toUpperCase()
  if (c <= 0xFF) return `\\x${hex.padStart(2, '0')}`
  if (c <= 0xFF_FF) return `\\u${hex.padStart(4, '0')}`
  return `\\U${hex.padStart(8, '0')}`
}

/** emitter.py write_double_quoted. */
function writeDoubleQuoted(w: Writer, text: string, indent: number, split: boolean): void {
  w.indicator('"', true)
  const chars = [...text]
  let start = 0
  for (let end = 0; end <= chars.length; end++) {
    const ch = chars[end]
    if (ch === undefined || !isDoubleQuotedRaw(ch)) {
      if (start < end) {
        w.write(chars.slice(start, end).join(''))
        start = end
      }

      if (ch !== undefined) {
        w.write(escapeOf(ch))
        start = end + 1
      }
    }

    if (end > 0 && end < chars.length - 1 && (ch === ' ' || start >= end) && w.column + (end - start) > BEST_WIDTH && split) {
      const data = `${chars.slice(start, end).join('')}\\`
      if (start < end) start = end
      w.write(data)
      w.indent(indent)
      w.whitespace = false
      w.indention = false
      if (chars[start] === ' ') w.write('\\')
    }
  }

  w.indicator('"', false)
}

/** emitter.py determine_block_hints + write_literal (never in root context here). */
function writeLiteral(w: Writer, text: string, indent: number): void {
  const chars = [...text]
  let hints = ''
  if (' \n\u0085\u2028\u2029'.includes(chars[0] ?? 'x')) hints += '2' // best_sequence_indent
  const last = chars.at(-1) ?? ''
  if (!BREAKS.includes(last)) hints += '-'
  else if (chars.length === 1 || BREAKS.includes(chars.at(-2) ?? '')) hints += '+'
  w.indicator(`|${hints}`, true)
  if (hints.endsWith('+')) w.openEnded = true
  w.lineBreak()
  let breaks = true
  let start = 0
  for (let end = 0; end <= chars.length; end++) {
    const ch = chars[end]
    if (breaks) {
      if (ch === undefined || !BREAKS.includes(ch)) {
        for (const br of chars.slice(start, end)) w.lineBreak(br)

        if (ch !== undefined) w.indent(indent)
        start = end
      }
    } else if (ch === undefined || BREAKS.includes(ch)) {
      w.write(chars.slice(start, end).join(''))
      if (ch === undefined) w.lineBreak()
      start = end
    }

    if (ch !== undefined) breaks = BREAKS.includes(ch)
  }
}

function writeString(w: Writer, text: string, indent: number, key?: 'complex' | 'simple'): void {
  const split = key !== 'simple'
  switch (chooseStyle(text, key === 'simple', key !== undefined)) {
  case '': {
    writePlain(w, text, indent, split)
    break
  }

  case '\'': {
    writeSingleQuoted(w, text, indent, split)
    break
  }

  case '|': {
    writeLiteral(w, text, indent)
    break
  }

  default: {
    writeDoubleQuoted(w, text, indent, split)
  }
  }
}

/** Non-string scalars as gcloud's printer writes them (a policy from the API holds none; kept total). */
function otherScalar(value: unknown): string | undefined {
  if (value === null) return 'null'
  if (typeof value === 'boolean') return value ? 'true' : 'false'
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return '.nan'
    if (!Number.isFinite(value)) return value > 0 ? '.inf' : '-.inf'
    return String(value)
  }

  if (typeof value === 'bigint') return value.toString()
  // A number kept as its JSON text (json-text.ts): written as read, the exponent form with the "." YAML floats need.
  if (value instanceof JsonNumber) return value.lexeme.replace(/^(-?\d+)[eE]/, '$1.0e')
  return undefined
}

/** Code point order, as Python's sorted() orders the keys. */
function byCodePoint(a: string, b: string): number {
  const x = [...a]
  const y = [...b]
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = (x[i]?.codePointAt(0) ?? 0) - (y[i]?.codePointAt(0) ?? 0)
    if (d !== 0) return d
  }

  return x.length - y.length
}

/** emitter.py check_simple_key for a string key. */
function isSimpleKey(key: string): boolean {
  const a = analyze(key)
  // The length counts the prepared tag too ("!!str", 5 characters) against MAX_SIMPLE_KEY_LENGTH (128).
  return [...key].length + 5 < 128 && !a.empty && !a.multiline
}

/** A node at block indentation `indent` (its scalars continue at `indent + 2`). */
function writeNode(w: Writer, value: unknown, indent: number, inMapping: boolean): void {
  const item = isOmitted(value) ? null : value
  if (typeof item === 'string') {
    writeString(w, item, indent + 2)
    return
  }

  const other = otherScalar(item)
  if (other !== undefined) {
    writePlain(w, other, indent + 2, true)
    return
  }

  if (Array.isArray(item)) {
    if (item.length === 0) {
      w.indicator('[', true, true)
      w.indicator(']', false)
      return
    }

    // emitter.py expect_block_sequence: a sequence right after "key:" is indentless (its dashes at the key's column).
    const dashes = inMapping && !w.indention ? indent : indent + 2
    for (const element of item) {
      w.indent(dashes)
      w.indicator('-', true, false, true)
      writeNode(w, element, dashes, false)
    }

    return
  }

  const entries = entriesOf(item as Record<string, unknown>).sort(([a], [b]) => byCodePoint(a, b))
  if (entries.length === 0) {
    w.indicator('{', true, true)
    w.indicator('}', false)
    return
  }

  const keys = indent + 2
  for (const [key, child] of entries) {
    w.indent(keys)
    if (isSimpleKey(key)) {
      writeString(w, key, keys + 2, 'simple')
      w.indicator(':', false)
    } else {
      // emitter.py check_simple_key: an empty, multi-line or long key is written as "? KEY" / ": VALUE".
      w.indicator('?', true, false, true)
      writeString(w, key, keys + 2, 'complex')
      w.indent(keys)
      w.indicator(':', true, false, true)
    }

    writeNode(w, child, keys, true)
  }
}

/** The policy as YAML text (ending in a newline), byte for byte what `gcloud container binauthz policy export` prints. */
export function policyToYaml(policy: Policy): string {
  const w = new Writer()
  writeNode(w, policy, -2, false)
  if (w.openEnded) {
    w.indicator('...', true)
    w.indent(0)
  }

  if (w.column !== 0) w.lineBreak()
  return w.out
}
