// The deploy pipeline every deploy command shares:
//   resolve project/regions → check passthrough → required allowlist patterns → ONE policy read (and at most one
//   write for all regions) → diff + confirmation → gcloud deploy per region (bounded concurrency).
// Its steps, one file each: deploy-options (options, adapters, the run's credential and client), deploy-allowlist
// (the policy step of a build), deploy-images (prebuilt images judged), deploy-warnings, deploy-gcloud (the
// per-region runs); deploy-result is the returned DeployResult, the --json contract of `binauthz deploy …`.
// Everything that touches the outside world is an injectable adapter, so tests drive the whole flow with fakes.
import type {Passthrough} from '../gcloud/passthrough.js'
import type {BuildTargets} from '../policy/build-targets.js'
import type {ResolvedContext} from './context.js'

import {InterruptedError} from '../errors.js'
import {assertExecFits, deployArgv, validateDeployName} from '../gcloud/argv.js'
import {identityEnvOf, parsePassthrough} from '../gcloud/passthrough.js'
import {deriveBuildTargets} from '../policy/build-targets.js'
import {buildAndAllowlist, buildInput} from './deploy-allowlist.js'
import {deployRegions} from './deploy-gcloud.js'
import {evaluatePrebuilt} from './deploy-images.js'
import {
  clientOfRun, DEFAULT_ADAPTERS, type DeployAdapters, type DeployOptions, tokensOfRun,
} from './deploy-options.js'
import {DEPLOY_COMMANDS, DeployInterruptedError, type DeployResult} from './deploy-result.js'
import {systemClock} from './ports.js'

// The use case's public face (the deploy commands, their presenter, tests): the options and the --json result.
export type {DeployOptions} from './deploy-options.js'
export {
  DeployFailedError, DeployInterruptedError, type DeployResult, WARNING_CODES,
} from './deploy-result.js'
export {withoutOwnFlag, withYes} from './policy-change.js'

/** A deploy that cannot run must not be preceded by a policy write: find gcloud first (a dry run needs none). */
function assertGcloudRunnable(options: DeployOptions, adapters: DeployAdapters): void {
  if (!options.dryRun) adapters.locateGcloud(options.env)
}

/**
 * Step 1: everything resolved and validated before any I/O beyond reading config files — the name, project and
 * regions, the passthrough, the builds gcloud would refuse, and every region's argv (within the exec limits).
 */
function resolveDeploy(options: DeployOptions, adapters: DeployAdapters, env: NodeJS.ProcessEnv): {
  argvs: string[][]; context: ResolvedContext; early: BuildTargets; name: string; passthrough: Passthrough
} {
  const {kind} = options
  const name = validateDeployName(kind, options.name)
  const context = adapters.resolveContext({
    env,
    kind,
    requireRegion: true,
    ...(options.project === undefined ? {} : {project: options.project}),
    ...(options.regions === undefined || options.regions.length === 0 ? {} : {regions: options.regions}),
  })
  const {project, regions} = context
  const passthrough = parsePassthrough(options.passthrough, {kind, project, regions})
  // Checked before any I/O (a deploy gcloud would refuse is refused here); derived again once the existing
  // service/function is read, since gcloud reuses its repository.
  const early = deriveBuildTargets(buildInput({
    existing: {}, kind, name, passthrough, project, regions,
  }))
  const argvs = regions.map(region => ['gcloud', ...deployArgv(kind, {
    name, passthrough: passthrough.args, project, region,
  })])
  // A command line the kernel would refuse (E2BIG) must stop the deploy before the policy is written.
  for (const [i, argv] of argvs.entries()) assertExecFits(argv, env, regions[i] as string)
  return {
    argvs, context, early, name, passthrough,
  }
}

export async function runDeploy(options: DeployOptions): Promise<DeployResult> {
  const adapters: DeployAdapters = {...DEFAULT_ADAPTERS, ...options.adapters}
  const clock = options.clock ?? systemClock
  const started = clock().getTime()
  const {kind, report} = options
  // Identity flags after `--` (--account, --configuration, --impersonate-service-account, --access-token-file,
  // --billing-project) apply to binauthz's own reads and calls too, as the CLOUDSDK_* variables gcloud maps them to.
  const env = {...options.env, ...identityEnvOf(options.passthrough)}

  // 1. Resolve and validate everything before any I/O beyond reading config files.
  await report({kind: 'resolve-started'})
  const {
    argvs, context, early, name, passthrough,
  } = resolveDeploy(options, adapters, env)
  const {project, regions} = context
  await report({
    kind: 'resolved', project, projectSource: context.projectSource, regions, regionSource: context.regionSource,
  })

  const result: DeployResult = {
    builds: [],
    command: DEPLOY_COMMANDS[kind],
    deploys: regions.map((region, i) => ({argv: argvs[i] as string[], exitCode: null, region})),
    dryRun: options.dryRun,
    durationMs: 0,
    existing: {},
    images: [],
    name,
    patterns: {added: [], alreadyCovered: [], required: []},
    policy: {
      backupFile: null, diff: '', etagAfter: null, etagBefore: null, written: false,
    },
    project,
    projectSource: context.projectSource,
    regions: [...regions],
    regionSource: context.regionSource,
    warnings: [],
  }
  const finish = (): DeployResult => ({...result, durationMs: Math.max(0, clock().getTime() - started)})
  assertGcloudRunnable(options, adapters)

  // 2. The policy: one read, at most one write for all regions.
  await report({kind: 'policy-started', project})
  const tokens = tokensOfRun(adapters, {
    env, gcloud: context.gcloud, project, secrets: options.secrets, signal: options.signal, userAgent: options.userAgent,
  })
  const connect = clientOfRun(options, adapters, {
    clock, env, gcloud: context.gcloud, result, started, tokens,
  })

  try {
    await (early.targets.length === 0
      ? evaluatePrebuilt(options, connect, result, early.prebuilt)
      : buildAndAllowlist(options, adapters, {
        connect, context, env, kind, passthrough, result, tokens,
      }))
    options.signal?.throwIfAborted()
  } catch (error) {
    // Interrupted during the policy step: --json still gets the result so far (what was read, written, backed up).
    if (error instanceof InterruptedError) throw new DeployInterruptedError(`${error.message} Nothing was deployed.`, finish(), error)
    throw error
  }

  // 3. The plan (dry run) or the deploys.
  if (options.dryRun) {
    await report({argvs: result.deploys.map(d => d.argv), kind: 'dry-run-deploys'})
    return finish()
  }

  return deployRegions(options, adapters, {
    env, finish, regions, result,
  })
}
