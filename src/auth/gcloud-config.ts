// Reads gcloud's own configuration files (no gcloud process, sync, bounded reads).
// Mirrors googlecloudsdk/core/config.py + configurations/named_configs.py + properties_file.py (configparser).
// Returns FILE values only; environment overrides (CLOUDSDK_CORE_PROJECT, ...) are applied by the callers.

import {realpathSync, statSync} from 'node:fs'
import {homedir} from 'node:os'
import {
  dirname, isAbsolute, join, resolve,
} from 'node:path'

import type {NetworkProperties} from '../google/network.js'

import {UserError} from '../errors.js'
import {readRegularFileText} from '../store/regular-file.js'

export interface GcloudConfig extends NetworkProperties {
  accessTokenFile?: string
  account?: string
  activeConfig: string
  binauthzEndpoint?: string
  configDir: string
  /** auth/credential_file_override (hidden property): a credential file gcloud loads instead of the account. */
  credentialFileOverride?: string
  /** auth/disable_credentials: gcloud makes its calls without credentials (binauthz refuses: src/auth/credentials.ts). */
  disableCredentials?: string
  functionsEndpoint?: string
  functionsRegion?: string
  /** api_endpoint_overrides/iamcredentials. */
  iamcredentialsEndpoint?: string
  /** auth/impersonate_service_account: `SA` or `DELEGATE1,...,SA` (store.py ParseImpersonationAccounts). */
  impersonateServiceAccount?: string
  /** Set when some properties came from the SDK installation's properties file (the active configuration lacks them). */
  installation?: {fields: readonly string[]; file: string}
  project?: string
  quotaProject?: string
  /** billing/quota_project when it is one of gcloud's keywords (CURRENT_PROJECT, LEGACY, ...), not a project. */
  quotaProjectKeyword?: string
  /** api_endpoint_overrides/run and /cloudfunctions: where the existing service or function is read. */
  runEndpoint?: string
  runRegion?: string
  /** auth/service_account_use_self_signed_jwt: a key's self-signed JWT instead of the token endpoint (creds.py UseSelfSignedJwt). */
  serviceAccountUseSelfSignedJwt?: string
  /** auth/token_host: the OAuth token endpoint for credential files' keys and refreshes. */
  tokenHost?: string
  /** core/universe_domain (hidden property): the domain of Google's default endpoints. */
  universeDomain?: string
}

/** The GcloudConfig fields that hold a property's value. */
type PropertyField = Exclude<keyof GcloudConfig, 'activeConfig' | 'configDir' | 'installation' | 'quotaProjectKeyword'>

/** Where a property of `config` was set, for messages: the active configuration, or the installation's file. */
export function propertyOrigin(config: GcloudConfig, field: PropertyField): string {
  return config.installation?.fields.includes(field)
    ? `gcloud installation properties (${config.installation.file})`
    : `gcloud configuration '${config.activeConfig}'`
}

/** configparser-style sections: section -> (lower-cased key -> value). */
export type IniSections = Map<string, Map<string, string>>

/** gcloud's named configuration name rule (named_configs.py _VALID_CONFIG_NAME_REGEX). */
export const CONFIG_NAME_REGEX = /^[a-z][-a-z0-9]*$/
/** The reserved configuration that has no properties. */
const NONE_CONFIG = 'NONE'
/** Config files are tiny: one larger than this is refused (FILE_TOO_LARGE), never read. */
export const MAX_CONFIG_FILE_BYTES = 256 * 1024
const MAX_VALUE_LENGTH = 4096
/** Special values of billing/quota_project (core/properties.py _SectionBilling). */
/** Values of billing/quota_project that name no project (gcloud decides per request). */
export const QUOTA_PROJECT_KEYWORDS: ReadonlySet<string> = new Set(['CURRENT_PROJECT', 'CURRENT_PROJECT_WITH_FALLBACK', 'LEGACY'])

/** The gcloud config dir: $CLOUDSDK_CONFIG, else ~/.config/gcloud (HOME from `env` when set; %APPDATA%\\gcloud on Windows). */
export function gcloudConfigDir(env: NodeJS.ProcessEnv): string {
  const override = env.CLOUDSDK_CONFIG
  if (override) return resolve(override)
  if (process.platform === 'win32') {
    if (env.APPDATA) return join(env.APPDATA, 'gcloud')
    return join(env.SystemDrive ?? 'C:', '\\', 'gcloud')
  }

  return join(homeDir(env), '.config', 'gcloud')
}

/** HOME from the given environment (so tests can isolate it), else the OS's idea of it. */
export function homeDir(env: NodeJS.ProcessEnv): string {
  return env.HOME || homedir()
}

/**
 * An XDG base directory: `$VARIABLE` when it is an absolute path, else `~/fallback`. The XDG Base Directory spec
 * says a relative (or empty) value is invalid and must be ignored.
 */
