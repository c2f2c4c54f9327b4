import type {ResolvedTokenProvider} from '../auth/credentials.js'
import type {RunInvocation, RunResult} from '../gcloud/runner.js'
import type {CoveredBy, ImageVerdict} from '../policy/coverage.js'
import type {PolicyPlan, WantedBuild} from '../policy/plan.js'
import type {Policy} from '../policy/types.js'
// The deploy pipeline both deploy commands share:
//   resolve project/regions → check passthrough → required allowlist patterns → ONE policy read (and at most one
//   write for all regions) → diff + confirmation → gcloud deploy per region (bounded concurrency).
// Everything that touches the outside world is an injectable adapter, so tests drive the whole flow with fakes.
// The returned DeployResult is the --json contract of `binauthz deploy run|function` (documented below).
import type {ApplyOptions} from './policy-change.js'
import type {Clock, Prompter, Ui} from './ports.js'
import type {DeployReport, JudgedImage} from './progress.js'

import {
  abortSignalName, BinauthzError, ExternalError, InterruptedError, type StopSignal, UserError,
} from '../errors.js'
import {assertExecFits, deployArgv, validateDeployName} from '../gcloud/argv.js'
import {type Denial, recognizeDenial} from '../gcloud/output.js'
import {identityEnvOf, parsePassthrough, type Passthrough} from '../gcloud/passthrough.js'
import {locateGcloud, runGcloud} from '../gcloud/runner.js'
import {serviceUrlOf} from '../gcloud/service-url.js'
import {BinauthzClient} from '../google/binauthz-client.js'
import {
  type BuildInput, type BuildTarget, type BuildTargets, deriveBuildTargets, type ExistingResource,
} from '../policy/build-targets.js'
import {coveringRule, evaluateImage} from '../policy/coverage.js'
import {adminHandoff} from '../policy/handoff.js'
import {imageNameOf} from '../policy/pattern.js'
import {planAllowBuilds} from '../policy/plan.js'
import {type DeployKind} from '../policy/repository.js'
import {formatCommand} from '../policy/shell.js'
import {savePolicyBackup} from '../store/backups.js'
import {resolveContext, type ResolvedContext} from './context.js'
import {type ExistingReader, readExisting} from './existing.js'
import {type ClientFactories, DEFAULT_CLIENT_FACTORIES, openClient} from './open-client.js'
import {changePolicyOf, withoutOwnFlag, withYes} from './policy-change.js'
import {systemClock} from './ports.js'

export {withoutOwnFlag, withYes} from './policy-change.js'

// ---------------------------------------------------------------------------------------------------------------
// The --json contract

/** A recognised failure in gcloud's output (src/gcloud/output.ts Denial): what happened and the exact fix. */
export type DeployDenial = Denial

export interface RegionDeploy {
  /** The exact command, starting with "gcloud". */
  argv: string[]
  denial?: DeployDenial
  /** gcloud's exit code; null when it did not run (dry run, or skipped after Ctrl-C). */
  exitCode: null | number
  region: string
  /** The service URL gcloud printed ("Service URL: …", gcloud run deploy), when it printed one. */
  url?: string
}

/**
 * The result of `binauthz deploy run|job|worker-pool|function` and its `--json` output (stable; new fields may be added):
 * - command: "deploy run" | "deploy job" | "deploy worker-pool" | "deploy function"; name: the service/job/worker pool/function name
 * - project, regions: what was resolved (and from where: projectSource, regionSource)
 * - existing: per region, whether the service/function exists and the build-image-uri / dockerRepository gcloud reuses
 * - builds: per region, the image the build pushes, its repository, the entry chosen (scope "repository" for Google's
 *   default build repositories, "image" for any other) and where gcloud takes the repository from
 * - images: prebuilt images (plain --image, --container sidecars) with admitted and the admitting/blocking rule
 * - warnings: [{code, message}] (EXEMPTION_SKIPS_ATTESTATION, DRY_RUN_ENFORCEMENT, CROSS_PROJECT_REPOSITORY)
 * - patterns.required: the allowlist patterns the deploy needs (empty for a plain --image deploy);
 *   patterns.added: the ones written (or, with --dry-run, that would be); patterns.alreadyCovered: [{pattern, by}]
 *   where `by` is the covering entry or "defaultAdmissionRule: ALWAYS_ALLOW"
 * - image: for a plain --image run deploy, whether the policy admits that image and why
 * - policy: etagBefore/etagAfter (null when unknown), written (a PUT happened), backupFile (the saved previous
 *   policy, or null), diff (the policy change as unified-style lines, "" when none)
 * - deploys: one entry per region: argv, gcloud exit code (null when not run), denial when recognised
 * - dryRun: nothing was changed or deployed; durationMs: wall time
 * On failure under --json the same object is printed with an added "error" key ({name, code, message, exitCode, suggestions}).
 */
