// Access tokens for the Binary Authorization REST API.
// Order: access-token file (CLOUDSDK_AUTH_ACCESS_TOKEN_FILE / auth/access_token_file) > Application Default
// Credentials (GOOGLE_APPLICATION_CREDENTIALS, the well-known file, or a metadata server detected cheaply) via
// google-auth-library (imported lazily) > gcloud login via ONE `gcloud auth print-access-token`.
// Deciding costs only a few sync stat/read calls: no process, no network, no heavy import.

import {statSync} from 'node:fs'
import {join, resolve} from 'node:path'

import type {TokenProvider} from './token-provider.js'

import {
  ExternalError, redactSecrets, registerSecret, UserError,
} from '../errors.js'
import {captureGcloud} from '../gcloud/runner.js'
import {type GcloudConfig, readSmallFile} from './gcloud-config.js'

export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform'
/** Longest access token we accept from a file or from gcloud (real ones are a few hundred to ~2k chars). */
export const MAX_TOKEN_LENGTH = 8192
const DMI_PRODUCT_NAME_FILE = '/sys/class/dmi/id/product_name'
/** Re-fetch a gcloud-issued token after this long (they live for up to an hour). */
const GCLOUD_TOKEN_TTL_MS = 45 * 60 * 1000

export interface CredentialSource {
  /** Where the credential comes from, for humans; never a secret. */
  detail: string
  kind: 'access-token-file' | 'adc' | 'gcloud-login'
}

export interface ResolvedTokenProvider extends TokenProvider {
  /** Quota project named by the credential itself (ADC `quota_project_id`), if any. */
  readonly quotaProject?: string
  readonly source: CredentialSource
}

export interface ResolveTokenOptions {
  /** Tests: file whose content reveals Google hardware (default /sys/class/dmi/id/product_name). */
  dmiProductNameFile?: string
  /** The project being worked on (e.g. from --project), passed to google-auth-library so it never looks one up. */
  projectId?: string
}

const SUGGEST_LOGIN = [
  'Sign in with `gcloud auth login` (then binauthz uses `gcloud auth print-access-token`)',
  'Or set up Application Default Credentials: `gcloud auth application-default login`',
  'Or point CLOUDSDK_AUTH_ACCESS_TOKEN_FILE at a file holding an access token',
]

/** Cached gcloud-login / ADC tokens, so one process spawns gcloud at most once per configuration. */
const tokenCache = new Map<string, {at: number; token: Promise<string>;}>()

/** Tests: forget every cached token. */
export function clearCredentialCache(): void {
  tokenCache.clear()
}

/** Checks a token's shape; returns the trimmed token or throws a UserError naming `origin` (never the token). */
export function validateToken(raw: string, origin: string): string {
  const token = raw.trim()
  if (token === '') {
    throw new UserError(`${origin} holds no access token (it is empty).`, {code: 'INVALID_ACCESS_TOKEN', suggestions: SUGGEST_LOGIN})
  }

  if (token.length > MAX_TOKEN_LENGTH) {
    throw new UserError(`${origin} does not hold an access token: its content is longer than ${MAX_TOKEN_LENGTH} characters.`, {
      code: 'INVALID_ACCESS_TOKEN',
      suggestions: SUGGEST_LOGIN,
    })
  }

  if (/[\r\n]/.test(token)) {
    throw new UserError(`${origin} does not hold a single access token: it has more than one line.`, {
      code: 'INVALID_ACCESS_TOKEN',
      suggestions: ['Write just the token on one line, e.g. `gcloud auth print-access-token > FILE`'],
    })
  }

  if (!isPrintableAscii(token)) {
    throw new UserError(`${origin} does not hold an access token: it contains spaces or non-printable characters.`, {
      code: 'INVALID_ACCESS_TOKEN',
      suggestions: ['Write just the token on one line, e.g. `gcloud auth print-access-token > FILE`'],
    })
  }

  registerSecret(token)
  return token
}

/** Visible ASCII only (no spaces, controls or non-ASCII): what OAuth access tokens are made of. */
function isPrintableAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.codePointAt(i) ?? 0
    if (code < 0x21 || code > 0x7E) return false
  }

  return true
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile()
  } catch {
    return false
  }
}

