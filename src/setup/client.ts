// Builds the Binary Authorization client the policy commands and the wizard use: endpoint (gcloud's override
// property or env, https or loopback http only) and credentials (token file > ADC > gcloud login).

import type {GcloudConfig} from '../auth/gcloud-config.js'
import type {CredentialSource} from '../auth/credentials.js'
import {BinauthzClient} from '../binauthz/client.js'
import {resolveBinauthzEndpoint} from '../binauthz/endpoint.js'

export interface OpenedClient {
  client: BinauthzClient
  credentials: CredentialSource
  endpoint: string
}

export interface OpenClientOptions {
  env: NodeJS.ProcessEnv
  gcloud: GcloudConfig
  /** Overall deadline, epoch ms. */
  deadline?: number
}

export function endpointOverride(env: NodeJS.ProcessEnv, gcloud: GcloudConfig): {value: string | undefined; source: string} {
  const fromEnv = env.CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION
  if (fromEnv !== undefined && fromEnv !== '') {
    return {value: fromEnv, source: 'CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION'}
  }

  return {
    value: gcloud.binauthzEndpoint,
    source: `api_endpoint_overrides/binaryauthorization in gcloud configuration "${gcloud.activeConfig}"`,
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
