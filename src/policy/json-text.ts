// Lossless JSON for the policy's round trip (read → plan → write back): fields binauthz does not own must go back
// exactly as read. JSON.parse turns numbers into doubles, so 12345678901234567890, -0, 1e400 and 1.0 would be
// rewritten; here a number whose double does not print back as its own text is kept as a JsonNumber holding the
// lexeme, and stringifyJson writes that lexeme again. Strings are decoded as JSON.parse does (a lone surrogate
// included) and written with JSON.stringify's escapes (well-formed: lone surrogates as \uXXXX), so their content is
// unchanged. Pure: no I/O. Error messages name a position, never a snippet of the text (it may hold secrets).

/** A JSON number whose text a double cannot reproduce; stringifyJson writes `lexeme` back verbatim. */
export class JsonNumber {
  readonly lexeme: string

  constructor(lexeme: string) {
    this.lexeme = lexeme
    Object.freeze(this)
  }

  /** For anything that still uses JSON.stringify: the value as text, never a rounded double. */
  toJSON(): string {
    return this.lexeme
  }

  toString(): string {
    return this.lexeme
  }
}

/** Deeper nesting than this is refused (a policy is a few levels deep; it keeps the parser off the stack limit). */
export const MAX_JSON_DEPTH = 256

export class JsonSyntaxError extends Error {
  override readonly name = 'JsonSyntaxError'
  readonly position: number

