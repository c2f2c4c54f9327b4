// Where Binary Authorization API requests go. Mirrors gcloud's `api_endpoint_overrides/binaryauthorization`
// (an absolute URI ending with '/', to which `v1/projects/P/policy` is appended), but stricter about http:
// a bearer token only ever travels over https, or over plain http to this machine (a local stand-in), so a
// stray environment variable cannot send credentials to another host.

import {UserError} from '../errors.js'

export const DEFAULT_BINAUTHZ_ENDPOINT = 'https://binaryauthorization.googleapis.com/'

export const ENDPOINT_ENV = 'CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION'
export const ENDPOINT_PROPERTY = 'api_endpoint_overrides/binaryauthorization'

/** True for localhost, 127.0.0.0/8 and ::1 (as `URL.hostname` spells them). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase()
  if (host === 'localhost' || host === '[::1]' || host === '::1') return true
  const octets = host.split('.')
  return octets.length === 4 && octets[0] === '127' && octets.every(o => /^\d{1,3}$/.test(o) && Number(o) <= 255)
}

/** The value as it may be echoed back: user-info (which could hold a password) masked. */
function printable(value: string): string {
  return value.replace(/^([a-z][\w+.-]*:\/\/)[^/@]*@/i, '$1***@')
}

function fixFor(source: string, example: string): string[] {
  const isEnv = /^[A-Z][A-Z0-9_]*$/.test(source)
  if (isEnv) return [`export ${source}=${example}`, `unset ${source}`]
  if (source.includes(ENDPOINT_PROPERTY) || source.includes('gcloud')) {
    return [`gcloud config set ${ENDPOINT_PROPERTY} ${example}`, `gcloud config unset ${ENDPOINT_PROPERTY}`]
  }

  return [`Set ${source} to ${example}, or remove it to use ${DEFAULT_BINAUTHZ_ENDPOINT}`]
}

/** Which API an endpoint override is for: its default base URL and its name in messages. */
export interface EndpointApi {
  defaultUrl: string
  name: string
}

const BINAUTHZ_API: EndpointApi = {defaultUrl: DEFAULT_BINAUTHZ_ENDPOINT, name: 'Binary Authorization'}

/**
 * Returns the API base URL: `override` when given (validated), else {@link DEFAULT_BINAUTHZ_ENDPOINT}.
 * `source` names where the override came from (an env var name or e.g. "gcloud config api_endpoint_overrides/binaryauthorization")
 * and appears in the error. An empty or blank override counts as unset, like an empty gcloud property.
 */