function exists(file: string): boolean {
  try {
    statSync(file)
    return true
  } catch {
    return false
  }
}

/** Cheap evidence that a Google metadata server is reachable (GCE, Cloud Run, Cloud Build, GKE ...). */
export function metadataServerLikely(env: NodeJS.ProcessEnv, dmiProductNameFile = DMI_PRODUCT_NAME_FILE): boolean {
  const detection = env.METADATA_SERVER_DETECTION?.trim().toLowerCase()
  if (detection === 'none') return false
  if (detection === 'assume-present') return true
  if (env.GCE_METADATA_HOST || env.GCE_METADATA_IP) return true
  // Serverless runtimes (Cloud Run services/jobs, Cloud Functions) document these variables.
  if (env.K_SERVICE || env.K_CONFIGURATION || env.CLOUD_RUN_JOB || env.FUNCTION_TARGET) return true
  const product = readSmallFile(dmiProductNameFile, 256)
  return product !== undefined && /Google/.test(product)
}

function tokenFileProvider(file: string, origin: string, unsetHint: string): ResolvedTokenProvider {
  const path = resolve(file)
  const described = `${origin} (${path})`
  if (!isFile(path)) {
    throw new UserError(`${origin} names ${path}, which does not exist or is not a file.`, {
      code: 'ACCESS_TOKEN_FILE_MISSING',
      suggestions: [`Create it (e.g. \`gcloud auth print-access-token > ${path}\`)`, unsetHint],
    })
  }

  const content = readSmallFile(path, (MAX_TOKEN_LENGTH * 2) + 2)
  if (content === undefined) {
    throw new UserError(`Cannot read the access token file ${path} (from ${origin}).`, {
      code: 'ACCESS_TOKEN_FILE_MISSING',
      suggestions: [`Check its permissions: \`ls -l ${path}\``],
    })
  }

  const token = validateToken(content, `The access token file ${path} (from ${origin})`)
  return {
    async getToken() {
      return token
    },
    source: {detail: described, kind: 'access-token-file'},
  }
}

interface AdcFileInfo {
  clientEmail?: string
  quotaProject?: string
  type?: string
}

function readAdcFile(file: string, origin: string): AdcFileInfo {
  const text = readSmallFile(file, 1024 * 1024)
  if (text === undefined) {
    throw new UserError(`Cannot read the Application Default Credentials file ${file} (from ${origin}).`, {
      code: 'ADC_FILE_UNREADABLE',
      suggestions: [`Check its permissions: \`ls -l ${file}\``, 'Or recreate it: `gcloud auth application-default login`'],
    })
  }

  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }

  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new UserError(`The Application Default Credentials file ${file} (from ${origin}) is not a JSON object.`, {
      code: 'ADC_FILE_INVALID',
      suggestions: ['Recreate it: `gcloud auth application-default login`, or fix GOOGLE_APPLICATION_CREDENTIALS'],
    })
  }

  const record = json as Record<string, unknown>
  const str = (key: string): string | undefined => {
    const v = record[key]
    return typeof v === 'string' && v.length > 0 && v.length < 512 ? v : undefined
  }

  const info: AdcFileInfo = {}
  const type = str('type')
  if (type) info.type = type
  const quota = str('quota_project_id')
  if (quota) info.quotaProject = quota
  const email = str('client_email')
  if (email) info.clientEmail = email
  return info
}

function adcFailure(error: unknown, detail: string): Error {
  const text = redactSecrets(error instanceof Error ? error.message : String(error)).slice(0, 500)
  const suggestions = [
    'Refresh them: `gcloud auth application-default login`',
    'Or unset GOOGLE_APPLICATION_CREDENTIALS to use your gcloud login instead',
  ]
  if (/invalid_grant|invalid_rapt|reauth|expired|revoked|invalid_client|unauthorized_client|Unable to read|ENOENT|JSON|private key/i.test(text)) {
    return new UserError(`Application Default Credentials (${detail}) could not produce an access token: ${text}`, {
      code: 'ADC_REJECTED',
      suggestions,
    })
  }

  return new ExternalError(`Application Default Credentials (${detail}) could not produce an access token: ${text}`, {
    code: 'ADC_FAILED',
    suggestions,
  })
}

