// Which project and regions a command works on, and where each came from:
// flags > CLOUDSDK_* environment > binauthz saved defaults > the active gcloud configuration file.
// Sync and cheap: reads two small files, never runs gcloud.

import type {DeployKind} from '../policy/repository.js'

import {
  type GcloudConfig, propertyOrigin, readGcloudConfig, sdkRootOf,
} from '../auth/gcloud-config.js'
import {UserError} from '../errors.js'
import {locateGcloud} from '../gcloud/runner.js'
import {displayValue, validateProjectId, validateRegion} from '../policy/names.js'
import {assertServedRegion, EXTRA_REGIONS_ENV} from '../policy/regions.js'
import {defaultsFile, loadDefaults, type SavedDefaults} from '../store/defaults.js'

export interface ResolvedContext {
  gcloud: GcloudConfig
  project: string
  projectSource: string
  /** Deduplicated, validated; empty only when requireRegion is false and no region was found. */
  regions: string[]
  /** Human text, e.g. "--region flag", "CLOUDSDK_RUN_REGION", "binauthz setup defaults", "gcloud configuration 'default'", or "none". */
  regionSource: string
}

/** gcloud's configuration and binauthz's saved defaults, each read at most once per run (lazily: a run may need neither). */
export interface RunConfig {
  readonly defaults: SavedDefaults
  readonly gcloud: GcloudConfig
}

/** The RunConfig of an environment: the files are read on first use, then kept for the run. */
export function runConfig(env: NodeJS.ProcessEnv): RunConfig {
  let gcloud: GcloudConfig | undefined
  let defaults: SavedDefaults | undefined
  return {
    get defaults() {
      defaults ??= loadDefaults(env)
      return defaults
    },
    get gcloud() {
      gcloud ??= readGcloudConfig(env, {sdkRoot: installedSdkRoot(env)})
      return gcloud
    },
  }
}

/** The SDK root of the gcloud this run would start, when there is one: its installation properties apply too. */
function installedSdkRoot(env: NodeJS.ProcessEnv): string | undefined {
  try {
    return sdkRootOf(locateGcloud(env))
  } catch {
    return undefined // no gcloud: the deploy reports it; policy commands need none
  }
}

export interface ResolveContextInput {
  /** The run's configuration (read once); default: read from `env`. */
  config?: RunConfig
  env: NodeJS.ProcessEnv
  kind?: DeployKind
  project?: string
  /** --region values: repeatable, each may be a comma list. */
  regions?: readonly string[]
  /** Whether a missing region is an error (default true). */
  requireRegion?: boolean
}

export const SAVED_DEFAULTS_SOURCE = 'binauthz setup defaults'

/**
 * Splits comma lists and dedupes (first occurrence wins), refusing what gcloud would not take as a region: an empty
 * value or list element (`--region ""`, `--region ","`, `a,,b`), and leading/trailing whitespace (never trimmed: a
 * value that needs trimming came from a broken script). Never mutates its input. Throws UserError INVALID_REGION.
 */
export function splitRegions(values: readonly string[], source = '--region'): string[] {
  const out: string[] = []
  for (const value of values) {
    for (const region of value.split(',')) {
      if (region.trim() === '') throw emptyValue('region', source, value)
      if (region !== region.trim()) {
        throw new UserError(`Invalid region ${displayValue(region)} from ${source}: it has leading or trailing whitespace, which binauthz never trims.`, {
          code: 'INVALID_REGION',
          suggestions: [`Pass the region without spaces, e.g. ${source.startsWith('-') ? `${source}=` : ''}${region.trim()}`],
        })
      }

      if (!out.includes(region)) out.push(region)
    }
  }

  return out
}

/**
 * An explicitly empty (or blank) value is refused, never a fallback to the next source: gcloud 528 refuses it too
 * (googlecloudsdk/core/properties.py ProjectValidator: "The project property is set to the empty string, which is
 * invalid."; an environment override that is set but empty is still a value there, _GetPropertyWithoutCallback).
 */
function emptyValue(what: 'project' | 'region', source: string, value: string): UserError {
  const blank = value.trim() === '' && value !== '' ? ' (only whitespace)' : ''
  const element = what === 'region' && value.trim() !== '' ? ` (the list ${displayValue(value)} has an empty element)` : ''
  const isVariable = /^[A-Z_][A-Z0-9_]*$/.test(source)
  return new UserError(`The ${what} from ${source} is set to the empty string${blank}${element}, which is invalid; binauthz does not fall back to another ${what} source.`, {
    code: what === 'project' ? 'INVALID_PROJECT' : 'INVALID_REGION',
    suggestions: [
      isVariable
        ? `Set ${source} to a ${what === 'project' ? 'project ID' : 'region'}, or unset it: unset ${source}`
        : `Pass ${source}=${what === 'project' ? 'PROJECT_ID' : 'REGION'}, or leave ${source} out to use the configured default`,
    ],
  })
}

