// Source 3 of gcloud's order: auth/credential_file_override (store.py _LoadFromFileOverride): the file read for its
// non-secret facts, its token through binauthz's own grant (token-grants.ts) or google-auth-library (google-auth.ts),
// whether gcloud counts it as a user's, and its quota project.
import {resolve} from 'node:path'

import type {CredentialFileInfo, ResolveTokenOptions, SourceCredential} from './credential-types.js'

import {UserError} from '../errors.js'
import {parseJsonObject} from '../policy/json-text.js'
import {isFile, readRegularFileText} from '../store/regular-file.js'
import {type GcloudConfig} from './gcloud-config.js'
import {libraryToken} from './google-auth.js'
import {nonEmpty} from './identity-settings.js'
import {ownGrant} from './token-grants.js'

/** Credential files are a few KiB (a service-account key is ~2.3 KiB). */
const MAX_CREDENTIAL_FILE_BYTES = 1024 * 1024

/** A credential file's non-secret facts (also gcloud's stored legacy credentials: gcloud-account.ts). */
export function readCredentialFile(file: string, origin: string): CredentialFileInfo {
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

/** The credential file's source credential (the file named by `setting.origin` must exist), fetched lazily. */
export function credentialFileSource(
  env: NodeJS.ProcessEnv,
  config: GcloudConfig,
  setting: {origin: string; value: string},
  options: ResolveTokenOptions & {metadataLikely: boolean; projectId: string | undefined},
): SourceCredential {
  const {origin, value} = setting
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
    config, detail, env, origin: `${file} (${origin})`, secrets: options.secrets, signal: options.signal, userAgent: options.userAgent,
  })
  return {
    fetch: own ?? (async () => libraryToken({file, kind: 'file'}, {
      detail, metadataLikely: options.metadataLikely, projectId: options.projectId, secrets: options.secrets,
    })),
    ...credentialFileQuota(env, info),
    refreshable: true,
    source: {
      detail, isUser: credentialFileIsUser(info), kind: 'credential-file', ...(principal ? {principal} : {}),
    },
  }
}