export interface DeployResult {
  /**
   * Who binauthz's policy calls acted as (never the token): `source` is the credential kind in gcloud's order,
   * `principal` the account / service account (null for a bare token), `quotaProject` the X-Goog-User-Project sent.
   */
  auth?: {detail: string; principal: null | string; quotaProject: null | string; source: string}
  /** Per region: where the build pushes, the entry chosen and why (empty when nothing is built). */
  builds: {image: string; pattern: string; region: string; repository: string; scope: 'image' | 'repository'; source: string}[]
  command: DeployCommandName
  deploys: RegionDeploy[]
  dryRun: boolean
  durationMs: number
  /** What the deploy read before planning, per region: the service/function exists, and what gcloud will reuse. */
  existing: Record<string, ExistingResource>
  image?: {admitted: boolean | null; image: string; reason: string}
  /** Prebuilt images of the deploy (a plain --image, or --container sidecars) and the rule that admits or blocks each. */
  images: JudgedImage[]
  name: string
  patterns: {added: string[]; alreadyCovered: {by: string; coveredBy?: CoveredBy; pattern: string;}[]; required: string[];}
  policy: {backupFile: null | string; diff: string; etagAfter: null | string; etagBefore: null | string; written: boolean;}
  project: string
  projectSource: string
  regions: string[]
  regionSource: string
  /** What the change allows beyond this deploy, or why it matters less than it seems: [{code, message}]. */
  warnings: DeployWarning[]
}

/** The command each deploy kind is (the --json `command`). */
export const DEPLOY_COMMANDS = {
  function: 'deploy function', job: 'deploy job', run: 'deploy run', 'worker-pool': 'deploy worker-pool',
} as const satisfies Record<DeployKind, string>

export type DeployCommandName = (typeof DEPLOY_COMMANDS)[DeployKind]

/** The codes of the plan's warnings (--json `warnings[].code`): advice, not errors, so not in the error registry. */
export const WARNING_CODES = ['CROSS_PROJECT_REPOSITORY', 'DRY_RUN_ENFORCEMENT', 'EXEMPTION_SKIPS_ATTESTATION'] as const

export interface DeployWarning {
  code: (typeof WARNING_CODES)[number]
  message: string
}

/** gcloud failed in at least one region: exit with gcloud's code (one region) or 1 (several). Carries the result. */
export class DeployFailedError extends ExternalError {
  readonly jsonResult: DeployResult
  override readonly name: string = 'DeployFailedError'
  private readonly gcloudExitCode: number

  constructor(message: string, result: DeployResult, exitCode: number, suggestions: string[]) {
    super(message, {code: 'DEPLOY_FAILED', suggestions})
    this.jsonResult = result
    this.gcloudExitCode = exitCode
  }

  override get exitCode(): number {
    return this.gcloudExitCode
  }
}

/** The deploy was interrupted (exit 130, 143 for SIGTERM, 129 for SIGHUP). Carries the result so far for --json. */
export class DeployInterruptedError extends InterruptedError {
  readonly jsonResult: DeployResult
  override readonly name = 'DeployInterruptedError'

