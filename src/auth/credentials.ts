// Access tokens for binauthz's own API calls, resolved so that they act as exactly the principal the deploying gcloud
// acts as. gcloud 528's order (lib/googlecloudsdk/core/credentials/store.py `_Load`, `GetCredentialInfo`, `Load`):
//   1. env CLOUDSDK_AUTH_ACCESS_TOKEN (store.py ACCESS_TOKEN_ENV_VAR_NAME; `_LoadAccessTokenCredsFromValue`, stripped);
//   2. auth/access_token_file (`--access-token-file` > CLOUDSDK_AUTH_ACCESS_TOKEN_FILE > configuration;
//      `_LoadAccessTokenCredsFromFile`, content stripped);
//   3. auth/credential_file_override (CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE > configuration; `_LoadFromFileOverride`:
//      google.auth `load_credentials_from_file`, i.e. service-account keys, authorized_user, external_account...);
//      a service-account key's JWT and an authorized_user's refresh go to auth/token_host (the file's token_uri is
//      replaced by it: store.py `_LoadFromFileOverride`), exchanged here with node:crypto and one request
//      (service-account-key.ts, google/oauth-token.ts); other types through google-auth-library;
//   4. the active account of the active configuration (`--account` > CLOUDSDK_CORE_ACCOUNT > core/account of the
//      configuration chosen by `--configuration` > CLOUDSDK_ACTIVE_CONFIG_NAME > <config>/active_config), from gcloud's
//      credential store — here through ONE `gcloud auth print-access-token` with the same environment;
//      without an account, on Google hardware, the metadata server's default service account (store.py
//      GceCredentialProvider.GetAccount: core/account falls back to it).
//   gcloud never reads Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, application_default_credentials.json)
//   for its own calls, so neither does binauthz: its calls would act as someone else than the deploy.
// On top of any of these, auth/impersonate_service_account (`--impersonate-service-account` >
// CLOUDSDK_AUTH_IMPERSONATE_SERVICE_ACCOUNT > configuration; `SA` or `DELEGATE,...,SA`, store.py
// ParseImpersonationAccounts) makes every call act as the service account (store.py `Load` → IAM Credentials
// generateAccessToken, src/google/iam-credentials.ts, endpoint api_endpoint_overrides/iamcredentials).
// auth/disable_credentials makes gcloud call without any credential (store.py GetCredentialInfo / GetAccessTokenIfEnabled
// return nothing), while `gcloud auth print-access-token` still prints the account's token (store.py Load ignores
// the property): binauthz refuses rather than act as someone the deploy does not (CREDENTIALS_DISABLED).
// Callers apply passthrough flags (`--account`, `--configuration`, ...) as the equivalent CLOUDSDK_* variables first
// (flags beat environment beat files in gcloud, core/properties.py `_GetPropertyWithoutCallback`).
// Deciding costs only a few sync stat/read calls: no process, no network, no heavy import.

import {statSync} from 'node:fs'
import {resolve, sep} from 'node:path'

import type {TokenProvider} from './token-provider.js'

import {
  ExternalError, redactSecrets, registerSecret, UserError,
} from '../errors.js'
import {captureGcloud} from '../gcloud/runner.js'
import {
  DEFAULT_UNIVERSE_DOMAIN, iamcredentialsEndpointFrom, tokenEndpointFrom, universeDomainFrom,
} from '../google/endpoint.js'
import {generateAccessToken} from '../google/iam-credentials.js'
import {resolveNetwork} from '../google/network.js'
import {exchangeGrant, JWT_BEARER_GRANT} from '../google/oauth-token.js'
import {serverText} from '../policy/display.js'
import {parseJsonObject} from '../policy/json-text.js'
import {readRegularFileText} from '../store/regular-file.js'
import {type GcloudConfig, propertyOrigin} from './gcloud-config.js'
import {parseServiceAccountKey, signAssertion} from './service-account-key.js'

export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform'
/** Longest access token we accept from a file or from gcloud (real ones are a few hundred to ~2k chars). */
export const MAX_TOKEN_LENGTH = 8192
/** Credential files are a few KiB (a service-account key is ~2.3 KiB). */
const MAX_CREDENTIAL_FILE_BYTES = 1024 * 1024
const DMI_PRODUCT_NAME_FILE = '/sys/class/dmi/id/product_name'
/** Re-fetch a gcloud-issued token after this long (they live for up to an hour). */
const GCLOUD_TOKEN_TTL_MS = 45 * 60 * 1000

/** Where binauthz's token comes from, in gcloud's order (see the top of this file). */
export type CredentialKind = 'access-token-env' | 'access-token-file' | 'credential-file' | 'gcloud-account' | 'metadata-server'

