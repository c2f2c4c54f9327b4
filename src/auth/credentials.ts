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
// This file decides which source applies and puts impersonation on top; each source has its own module:
// access-token (1, 2), credential-file (3; token-grants: binauthz's own exchanges; google-auth: THE
// google-auth-library import), gcloud-account (4), metadata-server (4b); identity-settings reads the properties.

import type {
  CredentialSource, ResolvedTokenProvider, ResolveTokenOptions, SourceCredential,
} from './credential-types.js'

import {UserError} from '../errors.js'
import {iamcredentialsEndpointFrom, universeDomainFrom} from '../google/endpoint.js'
import {generateAccessToken} from '../google/iam-credentials.js'
import {resolveNetwork} from '../google/network.js'
import {fixedToken, tokenFileProvider, validateToken} from './access-token.js'
import {credentialFileSource} from './credential-file.js'
import {CLOUD_PLATFORM_SCOPE} from './credential-types.js'
import {gcloudAccountToken, signInSuggestions, storedAccountIsUser} from './gcloud-account.js'
import {type GcloudConfig} from './gcloud-config.js'
import {libraryToken} from './google-auth.js'
import {
  identitySettings, type IdentitySettings, parseImpersonation, refuseDisabledCredentials,
} from './identity-settings.js'
import {metadataServerLikely} from './metadata-server.js'

// The resolver's public face (the app layer's imports): the resolved provider and what it says of its source.
export type {
  CredentialKind, CredentialSource, ResolvedTokenProvider, ResolveTokenOptions,
} from './credential-types.js'

/** Re-fetch a gcloud-issued token after this long (they live for up to an hour). */
const GCLOUD_TOKEN_TTL_MS = 45 * 60 * 1000

interface CachedProviderOptions {
  fetch: (fresh: boolean) => Promise<string>
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
  // Requests refused together (the policy and the Cloud Run reader) share one new token.
  let refreshing: Promise<string> | undefined
  const load = async (fresh: boolean): Promise<string> => {
    const token = fetch(fresh)
    cached = {at: Date.now(), token}
    try {
      return await token
    } catch (error: unknown) {
      if (cached?.token === token) cached = undefined
      throw error
    }
  }

  const provider: ResolvedTokenProvider = {
    async getToken() {
      return cached && Date.now() - cached.at < ttlMs ? cached.token : load(false)
    },
    // After a 401: a new token, not one cached anywhere (the next getToken() returns it too).
    async refresh() {
      refreshing ??= load(true).finally(() => {
        refreshing = undefined
      })
      return refreshing
    },
    source,
  }
  return quotaProject ? {...provider, quotaProject, ...(quotaProjectOrigin ? {quotaProjectOrigin} : {})} : provider
}

/** The first source in gcloud's order (store.py _Load) that applies, before impersonation; NO_CREDENTIALS when none does. */
function sourceCredential(env: NodeJS.ProcessEnv, config: GcloudConfig, settings: IdentitySettings, options: ResolveTokenOptions): SourceCredential {
  // 1. store.py _Load: CLOUDSDK_AUTH_ACCESS_TOKEN.
  if (settings.accessToken) {
    const token = validateToken(settings.accessToken.value, 'CLOUDSDK_AUTH_ACCESS_TOKEN', options.secrets)
    return fixedToken(token, {detail: 'access token in CLOUDSDK_AUTH_ACCESS_TOKEN', isUser: false, kind: 'access-token-env'})
  }

  // 2. auth/access_token_file.
  if (settings.accessTokenFile) {
    const {origin, unsetHint, value} = settings.accessTokenFile
    const provider = tokenFileProvider(value, origin, unsetHint, options.secrets)
    return {
      fetch: async () => provider.getToken(), refreshable: false, source: provider.source,
    }
  }

  const projectId = options.projectId || env.CLOUDSDK_CORE_PROJECT || config.project
  const metadataLikely = metadataServerLikely(env, options.dmiProductNameFile)

  // 3. auth/credential_file_override: loaded by google-auth (service_account, authorized_user, external_account, ...).
  if (settings.credentialFile) {
    return credentialFileSource(env, config, settings.credentialFile, {...options, metadataLikely, projectId})
  }

  // 4. The active account, through gcloud's own credential store.
  if (settings.account) {
    const account = settings.account.value
    const detail = `gcloud account ${account} (${settings.account.origin})`
    return {
      fetch: async () => gcloudAccountToken(env, {account, detail, secrets: options.secrets}, config),
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
      fetch: async () => libraryToken({kind: 'metadata'}, {
        detail, metadataLikely: true, projectId, secrets: options.secrets,
      }),
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
 * Chooses where access tokens come from (no process, no network, no heavy import while choosing) and
 * returns a provider that fetches lazily and caches per process. Throws UserError NO_CREDENTIALS when
 * gcloud itself would have no credential.
 */
export async function resolveTokenProvider(
  env: NodeJS.ProcessEnv,
  config: GcloudConfig,
  options: ResolveTokenOptions,
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
    async fetch(fresh) {
      const sourceToken = await base.fetch(fresh)
      const generated = await generateAccessToken({
        delegates: impersonation.delegates,
        endpoint,
        network: resolveNetwork(env, config, endpoint),
        scopes: [CLOUD_PLATFORM_SCOPE],
        secrets: options.secrets,
        sourceToken,
        target: impersonation.target,
        userAgent: options.userAgent,
        ...(options.signal === undefined ? {} : {signal: options.signal}),
      })
      return validateToken(generated.token, `IAM Credentials' token for ${impersonation.target}`, options.secrets)
    },
    // The impersonated credential carries no quota project of the source file (google.auth.impersonated_credentials).
    source,
    ttlMs: GCLOUD_TOKEN_TTL_MS,
  })
}
