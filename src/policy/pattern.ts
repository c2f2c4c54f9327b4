// Allowlist patterns (`admissionWhitelistPatterns[].namePattern`) and the Artifact Registry repositories they
// stand for. Pure: no I/O.
//
// Matching semantics (google-cloud-facts §2.2), applied to the trimmed pattern and image:
//   - pattern ending in `**`:  prefix + any characters, including `/` (and the empty string);
//   - pattern ending in one `*`: prefix + any characters except `/` (and the empty string);
//   - otherwise: the exact string. A `*` anywhere else is an ordinary character (the API rejects such
//     patterns; validatePattern() does too).

import {UserError} from '../errors.js'
import {
  displayValue, MULTI_REGIONS, REGION_REGEX, registryProjectPath, validateProjectId, validateRegion,
} from './names.js'

export type DeployKind = 'function' | 'run'

export interface BuildRepository {
  /** Region (or Artifact Registry multi-region) of the repository, e.g. `us-central1`. */
  location: string
  /** Project ID as gcloud spells it (domain-scoped IDs keep their ":"). */
  project: string
  /** Repository ID, e.g. `cloud-run-source-deploy`. */
  repository: string
}

/** The repository `gcloud run deploy --source` builds into. */
export const RUN_SOURCE_REPOSITORY = 'cloud-run-source-deploy'
/** The repository Cloud Functions (2nd gen) builds into. */
export const FUNCTIONS_REPOSITORY = 'gcf-artifacts'

/** Artifact Registry repository IDs (gcloud functions flags): lowercase, digits, hyphens; max 63. */
const REPOSITORY_ID_REGEX = /^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/
const AR_DOCKER_HOST_SUFFIX = '-docker.pkg.dev'
const MAX_PATTERN_LENGTH = 1024

/** The repository a deploy of `kind` builds into by default, in the deploy's region. */
export function defaultRepository(kind: DeployKind, project: string, region: string): BuildRepository {
  return {
    location: validateRegion(region, 'region'),
    project: validateProjectId(project, 'project'),
    repository: kind === 'run' ? RUN_SOURCE_REPOSITORY : FUNCTIONS_REPOSITORY,
  }
}

/** The Docker host:path of a repository, e.g. `us-central1-docker.pkg.dev/example.com/proj/gcf-artifacts`. */
export function repositoryDockerPath(repo: BuildRepository): string {
  return `${repo.location}${AR_DOCKER_HOST_SUFFIX}/${registryProjectPath(repo.project)}/${repo.repository}`
}

/** The allowlist pattern admitting every image in the repository: `${location}-docker.pkg.dev/${project path}/${repository}/**`. */
export function repositoryPattern(repo: BuildRepository): string {
  return `${repositoryDockerPath(repo)}/**`
}

/** The `projects/P/locations/L/repositories/R` resource name (the form `--docker-repository` is normalised to). */
export function repositoryResourceName(repo: BuildRepository): string {
  return `projects/${repo.project}/locations/${repo.location}/repositories/${repo.repository}`
}

function isLocation(value: string): boolean {
  return MULTI_REGIONS.includes(value) || (value.length <= 63 && REGION_REGEX.test(value))
}

function invalidRepository(value: string, source: string, problem: string, extra: string[] = []): UserError {
  return new UserError(`Invalid Docker repository ${displayValue(value)} from ${source}: ${problem}.`, {
    code: 'INVALID_DOCKER_REPOSITORY',
    suggestions: [
      ...extra,
      'Use projects/PROJECT/locations/REGION/repositories/REPOSITORY or REGION-docker.pkg.dev/PROJECT/REPOSITORY.',
      'List repositories with: gcloud artifacts repositories list --project=PROJECT',
    ],
  })
}

function checkRepositoryParts(
  parts: {location: string; project: string; repository: string},
  value: string,
  source: string,
  fail: (value: string, source: string, problem: string, extra?: string[]) => UserError,
): BuildRepository {
  if (!isLocation(parts.location)) {
    throw fail(value, source, `${displayValue(parts.location)} is not an Artifact Registry location (e.g. us-central1)`)
  }

  const project = validateProjectId(parts.project, source)
  if (!REPOSITORY_ID_REGEX.test(parts.repository)) {
    throw fail(
      value,
      source,
      `${displayValue(parts.repository)} is not a repository ID (1-63 lowercase letters, digits and hyphens, starting with a letter)`,
    )
  }

  return {location: parts.location, project, repository: parts.repository}
}