/** The regions named in BINAUTHZ_EXTRA_REGIONS (newer than binauthz's table), each checked like any region. */
export function extraRegions(env: NodeJS.ProcessEnv): string[] {
  const value = env[EXTRA_REGIONS_ENV]
  if (value === undefined || value === '') return []
  return splitRegions([value], EXTRA_REGIONS_ENV).map(r => validateRegion(r, EXTRA_REGIONS_ENV))
}

/** Region values from one source, split and checked: syntax, then served by Cloud Run / Cloud Functions (or listed extra). */
export function checkedRegions(values: readonly string[], source: string, env: NodeJS.ProcessEnv): string[] {
  const extra = extraRegions(env)
  return splitRegions(values, source).map(r => assertServedRegion(validateRegion(r, source), source, extra))
}

interface Candidate {
  /** For messages about where the value came from. */
  source: string
  /** What validation errors name (a flag or variable when there is one). */
  validationSource: string
  value: readonly string[] | string
}

function projectCandidates(input: ResolveContextInput, saved: SavedDefaults, gcloud: GcloudConfig, savedFile: string): Candidate[] {
  const out: Candidate[] = []
  // Given is given: an empty or padded value is refused (resolveContext), never trimmed or skipped.
  if (input.project !== undefined) out.push({source: '--project flag', validationSource: '--project', value: input.project})
  const env = input.env.CLOUDSDK_CORE_PROJECT
  if (env !== undefined) out.push({source: 'CLOUDSDK_CORE_PROJECT', validationSource: 'CLOUDSDK_CORE_PROJECT', value: env})
  if (saved.project) out.push({source: SAVED_DEFAULTS_SOURCE, validationSource: `${SAVED_DEFAULTS_SOURCE} (${savedFile})`, value: saved.project})
  if (gcloud.project) {
    const source = propertyOrigin(gcloud, 'project')
    out.push({source, validationSource: `core/project in ${source}`, value: gcloud.project})
  }

  return out
}

function regionCandidates(input: ResolveContextInput, saved: SavedDefaults, gcloud: GcloudConfig, savedFile: string): Candidate[] {
  const out: Candidate[] = []
  if (input.regions !== undefined && input.regions.length > 0) {
    out.push({source: '--region flag', validationSource: '--region', value: input.regions})
  }

  const {kind} = input
  const {env} = input
  // functions/region counts for functions and for commands about every path (no kind), never for the Cloud Run paths
  // (services, jobs, worker pools all read run/region: command_lib/run/flags.py GetRegion).
  const functionsToo = kind === undefined || kind === 'function'
  if (kind !== 'function' && env.CLOUDSDK_RUN_REGION !== undefined) {
    out.push({source: 'CLOUDSDK_RUN_REGION', validationSource: 'CLOUDSDK_RUN_REGION', value: [env.CLOUDSDK_RUN_REGION]})
  }

  if (functionsToo && env.CLOUDSDK_FUNCTIONS_REGION !== undefined) {
    out.push({source: 'CLOUDSDK_FUNCTIONS_REGION', validationSource: 'CLOUDSDK_FUNCTIONS_REGION', value: [env.CLOUDSDK_FUNCTIONS_REGION]})
  }

  if (saved.regions && saved.regions.length > 0) {
    out.push({source: SAVED_DEFAULTS_SOURCE, validationSource: `${SAVED_DEFAULTS_SOURCE} (${savedFile})`, value: saved.regions})
  }

  if (kind !== 'function' && gcloud.runRegion) {
    const source = propertyOrigin(gcloud, 'runRegion')
    out.push({source, validationSource: `run/region in ${source}`, value: [gcloud.runRegion]})
  }

  // functions/region counts only when explicitly set in the file (gcloud's implicit us-central1 is ignored
  // for 2nd gen functions; readGcloudConfig only ever returns explicit values).
  if (functionsToo && gcloud.functionsRegion) {
    const source = propertyOrigin(gcloud, 'functionsRegion')
    out.push({source, validationSource: `functions/region in ${source}`, value: [gcloud.functionsRegion]})
  }

  return out
}

function regionFlagAndProperty(kind: DeployKind | undefined): {env: string; property: string} {
  return kind === 'function'
    ? {env: 'CLOUDSDK_FUNCTIONS_REGION', property: 'functions/region'}
    : {env: 'CLOUDSDK_RUN_REGION', property: 'run/region'}
}

