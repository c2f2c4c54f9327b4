// Builds the Binary Authorization client the policy commands and the wizard use: endpoint (gcloud's override
// property or env, https or loopback http only) and credentials, resolved as gcloud resolves its own (src/auth/credentials.ts).

import type {CredentialSource, ResolvedTokenProvider, ResolveTokenOptions} from '../auth/credentials.js'
import type {GcloudConfig} from '../auth/gcloud-config.js'
import type {ClientOptions} from '../google/binauthz-client.js'
import type {RequestContext} from '../google/request-context.js'
import type {Clock} from './ports.js'

import {resolveTokenProvider} from '../auth/credentials.js'
import {BinauthzClient} from '../google/binauthz-client.js'
import {binauthzEndpointFrom, universeDomainFrom} from '../google/endpoint.js'
import {resolveNetwork} from '../google/network.js'
import {resolveQuotaProject} from './context.js'
import {sandboxRefusedSuggestions} from './sandbox-hint.js'

export interface OpenedClient {
  client: BinauthzClient
  credentials: CredentialSource
  endpoint: string
  /** The X-Goog-User-Project sent, if any. */
  quotaProject?: string
}

export interface OpenClientOptions extends RequestContext {
  /** The run's clock: the client's deadline checks and retry waits (default: the system's). */
  clock?: Clock
  /** Overall deadline, epoch ms. */
  deadline?: number
  env: NodeJS.ProcessEnv
  gcloud: GcloudConfig
  /** The project worked on: gcloud bills it for user credentials (billing/quota_project CURRENT_PROJECT). */
  project?: string
  /** The run's token provider, when the run resolves it (deploy shares it with its readers); else resolved here. */
  tokens?: () => Promise<ResolvedTokenProvider>
}

/** How the client's parts are made (tests replace them). */
export interface ClientFactories {
  client(options: ClientOptions): BinauthzClient
  endpoint(env: NodeJS.ProcessEnv, gcloud: GcloudConfig): URL
  tokens(env: NodeJS.ProcessEnv, gcloud: GcloudConfig, options: ResolveTokenOptions): Promise<ResolvedTokenProvider>
}

export const DEFAULT_CLIENT_FACTORIES: ClientFactories = {
  client: options => new BinauthzClient(options),
  endpoint: (env, gcloud) => binauthzEndpointFrom(env, gcloud.binauthzEndpoint, universeDomainFrom(env, gcloud.universeDomain)),
  tokens: (env, gcloud, options) => resolveTokenProvider(env, gcloud, options),
}

/** The one way a Binary Authorization client is built: endpoint, credentials, quota project, deadline, signal. */
export async function openClient(options: OpenClientOptions, factories: ClientFactories = DEFAULT_CLIENT_FACTORIES): Promise<OpenedClient> {
  const endpoint = factories.endpoint(options.env, options.gcloud)
  const tokens = await (options.tokens?.() ?? factories.tokens(options.env, options.gcloud, {
    ...(options.project === undefined ? {} : {projectId: options.project}),
    ...(options.signal === undefined ? {} : {signal: options.signal}),
    secrets: options.secrets,
    userAgent: options.userAgent,
  }))
  options.signal?.throwIfAborted()
  const quotaCredential = {isUser: tokens.source.isUser, quotaProject: tokens.quotaProject, quotaProjectOrigin: tokens.quotaProjectOrigin}
  const quotaProject = resolveQuotaProject(options.env, options.gcloud, quotaCredential, options.project)
  const network = resolveNetwork(options.env, options.gcloud, endpoint)
  // Once per run (the run opens one client), on stderr whatever the output mode, as gcloud warns on each command.
  if (network.unverified) {
    process.emitWarning(`TLS certificates are not verified (${network.unverified.origin} is on, as gcloud's own setting): `
      + 'anyone on the network path can read the access token.', 'UnverifiedTLSWarning')
  }

  const client = factories.client({
    endpoint,
    network,
    refusedSuggestions: sandboxRefusedSuggestions(options.env, endpoint),
    secrets: options.secrets,
    tokens,
    userAgent: options.userAgent,
    ...(quotaProject === undefined ? {} : {quotaProject}),
    ...(options.clock === undefined ? {} : {clock: options.clock}),
    ...(options.deadline === undefined ? {} : {deadline: options.deadline}),
    ...(options.signal === undefined ? {} : {signal: options.signal}),
  })
  return {
    client, credentials: tokens.source, endpoint: endpoint.toString(), ...(quotaProject === undefined ? {} : {quotaProject}),
  }
}