  constructor(message: string, result: DeployResult, cause?: InterruptedError | StopSignal) {
    super(message, typeof cause === 'string'
      ? {signal: cause}
      : {...(cause === undefined ? {} : {cause, signal: cause.signal, suggestions: [...cause.suggestions]})})
    this.jsonResult = result
  }
}

/**
 * Which signal stopped a gcloud run: ours when the run was aborted (the signal is passed on to gcloud), else the one
 * gcloud itself died of or reported as its exit (128 + n), so the run ends as gcloud did (143 after SIGTERM).
 */
export function stopSignalOf(run: RunResult, signal: AbortSignal | undefined): StopSignal {
  if (signal?.aborted) return abortSignalName(signal)
  if (run.signal === 'SIGTERM' || run.exitCode === 143) return 'SIGTERM'
  if (run.signal === 'SIGHUP' || run.exitCode === 129) return 'SIGHUP'
  return 'SIGINT'
}

// ---------------------------------------------------------------------------------------------------------------
// Options and adapters

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

export interface DeployOptions {
  adapters?: Partial<DeployAdapters>
  /** The run's clock (default: the system's): the duration, the deadline, backup names, the client's waits. */
  clock?: Clock
  /** Concurrent gcloud deploys (default 2). */
  concurrency?: number
  /** Overall limit for the policy API calls, in seconds. */
  deadlineSeconds?: number
  dryRun: boolean
  env: NodeJS.ProcessEnv
  /** The binauthz command line as typed (bin first), to print the exact re-run command with --yes. */
  invocation?: readonly string[]
  /** --json: gcloud's stdout goes to our stderr so stdout holds only the JSON. */
  json: boolean
  kind: DeployKind
  name: string
  noPatch: boolean
  /** Arguments after `--`, for gcloud. */
  passthrough: readonly string[]
  project?: string
  /** Asks for the policy change (or refuses, naming --yes, where nobody can be asked). */
  prompter: Prompter
  /** --quiet: gcloud's output is not shown (its ERROR lines go into the failure's message). */
  quiet?: boolean
  regions?: readonly string[]
  /** Where the pipeline's progress and plan go, as typed events (the command's presenter words them). */
  report: DeployReport
  /** The run's interrupt: policy requests and gcloud stop when it aborts. */
  signal?: AbortSignal
  /** Where the one policy-change path shows the planned diff. */
  ui: Ui
  yes: boolean
}

/** The real adapters (tests replace some through DeployOptions.adapters). */
const DEFAULT_ADAPTERS: DeployAdapters = {
  ...DEFAULT_CLIENT_FACTORIES,
  backup: (env, project, policy, now) => savePolicyBackup(env, project, policy, {now}),
  locateGcloud,
  readExisting,
  resolveContext,
  runGcloud,
}

// ---------------------------------------------------------------------------------------------------------------
// Pure helpers

/** The derivation's input for this deploy (pure: gcloud/passthrough.ts fields → policy/build-targets.ts). */
export function buildInput(deploy: {
  existing: Readonly<Record<string, ExistingResource>>; kind: DeployKind; name: string; passthrough: Passthrough; project: string; regions: readonly string[]
}): BuildInput {
  const {existing, kind, name, passthrough, project, regions} = deploy
  return {
    clearDockerRepository: passthrough.clearDockerRepository,
    containers: passthrough.containers,
    ...(passthrough.dockerRepository === undefined ? {} : {dockerRepository: passthrough.dockerRepository}),
    existing,
    kind,
    name,
    project,
    regions,
  }
}

/** What the plan says about each build (one line per region). */
function buildsOf(targets: readonly BuildTarget[]): DeployResult['builds'] {
  return targets.map(t => ({
    image: t.image, pattern: t.pattern, region: t.region, repository: t.repository, scope: t.defaultRepository ? 'repository' : 'image', source: t.source,
  }))
}

/**
 * What to do after failed deploys: each recognised failure's fixes (commands), then how to try again — the binauthz
 * command, not gcloud's (which would skip the allowlist check). Unrecognised: read gcloud's error above.
 */
