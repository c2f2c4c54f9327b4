// Builds the Binary Authorization client the policy commands and the wizard use: endpoint (gcloud's override
// property or env, https or loopback http only) and credentials (token file > ADC > gcloud login).

import type {CredentialSource} from '../auth/credentials.js'
import type {GcloudConfig} from '../auth/gcloud-config.js'

import {BinauthzClient} from '../binauthz/client.js'
import {resolveBinauthzEndpoint} from '../binauthz/endpoint.js'

export interface OpenedClient {
  client: BinauthzClient
  credentials: CredentialSource
  endpoint: string
}

export interface OpenClientOptions {
  /** Overall deadline, epoch ms. */
  deadline?: number
  env: NodeJS.ProcessEnv
  gcloud: GcloudConfig
}

export function endpointOverride(env: NodeJS.ProcessEnv, gcloud: GcloudConfig): {source: string; value: string | undefined;} {
  const fromEnv = env.CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION
  if (fromEnv !== undefined && fromEnv !== '') {
    return {source: 'CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION', value: fromEnv}
  }

  return {
    source: `api_endpoint_overrides/binaryauthorization in gcloud configuration "${gcloud.activeConfig}"`,
    value: gcloud.binauthzEndpoint,
  }
}

export async function openClient(options: OpenClientOptions): Promise<OpenedClient> {
  const override = endpointOverride(options.env, options.gcloud)
  const endpoint = resolveBinauthzEndpoint(override.value, override.source)
  const {resolveTokenProvider} = await import('../auth/credentials.js')
  const tokens = await resolveTokenProvider(options.env, options.gcloud)
  const client = new BinauthzClient({
    endpoint,
    tokens,
    ...(options.gcloud.quotaProject ? {quotaProject: options.gcloud.quotaProject} : {}),
    ...(options.deadline === undefined ? {} : {deadline: options.deadline}),
  })
  return {client, credentials: tokens.source, endpoint: endpoint.toString()}
}
