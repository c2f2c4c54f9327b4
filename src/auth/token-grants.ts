// The token fetches binauthz makes itself for a credential file, at auth/token_host as gcloud does: a service-account
// key's JWT-bearer grant (signed with node:crypto, service-account-key.ts) and an authorized_user's refresh.
import type {RequestContext} from '../google/request-context.js'
import type {CredentialFileInfo} from './credential-types.js'

import {UserError} from '../errors.js'
import {DEFAULT_UNIVERSE_DOMAIN, tokenEndpointFrom, universeDomainFrom} from '../google/endpoint.js'
import {resolveNetwork} from '../google/network.js'
import {exchangeGrant, JWT_BEARER_GRANT} from '../google/oauth-token.js'
import {validateToken} from './access-token.js'
import {CLOUD_PLATFORM_SCOPE} from './credential-types.js'
import {type GcloudConfig} from './gcloud-config.js'
import {gcloudCachedToken} from './gcloud-token-cache.js'
import {isTrue, setting} from './identity-settings.js'
import {parseServiceAccountKey, signAssertion} from './service-account-key.js'

/**
 * creds.py UseSelfSignedJwt: a service-account key signs its own JWT for each API (no token endpoint) when the key's
 * universe is not googleapis.com, the configured universe is not, or auth/service_account_use_self_signed_jwt is true.
 */
function usesSelfSignedJwt(env: NodeJS.ProcessEnv, config: GcloudConfig, keyUniverse: string): boolean {
  return keyUniverse !== DEFAULT_UNIVERSE_DOMAIN
    || universeDomainFrom(env, config.universeDomain) !== DEFAULT_UNIVERSE_DOMAIN
    || isTrue(setting(env, 'CLOUDSDK_AUTH_SERVICE_ACCOUNT_USE_SELF_SIGNED_JWT', config.serviceAccountUseSelfSignedJwt))
}

/** The run's secrets also get the key, the assertions, the refresh token and client secret. */
interface GrantContext extends RequestContext {
  config: GcloudConfig
  detail: string
  env: NodeJS.ProcessEnv
  /** The file and where it was named, for messages. */
  origin: string
}

/**
 * The token fetch for the credential files binauthz exchanges itself, at auth/token_host as gcloud does
 * (store.py _LoadFromFileOverride: SERVICE_ACCOUNT → token_host; USER_ACCOUNT → auth_util.GetTokenUri(), the same
 * property): a service-account key's JWT-bearer grant and an authorized_user's refresh. Undefined for the other
 * types (external_account, impersonated_service_account ...) and a key that signs its own JWTs: google-auth-library.
 * A key's token is gcloud's own while gcloud's cache holds a valid one (gcloud-token-cache.ts), unless `fresh` (after
 * a 401) asks for a new one.
 */
export function ownGrant(json: Record<string, unknown>, info: CredentialFileInfo, context: GrantContext): ((fresh?: boolean) => Promise<string>) | undefined {
  const {config, env} = context
  if (info.type === 'service_account') {
    const key = parseServiceAccountKey(json, context.origin, context.secrets)
    if (usesSelfSignedJwt(env, config, key.universeDomain)) return undefined
    const {url} = tokenEndpointFrom(env, config.tokenHost)
    const network = resolveNetwork(env, config, url)
    return async fresh => {
      const cached = fresh ? undefined : gcloudCachedToken(config.configDir, key.clientEmail, new Date(), context.secrets)
      if (cached !== undefined) return cached
      const assertion = signAssertion(key, [CLOUD_PLATFORM_SCOPE], new Date())
      context.secrets.add(assertion)
      const token = await exchangeGrant({
        detail: context.detail, form: {assertion, grant_type: JWT_BEARER_GRANT}, network, secrets: context.secrets, url, userAgent: context.userAgent,
        ...(context.signal ? {signal: context.signal} : {}),
      })
      return validateToken(token, `The token endpoint's answer for ${context.detail}`, context.secrets)
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

    context.secrets.add(refreshToken)
    context.secrets.add(clientSecret)
    const {url} = tokenEndpointFrom(env, config.tokenHost)
    const network = resolveNetwork(env, config, url)
    return async () => {
      const token = await exchangeGrant({
        detail: context.detail,
        form: {
          client_id: clientId, client_secret: clientSecret, grant_type: 'refresh_token', refresh_token: refreshToken,
        },
        network,
        secrets: context.secrets,
        url,
        userAgent: context.userAgent,
        ...(context.signal ? {signal: context.signal} : {}),
      })
      return validateToken(token, `The token endpoint's answer for ${context.detail}`, context.secrets)
    }
  }

  return undefined
}
