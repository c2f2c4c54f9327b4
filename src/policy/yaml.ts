// The policy in the YAML form `gcloud container binauthz policy export` prints (and `policy import` reads):
// block style, keys in the order of the JSON, list items as `- key: value` at the parent's indentation.
// Strings are plain when YAML reads them back as the same string, else JSON-style double-quoted with every
// character outside printable ASCII escaped. Pure: no I/O.

import type {Policy} from './types.js'

import {JsonNumber} from './json-text.js'

const INDENT = '  '

// YAML 1.1 (PyYAML, which gcloud uses) and 1.2 scalars that would not read back as a string.
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

function scalarString(value: string): string {
  return isPlainSafe(value) ? value : quoteYamlString(value)
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Values JSON would drop from an object (and that YAML cannot represent). */
function isOmitted(value: unknown): boolean {
  return value === undefined || typeof value === 'function' || typeof value === 'symbol'
}

function scalar(value: unknown): string | undefined {
  if (value === null) return 'null'
  if (typeof value === 'string') return scalarString(value)
  if (typeof value === 'boolean') return value ? 'true' : 'false'
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return '.nan'
    if (!Number.isFinite(value)) return value > 0 ? '.inf' : '-.inf'
    // YAML 1.1 (PyYAML) reads an exponent form as a float only with a "." in the mantissa: 1e+21 -> 1.0e+21.
    return String(value).replace(/^(-?\d+)e/, '$1.0e')
  }

  if (typeof value === 'bigint') return value.toString()
  // A number kept as its JSON text (json-text.ts): written as read, with the exponent form PyYAML reads as a float.
  if (value instanceof JsonNumber) return value.lexeme.replace(/^(-?\d+)[eE]/, '$1.0e')
  if (Array.isArray(value) && value.length === 0) return '[]'
  if (isRecord(value) && entriesOf(value).length === 0) return '{}'
  return undefined
}

function entriesOf(record: Record<string, unknown>): [string, unknown][] {
  return Object.entries(record).filter(([, v]) => !isOmitted(v))
}

/** Lines of a block mapping at `indent`. */
function mappingLines(record: Record<string, unknown>, indent: string): string[] {
  const lines: string[] = []
  for (const [key, value] of entriesOf(record)) {
    const head = `${indent}${scalarString(key)}:`
    const inline = scalar(value)
    if (inline !== undefined) lines.push(`${head} ${inline}`)
    else if (Array.isArray(value)) lines.push(head, ...sequenceLines(value, indent)) // lists at the key's indentation
    else lines.push(head, ...mappingLines(value as Record<string, unknown>, indent + INDENT))
  }

  return lines
}

/** Lines of a block sequence whose dashes sit at `indent`. */
function sequenceLines(items: readonly unknown[], indent: string): string[] {
  const lines: string[] = []
  for (const raw of items) {
    const item = isOmitted(raw) ? null : raw // JSON.stringify writes null for these
    const inline = scalar(item)
    if (inline !== undefined) {
      lines.push(`${indent}- ${inline}`)
      continue
    }

    // Nested block: its first line goes after "- ", the rest are indented to line up with it.
    const nested = Array.isArray(item) ? sequenceLines(item, '') : mappingLines(item as Record<string, unknown>, '')
    for (const [index, line] of nested.entries()) lines.push(index === 0 ? `${indent}- ${line}` : `${indent}${INDENT}${line}`)
  }

  return lines
}

/** The policy as YAML text (ending in a newline), in the format `gcloud container binauthz policy export` prints. */
export function policyToYaml(policy: Policy): string {
  const inline = scalar(policy)
  if (inline !== undefined) return `${inline}\n`
  return `${mappingLines(policy, '').join('\n')}\n`
}