export function failureSuggestions(failed: readonly RegionDeploy[], invocation: readonly string[] | undefined): string[] {
  const fixes = [...new Set(failed.flatMap(d => d.denial?.fixes.map(fix => (failed.length > 1 ? `[${d.region}] ${fix}` : fix)) ?? []))]
  const again = invocation === undefined ? 'the same binauthz command' : formatCommand(invocation)
  if (failed.some(d => d.denial === undefined)) fixes.push(`gcloud's error is above${failed.length > 1 ? ` (${failed.filter(d => d.denial === undefined).map(d => d.region).join(', ')})` : ''}; once it is fixed, run again: ${again}`)
  return fixes
}

/** Where gcloud's output goes: hidden (--quiet), led by its region (several regions), or straight to ours. */
function gcloudOutput(options: DeployOptions, regionCount: number, region: string): Pick<RunInvocation, 'linePrefix' | 'stderr' | 'stdout'> {
  return {
    ...(regionCount > 1 ? {linePrefix: `[${region}] `} : {}),
    ...(options.quiet ? {stderr: 'ignore', stdout: 'ignore'} : {stdout: options.json ? 'stderr' : 'inherit'}),
  }
}

/**
 * One region's gcloud run as the result records it (with the recognised failure), and the lines it adds to the
 * failure's message: the failure's summary (its fixes are the suggestions, said once), and under --quiet gcloud's
 * ERROR lines, which were not shown.
 */
function explainRun(options: DeployOptions, result: DeployResult, deploy: RegionDeploy, run: RunResult): {entry: RegionDeploy; lines: string[]} {
  const denial = run.exitCode === 0 || run.interrupted
    ? undefined
    : recognizeDenial(run.stderrTail, {
      patterns: result.patterns.required, project: result.project, region: deploy.region, ...(result.auth?.principal ? {account: result.auth.principal} : {}),
    })
  const lines = [
    ...(denial === undefined ? [] : [`[${deploy.region}] binauthz: ${denial.summary}`]),
    ...(options.quiet && run.exitCode !== 0 ? gcloudErrorLines(run.stderrTail).map(line => `[${deploy.region}] ${line}`) : []),
  ]
  return {entry: {...deploy, exitCode: run.exitCode, ...(denial === undefined ? {} : {denial})}, lines}
}

/** gcloud's `ERROR: …` lines (and what follows the last one), from the tail of its stderr. */
export function gcloudErrorLines(stderr: string): string[] {
  const lines = stderr.split(/\r?\n/)
  const first = lines.findIndex(line => line.startsWith('ERROR:'))
  return first === -1 ? [] : lines.slice(first).filter(line => line.trim() !== '').slice(0, 40)
}

/** Runs `tasks` with at most `limit` at a time; stops starting new ones once `stop()` is true. */
async function pool<T>(items: readonly T[], limit: number, stop: () => boolean, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length && !stop()) {
      const index = next++
      await work(items[index] as T, index)
    }
  }

  await Promise.all(Array.from({length: Math.max(1, Math.min(limit, items.length))}, () => worker()))
}

// ---------------------------------------------------------------------------------------------------------------
// The pipeline

/** A deploy that cannot run must not be preceded by a policy write: find gcloud first (a dry run needs none). */
function assertGcloudRunnable(options: DeployOptions, adapters: DeployAdapters): void {
  if (!options.dryRun) adapters.locateGcloud(options.env)
}

/**
 * The run's credential, resolved once when first needed (at most one gcloud child): the policy client and the readers
 * of the existing resources share the one provider, which dies with the run.
 */