type AdcTarget = {file: string; kind: 'file';} | {kind: 'metadata'}

async function adcToken(target: AdcTarget, projectId: string | undefined, metadataLikely: boolean, detail: string): Promise<string> {
  // Without cheap evidence of a metadata server, keep google-auth-library from probing it (a slow network timeout).
  const previous = process.env.METADATA_SERVER_DETECTION
  const guard = !metadataLikely && previous === undefined
  if (guard) process.env.METADATA_SERVER_DETECTION = 'none'
  try {
    const lib = await import('google-auth-library')
    let token: null | string | undefined
    if (target.kind === 'file') {
      const auth = new lib.GoogleAuth({keyFilename: target.file, scopes: [CLOUD_PLATFORM_SCOPE], ...(projectId ? {projectId} : {})})
      token = await auth.getAccessToken()
    } else {
      const compute = new lib.Compute({scopes: [CLOUD_PLATFORM_SCOPE]})
      token = (await compute.getAccessToken()).token
    }

    if (!token) throw new Error('no access token was returned')
    return validateToken(token, `Application Default Credentials (${detail})`)
  } catch (error: unknown) {
    if (error instanceof UserError) throw error
    throw adcFailure(error, detail)
  } finally {
    if (guard && process.env.METADATA_SERVER_DETECTION === 'none') delete process.env.METADATA_SERVER_DETECTION
  }
}

interface CachedProviderOptions {
  fetch: () => Promise<string>
  /** Tokens are cached per process under this key. */
  key: string
  quotaProject?: string
  source: CredentialSource
  ttlMs: number
}

function cachedProvider({fetch, key, quotaProject, source, ttlMs}: CachedProviderOptions): ResolvedTokenProvider {
  const provider: ResolvedTokenProvider = {
    async getToken() {
      const hit = tokenCache.get(key)
      if (hit && Date.now() - hit.at < ttlMs) return hit.token
      const token = fetch()
      tokenCache.set(key, {at: Date.now(), token})
      try {
        return await token
      } catch (error: unknown) {
        if (tokenCache.get(key)?.token === token) tokenCache.delete(key)
        throw error
      }
    },
    // After a 401: forget the cached token and fetch a new one (the next getToken() returns it too).
    async refresh() {
      tokenCache.delete(key)
      return provider.getToken()
    },
    source,
  }
  return quotaProject ? {...provider, quotaProject} : provider
}

async function gcloudLoginToken(env: NodeJS.ProcessEnv, detail: string): Promise<string> {
  const args = ['auth', 'print-access-token']
  // The child gets our environment (CLOUDSDK_CONFIG, CLOUDSDK_ACTIVE_CONFIG_NAME, ...), never prompting.
  const result = await captureGcloud({args, env: {...env, CLOUDSDK_CORE_DISABLE_PROMPTS: '1'}, timeoutMs: 60_000})
  if (result.exitCode !== 0) {
    const stderr = redactSecrets(result.stderr.trim()).split('\n').slice(-5).join('\n').slice(-1500)
    throw new UserError(
      `\`gcloud auth print-access-token\` failed (exit ${result.exitCode}) for ${detail}` + (stderr ? `:\n${stderr}` : '.'),
      {
        code: 'GCLOUD_AUTH_FAILED',
        suggestions: ['Sign in again: `gcloud auth login`', 'Or set up Application Default Credentials: `gcloud auth application-default login`'],
      },
    )
  }

  const lines = result.stdout.split(/\r?\n/).map(l => l.trim()).filter(l => l !== '')
  if (lines.length !== 1) {
    throw new UserError(`\`gcloud auth print-access-token\` printed ${lines.length === 0 ? 'nothing' : 'more than one line'} for ${detail}.`, {
      code: 'GCLOUD_AUTH_FAILED',
      suggestions: ['Sign in again: `gcloud auth login`'],
    })
  }

  return validateToken(lines[0]!, '`gcloud auth print-access-token` output')
}

/**
 * Chooses where access tokens come from (no process, no network, no heavy import while choosing) and
 * returns a provider that fetches lazily and caches per process. Throws UserError NO_CREDENTIALS when
 * there is nothing to use.
 */
