// Builds the Binary Authorization client the policy commands and the wizard use: endpoint (gcloud's override
// property or env, https or loopback http only) and credentials (token file > ADC > gcloud login).

import type {CredentialSource} from '../auth/credentials.js'
import type {GcloudConfig} from '../auth/gcloud-config.js'

import {resolveTokenProvider} from '../auth/credentials.js'
import {BinauthzClient} from '../google/binauthz-client.js'
import {binauthzEndpointFrom} from '../google/endpoint.js'
import {resolveQuotaProject} from './context.js'
import {sandboxRefusedSuggestions} from './sandbox-control.js'

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

export async function openClient(options: OpenClientOptions): Promise<OpenedClient> {
  const endpoint = binauthzEndpointFrom(options.env, options.gcloud.binauthzEndpoint)
  const tokens = await resolveTokenProvider(options.env, options.gcloud)
  const quotaProject = resolveQuotaProject(options.env, options.gcloud, tokens.quotaProject)
  const client = new BinauthzClient({
    endpoint,
    refusedSuggestions: sandboxRefusedSuggestions(options.env, endpoint),
    tokens,
    ...(quotaProject === undefined ? {} : {quotaProject}),
    ...(options.deadline === undefined ? {} : {deadline: options.deadline}),
  })
  return {client, credentials: tokens.source, endpoint: endpoint.toString()}
}