function tokensOfRun(
  adapters: DeployAdapters,
  run: {env: NodeJS.ProcessEnv; gcloud: ResolvedContext['gcloud']; project: string; signal: AbortSignal | undefined},
): () => Promise<ResolvedTokenProvider> {
  let resolving: Promise<ResolvedTokenProvider> | undefined
  return () => {
    resolving ??= adapters.tokens(run.env, run.gcloud, {projectId: run.project, ...(run.signal === undefined ? {} : {signal: run.signal})})
    return resolving
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
  const command = DEPLOY_COMMANDS[kind]

  // 1. Resolve and validate everything before any I/O beyond reading config files.
  await report({kind: 'resolve-started'})
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
  await report({
    kind: 'resolved', project, projectSource: context.projectSource, regions, regionSource: context.regionSource,
  })

  const result: DeployResult = {
    builds: [],
    command,
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
    env, gcloud: context.gcloud, project, signal: options.signal,
  })

  const connect = async (): Promise<BinauthzClient> => {
    const opened = await openClient({
      clock,
      env,
      gcloud: context.gcloud,
      project,
      tokens,
      ...(options.deadlineSeconds === undefined ? {} : {deadline: started + (options.deadlineSeconds * 1000)}),
      ...(options.signal === undefined ? {} : {signal: options.signal}),
    }, adapters)
    result.auth = {
      detail: opened.credentials.detail,
      principal: opened.credentials.principal ?? null,
      quotaProject: opened.quotaProject ?? null,
      source: opened.credentials.kind,
    }
    await report({
      detail: opened.credentials.detail, kind: 'acting-as', principal: opened.credentials.principal, quotaProject: opened.quotaProject,
    })
    return opened.client
  }

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
  const commands = result.deploys.map(d => d.argv)
  if (options.dryRun) {
    await report({argvs: commands, kind: 'dry-run-deploys'})
    return finish()
  }

  // gcloud writes its own progress while this step runs: the presenter shows a still line, ticked when every gcloud ended.
  await report({
    argvs: commands, kind: 'deploy-started', name, regions,
  })
  let interrupted: StopSignal | undefined
  let failure: undefined | {error: unknown} // e.g. gcloud missing: no new deploys start, running ones finish
  const explanations: string[] = []
  await pool(result.deploys, Math.max(1, options.concurrency ?? 2), () => interrupted !== undefined || failure !== undefined, async (deploy, index) => {
    let run: RunResult
    try {
      run = await adapters.runGcloud({
        args: deploy.argv.slice(1), env, ...(options.signal === undefined ? {} : {signal: options.signal}), ...gcloudOutput(options, regions.length, deploy.region),
      })
    } catch (error) {
      failure ??= {error}
      return
    }

    const explained = explainRun(options, result, deploy, run)
    // `Service URL: …`, which gcloud run deploy prints when it succeeded (the action's `url` output).
    const url = run.exitCode === 0 ? serviceUrlOf(run.stderrTail) : undefined
    result.deploys[index] = {...explained.entry, ...(url === undefined ? {} : {url})}
    explanations.push(...explained.lines)
    if (run.interrupted) interrupted ??= stopSignalOf(run, options.signal)
  })

  await report({
    failed: result.deploys.filter(d => d.exitCode !== 0).map(d => d.region), interrupted: interrupted !== undefined, kind: 'deploy-ended', name, regions,
  })
  if (interrupted !== undefined) throw new DeployInterruptedError('Interrupted: gcloud was stopped; deploys that had not started were skipped.', finish(), interrupted)
  if (failure !== undefined) throw failure.error
  const failed = result.deploys.filter(d => d.exitCode !== 0)
  if (failed.length > 0) {
    const single = regions.length === 1 ? (failed[0]?.exitCode ?? 1) : 1
    const where = failed.map(d => `${d.region} (exit ${d.exitCode})`).join(', ')
    const policyNote = result.policy.written ? ' The policy change was kept (it is needed for the next attempt).' : ''
    throw new DeployFailedError(
      `gcloud deploy failed in ${where}.${policyNote}${explanations.length > 0 ? `\n${explanations.join('\n')}` : ''}`,
      finish(),
      single === 0 ? 1 : single,
      failureSuggestions(failed, options.invocation),
    )
  }

  return finish()
}

