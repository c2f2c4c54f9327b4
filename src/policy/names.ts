// Validation of the names the tool puts into URLs, patterns and gcloud argv: project IDs and regions.
// Pure: no I/O. Every rejection names where the value came from (`source`: a flag or an environment
// variable), shows the value safely and says how to fix it.

import {UserError} from '../errors.js'

/** gcloud's own project regex (core/properties.py `_VALID_PROJECT_REGEX`), incl. legacy `example.com:proj`. */
export const PROJECT_ID_REGEX
  = /^(?:(?:[-a-z0-9]{1,63}\.)*(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?):)?(?:[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)$/

/** Cloud Run / Cloud Functions regions, e.g. `us-central1`, `europe-west12`, `northamerica-northeast1`. */
export const REGION_REGEX = /^[a-z]+(?:-[a-z]+)+[0-9]+$/

/** Artifact Registry multi-regions: valid for repositories, never for a Cloud Run / Cloud Functions deploy. */
export const MULTI_REGIONS: readonly string[] = ['us', 'europe', 'asia']

/** Longest DNS name (the domain of a domain-scoped project). */
const MAX_DOMAIN_LENGTH = 253
/** Longest project ID part (gcloud's regex: 63 characters). */
const MAX_PROJECT_PART_LENGTH = 63
const MAX_REGION_LENGTH = 63

const DISPLAY_LIMIT = 80

/**
 * Renders an untrusted value for an error message: truncated, in double quotes, with every character outside
 * printable ASCII escaped (control characters, bidi overrides, look-alike letters), so it cannot corrupt or
 * disguise the terminal output.
 */
export function displayValue(value: string, limit = DISPLAY_LIMIT): string {
  const chars = [...value]
  const truncated = chars.length > limit
  let out = '"'
  for (const ch of truncated ? chars.slice(0, limit) : chars) out += escapeChar(ch)
  out += '"'
  return truncated ? `${out}… (${chars.length} characters)` : out
}

function escapeChar(ch: string): string {
  if (ch === '"') return String.raw`\"`
  if (ch === '\\') return '\\\\'
  if (ch === '\n') return String.raw`\n`
  if (ch === '\r') return String.raw`\r`
  if (ch === '\t') return String.raw`\t`
  const code = ch.codePointAt(0) ?? 0
  if (code >= 0x20 && code <= 0x7E) return ch
  return code > 0xFF_FF ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, '0')}`
}

function codePointLabel(ch: string): string {
  return `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`
}

const SHELL_METACHARACTERS = /[;&|`$<>(){}[\]!*?~#'"\\=,%^]/

/** The first reason (in order of what helps most) why `value` is not a plain lowercase DNS-ish name. */
function characterProblem(value: string): string | undefined {
  if (value.length === 0) return 'it is empty'
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0
    if (code < 0x20 || code === 0x7F || (code >= 0x80 && code <= 0x9F)) {
      return `it contains the control character ${codePointLabel(ch)}`
    }
  }

  if (/\s/u.test(value)) return 'it contains whitespace'
  for (const ch of value) {
    if ((ch.codePointAt(0) ?? 0) > 0x7E) {
      return `it contains the non-ASCII character ${codePointLabel(ch)} (possibly a look-alike of an ASCII letter)`
    }
  }

  if (value.includes('..') || value.includes('/')) return 'it contains a path separator or "..", which is never part of a name'
  const meta = SHELL_METACHARACTERS.exec(value)
  if (meta) return `it contains the character ${JSON.stringify(meta[0])}, which is not allowed`
  if (/[A-Z]/.test(value)) return 'it contains uppercase letters (IDs are lowercase)'
  if (value.includes('_')) return 'it contains "_" (use "-")'
  return undefined
}

/** A corrected value worth suggesting, if simple normalisation turns `value` into a valid one. */
function normalisedCandidate(value: string, valid: (candidate: string) => boolean): string | undefined {
  const candidate = value.trim().toLowerCase()
  if (candidate !== value && valid(candidate)) return candidate
  return undefined
}

function isValidProjectId(value: string): boolean {
  if (!PROJECT_ID_REGEX.test(value)) return false
  const colon = value.indexOf(':')
  return colon === -1 || colon <= MAX_DOMAIN_LENGTH
}

function domainScopedCandidate(value: string): string | undefined {
  if (value.split('/').length !== 2) return undefined
  const candidate = value.trim().toLowerCase().replace('/', ':')
  return candidate.includes('.') && isValidProjectId(candidate) ? candidate : undefined
}

function projectProblem(value: string): string {
  const chars = characterProblem(value)
  if (chars) return chars
  const colon = value.indexOf(':')
  const domain = colon === -1 ? undefined : value.slice(0, colon)
  const id = colon === -1 ? value : value.slice(colon + 1)
  if (value.split(':').length > 2) return 'it contains more than one ":" (only "domain:project" is allowed)'
  if (domain !== undefined) {
    if (domain.length === 0) return 'the domain before ":" is empty'
    if (domain.length > MAX_DOMAIN_LENGTH) return `the domain before ":" is longer than ${MAX_DOMAIN_LENGTH} characters`
    if (!/^(?:[-a-z0-9]{1,63}\.)*(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)$/.test(domain)) {
      return `the domain ${displayValue(domain)} before ":" is not a valid lowercase domain name`
    }
  }

  if (id.length === 0) return 'the project ID part is empty'
  if (id.length > MAX_PROJECT_PART_LENGTH) return `it is longer than ${MAX_PROJECT_PART_LENGTH} characters`
  if (id.startsWith('-')) return 'it starts with "-"'
  if (id.endsWith('-')) return 'it ends with "-"'
  return 'it does not match the project ID format (lowercase letters, digits and hyphens)'
}