/** Rejects what no name may contain before splitting it: whitespace, control or non-ASCII characters. */
function unsafeCharacterProblem(value: string): string | undefined {
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

/** Splits `LOCATION-docker.pkg.dev/<project path>/REPO/rest...` into its parts, or undefined for other hosts. */
function splitDockerPath(value: string): 'short' | undefined | {location: string; project: string; repository: string; rest: string[]} {
  const segments = value.split('/')
  const host = segments[0] ?? ''
  if (!host.endsWith(AR_DOCKER_HOST_SUFFIX)) return undefined
  const location = host.slice(0, -AR_DOCKER_HOST_SUFFIX.length)
  const first = segments[1]
  // Project IDs never contain ".", so a first segment with one is the domain of `domain/project`.
  const domainScoped = first !== undefined && first.includes('.')
  const projectSegments = domainScoped ? 2 : 1
  if (segments.length < 2 + projectSegments) return 'short'
  const project = segments.slice(1, 1 + projectSegments).join(':')
  const repository = segments[1 + projectSegments] ?? ''
  return {
    location, project, repository, rest: segments.slice(2 + projectSegments),
  }
}

/**
 * Parses a `--docker-repository` value: `projects/P/locations/L/repositories/R` or `L-docker.pkg.dev/P/R`
 * (domain-scoped: `L-docker.pkg.dev/example.com/p/R`). Throws UserError INVALID_DOCKER_REPOSITORY naming `source`.
 */
export function parseDockerRepository(value: string, source: string): BuildRepository {
  const text = typeof value === 'string' ? value : String(value)
  const trimmed = text.trim()
  if (trimmed !== text && trimmed.length > 0 && unsafeCharacterProblem(trimmed) === undefined) {
    throw invalidRepository(text, source, 'it has leading or trailing whitespace', [`Did you mean ${displayValue(trimmed)}?`])
  }

  const unsafe = unsafeCharacterProblem(text)
  if (unsafe) throw invalidRepository(text, source, unsafe)
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(text)
  if (scheme) {
    throw invalidRepository(text, source, `it starts with the URL scheme ${displayValue(scheme[0])}`, [
      `Did you mean ${displayValue(text.slice(scheme[0].length))}?`,
    ])
  }

  const resource = /^projects\/([^/]+)\/locations\/([^/]+)\/repositories\/([^/]+)$/.exec(text)
  if (resource) {
    return checkRepositoryParts(
      {location: resource[2] ?? '', project: resource[1] ?? '', repository: resource[3] ?? ''},
      text,
      source,
      invalidRepository,
    )
  }

  if (text.startsWith('projects/')) {
    throw invalidRepository(text, source, 'it is not of the form projects/PROJECT/locations/LOCATION/repositories/REPOSITORY')
  }

  const withoutSlash = text.endsWith('/') ? text.slice(0, -1) : text
  const split = splitDockerPath(withoutSlash)
  if (split === undefined) {
    throw invalidRepository(text, source, `it is neither a repository resource name nor an Artifact Registry path (LOCATION${AR_DOCKER_HOST_SUFFIX}/PROJECT/REPOSITORY)`)
  }

  if (split === 'short') throw invalidRepository(text, source, 'it names no repository after the project')
  if (split.rest.length > 0) {
    const repoOnly = `${withoutSlash.split('/').slice(0, -split.rest.length).join('/')}`
    throw invalidRepository(text, source, 'it names an image inside a repository, not a repository', [`Did you mean ${displayValue(repoOnly)}?`])
  }

  return checkRepositoryParts(split, text, source, invalidRepository)
}

function invalidImage(value: string, source: string, problem: string, extra: string[] = []): UserError {
  return new UserError(`Invalid image ${displayValue(value)} from ${source}: ${problem}.`, {
    code: 'INVALID_IMAGE',
    suggestions: [...extra, 'Use an Artifact Registry image: REGION-docker.pkg.dev/PROJECT/REPOSITORY[/IMAGE[:TAG|@sha256:DIGEST]].'],
  })
}

const IMAGE_PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/
const TAG_REGEX = /^[\w][\w.-]{0,127}$/
const DIGEST_REGEX = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/

/**
 * The repository of an Artifact Registry image reference `L-docker.pkg.dev/P/R[/IMAGE[:tag|@digest]]`
 * (as given to `gcloud run deploy --image`). Throws UserError INVALID_IMAGE naming `source`.
 */
export function parseImageRepository(image: string, source: string): BuildRepository {
  const text = typeof image === 'string' ? image : String(image)
  const unsafe = unsafeCharacterProblem(text)
  if (unsafe) {
    const trimmed = text.trim()
    const extra = trimmed !== text && trimmed.length > 0 && unsafeCharacterProblem(trimmed) === undefined ? [`Did you mean ${displayValue(trimmed)}?`] : []
    throw invalidImage(text, source, unsafe, extra)
  }

  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(text)
  if (scheme) {
    throw invalidImage(text, source, `it starts with the URL scheme ${displayValue(scheme[0])}`, [`Did you mean ${displayValue(text.slice(scheme[0].length))}?`])
  }

  // Separate a digest (`@...`) and then a tag (`:...` after the last '/').
  let rest = text
  const at = rest.indexOf('@')
  if (at !== -1) {
    const digest = rest.slice(at + 1)
    if (!DIGEST_REGEX.test(digest)) throw invalidImage(text, source, `${displayValue(digest)} is not a digest (e.g. sha256:<64 hex digits>)`)
    rest = rest.slice(0, at)
  }

  const lastSlash = rest.lastIndexOf('/')
  const colon = rest.indexOf(':', lastSlash + 1)
  if (colon !== -1 && lastSlash !== -1) {
    const tag = rest.slice(colon + 1)
    if (!TAG_REGEX.test(tag)) throw invalidImage(text, source, `${displayValue(tag)} is not a valid tag`)
    rest = rest.slice(0, colon)
  }

  const split = splitDockerPath(rest)
  if (split === undefined) {
    throw invalidImage(text, source, `it is not in Artifact Registry (the host must be LOCATION${AR_DOCKER_HOST_SUFFIX})`, [
      'binauthz derives patterns for Artifact Registry only; to allow another registry, add a pattern yourself: binauthz policy allow --pattern REGISTRY/PATH/**',
    ])
  }

  if (split === 'short') throw invalidImage(text, source, 'it names no repository after the project')
  for (const component of split.rest) {
    if (!IMAGE_PATH_COMPONENT.test(component)) {
      throw invalidImage(text, source, `the image path component ${displayValue(component)} is not valid (lowercase letters, digits, ".", "_", "-")`)
    }
  }

  return checkRepositoryParts(split, text, source, invalidImage)
}

function invalidPattern(value: string, problem: string, extra: string[] = []): UserError {
  return new UserError(`Invalid allowlist pattern ${displayValue(value)}: ${problem}.`, {
    code: 'INVALID_PATTERN',
    suggestions: [...extra, 'Use the form REGISTRY/PATH/TO/IMAGE, optionally ending in * or **, e.g. us-central1-docker.pkg.dev/my-project/cloud-run-source-deploy/**.'],
  })
}

/** The registry host (before the first '/') must be a literal, lowercase host name with an optional port. */
function checkRegistryHost(text: string, slash: number): void {
  const host = text.slice(0, slash)
  if (host.includes('*')) throw invalidPattern(text, 'wildcards are only allowed after "registry/"; the registry host must be literal')
  if (!/^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::[0-9]{1,5})?$/.test(host)) {
    const lower = host.toLowerCase()
    const extra = lower !== host && /^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::[0-9]{1,5})?$/.test(lower) ? [`Did you mean ${displayValue(lower + text.slice(slash))}?`] : []
    throw invalidPattern(text, `${displayValue(host)} is not a registry host name (lowercase)`, extra)
  }
}

