// Builds the Binary Authorization client the policy commands and the wizard use: endpoint (gcloud's override
// property or env, https or loopback http only) and credentials (token file > ADC > gcloud login).

import type {CredentialSource, ResolvedTokenProvider} from '../auth/credentials.js'
import type {GcloudConfig} from '../auth/gcloud-config.js'
import type {ClientOptions} from '../google/binauthz-client.js'

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
  /** The run's interrupt: every request stops when it aborts. */
  signal?: AbortSignal
}

/** How the client's parts are made (tests replace them). */
export interface ClientFactories {
  client(options: ClientOptions): BinauthzClient
  endpoint(env: NodeJS.ProcessEnv, gcloud: GcloudConfig): URL
  tokens(env: NodeJS.ProcessEnv, gcloud: GcloudConfig): Promise<ResolvedTokenProvider>
}

export const DEFAULT_CLIENT_FACTORIES: ClientFactories = {
  client: options => new BinauthzClient(options),
  endpoint: (env, gcloud) => binauthzEndpointFrom(env, gcloud.binauthzEndpoint),
  tokens: (env, gcloud) => resolveTokenProvider(env, gcloud),
}

/** The one way a Binary Authorization client is built: endpoint, credentials, quota project, deadline, signal. */
export async function openClient(options: OpenClientOptions, factories: ClientFactories = DEFAULT_CLIENT_FACTORIES): Promise<OpenedClient> {
  const endpoint = factories.endpoint(options.env, options.gcloud)
  const tokens = await factories.tokens(options.env, options.gcloud)
  options.signal?.throwIfAborted()
  const quotaProject = resolveQuotaProject(options.env, options.gcloud, tokens.quotaProject)
  const client = factories.client({
    endpoint,
    refusedSuggestions: sandboxRefusedSuggestions(options.env, endpoint),
    tokens,
    ...(quotaProject === undefined ? {} : {quotaProject}),
    ...(options.deadline === undefined ? {} : {deadline: options.deadline}),
    ...(options.signal === undefined ? {} : {signal: options.signal}),
  })
  return {client, credentials: tokens.source, endpoint: endpoint.toString()}
}
