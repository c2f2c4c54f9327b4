// Checks --json results against the JSON Schemas shipped in schemas/ (draft 2020-12). A small validator for exactly
// the keywords those schemas use ($ref within and across the files, type, const, enum, properties, required,
// additionalProperties, items, allOf, anyOf), so no validator library is needed; test/cli/json-schemas.test.ts checks
// that the schemas use no other keyword. Every test helper that reads a --json result validates it here.
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

export const SCHEMA_DIR = fileURLToPath(new URL('../../../schemas/', import.meta.url))

type Schema = boolean | {[keyword: string]: unknown}

/** The keywords the validator understands; anything else in a schema is a test failure. */
export const KNOWN_KEYWORDS = new Set([
  '$defs', '$id', '$ref', '$schema', 'additionalProperties', 'allOf', 'anyOf', 'const', 'description', 'enum', 'items', 'properties', 'required', 'title', 'type',
])

let cache: Map<string, Schema> | undefined

/** Every schema file by name (e.g. "deploy-run.schema.json"). */
export function schemaFiles(): Map<string, Schema> {
  cache ??= new Map(readdirSync(SCHEMA_DIR).filter(f => f.endsWith('.schema.json')).map(f => [f, JSON.parse(readFileSync(join(SCHEMA_DIR, f), 'utf8')) as Schema]))
  return cache
}

function resolve(ref: string, file: string): {file: string; schema: Schema} {
  const [target = '', pointer = ''] = ref.split('#')
  const name = target === '' ? file : target
  let node: unknown = schemaFiles().get(name)
  if (node === undefined) throw new Error(`$ref ${ref}: no schema file ${name}`)
  for (const part of pointer.split('/').filter(p => p !== '')) node = (node as Record<string, unknown>)[part]
  if (node === undefined) throw new Error(`$ref ${ref}: nothing at ${pointer} in ${name}`)
  return {file: name, schema: node as Schema}
}

function typeOf(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number'
  return typeof value
}

/** The errors of `value` against `schema` ([] when valid), each "path: why". */
export function validate(value: unknown, schema: Schema, file: string, path = '$'): string[] {
  if (schema === true) return []
  if (schema === false) return [`${path}: not allowed`]
  const errors: string[] = []
  if (typeof schema.$ref === 'string') {
    const target = resolve(schema.$ref, file)
    errors.push(...validate(value, target.schema, target.file, path))
  }

  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type as string[] : [schema.type as string]
    const actual = typeOf(value)
    if (!types.includes(actual) && !(actual === 'integer' && types.includes('number'))) return [...errors, `${path}: ${actual}, not ${types.join(' or ')}`]
  }

  if ('const' in schema && JSON.stringify(value) !== JSON.stringify(schema.const)) errors.push(`${path}: not ${JSON.stringify(schema.const)}`)
  if (Array.isArray(schema.enum) && !schema.enum.some(e => JSON.stringify(e) === JSON.stringify(value))) errors.push(`${path}: ${JSON.stringify(value)} not one of ${JSON.stringify(schema.enum)}`)
  if (Array.isArray(schema.allOf)) for (const sub of schema.allOf as Schema[]) errors.push(...validate(value, sub, file, path))
  if (Array.isArray(schema.anyOf)) {
    const each = (schema.anyOf as Schema[]).map(sub => validate(value, sub, file, path))
    if (!each.some(e => e.length === 0)) errors.push(`${path}: matches none of anyOf (${each.map(e => e[0]).join(' | ')})`)
  }

  if (typeOf(value) === 'object') {
    const record = value as Record<string, unknown>
    for (const key of (schema.required as string[] | undefined) ?? []) if (!(key in record)) errors.push(`${path}: missing ${key}`)
    const properties = (schema.properties ?? {}) as Record<string, Schema>
    for (const [key, child] of Object.entries(record)) {
      const sub = properties[key] ?? (schema.additionalProperties as Schema | undefined)
      if (sub !== undefined) errors.push(...validate(child, sub, file, `${path}.${key}`))
    }
  }

  if (Array.isArray(value) && schema.items !== undefined) {
    for (const [index, item] of value.entries()) errors.push(...validate(item, schema.items as Schema, file, `${path}[${index}]`))
  }

  return errors
}

/** The schema file of a command id ("deploy run" → deploy-run.schema.json). */
export function schemaFileOf(command: string): string {
  return `${command.trim().replaceAll(/\s+/g, '-')}.schema.json`
}

/** Throws when `json` (a --json output) does not match its command's schema; the command is the result's own. */
export function assertValidResult(json: unknown): void {
  const command = (json as null | {command?: unknown})?.command
  if (typeof command !== 'string') throw new TypeError(`--json output without a "command": ${JSON.stringify(json).slice(0, 200)}`)
  const file = schemaFileOf(command)
  const schema = schemaFiles().get(file)
  if (schema === undefined) throw new Error(`no schema ${file} for the --json output of "${command}"`)
  const errors = validate(json, schema, file)
  if (errors.length > 0) throw new Error(`--json output of "${command}" does not match schemas/${file}:\n  ${errors.slice(0, 10).join('\n  ')}`)
}

/** For helpers: validates stdout when the arguments asked for --json and it holds one JSON object. */
export function validateJsonStdout(args: readonly string[], stdout: string): void {
  const own = args.includes('--') ? args.slice(0, args.indexOf('--')) : args
  if (!own.includes('--json') || stdout.trim() === '') return
  let parsed: unknown
  try {
    parsed = JSON.parse(stdout)
  } catch {
    return // not a single JSON document (e.g. a test of what happens then): its own assertions judge it
  }

  assertValidResult(parsed)
}
