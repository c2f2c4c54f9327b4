// The environment that points gcloud and binauthz at a running sandbox, and the private gcloud configuration
// directory it uses (so the user's own gcloud setup is never read or written).
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import type {SandboxIdentity} from './state.js'

/** The gcloud APIs whose endpoint is overridden (CLOUDSDK_API_ENDPOINT_OVERRIDES_<NAME>). */
export const OVERRIDDEN_APIS = [
  'RUN',
  'SERVICEUSAGE',
  'CLOUDFUNCTIONS',
  'CLOUDBUILD',
  'ARTIFACTREGISTRY',
  'STORAGE',
  'CLOUDRESOURCEMANAGER',
  'IAM',
  'BINARYAUTHORIZATION',
  'LOGGING',
  'IAMCREDENTIALS',
] as const

export interface EnvInput {
  /** The sandbox's CA (tls.ts), which gcloud's gRPC channels to Cloud Run v2 (worker pools) must trust. */
  caFile: string
  /** Private CLOUDSDK_CONFIG directory. */
  gcloudConfigDir: string
  identity: SandboxIdentity
  /** Existing NO_PROXY / no_proxy values to keep (default: none). */
  noProxy?: string
  port: number
  tokenFile: string
}

/** Loopback names the tool's own HTTP clients must reach directly, never through a user's proxy. */
const LOOPBACK = ['127.0.0.1', 'localhost']

function mergeNoProxy(existing: string | undefined): string {
  const entries = (existing ?? '')
  .split(',')
  .map(e => e.trim())
  .filter(Boolean)
  for (const host of LOOPBACK) if (!entries.includes(host)) entries.push(host)
  return entries.join(',')
}

/** The variables that point gcloud (through its proxy settings) and binauthz (directly) at the sandbox. */
export function sandboxEnv(input: EnvInput): Record<string, string> {
  const endpoint = `http://127.0.0.1:${input.port}/`
  const env: Record<string, string> = {
    CLOUDSDK_ACTIVE_CONFIG_NAME: 'default',
    CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: input.tokenFile,
    // Where gcloud sends service-account key assertions and user refreshes (store.py _LoadFromFileOverride and
    // creds.py GetEffectiveTokenUri use auth/token_host, not the key file's token_uri): the sandbox's /token.
    CLOUDSDK_AUTH_TOKEN_HOST: `${endpoint}token`,
    CLOUDSDK_CONFIG: input.gcloudConfigDir,
    CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
    CLOUDSDK_CORE_PROJECT: input.identity.project,
  }
  for (const api of OVERRIDDEN_APIS) env[`CLOUDSDK_API_ENDPOINT_OVERRIDES_${api}`] = endpoint
  // Cloud Run's regional hosts (REGION-127.0.0.1:PORT) do not resolve: gcloud must send everything via the proxy.
  env.CLOUDSDK_PROXY_TYPE = 'http'
  env.CLOUDSDK_PROXY_ADDRESS = '127.0.0.1'
  env.CLOUDSDK_PROXY_PORT = String(input.port)
  // binauthz's node:https client connects to the override URL directly; NO_PROXY keeps any HTTP(S)_PROXY of the
  // user's shell (honoured by some libraries) away from the loopback sandbox.
  const noProxy = mergeNoProxy(input.noProxy)
  env.NO_PROXY = noProxy
  env.no_proxy = noProxy
  // gcloud's gRPC (Cloud Run v2: worker pools) dials REGION-127.0.0.1:PORT through the proxy, but gRPC matches
  // no_proxy by host suffix (`127.0.0.1` covers `us-central1-127.0.0.1`) and would then resolve that name itself.
  // gRPC reads no_grpc_proxy instead of no_proxy when it is set (grpc core http_proxy_mapper): empty = every host
  // through the proxy. The tunnel ends in TLS with the sandbox's own CA (tls.ts; gcloud reads it for gRPC only,
  // core/gapic_util_internal.py GetSSLCredentials, and binauthz only for https, never for the http sandbox).
  env.no_grpc_proxy = ''
  env.CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE = input.caFile
  return env
}

/**
 * Writes CONFIG_DIR/configurations/config_default and active_config: project, account, prompts off, update checks
 * and usage reporting off, and the same endpoint/proxy/token settings as the environment (so a shell that only
 * sets CLOUDSDK_CONFIG still reaches the sandbox).
 */
export function writeGcloudConfig(input: EnvInput): void {
  const dir = input.gcloudConfigDir
  mkdirSync(join(dir, 'configurations'), {recursive: true})
  const endpoint = `http://127.0.0.1:${input.port}/`
  const lines = [
    '[core]',
    `project = ${input.identity.project}`,
    `account = ${input.identity.account}`,
    'disable_prompts = True',
    'disable_usage_reporting = True',
    `custom_ca_certs_file = ${input.caFile}`,
    '',
    '[auth]',
    `access_token_file = ${input.tokenFile}`,
    `token_host = ${endpoint}token`,
    '',
    '[component_manager]',
    'disable_update_check = True',
    '',
    '[survey]',
    'disable_prompts = True',
    '',
    '[proxy]',
    'type = http',
    'address = 127.0.0.1',
    `port = ${input.port}`,
    '',
    '[api_endpoint_overrides]',
    ...OVERRIDDEN_APIS.map(api => `${api.toLowerCase()} = ${endpoint}`),
    '',
  ]
  writeFileSync(join(dir, 'configurations', 'config_default'), lines.join('\n'))
  writeFileSync(join(dir, 'active_config'), 'default')
}

/** `export K=V` lines, values single-quoted for POSIX shells. */
export function exportLines(env: Record<string, string>): string {
  return Object.entries(env)
  .map(([key, value]) => `export ${key}=${shellQuote(value)}`)
  .join('\n')
}

export function shellQuote(value: string): string {
  if (/^[\w@%+=:,./-]+$/.test(value)) return value
  return `'${value.replaceAll("'", String.raw`'\''`)}'`
}