export interface CredentialSource {
  /** Where the credential comes from, for humans; never a secret. */
  detail: string
  /** Set when auth/impersonate_service_account applies: every call acts as `target` (through `delegates`). */
  impersonation?: {delegates: string[]; target: string}
  /** gcloud's idea of a user credential (core/credentials/creds.py IsUserAccountCredentials): decides the quota project. */
  isUser: boolean
  kind: CredentialKind
  /** Who the calls act as (the impersonated service account, the account, the key's client_email); absent for a bare token. */
  principal?: string
}

export interface ResolvedTokenProvider extends TokenProvider {
  /** Quota project named by the credential file itself (`quota_project_id`), if any. */
  readonly quotaProject?: string
  /** Where `quotaProject` came from, for messages (the file's quota_project_id, or GOOGLE_CLOUD_QUOTA_PROJECT). */
  readonly quotaProjectOrigin?: string
  readonly source: CredentialSource
}

export interface ResolveTokenOptions {
  /** Tests: file whose content reveals Google hardware (default /sys/class/dmi/id/product_name). */
  dmiProductNameFile?: string
  /** The project being worked on (e.g. from --project), passed to google-auth-library so it never looks one up. */
  projectId?: string
  /** The run's interrupt (IAM Credentials calls). */
  signal?: AbortSignal
}

/**
 * The exact commands that give gcloud (and so binauthz) a credential, for the configuration in use. Never
 * `gcloud auth application-default login`: neither gcloud's own calls nor binauthz read Application Default Credentials
 * (store.py _Load), so it would not help — said outright when ADC is configured, the likeliest mix-up.
 */
export function signInSuggestions(env: NodeJS.ProcessEnv, config: Pick<GcloudConfig, 'activeConfig'>, account?: string): string[] {
  const configuration = config.activeConfig === 'default' || nonEmpty(env.CLOUDSDK_ACTIVE_CONFIG_NAME) !== undefined ? [] : [`--configuration=${config.activeConfig}`]
  const serviceAccount = account !== undefined && /\.gserviceaccount\.com$/i.test(account)
  const login = serviceAccount
    ? ['gcloud', 'auth', 'activate-service-account', account, '--key-file=KEY_FILE.json', ...configuration]
    : ['gcloud', 'auth', 'login', ...(account === undefined ? [] : [account]), ...configuration]
  const suggestions = [`Sign in: ${login.join(' ')}`]
  if (account === undefined) suggestions.push('Or select an account gcloud already has: gcloud config set account ACCOUNT (see gcloud auth list)')
  suggestions.push('Or point CLOUDSDK_AUTH_ACCESS_TOKEN_FILE at a file holding an access token')
  if (nonEmpty(env.GOOGLE_APPLICATION_CREDENTIALS) !== undefined) {
    suggestions.push('GOOGLE_APPLICATION_CREDENTIALS is set, but gcloud deploys do not use Application Default Credentials, so binauthz does not either: `gcloud auth application-default login` would not help.')
  }

  return suggestions
}

/** gcloud's words for "this account has no usable credential" (store.py NoCredentialsForAccountException, refresh errors). */
const NO_VALID_CREDENTIALS = /does not have any valid credentials|Please run:\s+\$ gcloud auth login|There was a problem refreshing your current auth tokens|Reauthentication (?:failed|required)|invalid_grant/i

/** What to do about a token source that holds no token. */
const TOKEN_HINTS = [
  'Write a token there: gcloud auth print-access-token > FILE (or unset it and sign in: gcloud auth login)',
]