/** Read → plan → (diff, confirm) → write, via the transaction; fills result.patterns/policy. */
async function allowlist(options: DeployOptions, adapters: DeployAdapters, client: BinauthzClient, result: DeployResult): Promise<void> {
  const {env, report} = options
  const {project} = result
  const patterns = result.patterns.required
  const wanted: WantedBuild[] = result.builds.map(b => ({image: b.image, pattern: b.pattern}))
  const mode: ApplyOptions['mode'] = options.dryRun ? 'dry-run' : (options.noPatch ? 'no-patch' : 'write')
  let policyStepOpen = true
  const closePolicyStep = async (plan: PolicyPlan): Promise<void> => {
    if (!policyStepOpen) return
    policyStepOpen = false
    await report({kind: 'policy-planned', missing: plan.added.length, required: patterns.length})
  }

  await report({kind: 'required', patterns})
  // The one policy-change path (src/app/policy-change.ts): the diff goes to the human output, one confirmation.
  const applied = await changePolicyOf(
    {
      backup: (target, policy) => adapters.backup(env, target, policy, (options.clock ?? systemClock)()),
      client,
      // Progress only: the change does not wait for the reporter.
      onAttempt: event => report({attempt: event.attempt, kind: 'policy-attempt', step: event.kind}),
      onPlanned: closePolicyStep,
      ...(result.auth?.principal ? {principal: result.auth.principal} : {}),
      prompter: options.prompter,
      ui: options.ui,
    },
    {
      mode, plan: policy => planAllowBuilds(policy, wanted), project, ...(options.invocation === undefined ? {} : {invocation: options.invocation}), yes: options.yes,
    },
  )

  const {plan} = applied
  result.patterns.alreadyCovered = plan.alreadyCovered.map(entry => (entry.coverage.covered
    ? {by: coveringRule(entry.coverage.by), coveredBy: entry.coverage.by, pattern: entry.pattern}
    : {by: 'not covered', pattern: entry.pattern}))
  result.policy = {
    backupFile: applied.backupFile ?? null,
    diff: applied.diff,
    etagAfter: applied.etagAfter ?? applied.etagBefore ?? null,
    etagBefore: applied.etagBefore ?? null,
    written: applied.written,
  }

  if (!plan.changed) {
    await report({covered: result.patterns.alreadyCovered, kind: 'already-allowlisted'})
    return
  }

  if (applied.declined) {
    await report({kind: 'declined'})
    throw new UserError('The policy change was declined: nothing was changed and nothing was deployed.', {
      code: 'CONFIRMATION_DECLINED',
      suggestions: ['Ask an administrator to add the entries (binauthz policy allow --print terraform shows the Terraform form), or re-run and confirm.'],
    })
  }

  if (mode === 'dry-run') {
    result.patterns.added = [...plan.added]
    await report({
      added: plan.added, diff: result.policy.diff, kind: 'dry-run-policy', permission: applied.permission, project,
    })
    return
  }

  if (mode === 'no-patch') {
    await report({kind: 'no-patch'})
    throw new UserError(`The build repository is not allowlisted in the Binary Authorization policy of ${project}, and --no-patch forbids changing it. Nothing was deployed.\n\n${adminHandoff(project, plan.added, result.auth?.principal ? {principal: result.auth.principal} : {})}`, {
      code: 'NOT_ALLOWLISTED',
      suggestions: [
        options.invocation === undefined
          ? 'Re-run without --no-patch (with --yes) if you may change the policy.'
          : `Re-run without --no-patch if you may change the policy: ${withYes(withoutOwnFlag(options.invocation, '--no-patch'))}`,
      ],
    })
  }

  if (!applied.written) throw new UserError('The policy was not changed, so the deploy was not run.', {code: 'NOT_ALLOWLISTED'})
  result.patterns.added = [...plan.added]
  await report({
    added: plan.added, backupFile: applied.backupFile, etagAfter: applied.etagAfter, etagBefore: applied.etagBefore, kind: 'allowlisted',
  })
}

/**
 * A deploy that builds: the existing service/function (what gcloud reuses) and the policy are read at the same time,
 * then the builds are derived, prebuilt sidecars judged, warnings given and the entries allowlisted.
 */
