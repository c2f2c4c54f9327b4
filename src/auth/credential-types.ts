// What a resolved credential is (credentials.ts resolves it): its kind in gcloud's order, where it comes from and
// who it acts as, and the provider the API adapters take; shared by the token sources.

import type {RequestContext} from '../google/request-context.js'
import type {TokenProvider} from './token-provider.js'

export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform'

/** Where binauthz's token comes from, in gcloud's order (credentials.ts lists it). */
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

/** The run's request context: the token grants and IAM Credentials calls binauthz makes itself carry it. */
export interface ResolveTokenOptions extends RequestContext {
  /** Tests: file whose content reveals Google hardware (default /sys/class/dmi/id/product_name). */
  dmiProductNameFile?: string
  /** The project being worked on (e.g. from --project), passed to google-auth-library so it never looks one up. */
  projectId?: string
}

/** What binauthz needs to know of a credential file (never its secrets). */
export interface CredentialFileInfo {
  clientEmail?: string
  /** The service account of `service_account_impersonation_url` (external_account, impersonated_service_account). */
  impersonatedEmail?: string
  quotaProject?: string
  type?: string
  workforcePoolUserProject?: string
}

/** The source credential before impersonation: a fetch, and what it is. */
export interface SourceCredential {
  /** A token; `fresh`: not one cached outside the run (gcloud's cache), after the API refused the one it had. */
  fetch: (fresh?: boolean) => Promise<string>
  quotaProject?: string | undefined
  quotaProjectOrigin?: string | undefined
  /** Whether refresh() can produce a new token (not for a fixed token). */
  refreshable: boolean
  source: CredentialSource
}
