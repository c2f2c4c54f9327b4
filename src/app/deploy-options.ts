import type {ResolvedTokenProvider} from '../auth/credentials.js'
// What a deploy is given: its options, the outside world it touches (adapters, replaceable in tests) and the real
// adapters; and how one run wires them: one credential and one policy client for the whole run.
import type {RunInvocation, RunResult} from '../gcloud/runner.js'
import type {BinauthzClient} from '../google/binauthz-client.js'
import type {RequestContext} from '../google/request-context.js'
import type {Policy} from '../policy/types.js'
import type {DeployResult} from './deploy-result.js'
import type {Clock, Runtime} from './ports.js'
import type {DeployReport} from './progress.js'

import {locateGcloud, runGcloud} from '../gcloud/runner.js'
import {type DeployKind} from '../policy/repository.js'
import {savePolicyBackup} from '../store/backups.js'
import {resolveContext, type ResolvedContext} from './context.js'
import {type ExistingReader, readExisting} from './existing.js'
import {type ClientFactories, DEFAULT_CLIENT_FACTORIES, openClient} from './open-client.js'

/** The client's parts (open-client.ts) and the rest of the outside world a deploy touches. */
export interface DeployAdapters extends ClientFactories {
  /** Saves the policy about to be replaced, named by `now` (the run's clock). */
  backup(env: NodeJS.ProcessEnv, project: string, policy: Policy, now: Date): Promise<string | undefined>
  /** Finds gcloud without starting it (throws GCLOUD_MISSING), before the policy is touched. */
  locateGcloud(env: NodeJS.ProcessEnv): string
  /** Reads the existing service/function per region (what gcloud reuses), before planning. */
  readExisting: ExistingReader
  resolveContext(input: {env: NodeJS.ProcessEnv; kind?: DeployKind; project?: string; regions?: readonly string[]; requireRegion?: boolean}): ResolvedContext
  runGcloud(invocation: RunInvocation): Promise<RunResult>
}

/**
 * The deploy's flags, and the run's Runtime (ports.ts) but its config: a deploy reads gcloud's configuration itself,
 * with the identity flags after `--` applied (--configuration, --account ...). Its clock defaults to the system's.
 */
export interface DeployOptions extends Omit<Runtime, 'clock' | 'config' | 'signal'>, Partial<Pick<Runtime, 'clock' | 'signal'>> {
  adapters?: Partial<DeployAdapters>
  /** Concurrent gcloud deploys (default 2). */
  concurrency?: number
  /** Overall limit for the policy API calls, in seconds. */
  deadlineSeconds?: number
  dryRun: boolean
  /** --json: gcloud's stdout goes to our stderr so stdout holds only the JSON. */
  json: boolean
  kind: DeployKind
  name: string
  noPatch: boolean
  /** Arguments after `--`, for gcloud. */
  passthrough: readonly string[]
  project?: string
  /** --quiet: gcloud's output is not shown (its ERROR lines go into the failure's message). */
  quiet?: boolean
  regions?: readonly string[]
  /** Where the pipeline's progress and plan go, as typed events (the command's presenter words them). */
  report: DeployReport
  yes: boolean
}

/** The real adapters (tests replace some through DeployOptions.adapters). */
export const DEFAULT_ADAPTERS: DeployAdapters = {
  ...DEFAULT_CLIENT_FACTORIES,
  backup: (env, project, policy, now) => savePolicyBackup(env, project, policy, {now}),
  locateGcloud,
  readExisting,
  resolveContext,
  runGcloud,
}

/**
 * The run's credential, resolved once when first needed (at most one gcloud child): the policy client and the readers
 * of the existing resources share the one provider, which dies with the run.
 */
export function tokensOfRun(
  adapters: DeployAdapters,
  run: RequestContext & {env: NodeJS.ProcessEnv; gcloud: ResolvedContext['gcloud']; project: string},
): () => Promise<ResolvedTokenProvider> {
  let resolving: Promise<ResolvedTokenProvider> | undefined
  return () => {
    resolving ??= adapters.tokens(run.env, run.gcloud, {
      projectId: run.project, secrets: run.secrets, userAgent: run.userAgent, ...(run.signal === undefined ? {} : {signal: run.signal}),
    })
    return resolving
  }
}

/**
 * The run's policy client, opened when first asked for, as the run's credential: records who binauthz acts as
 * (result.auth) and reports it. `started` is when the run began (the deadline counts from it).
 */
export function clientOfRun(
  options: DeployOptions,
  adapters: DeployAdapters,
  run: {
    clock: Clock; env: NodeJS.ProcessEnv; gcloud: ResolvedContext['gcloud']; result: DeployResult; started: number; tokens: () => Promise<ResolvedTokenProvider>
  },
): () => Promise<BinauthzClient> {
  const {result} = run
  return async () => {
    const opened = await openClient({
      clock: run.clock,
      env: run.env,
      gcloud: run.gcloud,
      project: result.project,
      secrets: options.secrets,
      tokens: run.tokens,
      userAgent: options.userAgent,
      ...(options.deadlineSeconds === undefined ? {} : {deadline: run.started + (options.deadlineSeconds * 1000)}),
      ...(options.signal === undefined ? {} : {signal: options.signal}),
    }, adapters)
    result.auth = {
      detail: opened.credentials.detail,
      principal: opened.credentials.principal ?? null,
      quotaProject: opened.quotaProject ?? null,
      source: opened.credentials.kind,
    }
    await options.report({
      detail: opened.credentials.detail, kind: 'acting-as', principal: opened.credentials.principal, quotaProject: opened.quotaProject,
    })
    return opened.client
  }
}