async function buildAndAllowlist(
  options: DeployOptions,
  adapters: DeployAdapters,
  /** `env`: the deploy's environment with the identity flags after `--` applied (the policy client uses the same). */
  run: {
    connect: () => Promise<BinauthzClient>; context: ResolvedContext; env: NodeJS.ProcessEnv; kind: DeployKind; passthrough: Passthrough; result: DeployResult
    tokens: () => Promise<ResolvedTokenProvider>
  },
): Promise<void> {
  const {context, kind, passthrough, result} = run
  const {name, project, regions} = result
  const opening = run.connect()
  const reading = opening.then(client => client.getPolicy(project))
  // Jobs and worker pools: gcloud 528 takes nothing from the existing resource for the build (policy/build-targets.ts),
  // so nothing is read before planning.
  const readingExisting: Promise<Record<string, ExistingResource>> = kind === 'job' || kind === 'worker-pool'
    ? Promise.resolve({})
    : run.tokens().then(tokens => adapters.readExisting({
      env: run.env, gcloud: context.gcloud, kind, name, project, regions, tokens, ...(options.signal === undefined ? {} : {signal: options.signal}),
    }))
  const [client, policy, existing] = await Promise.all([opening, reading, readingExisting])
  const targets = deriveBuildTargets(buildInput({
    existing, kind, name, passthrough, project, regions,
  }))
  result.existing = existing
  result.builds = buildsOf(targets.targets)
  result.patterns.required = [...targets.patterns]
  await options.report({kind: 'builds-derived', targets: targets.targets})
  await checkPrebuilt(options, result, policy, targets)
  result.warnings = warningsFor(policy, targets, project)
  for (const warning of result.warnings) await options.report({kind: 'warning', warning})
  await allowlist(options, adapters, primed(client, policy), result)
}

/** The client whose first getPolicy answers with the policy already read (the read ran beside the other reads). */
function primed(client: BinauthzClient, first: Policy): BinauthzClient {
  let pending: Policy | undefined = first
  const wrapped = Object.create(client) as BinauthzClient
  wrapped.getPolicy = async (target: string): Promise<Policy> => {
    const policy = pending
    pending = undefined
    return policy ?? client.getPolicy(target)
  }

  return wrapped
}

/** What the change allows beyond this deploy, or why it matters less than it seems. */
export function warningsFor(policy: Policy, targets: BuildTargets, project: string): DeployWarning[] {
  const warnings: DeployWarning[] = []
  const rule = (policy.defaultAdmissionRule ?? {}) as Record<string, unknown>
  const missing = planAllowBuilds(policy, targets.targets).added
  if (rule.evaluationMode === 'REQUIRE_ATTESTATION' && missing.length > 0) {
    const writers = [...new Set(targets.targets.filter(t => missing.includes(t.pattern)).map(t => t.repository))]
    warnings.push({
      code: 'EXEMPTION_SKIPS_ATTESTATION',
      message: `The default rule of ${project} requires attestations, and an allowlist entry exempts matching images from it entirely: `
        + `after this change ${missing.join(', ')} deploy${missing.length === 1 ? 's' : ''} without any attestation. `
        + `Anyone who can push there (roles/artifactregistry.writer on ${writers.join(', ')}, or a Cloud Build in that project) can deploy unattested images to ${project}.`,
    })
  }

  if (rule.enforcementMode === 'DRYRUN_AUDIT_LOG_ONLY') {
    warnings.push({
      code: 'DRY_RUN_ENFORCEMENT',
      message: `The policy of ${project} is in dry-run enforcement (DRYRUN_AUDIT_LOG_ONLY): nothing is blocked today, violations are only logged. `
        + 'The entry keeps this deploy admitted once enforcement is turned on.',
    })
  }

  for (const target of targets.targets.filter(t => t.crossProject)) {
    warnings.push({
      code: 'CROSS_PROJECT_REPOSITORY',
      message: `[${target.region}] the build repository ${target.repository} belongs to project ${target.repositoryProject}, not ${project}: `
        + `whoever can write ${target.pattern} there (its Artifact Registry writers) can deploy it here.`,
    })
  }

  return warnings
}

