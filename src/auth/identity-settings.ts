// The identity properties gcloud reads (core/properties.py: environment, passthrough flags applied, over the
// configuration file): which token, file, account and impersonation apply, and auth/disable_credentials refused.
import {UserError} from '../errors.js'
import {type GcloudConfig, propertyOrigin} from './gcloud-config.js'

/** The identity settings gcloud reads, from the environment (passthrough flags applied) over the configuration file. */
export interface IdentitySettings {
  accessToken?: {origin: string; value: string}
  accessTokenFile?: {origin: string; unsetHint: string; value: string}
  account?: {origin: string; value: string}
  credentialFile?: {origin: string; value: string}
  impersonate?: {origin: string; value: string}
}

/** A setting's value, trimmed; blank counts as unset. */
export function nonEmpty(value: string | undefined): string | undefined {
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
export function isTrue(value: string | undefined): boolean {
  return value !== undefined && ['1', 'on', 'true', 'y', 'yes'].includes(value.trim().toLowerCase())
}

export function setting(env: NodeJS.ProcessEnv, variable: string, fromFile: string | undefined): string | undefined {
  return nonEmpty(env[variable]) ?? nonEmpty(fromFile)
}

/**
 * auth/disable_credentials (CLOUDSDK_AUTH_DISABLE_CREDENTIALS > configuration): gcloud's deploy would send no
 * credential at all (core/credentials/transport.py: store.LoadIfEnabled returns None, so requests go out unauthenticated), so no
 * token binauthz could get acts as the deploy's principal. Refused before any request.
 */
export function refuseDisabledCredentials(env: NodeJS.ProcessEnv, config: GcloudConfig): void {
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