  constructor(reason: string, position: number) {
    super(`${reason} at position ${position}`)
    this.position = position
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y
const WHITESPACE = /[ \t\n\r]*/y
const ESCAPES: Readonly<Record<string, string>> = {
  '"': '"', '/': '/', '\\': '\\', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t',
}

/** Parses JSON text like JSON.parse (same values, same errors for what it refuses), keeping number lexemes. */
export function parseJsonLossless(text: string): unknown {
  let at = 0
  const skip = (): void => {
    WHITESPACE.lastIndex = at
    WHITESPACE.exec(text)
    at = WHITESPACE.lastIndex
  }

  const fail = (reason: string): never => {
    throw new JsonSyntaxError(at >= text.length ? 'Unexpected end of JSON input' : reason, at)
  }

  const string = (): string => {
    at++ // opening quote
    let out = ''
    let start = at
    for (;;) {
      if (at >= text.length) fail('Unterminated string')
      const code = text.codePointAt(at) ?? 0 // a surrogate pair reads as one code point: neither a quote, a backslash nor a control
      if (code === 0x22) {
        out += text.slice(start, at)
        at++
        return out
      }

      if (code < 0x20) fail('Bad control character in string')
      if (code !== 0x5C) {
        at++
        continue
      }

      out += text.slice(start, at)
      const escape = text[at + 1] ?? ''
      if (escape === 'u') {
        const hex = text.slice(at + 2, at + 6)
        if (!/^[\dA-Fa-f]{4}$/.test(hex)) {
          at += 2
          fail('Bad Unicode escape')
        }

        out += String.fromCodePoint(Number.parseInt(hex, 16)) // a lone surrogate stays one, as with JSON.parse
        at += 6
      } else {
        const decoded = ESCAPES[escape]
        if (decoded === undefined) {
          at++
          fail('Bad escaped character')
        }

        out += decoded
        at += 2
      }

      start = at
    }
  }

  const number = (): JsonNumber | number => {
    NUMBER.lastIndex = at
    const match = NUMBER.exec(text)
    if (match === null) fail('Unexpected token')
    const lexeme = (match as RegExpExecArray)[0]
    at += lexeme.length
    const value = Number(lexeme)
    return JSON.stringify(value) === lexeme ? value : new JsonNumber(lexeme)
  }

  const literal = (word: string, value: unknown): unknown => {
    if (text.startsWith(word, at)) {
      at += word.length
      return value
    }

    return fail('Unexpected token')
  }

  const value = (depth: number): unknown => {
    if (depth > MAX_JSON_DEPTH) fail(`Nesting deeper than ${MAX_JSON_DEPTH}`)
    skip()
    const ch = text[at]
    switch (ch) {
    case '"': {
      return string()
    }

    case '[': {
      at++
      const list: unknown[] = []
      skip()
      if (text[at] === ']') {
        at++
        return list
      }

      for (;;) {
        list.push(value(depth + 1))
        skip()
        if (text[at] === ',') {
          at++
          continue
        }

        if (text[at] === ']') {
          at++
          return list
        }

        fail('Expected "," or "]"')
      }
    }

    case 'f': {
      return literal('false', false)
    }

    case 'n': {
      return literal('null', null)
    }

    case 't': {
      return literal('true', true)
    }

    case '{': {
      at++
      const object: Record<string, unknown> = {}
      skip()
      if (text[at] === '}') {
        at++
        return object
      }

      for (;;) {
        skip()
        if (text[at] !== '"') fail('Expected a property name')
        const key = string()
        skip()
        if (text[at] !== ':') fail('Expected ":"')
        at++
        // defineProperty: a "__proto__" key is data, as with JSON.parse, never the object's prototype.
        Object.defineProperty(object, key, {
          configurable: true, enumerable: true, value: value(depth + 1), writable: true,
        })
        skip()
        if (text[at] === ',') {
          at++
          continue
        }

        if (text[at] === '}') {
          at++
          return object
        }

        fail('Expected "," or "}"')
      }
    }

    default: {
      return number()
    }
    }
  }

  const result = value(0)
  skip()
  if (at < text.length) fail('Unexpected non-whitespace character after JSON')
  return result
}

/**
 * JSON.stringify with JsonNumber lexemes written verbatim (and `indent` spaces per level when given). Everything
 * else as JSON.stringify writes it: undefined/function members dropped, undefined in lists as null.
 */
export function stringifyJson(value: unknown, indent = 0): string {
  const pad = (level: number): string => (indent > 0 ? `\n${' '.repeat(indent * level)}` : '')
  const colon = indent > 0 ? ': ' : ':'
  const write = (item: unknown, level: number): string | undefined => {
    if (item instanceof JsonNumber) return item.lexeme
    if (Array.isArray(item)) {
      if (item.length === 0) return '[]'
      const parts = item.map(element => write(element, level + 1) ?? 'null')
      return `[${parts.map(part => `${pad(level + 1)}${part}`).join(',')}${pad(level)}]`
    }

    if (typeof item === 'object' && item !== null && typeof (item as {toJSON?: unknown}).toJSON !== 'function') {
      const parts: string[] = []
      for (const [key, member] of Object.entries(item)) {
        const written = write(member, level + 1)
        if (written !== undefined) parts.push(`${pad(level + 1)}${JSON.stringify(key)}${colon}${written}`)
      }

      return parts.length === 0 ? '{}' : `{${parts.join(',')}${pad(level)}}`
    }

    return JSON.stringify(item)
  }

  return write(value, 0) ?? 'null'
}

/** A deep copy of a JSON value that keeps JsonNumbers (immutable, so shared); structuredClone would make them plain objects. */
export function copyJson<T>(value: T): T {
  if (value instanceof JsonNumber || typeof value !== 'object' || value === null) return value
  if (Array.isArray(value)) return value.map(item => copyJson(item as unknown)) as T
  const out: Record<string, unknown> = {}
  for (const [key, member] of Object.entries(value)) {
    Object.defineProperty(out, key, {
      configurable: true, enumerable: true, value: copyJson(member as unknown), writable: true,
    })
  }

  return out as T
}

/** `text` as a JSON object (plain JSON.parse: no lexemes kept), or undefined when it is not JSON or not an object. */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return undefined
  }

  return typeof json === 'object' && json !== null && !Array.isArray(json) ? json as Record<string, unknown> : undefined
}