/** The rule that admits or blocks an image, as the plan and --json name it. */
function ruleName(verdict: ImageVerdict): string {
  return verdict.rule === 'allowlist' ? `allowlist: ${verdict.pattern ?? ''}` : `${verdict.rule}: ${verdict.evaluationMode ?? 'unspecified'}`
}

/** A prebuilt image the policy blocks stops the deploy before any write (exit 3), with what an administrator runs. */
function blockedImages(project: string, blocked: DeployResult['images']): UserError {
  const names = [...new Set(blocked.map(b => imageNameOf(b.image)))]
  const lines = blocked.map(b => `  ${b.container === '' ? 'the image' : `container ${b.container}`}: ${b.image} — ${b.reason}`)
  return new UserError(
    `The Binary Authorization policy of ${project} blocks ${blocked.length === 1 ? 'a prebuilt image' : 'prebuilt images'} of this deploy, and binauthz never allowlists prebuilt images itself. Nothing was changed or deployed.\n${lines.join('\n')}\n\n${adminHandoff(project, names)}`,
    {
      code: 'IMAGE_NOT_ADMITTED',
      suggestions: [
        `An administrator can allowlist exactly ${names.length === 1 ? 'that image' : 'those images'}: ${formatCommand(['binauthz', 'policy', 'allow', `--project=${project}`, ...names.flatMap(n => ['--pattern', n])])}`,
      ],
    },
  )
}

/** Prebuilt images (sidecars) next to a build: judged against the policy with the build's entries added. */
async function checkPrebuilt(options: DeployOptions, result: DeployResult, policy: Policy, targets: BuildTargets): Promise<void> {
  if (targets.prebuilt.length === 0) return
  const view: Policy = {...policy, admissionWhitelistPatterns: [...(policy.admissionWhitelistPatterns ?? []), ...targets.patterns.map(namePattern => ({namePattern}))]}
  result.images = targets.prebuilt.map(({container, image}) => {
    const verdict = evaluateImage(view, image)
    return {
      admitted: verdict.admitted, container, image, reason: verdict.reason, rule: ruleName(verdict),
    }
  })
  for (const image of result.images) await options.report({image, kind: 'sidecar-judged'})

  const blocked = result.images.filter(i => i.admitted === false)
  if (blocked.length > 0) throw blockedImages(result.project, blocked)
}

/** Only prebuilt images (a plain --image, or containers that all have one): nothing is allowlisted; each is judged. */
async function evaluatePrebuilt(options: DeployOptions, connect: () => Promise<BinauthzClient>, result: DeployResult, prebuilt: BuildTargets['prebuilt']): Promise<void> {
  const {report} = options
  let policy: Policy | undefined
  let unknown = ''
  try {
    const client = await connect()
    policy = await client.getPolicy(result.project)
    result.policy = {...result.policy, etagAfter: policy.etag ?? null, etagBefore: policy.etag ?? null}
  } catch (error) {
    // Reading is only advisory here: nothing is changed for a pre-built image.
    if (!(error instanceof BinauthzError) || error instanceof InterruptedError) throw error
    // Its first line, without the final stop: it is quoted inside parentheses.
    unknown = `could not read the policy (${(error.message.split('\n')[0] ?? '').replace(/\.$/, '')})`
  }

  result.images = prebuilt.map(({container, image}) => {
    if (policy === undefined) return {
      admitted: null, container, image, reason: unknown, rule: 'unknown',
    }
    const verdict = evaluateImage(policy, image)
    return {
      admitted: verdict.admitted, container, image, reason: verdict.reason, rule: ruleName(verdict),
    }
  })
  const [first] = result.images
  if (first !== undefined && prebuilt.length === 1) result.image = {admitted: first.admitted, image: first.image, reason: first.reason}
  for (const image of result.images) await report({image, kind: 'image-judged'})
  await report({kind: 'nothing-to-allowlist'})
  const blocked = result.images.filter(i => i.admitted === false)
  if (blocked.length > 0) throw blockedImages(result.project, blocked)
}