export function xdgBaseDir(env: NodeJS.ProcessEnv, variable: 'XDG_CONFIG_HOME' | 'XDG_DATA_HOME', fallback: string): string {
  const value = env[variable]
  return value !== undefined && isAbsolute(value) ? value : join(homeDir(env), fallback)
}

/**
 * Parses INI text the way Python's configparser reads gcloud's properties files, leniently:
 * `[section]` headers, `key = value` or `key: value` (keys lower-cased, values trimmed), full-line
 * `#`/`;` comments, indented continuation lines appended with a newline. Malformed lines are skipped.
 */
export function parseIni(text: string): IniSections {
  const sections: IniSections = new Map()
  let current: Map<string, string> | undefined
  let lastKey: string | undefined
  for (const rawLine of text.split(/\r\n|\n|\r/)) {
    const line = rawLine.replace(/^\uFEFF/, '')
    const trimmed = line.trim()
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith(';')) {
      if (trimmed === '') lastKey = undefined
      continue
    }

    if (/^\s/.test(line) && current && lastKey !== undefined) {
      const previous = current.get(lastKey) ?? ''
      if (previous.length < MAX_VALUE_LENGTH) current.set(lastKey, previous === '' ? trimmed : `${previous}\n${trimmed}`)
      continue
    }

    const header = /^\[([^\]]+)\]\s*$/.exec(trimmed)
    if (header) {
      const name = header[1]!.trim()
      current = sections.get(name)
      if (!current) {
        current = new Map()
        sections.set(name, current)
      }

      lastKey = undefined
      continue
    }

    const separator = /[=:]/.exec(trimmed)
    if (!current || !separator || separator.index === 0) {
      lastKey = undefined
      continue
    }

    const key = trimmed.slice(0, separator.index).trim().toLowerCase()
    const value = trimmed.slice(separator.index + 1).trim()
    current.set(key, value)
    lastKey = key
  }

  return sections
}

/** Later sections' keys replace earlier ones' (an explicitly empty value included), as properties_file.py does. */
export function mergeIni(layers: readonly IniSections[]): IniSections {
  const merged: IniSections = new Map()
  for (const layer of layers) {
    for (const [name, keys] of layer) {
      const target = merged.get(name) ?? new Map<string, string>()
      for (const [key, v] of keys) target.set(key, v)
      merged.set(name, target)
    }
  }

  return merged
}

/** Where gcloud is installed, for its installation-wide properties file (optional: a run may not know). */
export interface GcloudInstallation {
  sdkRoot?: string
}

/** core/config.py Paths.CLOUDSDK_PROPERTIES_NAME, in the SDK root. */
const INSTALLATION_PROPERTIES = 'properties'
/** core/config.py Paths.CLOUDSDK_STATE_DIR: the directory that marks an SDK root. */
const SDK_STATE_DIR = '.install'

/**
 * The SDK root of the gcloud at `gcloudPath`, or undefined (a wrapper, a fake, an unreadable path). gcloud finds its
 * root as the first directory upwards, symlinks resolved, that holds `.install` (core/config.py Paths.sdk_root,
 * util/files.py FindDirectoryContaining); its launcher lives in <root>/bin, so walking up from it finds the same root.
 */
export function sdkRootOf(gcloudPath: string): string | undefined {
  let dir: string
  try {
    dir = dirname(realpathSync(gcloudPath))
  } catch {
    return undefined
  }

  for (let depth = 0; depth < 64; depth++) {
    try {
      if (statSync(join(dir, SDK_STATE_DIR)).isDirectory()) return dir
    } catch {
      // not here: look further up
    }

    const parent = dirname(dir)
    if (parent === dir) return undefined
    dir = parent
  }

  return undefined
}

function value(sections: IniSections, section: string, key: string): string | undefined {
  const raw = sections.get(section)?.get(key)
  if (raw === undefined) return undefined
  const trimmed = raw.trim()
  if (trimmed === '' || trimmed.length > MAX_VALUE_LENGTH) return undefined
  return trimmed
}

/** The active named configuration: CLOUDSDK_ACTIVE_CONFIG_NAME > <dir>/active_config > 'default'. */
export function activeConfigName(env: NodeJS.ProcessEnv, configDir = gcloudConfigDir(env)): string {
  const fromEnv = env.CLOUDSDK_ACTIVE_CONFIG_NAME
  if (fromEnv) {
    if (fromEnv === NONE_CONFIG || CONFIG_NAME_REGEX.test(fromEnv)) return fromEnv
    throw new UserError(
      `CLOUDSDK_ACTIVE_CONFIG_NAME="${fromEnv.slice(0, 80)}" is not a valid gcloud configuration name `
      + '(lowercase letters, digits and hyphens, starting with a letter).',
      {
        code: 'INVALID_GCLOUD_CONFIGURATION',
        suggestions: ['Unset CLOUDSDK_ACTIVE_CONFIG_NAME, or set it to a name from `gcloud config configurations list`'],
      },
    )
  }

  // gcloud ignores (and deletes) a corrupt active_config file; we ignore it.
  const fromFile = readRegularFileText(join(configDir, 'active_config'), {maxBytes: 1024, what: "gcloud's active_config file"})?.trim()
  if (fromFile && (fromFile === NONE_CONFIG || CONFIG_NAME_REGEX.test(fromFile))) return fromFile
  return 'default'
}