/** Checks a token's shape; returns the trimmed token or throws a UserError naming `origin` (never the token). */
export function validateToken(raw: string, origin: string): string {
  const token = raw.trim()
  if (token === '') {
    throw new UserError(`${origin} holds no access token (it is empty).`, {code: 'INVALID_ACCESS_TOKEN', suggestions: TOKEN_HINTS})
  }

  if (token.length > MAX_TOKEN_LENGTH) {
    throw new UserError(`${origin} does not hold an access token: its content is longer than ${MAX_TOKEN_LENGTH} characters.`, {
      code: 'INVALID_ACCESS_TOKEN',
      suggestions: TOKEN_HINTS,
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

/** Cheap evidence that a Google metadata server is reachable (GCE, Cloud Run, Cloud Build, GKE ...). */
export function metadataServerLikely(env: NodeJS.ProcessEnv, dmiProductNameFile = DMI_PRODUCT_NAME_FILE): boolean {
  const detection = env.METADATA_SERVER_DETECTION?.trim().toLowerCase()
  if (detection === 'none') return false
  if (detection === 'assume-present') return true
  if (env.GCE_METADATA_HOST || env.GCE_METADATA_IP) return true
  // Serverless runtimes (Cloud Run services/jobs, Cloud Functions) document these variables.
  if (env.K_SERVICE || env.K_CONFIGURATION || env.CLOUD_RUN_JOB || env.FUNCTION_TARGET) return true
  try {
    const product = readRegularFileText(dmiProductNameFile, {maxBytes: 4096, what: 'DMI product name'})
    return product !== undefined && /Google/.test(product)
  } catch {
    return false // not a regular file (sysfs always is): no evidence
  }
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

  const content = readRegularFileText(path, {maxBytes: (MAX_TOKEN_LENGTH * 2) + 2, what: `The access token file (from ${origin})`})
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
    source: {detail: described, isUser: false, kind: 'access-token-file'},
  }
}

/** What binauthz needs to know of a credential file (never its secrets). */
interface CredentialFileInfo {
  clientEmail?: string
  /** The service account of `service_account_impersonation_url` (external_account, impersonated_service_account). */
  impersonatedEmail?: string
  quotaProject?: string
  type?: string
  workforcePoolUserProject?: string
}

function readCredentialFile(file: string, origin: string): CredentialFileInfo {
  return readCredentialJson(file, origin).info
}

/** The file's non-secret facts, and its JSON (kept in memory only, for the grants binauthz makes itself). */
function readCredentialJson(file: string, origin: string): {info: CredentialFileInfo; json: Record<string, unknown>} {
  const text = readRegularFileText(file, {maxBytes: MAX_CREDENTIAL_FILE_BYTES, what: `The credential file (from ${origin})`})
  if (text === undefined) {
    throw new UserError(`Cannot read the credential file ${file} (from ${origin}).`, {
      code: 'CREDENTIAL_FILE_UNREADABLE',
      suggestions: [`Check its permissions: \`ls -l ${file}\``, `Or unset ${origin}`],
    })
  }

  const json = parseJsonObject(text)
  if (json === undefined) {
    throw new UserError(`The credential file ${file} (from ${origin}) is not a JSON object.`, {
      code: 'CREDENTIAL_FILE_INVALID',
      suggestions: [`Fix the file, or unset ${origin}`],
    })
  }

  const record = json
  const str = (key: string): string | undefined => {
    const v = record[key]
    return typeof v === 'string' && v.length > 0 && v.length < 2048 ? v : undefined
  }

  const info: CredentialFileInfo = {}
  const type = str('type')
  if (type) info.type = type
  const quota = str('quota_project_id')
  if (quota) info.quotaProject = quota
  const email = str('client_email')
  if (email) info.clientEmail = email
  const workforce = str('workforce_pool_user_project')
  if (workforce) info.workforcePoolUserProject = workforce
  const impersonation = /serviceAccounts\/([^/:]+):generateAccessToken/.exec(str('service_account_impersonation_url') ?? '')
  if (impersonation) info.impersonatedEmail = decodeURIComponent(impersonation[1]!)
  return {info, json: record}
}

/**
 * Whether gcloud counts a credential file's credential as a user's (core/credentials/creds.py
 * CredentialTypeGoogleAuth is_user: USER_ACCOUNT, EXTERNAL_ACCOUNT_USER — a workforce pool without impersonation —,
 * EXTERNAL_ACCOUNT_AUTHORIZED_USER; service accounts, impersonated and workload identity credentials are not).
 */
export function credentialFileIsUser(info: {impersonatedEmail?: string; type?: string; workforcePoolUserProject?: string}): boolean {
  if (info.type === 'authorized_user' || info.type === 'external_account_authorized_user') return true
  return info.type === 'external_account' && info.impersonatedEmail === undefined && info.workforcePoolUserProject !== undefined
}

/**
 * Whether gcloud's stored credential for `account` is a user's (creds.py IsUserAccountCredentials): gcloud writes the
 * JSON of every credential it stores to legacy_credentials/ACCOUNT/adc.json (store.py Store → _LegacyGenerator
 * WriteTemplate), whose `type` decides it as for a credential file. Without that file, a service account's email
 * (….gserviceaccount.com, as `gcloud auth activate-service-account` names it) is the sign.
 */
export function storedAccountIsUser(configDir: string, account: string): boolean {
  // config.py LegacyCredentialsDir joins the account as it is (a principal:// account makes nested folders); one that
  // would climb out of the folder is never read.
  const folder = resolve(configDir, 'legacy_credentials')
  const file = resolve(folder, account, 'adc.json')
  if (file.startsWith(`${folder}${sep}`)) {
    try {
      const info = readCredentialFile(file, 'gcloud\'s legacy credentials')
      if (info.type !== undefined) return credentialFileIsUser(info)
    } catch {
      // unreadable or not JSON: decide by the name
    }
  }

  return !/\.gserviceaccount\.com$/i.test(account)
}

function libraryFailure(error: unknown, detail: string): Error {
  const text = serverText(error instanceof Error ? error.message : String(error), redactSecrets)
  const suggestions = [
    'Fix or replace the credential (gcloud itself would fail the same way)',
    'Or unset auth/credential_file_override (CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE) to use the active gcloud account',
  ]
  if (/invalid_grant|invalid_rapt|reauth|expired|revoked|invalid_client|unauthorized_client|Unable to read|ENOENT|JSON|private key/i.test(text)) {
    return new UserError(`${detail} could not produce an access token: ${text}`, {
      code: 'CREDENTIAL_REJECTED',
      suggestions,
    })
  }

  return new ExternalError(`${detail} could not produce an access token: ${text}`, {
    code: 'CREDENTIAL_FAILED',
    suggestions,
  })
}

/**
 * google-auth-library, loaded with its logging off. google-logging-utils (used by google-auth-library, gaxios and
 * gcp-metadata) turns on when GOOGLE_SDK_NODE_LOGGING is set and then logs requests and answers — the metadata
 * server's token among them. Each of those modules creates its logger once, when it is loaded
 * (logging-utils.js `log()` reads the variable then), so the variable is hidden from the process for the import only.
 */
async function importQuietly(): Promise<typeof import('google-auth-library')> {
  const logging = process.env.GOOGLE_SDK_NODE_LOGGING
  delete process.env.GOOGLE_SDK_NODE_LOGGING
  try {
    return await import('google-auth-library')
  } finally {
    if (logging !== undefined) process.env.GOOGLE_SDK_NODE_LOGGING = logging
  }
}

type LibraryTarget = {file: string; kind: 'file';} | {kind: 'metadata'}

async function libraryToken(target: LibraryTarget, projectId: string | undefined, metadataLikely: boolean, detail: string): Promise<string> {
  // Without cheap evidence of a metadata server, keep google-auth-library from probing it (a slow network timeout).
  const previous = process.env.METADATA_SERVER_DETECTION
  const guard = !metadataLikely && previous === undefined
  if (guard) process.env.METADATA_SERVER_DETECTION = 'none'
  try {
    const lib = await importQuietly()
    let token: null | string | undefined
    if (target.kind === 'file') {
      const auth = new lib.GoogleAuth({keyFilename: target.file, scopes: [CLOUD_PLATFORM_SCOPE], ...(projectId ? {projectId} : {})})
      token = await auth.getAccessToken()
    } else {
      const compute = new lib.Compute({scopes: [CLOUD_PLATFORM_SCOPE]})
      token = (await compute.getAccessToken()).token
    }

    if (!token) throw new Error('no access token was returned')
    return validateToken(token, detail)
  } catch (error: unknown) {
    if (error instanceof UserError) throw error
    throw libraryFailure(error, detail)
  } finally {
    if (guard && process.env.METADATA_SERVER_DETECTION === 'none') delete process.env.METADATA_SERVER_DETECTION
  }
}

interface CachedProviderOptions {
  fetch: () => Promise<string>
  quotaProject?: string | undefined
  quotaProjectOrigin?: string | undefined
  source: CredentialSource
  ttlMs: number
}

/** A provider that fetches once and shares the token (or the fetch in flight) until it is old or refused. */
function cachedProvider({
  fetch, quotaProject, quotaProjectOrigin, source, ttlMs,
}: CachedProviderOptions): ResolvedTokenProvider {
  // The run holds one provider (openClient), so one run spawns gcloud at most once: no process-wide cache.
  let cached: undefined | {at: number; token: Promise<string>}
  const provider: ResolvedTokenProvider = {
    async getToken() {
      if (cached && Date.now() - cached.at < ttlMs) return cached.token
      const token = fetch()
      cached = {at: Date.now(), token}
      try {
        return await token
      } catch (error: unknown) {
        if (cached?.token === token) cached = undefined
        throw error
      }
    },
    // After a 401: forget the cached token and fetch a new one (the next getToken() returns it too).
    async refresh() {
      cached = undefined
      return provider.getToken()
    },
    source,
  }
  return quotaProject ? {...provider, quotaProject, ...(quotaProjectOrigin ? {quotaProjectOrigin} : {})} : provider
}

/** The argv of the one gcloud child: flags equivalent to what the deploy's gcloud gets are in `env` already. */
export const PRINT_ACCESS_TOKEN_ARGS: readonly string[] = ['auth', 'print-access-token']

async function gcloudAccountToken(env: NodeJS.ProcessEnv, detail: string, account: string, signIn: Pick<GcloudConfig, 'activeConfig'>): Promise<string> {
  // The child gets our environment (CLOUDSDK_CONFIG, CLOUDSDK_ACTIVE_CONFIG_NAME, CLOUDSDK_CORE_ACCOUNT,
  // CLOUDSDK_AUTH_IMPERSONATE_SERVICE_ACCOUNT — the passthrough flags applied), never prompting. With impersonation
  // configured, print-access-token prints the impersonated token (surface/auth/print_access_token.py:
  // c_store.Load(allow_account_impersonation=True)).
  const result = await captureGcloud({args: [...PRINT_ACCESS_TOKEN_ARGS], env: {...env, CLOUDSDK_CORE_DISABLE_PROMPTS: '1'}, timeoutMs: 60_000})
  if (result.exitCode !== 0) {
    const stderr = redactSecrets(result.stderr.trim()).split('\n').slice(-5).join('\n').slice(-1500)
    if (NO_VALID_CREDENTIALS.test(result.stderr)) {
      throw new UserError(`gcloud has no valid credentials for ${detail}: it could not give binauthz an access token, and a deploy would fail the same way.`, {
        code: 'NO_CREDENTIALS',
        suggestions: signInSuggestions(env, signIn, account),
      })
    }

    throw new UserError(
      `\`gcloud auth print-access-token\` failed (exit ${result.exitCode}) for ${detail}` + (stderr ? `:\n${stderr}` : '.'),
      {
        code: 'GCLOUD_AUTH_FAILED',
        suggestions: ['Sign in again: `gcloud auth login`', 'Check the account gcloud uses: `gcloud auth list`'],
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

/** The identity settings gcloud reads, from the environment (passthrough flags applied) over the configuration file. */
export interface IdentitySettings {
  accessToken?: {origin: string; value: string}
  accessTokenFile?: {origin: string; unsetHint: string; value: string}
  account?: {origin: string; value: string}
  credentialFile?: {origin: string; value: string}
  impersonate?: {origin: string; value: string}
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim()
  return trimmed === undefined || trimmed === '' ? undefined : trimmed
}

/** PURE: reads each identity property the way core/properties.py resolves it (environment > configuration file). */
export function identitySettings(env: NodeJS.ProcessEnv, config: GcloudConfig): IdentitySettings {
  const out: IdentitySettings = {}
  const token = nonEmpty(env.CLOUDSDK_AUTH_ACCESS_TOKEN)
  if (token !== undefined) out.accessToken = {origin: 'CLOUDSDK_AUTH_ACCESS_TOKEN', value: token}
  const tokenFileEnv = nonEmpty(env.CLOUDSDK_AUTH_ACCESS_TOKEN_FILE)
  if (tokenFileEnv !== undefined) {
    out.accessTokenFile = {origin: 'CLOUDSDK_AUTH_ACCESS_TOKEN_FILE', unsetHint: 'Or unset CLOUDSDK_AUTH_ACCESS_TOKEN_FILE', value: tokenFileEnv}
  } else if (config.accessTokenFile !== undefined) {
    out.accessTokenFile = {
      origin: `auth/access_token_file in ${propertyOrigin(config, 'accessTokenFile')}`, unsetHint: 'Or remove the setting: `gcloud config unset auth/access_token_file`', value: config.accessTokenFile,
    }
  }

  const credentialFileEnv = nonEmpty(env.CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE)
  if (credentialFileEnv !== undefined) out.credentialFile = {origin: 'CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE', value: credentialFileEnv}
  else if (config.credentialFileOverride !== undefined) out.credentialFile = {origin: `auth/credential_file_override in ${propertyOrigin(config, 'credentialFileOverride')}`, value: config.credentialFileOverride}
  const accountEnv = nonEmpty(env.CLOUDSDK_CORE_ACCOUNT)
  if (accountEnv !== undefined) out.account = {origin: 'CLOUDSDK_CORE_ACCOUNT', value: accountEnv}
  else if (config.account !== undefined) out.account = {origin: `core/account in ${propertyOrigin(config, 'account')}`, value: config.account}
  const impersonateEnv = nonEmpty(env.CLOUDSDK_AUTH_IMPERSONATE_SERVICE_ACCOUNT)
  if (impersonateEnv !== undefined) out.impersonate = {origin: 'CLOUDSDK_AUTH_IMPERSONATE_SERVICE_ACCOUNT', value: impersonateEnv}
  else if (config.impersonateServiceAccount !== undefined) {
    out.impersonate = {origin: `auth/impersonate_service_account in ${propertyOrigin(config, 'impersonateServiceAccount')}`, value: config.impersonateServiceAccount}
  }

  return out
}

/** PURE: store.py ParseImpersonationAccounts — comma-separated, trimmed; the last is the target, the others delegates. */
export function parseImpersonation(value: string, origin: string): {delegates: string[]; target: string} {
  const ids = value.split(',').map(id => id.trim())
  const target = ids.at(-1) ?? ''
  if (ids.includes('') || !ids.every(id => /^[^\s/:@]+@[^\s/:@]+$|^\d{1,30}$/.test(id))) {
    throw new UserError(`${origin} is "${value.slice(0, 200)}", which is not a service account or a comma-separated delegation chain.`, {
      code: 'INVALID_IMPERSONATION',
      suggestions: ['Write SA@PROJECT.iam.gserviceaccount.com, or DELEGATE@...,TARGET@... (the target last)'],
    })
  }

  return {delegates: ids.slice(0, -1), target}
}

/** core/properties.py _GetBoolProperty: these spellings are true, anything else false. */
function isTrue(value: string | undefined): boolean {
  return value !== undefined && ['1', 'on', 'true', 'y', 'yes'].includes(value.trim().toLowerCase())
}

function setting(env: NodeJS.ProcessEnv, variable: string, fromFile: string | undefined): string | undefined {
  return nonEmpty(env[variable]) ?? nonEmpty(fromFile)
}

/**
 * creds.py UseSelfSignedJwt: a service-account key signs its own JWT for each API (no token endpoint) when the key's
 * universe is not googleapis.com, the configured universe is not, or auth/service_account_use_self_signed_jwt is true.
 */
function usesSelfSignedJwt(env: NodeJS.ProcessEnv, config: GcloudConfig, keyUniverse: string): boolean {
  return keyUniverse !== DEFAULT_UNIVERSE_DOMAIN
    || universeDomainFrom(env, config.universeDomain) !== DEFAULT_UNIVERSE_DOMAIN
    || isTrue(setting(env, 'CLOUDSDK_AUTH_SERVICE_ACCOUNT_USE_SELF_SIGNED_JWT', config.serviceAccountUseSelfSignedJwt))
}

interface GrantContext {
  config: GcloudConfig
  detail: string
  env: NodeJS.ProcessEnv
  /** The file and where it was named, for messages. */
  origin: string
  signal?: AbortSignal | undefined
}

/**
 * The token fetch for the credential files binauthz exchanges itself, at auth/token_host as gcloud does
 * (store.py _LoadFromFileOverride: SERVICE_ACCOUNT → token_host; USER_ACCOUNT → auth_util.GetTokenUri(), the same
 * property): a service-account key's JWT-bearer grant and an authorized_user's refresh. Undefined for the other
 * types (external_account, impersonated_service_account ...) and a key that signs its own JWTs: google-auth-library.
 */
function ownGrant(json: Record<string, unknown>, info: CredentialFileInfo, context: GrantContext): (() => Promise<string>) | undefined {
  const {config, env} = context
  if (info.type === 'service_account') {
    const key = parseServiceAccountKey(json, context.origin)
    if (usesSelfSignedJwt(env, config, key.universeDomain)) return undefined
    const {url} = tokenEndpointFrom(env, config.tokenHost)
    const network = resolveNetwork(env, config, url)
    return async () => {
      const assertion = signAssertion(key, [CLOUD_PLATFORM_SCOPE], new Date())
      registerSecret(assertion)
      const token = await exchangeGrant({
        detail: context.detail, form: {assertion, grant_type: JWT_BEARER_GRANT}, network, url, ...(context.signal ? {signal: context.signal} : {}),
      })
      return validateToken(token, `The token endpoint's answer for ${context.detail}`)
    }
  }

  if (info.type === 'authorized_user') {
    const text = (name: string): string | undefined => (typeof json[name] === 'string' && json[name] !== '' ? json[name] : undefined)
    const [refreshToken, clientId, clientSecret] = [text('refresh_token'), text('client_id'), text('client_secret')]
    if (refreshToken === undefined || clientId === undefined || clientSecret === undefined) {
      throw new UserError(`The authorized_user credential ${context.origin} lacks its refresh_token, client_id or client_secret.`, {
        code: 'CREDENTIAL_FILE_INVALID',
        suggestions: ['Write it again: gcloud auth application-default login (then point the override at that file)', 'Or unset auth/credential_file_override'],
      })
    }

    registerSecret(refreshToken)
    registerSecret(clientSecret)
    const {url} = tokenEndpointFrom(env, config.tokenHost)
    const network = resolveNetwork(env, config, url)
    return async () => {
      const token = await exchangeGrant({
        detail: context.detail,
        form: {
          client_id: clientId, client_secret: clientSecret, grant_type: 'refresh_token', refresh_token: refreshToken,
        },
        network,
        url,
        ...(context.signal ? {signal: context.signal} : {}),
      })
      return validateToken(token, `The token endpoint's answer for ${context.detail}`)
    }
  }

  return undefined
}

/**
 * A credential file's own quota project, as google-auth gives it to gcloud (auth/_default.py
 * _load_credentials_from_info → _apply_quota_project_id → with_quota_project_from_environment: GOOGLE_CLOUD_QUOTA_PROJECT
 * replaces it when set). The file's quota_project_id is read for authorized_user, external_account and impersonated
 * files, not for a service-account key (oauth2/service_account.py _from_signer_and_info ignores it).
 */
function credentialFileQuota(env: NodeJS.ProcessEnv, info: CredentialFileInfo): {quotaProject?: string; quotaProjectOrigin?: string} {
  const fromEnv = nonEmpty(env.GOOGLE_CLOUD_QUOTA_PROJECT)
  if (fromEnv !== undefined) return {quotaProject: fromEnv, quotaProjectOrigin: 'GOOGLE_CLOUD_QUOTA_PROJECT (google-auth reads it for credential files)'}
  if (info.type === 'service_account' || info.quotaProject === undefined) return {}
  return {quotaProject: info.quotaProject, quotaProjectOrigin: 'quota_project_id of the credential file'}
}

/** The source credential before impersonation: a fetch, and what it is. */
interface SourceCredential {
  fetch: () => Promise<string>
  quotaProject?: string | undefined
  quotaProjectOrigin?: string | undefined
  /** Whether refresh() can produce a new token (not for a fixed token). */
  refreshable: boolean
  source: CredentialSource
}

function fixedToken(token: string, source: CredentialSource): SourceCredential {
  return {
    fetch: async () => token, refreshable: false, source,
  }
}

function sourceCredential(env: NodeJS.ProcessEnv, config: GcloudConfig, settings: IdentitySettings, options: ResolveTokenOptions): SourceCredential {
  // 1. store.py _Load: CLOUDSDK_AUTH_ACCESS_TOKEN.
  if (settings.accessToken) {
    const token = validateToken(settings.accessToken.value, 'CLOUDSDK_AUTH_ACCESS_TOKEN')
    return fixedToken(token, {detail: 'access token in CLOUDSDK_AUTH_ACCESS_TOKEN', isUser: false, kind: 'access-token-env'})
  }

  // 2. auth/access_token_file.
  if (settings.accessTokenFile) {
    const {origin, unsetHint, value} = settings.accessTokenFile
    const provider = tokenFileProvider(value, origin, unsetHint)
    return {
      fetch: async () => provider.getToken(), refreshable: false, source: provider.source,
    }
  }

  const projectId = options.projectId || env.CLOUDSDK_CORE_PROJECT || config.project
  const metadataLikely = metadataServerLikely(env, options.dmiProductNameFile)

  // 3. auth/credential_file_override: loaded by google-auth (service_account, authorized_user, external_account, ...).
  if (settings.credentialFile) {
    const {origin, value} = settings.credentialFile
    const file = resolve(value)
    if (!isFile(file)) {
      throw new UserError(`${origin} names ${file}, which does not exist or is not a file.`, {
        code: 'CREDENTIAL_FILE_MISSING',
        suggestions: [`Fix or unset ${origin}`],
      })
    }

    const {info, json} = readCredentialJson(file, origin)
    const principal = info.impersonatedEmail ?? info.clientEmail
    const detail = `credential file ${file} (${origin}; ${info.type ?? 'unknown type'}${principal ? `: ${principal}` : ''})`
    const own = ownGrant(json, info, {
      config, detail, env, origin: `${file} (${origin})`, signal: options.signal,
    })
    return {
      fetch: own ?? (async () => libraryToken({file, kind: 'file'}, projectId, metadataLikely, detail)),
      ...credentialFileQuota(env, info),
      refreshable: true,
      source: {
        detail, isUser: credentialFileIsUser(info), kind: 'credential-file', ...(principal ? {principal} : {}),
      },
    }
  }

  // 4. The active account, through gcloud's own credential store.
  if (settings.account) {
    const account = settings.account.value
    const detail = `gcloud account ${account} (${settings.account.origin})`
    return {
      fetch: async () => gcloudAccountToken(env, detail, account, config),
      refreshable: true,
      source: {
        detail, isUser: storedAccountIsUser(config.configDir, account), kind: 'gcloud-account', principal: account,
      },
    }
  }

  // 4b. No account: on Google hardware core/account is the metadata server's default account (GceCredentialProvider).
  if (metadataLikely) {
    const detail = 'metadata server (default service account)'
    return {
      fetch: async () => libraryToken({kind: 'metadata'}, projectId, true, detail),
      refreshable: true,
      source: {detail, isUser: false, kind: 'metadata-server'},
    }
  }

  throw new UserError(
    `No Google Cloud credentials: gcloud configuration '${config.activeConfig}' (in ${config.configDir}) has no active account, `
    + 'and no access token or credential file is set. gcloud could not deploy either '
    + '(binauthz does not use Application Default Credentials: gcloud does not).',
    {code: 'NO_CREDENTIALS', suggestions: signInSuggestions(env, config)},
  )
}

/**
 * auth/disable_credentials (CLOUDSDK_AUTH_DISABLE_CREDENTIALS > configuration): gcloud's deploy would send no
 * credential at all (core/credentials/transport.py: store.LoadIfEnabled returns None, so requests go out unauthenticated), so no
 * token binauthz could get acts as the deploy's principal. Refused before any request.
 */
function refuseDisabledCredentials(env: NodeJS.ProcessEnv, config: GcloudConfig): void {
  const fromEnv = nonEmpty(env.CLOUDSDK_AUTH_DISABLE_CREDENTIALS)
  const value = fromEnv ?? nonEmpty(config.disableCredentials)
  if (!isTrue(value)) return
  const origin = fromEnv === undefined ? `auth/disable_credentials in ${propertyOrigin(config, 'disableCredentials')}` : 'CLOUDSDK_AUTH_DISABLE_CREDENTIALS'
  throw new UserError(
    `${origin} is ${value}: gcloud would deploy without credentials (for a proxy that adds its own), so binauthz cannot read or write `
    + 'the Binary Authorization policy as the principal the deploy acts as. Nothing was read or changed.',
    {
      code: 'CREDENTIALS_DISABLED',
      suggestions: fromEnv === undefined
        ? [`gcloud config unset auth/disable_credentials${config.activeConfig === 'default' ? '' : ` --configuration=${config.activeConfig}`}`]
        : ['unset CLOUDSDK_AUTH_DISABLE_CREDENTIALS'],
    },
  )
}

/**
 * Chooses where access tokens come from (no process, no network, no heavy import while choosing) and
 * returns a provider that fetches lazily and caches per process. Throws UserError NO_CREDENTIALS when
 * gcloud itself would have no credential.
 */
export async function resolveTokenProvider(
  env: NodeJS.ProcessEnv,
  config: GcloudConfig,
  options: ResolveTokenOptions = {},
): Promise<ResolvedTokenProvider> {
  refuseDisabledCredentials(env, config)
  const settings = identitySettings(env, config)
  const impersonation = settings.impersonate ? parseImpersonation(settings.impersonate.value, settings.impersonate.origin) : undefined
  const base = sourceCredential(env, config, settings, options)

  // gcloud's print-access-token impersonates itself (the property is in the child's environment or configuration).
  if (impersonation === undefined || base.source.kind === 'gcloud-account') {
    const source: CredentialSource = impersonation === undefined
      ? base.source
      : {
        ...base.source,
        detail: `${base.source.detail}, impersonating ${[...impersonation.delegates, impersonation.target].join(' → ')}`,
        impersonation,
        isUser: false,
        principal: impersonation.target,
      }
    if (!base.refreshable) {
      return {
        getToken: base.fetch,
        source,
        ...(base.quotaProject ? {quotaProject: base.quotaProject} : {}),
        ...(base.quotaProjectOrigin ? {quotaProjectOrigin: base.quotaProjectOrigin} : {}),
      }
    }

    return cachedProvider({
      fetch: base.fetch, quotaProject: base.quotaProject, quotaProjectOrigin: base.quotaProjectOrigin, source, ttlMs: GCLOUD_TOKEN_TTL_MS,
    })
  }

  // store.py Load: impersonation on top of the source credential, through IAM Credentials generateAccessToken.
  const endpoint = iamcredentialsEndpointFrom(env, config.iamcredentialsEndpoint, universeDomainFrom(env, config.universeDomain))
  const chain = [...impersonation.delegates, impersonation.target].join(' → ')
  const source: CredentialSource = {
    detail: `${base.source.detail}, impersonating ${chain} (IAM Credentials ${endpoint.host})`,
    impersonation,
    // creds.py CredentialTypeGoogleAuth.IMPERSONATED_ACCOUNT: not a user credential.
    isUser: false,
    kind: base.source.kind,
    principal: impersonation.target,
  }
  return cachedProvider({
    async fetch() {
      const sourceToken = await base.fetch()
      const generated = await generateAccessToken({
        delegates: impersonation.delegates,
        endpoint,
        network: resolveNetwork(env, config, endpoint),
        scopes: [CLOUD_PLATFORM_SCOPE],
        sourceToken,
        target: impersonation.target,
        ...(options.signal === undefined ? {} : {signal: options.signal}),
      })
      return validateToken(generated.token, `IAM Credentials' token for ${impersonation.target}`)
    },
    // The impersonated credential carries no quota project of the source file (google.auth.impersonated_credentials).
    source,
    ttlMs: GCLOUD_TOKEN_TTL_MS,
  })
}
