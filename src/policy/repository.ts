// Artifact Registry repositories: the ones deploys build into by default, their Docker host names and resource
// names, and parsing `--docker-repository` / `--image` values into one. Pure: no I/O.

import {UserError} from '../errors.js'
import {
  displayValue, MULTI_REGIONS, REGION_REGEX, registryProjectPath, unsafeCharacterProblem, urlSchemeOf, validateProjectId, validateRegion,
} from './names.js'

/**
 * The deploy paths: `run` (Cloud Run services), `job` (Cloud Run jobs), `worker-pool` (Cloud Run worker pools) and
 * `function` (Cloud Functions 2nd gen). The three Cloud Run paths build into the same cloud-run-source-deploy
 * repository (surface/run/deploy.py, run/jobs/deploy.py, run/worker_pools/deploy.py), so they need the same entry.
 */
export type DeployKind = 'function' | 'job' | 'run' | 'worker-pool'

/** The Cloud Run deploy paths (every kind but `function`): they share gcloud's container flags and build repository. */
export function isCloudRunKind(kind: DeployKind): kind is 'job' | 'run' | 'worker-pool' {
  return kind !== 'function'
}

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

/** The repository a deploy of `kind` builds into by default, in the deploy's region. */
export function defaultRepository(kind: DeployKind, project: string, region: string): BuildRepository {
  return {
    location: validateRegion(region, 'region'),
    project: validateProjectId(project, 'project'),
    repository: kind === 'function' ? FUNCTIONS_REPOSITORY : RUN_SOURCE_REPOSITORY,
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
  const scheme = urlSchemeOf(text)
  if (scheme !== undefined) {
    throw invalidRepository(text, source, `it starts with the URL scheme ${displayValue(scheme)}`, [
      `Did you mean ${displayValue(text.slice(scheme.length))}?`,
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

  const scheme = urlSchemeOf(text)
  if (scheme !== undefined) {
    throw invalidImage(text, source, `it starts with the URL scheme ${displayValue(scheme)}`, [`Did you mean ${displayValue(text.slice(scheme.length))}?`])
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
