// What gcloud 528 reads before it builds, read the same way before planning: the existing Cloud Run service (its
// build-image-uri annotation) or the existing function (its buildConfig.dockerRepository), in every region at once.
// Same credentials (the run's one token provider) and quota project as the policy client (open-client.ts).

import type {ResolvedTokenProvider} from '../auth/credentials.js'
import type {GcloudConfig} from '../auth/gcloud-config.js'
import type {RequestContext} from '../google/request-context.js'
import type {ExistingResource} from '../policy/build-targets.js'
import type {DeployKind} from '../policy/repository.js'

import {
  apiEndpointFrom, FUNCTIONS_API, RUN_API, universeDomainFrom,
} from '../google/endpoint.js'
import {resolveNetwork} from '../google/network.js'
import {
  readExistingFunction, readExistingService,
} from '../google/resource-readers.js'
import {resolveQuotaProject} from './context.js'

export interface ReadExistingInput extends RequestContext {
  env: NodeJS.ProcessEnv
  gcloud: GcloudConfig
  kind: DeployKind
  name: string
  project: string
  regions: readonly string[]
  /** The run's token provider (the policy client's too). */
  tokens: ResolvedTokenProvider
}

/** How the existing resources are read (tests replace it). */
export type ExistingReader = (input: ReadExistingInput) => Promise<Record<string, ExistingResource>>

/** Reads the service / function in each region concurrently; a 404 is a first deploy (exists: false). */
export const readExisting: ExistingReader = async input => {
  const {tokens} = input
  input.signal?.throwIfAborted()
  // The same quota project the policy client sends (open-client.ts), as gcloud's deploy sends it.
  const quotaProject = resolveQuotaProject(input.env, input.gcloud, {isUser: tokens.source.isUser, quotaProject: tokens.quotaProject}, input.project)
  // Only services and functions are read (runDeploy never asks for jobs / worker pools: gcloud reuses nothing of them).
  const base = input.kind === 'run'
    ? apiEndpointFrom(input.env, RUN_API, input.gcloud.runEndpoint, universeDomainFrom(input.env, input.gcloud.universeDomain))
    : apiEndpointFrom(input.env, FUNCTIONS_API, input.gcloud.functionsEndpoint, universeDomainFrom(input.env, input.gcloud.universeDomain))
  const options = {
    network: resolveNetwork(input.env, input.gcloud, base),
    secrets: input.secrets,
    tokens,
    userAgent: input.userAgent,
    ...(quotaProject === undefined ? {} : {quotaProject}),
    ...(input.signal === undefined ? {} : {signal: input.signal}),
  }
  const read = input.kind === 'run' ? readExistingService : readExistingFunction
  const found = await Promise.all(input.regions.map(region => read(base, {name: input.name, project: input.project, region}, options)))
  return Object.fromEntries(input.regions.map((region, i) => [region, found[i] ?? {exists: false}]))
}