/**
 * Validates a Google Cloud project ID the way gcloud does (including legacy domain-scoped IDs such as
 * `example.com:my-project`) and returns it unchanged. Throws UserError INVALID_PROJECT naming `source`.
 */
export function validateProjectId(value: string, source: string): string {
  if (typeof value === 'string' && isValidProjectId(value)) return value
  const text = typeof value === 'string' ? value : String(value)
  const candidate
    = normalisedCandidate(text, isValidProjectId)
    // `example.com/proj` is how a domain-scoped project appears in registry paths; the ID uses ":".
      ?? domainScopedCandidate(text)
  const suggestions: string[] = []
  if (candidate !== undefined) suggestions.push(didYouMean(source, candidate))
  suggestions.push(
    "List the project IDs you can use with: gcloud projects list --format='value(projectId)'",
    'A project ID has 6 to 30 characters: lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen (Google\'s rule for new projects; a legacy domain-scoped ID is prefixed by "domain:", e.g. example.com:my-project).',
  )
  throw new UserError(`Invalid project ID ${displayValue(text)} from ${source}: ${projectProblem(text)}.`, {
    code: 'INVALID_PROJECT',
    suggestions,
  })
}

/** "Did you mean X?" plus how to pass X when `source` is a flag or an environment variable. */
function didYouMean(source: string, value: string): string {
  const settable = /^--?[a-z][\w-]*$/.test(source) || /^[A-Z_][A-Z0-9_]*$/.test(source)
  return settable ? `Did you mean ${displayValue(value)}? Pass ${source}=${value}.` : `Did you mean ${displayValue(value)}?`
}

/** How to pass `value` for `source`, or a plain mention when `source` is not a flag/env variable. */
function passHint(source: string, value: string): string {
  const settable = /^--?[a-z][\w-]*$/.test(source) || /^[A-Z_][A-Z0-9_]*$/.test(source)
  return settable ? `${source}=${value}` : value
}

function isValidRegion(value: string): boolean {
  return value.length <= MAX_REGION_LENGTH && REGION_REGEX.test(value)
}

/**
 * Validates a Cloud Run / Cloud Functions region (e.g. `us-central1`) and returns it unchanged. Rejects
 * Artifact Registry multi-regions and zones with a specific explanation. Throws UserError INVALID_REGION.
 */
export function validateRegion(value: string, source: string): string {
  if (typeof value === 'string' && isValidRegion(value)) return value
  const text = typeof value === 'string' ? value : String(value)
  const suggestions: string[] = []
  let problem: string
  const lower = text.trim().toLowerCase()
  if (MULTI_REGIONS.includes(lower)) {
    problem
      = `${displayValue(lower)} is an Artifact Registry multi-region; Cloud Run services and Cloud Functions `
        + 'are deployed to a single region'
    suggestions.push(`Pass a region such as ${passHint(source, lower === 'us' ? 'us-central1' : (lower === 'europe' ? 'europe-west1' : 'asia-east1'))}.`)
  } else if (/^[a-z]+(?:-[a-z]+)+[0-9]+-[a-z]$/.test(lower)) {
    const region = lower.slice(0, lower.lastIndexOf('-'))
    problem = 'it is a zone, not a region'
    suggestions.push(`Use the zone's region: ${passHint(source, region)}.`)
  } else {
    problem = characterProblem(text) ?? (text.length > MAX_REGION_LENGTH ? `it is longer than ${MAX_REGION_LENGTH} characters` : 'it does not look like a region (e.g. us-central1, europe-west1)')
    const candidate = normalisedCandidate(text, isValidRegion)
    if (candidate !== undefined) suggestions.push(didYouMean(source, candidate))
  }

  suggestions.push("List the regions with: gcloud run regions list --format='value(locationId)'")
  throw new UserError(`Invalid region ${displayValue(text)} from ${source}: ${problem}.`, {code: 'INVALID_REGION', suggestions})
}

/**
 * The project as it appears in an Artifact Registry Docker path: domain-scoped `example.com:proj` becomes
 * `example.com/proj`; other IDs are unchanged.
 */
export function registryProjectPath(project: string): string {
  return project.replace(':', '/')
}

/** Rejects what no name may contain before splitting it: whitespace, control or non-ASCII characters. */
export function unsafeCharacterProblem(value: string): string | undefined {
  if (value.length === 0) return 'it is empty'
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0
    if (code <= 0x20 || code >= 0x7F) {
      return code === 0x20 || /\s/u.test(ch)
        ? 'it contains whitespace'
        : `it contains the character U+${code.toString(16).toUpperCase().padStart(4, '0')}`
    }
  }

  return undefined
}

/** The URL scheme a value starts with (`https://`), if any: a name is never a URL. */
export function urlSchemeOf(value: string): string | undefined {
  return /^[a-z][a-z0-9+.-]*:\/\//i.exec(value)?.[0]
}