/** Resolves project and regions with their sources; validates every value; throws UserError when missing. */
export function resolveContext(input: ResolveContextInput): ResolvedContext {
  const config = input.config ?? runConfig(input.env)
  const {gcloud} = config
  const saved = config.defaults
  const savedFile = defaultsFile(input.env)

  const projectPick = projectCandidates(input, saved, gcloud, savedFile)[0]
  if (!projectPick) {
    throw new UserError('No Google Cloud project given, and none is configured.', {
      code: 'PROJECT_MISSING',
      suggestions: [
        'Pass --project=PROJECT_ID',
        'Or set a default: `gcloud config set project PROJECT_ID` (or `binauthz setup`)',
      ],
    })
  }

  const projectValue = projectPick.value as string
  if (projectValue.trim() === '') throw emptyValue('project', projectPick.validationSource, projectValue)
  const project = validateProjectId(projectValue, projectPick.validationSource)

  const regionPick = regionCandidates(input, saved, gcloud, savedFile)[0]
  let regions: string[] = []
  let regionSource = 'none'
  if (regionPick) {
    regions = checkedRegions(regionPick.value as readonly string[], regionPick.validationSource, input.env)
    regionSource = regionPick.source
  }

  if (regions.length === 0 && (input.requireRegion ?? true)) {
    const {env, property} = regionFlagAndProperty(input.kind)
    const what = {
      function: 'the function', job: 'the job', run: 'the service', 'worker-pool': 'the worker pool',
    } as const
    throw new UserError(`No region given for ${input.kind === undefined ? 'this command' : what[input.kind]}, and none is configured.`, {
      code: 'REGION_MISSING',
      suggestions: [
        'Pass --region=REGION (repeat it or use a comma list for several regions), e.g. --region=us-central1',
        `Or set a default: \`gcloud config set ${property} REGION\` (or ${env}=REGION, or \`binauthz setup\`)`,
      ],
    })
  }

  return {
    gcloud, project, projectSource: projectPick.source, regions, regionSource,
  }
}

/**
 * What the configuration names when no flag gives it, by the one rule every command resolves with (resolveContext):
 * `binauthz setup` offers these as its defaults. Nothing configured is no project / no regions; a configured value
 * that is empty, padded or invalid is refused exactly as a deploy refuses it.
 */
export function configuredContext(input: Omit<ResolveContextInput, 'regions' | 'requireRegion'>): {project?: string; regions: string[]} {
  try {
    const {project, regions} = resolveContext({...input, requireRegion: false})
    return {project, regions}
  } catch (error) {
    if (error instanceof UserError && error.code === 'PROJECT_MISSING') return {regions: []}
    throw error
  }
}

/** What the quota project depends on in the credential (src/auth/credentials.ts CredentialSource + the file's own). */
export interface QuotaCredential {
  /** gcloud's IsUserAccountCredentials (core/credentials/creds.py). */
  isUser: boolean
  /** The credential file's own `quota_project_id`. */
  quotaProject?: string | undefined
  /** Where it came from, for messages. */
  quotaProjectOrigin?: string | undefined
}

/**
 * The project billed for API quota (sent as X-Goog-User-Project), as gcloud 528 decides it (core/credentials/creds.py
 * GetQuotaProject; core/properties.py _SectionBilling): billing/quota_project (`--billing-project` >
 * CLOUDSDK_BILLING_QUOTA_PROJECT > configuration), default CURRENT_PROJECT. CURRENT_PROJECT (and
 * CURRENT_PROJECT_WITH_FALLBACK) bill the current project for user credentials and send nothing for service accounts,
 * impersonation and bare tokens; LEGACY sends nothing; any other value is the project. Where gcloud sends nothing, a
 * credential file's own `quota_project_id` still is (google-auth credentials add it themselves). Values are validated
 * like project IDs because they end up in a request header.
 */
export function resolveQuotaProject(env: NodeJS.ProcessEnv, gcloud: GcloudConfig, credential: QuotaCredential, project?: string): string | undefined {
  const fromEnv = env.CLOUDSDK_BILLING_QUOTA_PROJECT?.trim()
  const [setting, origin] = fromEnv
    ? [fromEnv, 'CLOUDSDK_BILLING_QUOTA_PROJECT (or --billing-project)']
    : [gcloud.quotaProject ?? gcloud.quotaProjectKeyword ?? 'CURRENT_PROJECT', `billing/quota_project in ${propertyOrigin(gcloud, 'quotaProject')}`]
  const own = credential.quotaProject ? validateProjectId(credential.quotaProject, credential.quotaProjectOrigin ?? 'quota_project_id of the credential file') : undefined
  if (setting === 'CURRENT_PROJECT' || setting === 'CURRENT_PROJECT_WITH_FALLBACK') {
    return credential.isUser && project !== undefined ? project : own
  }

  if (setting === 'LEGACY') return own
  return validateProjectId(setting, origin)
}