export async function resolveTokenProvider(
  env: NodeJS.ProcessEnv,
  config: GcloudConfig,
  options: ResolveTokenOptions = {},
): Promise<ResolvedTokenProvider> {
  // 1. An access token file, exactly like gcloud (env var over the config property).
  if (env.CLOUDSDK_AUTH_ACCESS_TOKEN_FILE) {
    return tokenFileProvider(env.CLOUDSDK_AUTH_ACCESS_TOKEN_FILE, 'CLOUDSDK_AUTH_ACCESS_TOKEN_FILE', 'Or unset CLOUDSDK_AUTH_ACCESS_TOKEN_FILE')
  }

  if (config.accessTokenFile) {
    return tokenFileProvider(
      config.accessTokenFile,
      `auth/access_token_file in gcloud configuration '${config.activeConfig}'`,
      'Or remove the setting: `gcloud config unset auth/access_token_file`',
    )
  }

  const projectId = options.projectId || env.CLOUDSDK_CORE_PROJECT || config.project
  const metadataLikely = metadataServerLikely(env, options.dmiProductNameFile)

  // 2. Application Default Credentials.
  const gac = env.GOOGLE_APPLICATION_CREDENTIALS
  const wellKnown = join(config.configDir, 'application_default_credentials.json')
  let adcFile: undefined | {file: string; origin: string}
  if (gac) {
    const file = resolve(gac)
    if (!isFile(file)) {
      throw new UserError(`GOOGLE_APPLICATION_CREDENTIALS names ${file}, which does not exist or is not a file.`, {
        code: 'ADC_FILE_MISSING',
        suggestions: ['Fix or unset GOOGLE_APPLICATION_CREDENTIALS', 'Or create credentials: `gcloud auth application-default login`'],
      })
    }

    adcFile = {file, origin: 'GOOGLE_APPLICATION_CREDENTIALS'}
  } else if (isFile(wellKnown)) {
    adcFile = {file: wellKnown, origin: 'gcloud auth application-default login'}
  }

  if (adcFile) {
    const info = readAdcFile(adcFile.file, adcFile.origin)
    const what = info.clientEmail ?? info.type ?? 'credentials'
    const detail = `${adcFile.origin}: ${what} (${adcFile.file})`
    const target: AdcTarget = {file: adcFile.file, kind: 'file'}
    return cachedProvider({
      fetch: async () => adcToken(target, projectId, metadataLikely, detail),
      key: `adc|${adcFile.file}|${projectId ?? ''}`,
      quotaProject: info.quotaProject,
      source: {detail, kind: 'adc'},
      ttlMs: GCLOUD_TOKEN_TTL_MS,
    })
  }

  // 3. gcloud login (an account in the configuration, or gcloud's credential store exists).
  const account = env.CLOUDSDK_CORE_ACCOUNT || config.account
  if (account || exists(join(config.configDir, 'credentials.db'))) {
    const detail = account
      ? `gcloud account ${account} (configuration '${config.activeConfig}')`
      : `gcloud credentials in ${config.configDir} (configuration '${config.activeConfig}')`
    return cachedProvider({
      fetch: async () => gcloudLoginToken(env, detail),
      key: `gcloud|${config.configDir}|${config.activeConfig}|${account ?? ''}|${env.BINAUTHZ_GCLOUD ?? ''}`,
      source: {detail, kind: 'gcloud-login'},
      ttlMs: GCLOUD_TOKEN_TTL_MS,
    })
  }

  // 2b. A metadata server (GCE, Cloud Run, Cloud Build) when there is no local credential at all.
  if (metadataLikely) {
    const detail = 'metadata server (attached service account)'
    return cachedProvider({
      fetch: async () => adcToken({kind: 'metadata'}, projectId, true, detail),
      key: 'adc|metadata',
      source: {detail, kind: 'adc'},
      ttlMs: GCLOUD_TOKEN_TTL_MS,
    })
  }

  throw new UserError(
    'No Google Cloud credentials found: no access token file, no Application Default Credentials '
    + `(GOOGLE_APPLICATION_CREDENTIALS or ${wellKnown}), and no gcloud login in ${config.configDir}.`,
    {code: 'NO_CREDENTIALS', suggestions: SUGGEST_LOGIN},
  )
}
