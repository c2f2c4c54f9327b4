// Source 4 of gcloud's order: the active account, through gcloud's own credential store (ONE
// `gcloud auth print-access-token` with the same environment); whether that credential is a user's; how to sign in.
import {resolve, sep} from 'node:path'

import {type Secrets, UserError} from '../errors.js'
import {captureGcloud} from '../gcloud/runner.js'
import {validateToken} from './access-token.js'
import {credentialFileIsUser, readCredentialFile} from './credential-file.js'
import {type GcloudConfig} from './gcloud-config.js'
import {nonEmpty} from './identity-settings.js'

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

/** The argv of the one gcloud child: flags equivalent to what the deploy's gcloud gets are in `env` already. */
export const PRINT_ACCESS_TOKEN_ARGS: readonly string[] = ['auth', 'print-access-token']

export async function gcloudAccountToken(
  env: NodeJS.ProcessEnv,
  {account, detail, secrets}: {account: string; detail: string; secrets: Secrets},
  signIn: Pick<GcloudConfig, 'activeConfig'>,
): Promise<string> {
  // The child gets our environment (CLOUDSDK_CONFIG, CLOUDSDK_ACTIVE_CONFIG_NAME, CLOUDSDK_CORE_ACCOUNT,
  // CLOUDSDK_AUTH_IMPERSONATE_SERVICE_ACCOUNT — the passthrough flags applied), never prompting. With impersonation
  // configured, print-access-token prints the impersonated token (surface/auth/print_access_token.py:
  // c_store.Load(allow_account_impersonation=True)).
  const result = await captureGcloud({args: [...PRINT_ACCESS_TOKEN_ARGS], env: {...env, CLOUDSDK_CORE_DISABLE_PROMPTS: '1'}, timeoutMs: 60_000})
  if (result.exitCode !== 0) {
    const stderr = secrets.redact(result.stderr.trim()).split('\n').slice(-5).join('\n').slice(-1500)
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

  return validateToken(lines[0]!, '`gcloud auth print-access-token` output', secrets)
}