/**
 * Reads the explicitly set properties of gcloud's installation (when its SDK root is given) and of the active
 * configuration, the latter winning (sync, no spawn).
 * Missing or unreadable files yield an empty configuration; hostile content never throws.
 * Throws UserError INVALID_GCLOUD_CONFIGURATION only for an invalid CLOUDSDK_ACTIVE_CONFIG_NAME, and for a
 * CLOUDSDK_CONFIG that exists but is not a directory (gcloud itself crashes on it, so a deploy could only fail
 * after the policy was changed).
 */
export function readGcloudConfig(env: NodeJS.ProcessEnv, installation: GcloudInstallation = {}): GcloudConfig {
  const configDir = gcloudConfigDir(env)
  if (env.CLOUDSDK_CONFIG) {
    let isDirectory = true
    try {
      isDirectory = statSync(configDir).isDirectory()
    } catch {
      // missing: gcloud creates it
    }

    if (!isDirectory) {
      throw new UserError(`CLOUDSDK_CONFIG names ${configDir}, which is not a directory: gcloud cannot use it as its configuration directory.`, {
        code: 'INVALID_GCLOUD_CONFIGURATION',
        suggestions: ['Unset CLOUDSDK_CONFIG (gcloud then uses ~/.config/gcloud), or point it at a directory'],
      })
    }
  }

  const activeConfig = activeConfigName(env, configDir)
  const result: GcloudConfig = {activeConfig, configDir}
  // named_configs.py ActivePropertiesFile.Load: the installation's properties first, the active configuration's on top
  // (properties_file.py PropertiesFile: a later file's value replaces an earlier one's). NONE has no file of its own.
  const files = [
    installation.sdkRoot === undefined ? undefined : join(installation.sdkRoot, INSTALLATION_PROPERTIES),
    activeConfig === NONE_CONFIG ? undefined : join(configDir, 'configurations', `config_${activeConfig}`),
  ]
  const [installed, active] = files.map(file => {
    const text = file === undefined ? undefined : readRegularFileText(file, {maxBytes: MAX_CONFIG_FILE_BYTES, what: `The gcloud properties file ${file}`})
    return text === undefined ? new Map() as IniSections : parseIni(text)
  }) as [IniSections, IniSections]
  const sections = mergeIni([installed, active])
  const fields: [PropertyField, string, string][] = [
    ['project', 'core', 'project'],
    ['account', 'core', 'account'],
    ['runRegion', 'run', 'region'],
    ['functionsRegion', 'functions', 'region'],
    ['binauthzEndpoint', 'api_endpoint_overrides', 'binaryauthorization'],
    ['accessTokenFile', 'auth', 'access_token_file'],
    ['quotaProject', 'billing', 'quota_project'],
    ['credentialFileOverride', 'auth', 'credential_file_override'],
    ['impersonateServiceAccount', 'auth', 'impersonate_service_account'],
    ['disableCredentials', 'auth', 'disable_credentials'],
    ['tokenHost', 'auth', 'token_host'],
    ['serviceAccountUseSelfSignedJwt', 'auth', 'service_account_use_self_signed_jwt'],
    ['iamcredentialsEndpoint', 'api_endpoint_overrides', 'iamcredentials'],
    ['runEndpoint', 'api_endpoint_overrides', 'run'],
    ['functionsEndpoint', 'api_endpoint_overrides', 'cloudfunctions'],
    ['customCaCertsFile', 'core', 'custom_ca_certs_file'],
    ['disableSslValidation', 'auth', 'disable_ssl_validation'],
    ['universeDomain', 'core', 'universe_domain'],
    ['proxyType', 'proxy', 'type'],
    ['proxyAddress', 'proxy', 'address'],
    ['proxyPort', 'proxy', 'port'],
    ['proxyUsername', 'proxy', 'username'],
    ['proxyPassword', 'proxy', 'password'],
  ]
  const fromInstallation: PropertyField[] = []
  for (const [field, section, key] of fields) {
    const v = value(sections, section, key)
    if (v === undefined) continue
    result[field] = v
    if (!active.get(section)?.has(key)) fromInstallation.push(field)
  }

  if (fromInstallation.length > 0 && files[0] !== undefined) {
    result.installation = {fields: fromInstallation, file: files[0]}
  }

  // billing/quota_project also takes gcloud keywords, which are not project IDs (never send them as a header).
  if (result.quotaProject !== undefined && QUOTA_PROJECT_KEYWORDS.has(result.quotaProject)) {
    result.quotaProjectKeyword = result.quotaProject
    delete result.quotaProject
  }

  return result
}