export function resolveBinauthzEndpoint(
  override: string | undefined,
  source: string,
  api: EndpointApi = BINAUTHZ_API,
): URL {
  if (override === undefined || override.trim() === '') return new URL(api.defaultUrl)
  const value = override.trim()
  const shown = printable(value)
  const fail = (why: string, example = api.defaultUrl): never => {
    throw new UserError(
      `${source} is set to "${shown}", which is not a usable ${api.name} endpoint: ${why}. `
      + 'It must be an absolute URI beginning with https:// (or http:// to a loopback address such as 127.0.0.1) and ending with \'/\'.',
      {code: 'INVALID_ENDPOINT', suggestions: fixFor(source, example)},
    )
  }

  // WHATWG URL parsing silently deletes tabs and line breaks, so "http://127.0.0.1:1/\nhttp://evil.example/" would be
  // taken as a (different) URL than the one shown; refuse any whitespace or control character instead.
  if (/\s/.test(value) || [...value].some(c => c < ' ' || c === '\u007F')) {
    return fail('it contains whitespace or control characters')
  }

  let url: URL
  try {
    url = new URL(value)
  } catch {
    return fail('it is not an absolute URI')
  }

  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return fail(`the scheme "${url.protocol.replace(/:$/, '')}" is not supported`)
  }

  // Require the '//' authority form: 'https:host/' parses, but is not what gcloud accepts.
  if (!/^https?:\/\//i.test(value)) return fail('it does not start with http:// or https://')
  if (url.username !== '' || url.password !== '') return fail('it contains user credentials')
  if (url.search !== '' || url.hash !== '' || /[?#]/.test(value)) return fail('it has a query or fragment')
  if (!value.endsWith('/')) {
    const withSlash = `${printable(value)}/`
    return fail("it does not end with '/'", withSlash)
  }

  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    return fail(
      `plain http:// is only allowed to a loopback address, not "${url.hostname}" (the access token would travel unencrypted)`,
      `https://${url.host}${url.pathname}`,
    )
  }

  return url
}

/** An API whose endpoint gcloud lets the user override (CLOUDSDK_API_ENDPOINT_OVERRIDES_<API>, api_endpoint_overrides/<api>). */
export interface OverridableApi extends EndpointApi {
  /** The lower-case API name of the property and (upper-cased) of the variable, e.g. "run". */
  key: string
}

/** core/properties.py core/universe_domain's default: the domain of every default endpoint. */
export const DEFAULT_UNIVERSE_DOMAIN = 'googleapis.com'
/** A DNS name: what may replace googleapis.com in an endpoint. */
const DOMAIN_NAME = /^(?=.{1,253}$)([a-z\d]([a-z\d-]{0,61}[a-z\d])?\.)+[a-z]{2,63}$/

/**
 * core/universe_domain (CLOUDSDK_CORE_UNIVERSE_DOMAIN > the configuration's value > googleapis.com). Default endpoints
 * move to that domain (api_lib/util/apis_internal.py UniversifyAddress, applied to the base URL but not to an override).
 */
export function universeDomainFrom(env: NodeJS.ProcessEnv, configValue: string | undefined): string {
  const [value, source] = env.CLOUDSDK_CORE_UNIVERSE_DOMAIN !== undefined && env.CLOUDSDK_CORE_UNIVERSE_DOMAIN !== ''
    ? [env.CLOUDSDK_CORE_UNIVERSE_DOMAIN, 'CLOUDSDK_CORE_UNIVERSE_DOMAIN']
    : [configValue, 'core/universe_domain in the gcloud configuration']
  if (value === undefined || value === '') return DEFAULT_UNIVERSE_DOMAIN
  if (!DOMAIN_NAME.test(value)) {
    throw new UserError(`${source} is "${value.slice(0, 80)}", which is not a domain name (e.g. ${DEFAULT_UNIVERSE_DOMAIN}).`, {
      code: 'INVALID_ENDPOINT',
      suggestions: source.startsWith('CLOUDSDK') ? [`unset ${source}`] : ['gcloud config unset core/universe_domain'],
    })
  }

  return value
}

/**
 * An API's base URL: the environment, else gcloud's config file value, else the default moved to the universe domain
 * (gcloud's precedence, core/properties.py; apis_internal.py _GetEffectiveApiEndpoint), by one rule for every API
 * (https, or http to loopback only; see resolveBinauthzEndpoint).
 */
export function apiEndpointFrom(env: NodeJS.ProcessEnv, api: OverridableApi, configValue: string | undefined, universeDomain = DEFAULT_UNIVERSE_DOMAIN): URL {
  const variable = `CLOUDSDK_API_ENDPOINT_OVERRIDES_${api.key.toUpperCase()}`
  const fromEnv = env[variable]
  const inUniverse = universeDomain === DEFAULT_UNIVERSE_DOMAIN ? api : {...api, defaultUrl: api.defaultUrl.replace(DEFAULT_UNIVERSE_DOMAIN, universeDomain)}
  if (fromEnv !== undefined && fromEnv.trim() !== '') return resolveBinauthzEndpoint(fromEnv, variable, inUniverse)
  return resolveBinauthzEndpoint(configValue, `gcloud config api_endpoint_overrides/${api.key}`, inUniverse)
}

/** The Binary Authorization endpoint; `configValue` is `GcloudConfig.binauthzEndpoint`. */
export function binauthzEndpointFrom(env: NodeJS.ProcessEnv, configValue: string | undefined, universeDomain?: string): URL {
  return apiEndpointFrom(env, {...BINAUTHZ_API, key: 'binaryauthorization'}, configValue, universeDomain)
}

export const DEFAULT_IAMCREDENTIALS_ENDPOINT = 'https://iamcredentials.googleapis.com/'
export const IAMCREDENTIALS_ENDPOINT_ENV = 'CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS'

/** IAM Credentials' base URL, by the same rule (env > api_endpoint_overrides/iamcredentials > default). */
export function iamcredentialsEndpointFrom(env: NodeJS.ProcessEnv, configValue: string | undefined, universeDomain?: string): URL {
  return apiEndpointFrom(env, {defaultUrl: DEFAULT_IAMCREDENTIALS_ENDPOINT, key: 'iamcredentials', name: 'IAM Credentials'}, configValue, universeDomain)
}

/** The Cloud Run Admin API (gcloud derives the regional endpoint from it) and the Cloud Functions v2 API. */
export const RUN_API: OverridableApi = {defaultUrl: 'https://run.googleapis.com/', key: 'run', name: 'Cloud Run Admin'}
export const FUNCTIONS_API: OverridableApi = {defaultUrl: 'https://cloudfunctions.googleapis.com/', key: 'cloudfunctions', name: 'Cloud Functions'}

/** core/properties.py _SectionAuth DEFAULT_TOKEN_HOST: where gcloud exchanges service-account assertions and refreshes. */
export const DEFAULT_TOKEN_HOST = 'https://oauth2.googleapis.com/token'

/**
 * auth/token_host (CLOUDSDK_AUTH_TOKEN_HOST > the configuration > https://oauth2.googleapis.com/token): the OAuth token
 * endpoint gcloud sends a credential file's service-account assertion or user refresh to (store.py
 * _LoadFromFileOverride sets the credential's _token_uri from it; the key file's own token_uri is not used). The
 * value is hostile input like any endpoint: https, or http to loopback only (the assertion or refresh token would
 * travel in clear), no user-info, query or fragment.
 */
export function tokenEndpointFrom(env: NodeJS.ProcessEnv, configValue: string | undefined): {origin: string; url: URL} {
  const fromEnv = env.CLOUDSDK_AUTH_TOKEN_HOST?.trim()
  const [value, origin] = fromEnv
    ? [fromEnv, 'CLOUDSDK_AUTH_TOKEN_HOST']
    : (configValue?.trim() ? [configValue.trim(), 'auth/token_host in the gcloud configuration'] : [DEFAULT_TOKEN_HOST, 'the default token endpoint'])
  const fail = (why: string): never => {
    throw new UserError(`${origin} is "${printable(value).slice(0, 200)}", which is not a usable token endpoint: ${why}.`, {
      code: 'INVALID_ENDPOINT',
      suggestions: origin.startsWith('CLOUDSDK')
        ? [`export ${origin}=${DEFAULT_TOKEN_HOST}`, `unset ${origin}`]
        : [`gcloud config set auth/token_host ${DEFAULT_TOKEN_HOST}`, 'gcloud config unset auth/token_host'],
    })
  }

  if (/\s/.test(value) || [...value].some(c => c < ' ' || c === '\u007F')) return fail('it contains whitespace or control characters')
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return fail('it is not an absolute URI')
  }

  if (!/^https?:\/\//i.test(value)) return fail('it does not start with https:// (or http:// to a loopback address)')
  if (url.username !== '' || url.password !== '') return fail('it contains user credentials')
  if (url.search !== '' || url.hash !== '' || /[?#]/.test(value)) return fail('it has a query or fragment')
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    return fail(`plain http:// is only allowed to a loopback address, not "${url.hostname}" (the credential would travel unencrypted)`)
  }

  return {origin, url}
}