/** The path after the host: image-name characters only, no empty, "." or ".." segments. */
function checkPatternPath(text: string, path: string): void {
  const bad = /[^A-Za-z0-9._/:@+-]/.exec(path)
  if (bad) throw invalidPattern(text, `it contains the character ${JSON.stringify(bad[0])}, which never appears in an image name`)
  const segments = path.split('/')
  // The last segment may be empty (a wildcard right after '/', or an exact pattern ending in '/': see below).
  for (const [index, segment] of segments.entries()) {
    if (segment === '' && index < segments.length - 1) throw invalidPattern(text, 'it contains an empty path segment ("//")')
    if (segment === '.' || segment === '..') throw invalidPattern(text, 'it contains a "." or ".." path segment')
  }
}

/**
 * Checks that `pattern` is something the Binary Authorization API accepts as an allowlist entry and this tool
 * can reason about: non-empty, printable ASCII without whitespace, no URL scheme, a literal registry host, a
 * path after it, and `*`/`**` only as a trailing suffix after `registry/`. Returns the trimmed pattern.
 * Throws UserError INVALID_PATTERN.
 */
export function validatePattern(pattern: string): string {
  const text = typeof pattern === 'string' ? pattern.trim() : String(pattern)
  if (text.length === 0) throw invalidPattern(text, 'it is empty')
  if (text.length > MAX_PATTERN_LENGTH) throw invalidPattern(text, `it is longer than ${MAX_PATTERN_LENGTH} characters`)
  const unsafe = unsafeCharacterProblem(text)
  if (unsafe) throw invalidPattern(text, unsafe)
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(text)
  if (scheme) {
    throw invalidPattern(text, `it starts with the URL scheme ${displayValue(scheme[0])}`, [`Did you mean ${displayValue(text.slice(scheme[0].length))}?`])
  }

  const slash = text.indexOf('/')
  if (slash === -1) throw invalidPattern(text, 'it has no "/" after the registry host', [`Did you mean ${displayValue(`${text}/**`)}?`])
  checkRegistryHost(text, slash)

  const body = text.endsWith('**') ? text.slice(0, -2) : (text.endsWith('*') ? text.slice(0, -1) : text)
  if (body.includes('*')) {
    throw invalidPattern(text, 'a wildcard may only appear once, as a trailing "*" or "**"')
  }

  checkPatternPath(text, body.slice(slash + 1))

  if (body === text && text.endsWith('/')) {
    throw invalidPattern(text, 'it ends with "/" and no wildcard, so it matches no image', [`Did you mean ${displayValue(`${text}**`)}?`])
  }

  return text
}

type ParsedPattern = {kind: 'any' | 'segment'; prefix: string} | {kind: 'exact'; text: string}

function parsePattern(pattern: string): ParsedPattern {
  const text = pattern.trim()
  if (text.endsWith('**')) return {kind: 'any', prefix: text.slice(0, -2)}
  if (text.endsWith('*')) return {kind: 'segment', prefix: text.slice(0, -1)}
  return {kind: 'exact', text}
}

/** True when `rest` is in the language of a single `*`: any characters but `/`. */
function noSlash(rest: string): boolean {
  return !rest.includes('/')
}

/**
 * Whether the allowlist `pattern` admits `image` (both trimmed): `**` = any characters including `/`,
 * trailing `*` = any characters except `/`, otherwise exact equality (case-sensitive).
 */
export function patternMatchesImage(pattern: string, image: string): boolean {
  const parsed = parsePattern(pattern)
  const target = image.trim()
  switch (parsed.kind) {
  case 'any': {
    return target.startsWith(parsed.prefix)
  }

  case 'exact': {
    return target === parsed.text
  }

  case 'segment': {
    return target.startsWith(parsed.prefix) && noSlash(target.slice(parsed.prefix.length))
  }
  }
}

/**
 * Whether every image matched by `required` is also matched by `existing` (language inclusion under the
 * semantics of patternMatchesImage). Examples: `a/b/**` covers `a/b/c/**`; `a/**` covers `a/b/**`; `a/b*`
 * covers `a/bc*` but not `a/b/**`; `a/b/*` does not cover `a/b/**`; an exact pattern covers only itself.
 */
export function patternCovers(existing: string, required: string): boolean {
  const e = parsePattern(existing)
  const r = parsePattern(required)
  if (e.kind === 'exact') {
    // A single string covers only itself; a wildcard pattern matches infinitely many images.
    return r.kind === 'exact' && r.text === e.text
  }

  // The shortest image `required` matches: its literal text / its prefix (the wildcard matching nothing).
  const shortest = r.kind === 'exact' ? r.text : r.prefix
  if (!shortest.startsWith(e.prefix)) return false
  if (e.kind === 'any') return true
  // `existing` = prefix + [^/]*: everything `required` can add must stay free of '/'.
  if (r.kind === 'any') return false // `required` also matches shortest + '/'
  return noSlash(shortest.slice(e.prefix.length))
}
