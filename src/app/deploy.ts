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
import type {Prompter} from './ports.js'
import type {StepReporter} from './progress.js'

import {
  BinauthzError, ExternalError, InterruptedError, UserError,
} from '../errors.js'
import {deployArgv, validateDeployName} from '../gcloud/argv.js'
import {explainDenial, recognizeDenial} from '../gcloud/output.js'
import {identityEnvOf, parsePassthrough, type Passthrough} from '../gcloud/passthrough.js'
import {locateGcloud, runGcloud} from '../gcloud/runner.js'
import {serviceUrlOf} from '../gcloud/service-url.js'
import {BinauthzClient} from '../google/binauthz-client.js'
import {
  type BuildInput, type BuildTarget, type BuildTargets, deriveBuildTargets, describeTarget, type ExistingResource,
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
import {changePolicyOf} from './policy-change.js'

// ---------------------------------------------------------------------------------------------------------------
// The --json contract

/** A recognised Binary Authorization / org-policy failure in gcloud's output. */
export interface DeployDenial {
  fixes: string[]
  kind: string
  summary: string
}

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
 * The result of `binauthz deploy run|function` and its `--json` output (stable; new fields may be added):
 * - command: "deploy run" | "deploy function"; name: the service/function name
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
  command: 'deploy function' | 'deploy run'
  deploys: RegionDeploy[]
  dryRun: boolean
  durationMs: number
  /** What the deploy read before planning, per region: the service/function exists, and what gcloud will reuse. */
  existing: Record<string, ExistingResource>
  image?: {admitted: boolean | null; image: string; reason: string}
  /** Prebuilt images of the deploy (a plain --image, or --container sidecars) and the rule that admits or blocks each. */
  images: {admitted: boolean | null; container: string; image: string; reason: string; rule: string}[]
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

/** The deploy was interrupted (exit 130, or 143 for SIGTERM). Carries the result so far for --json. */
export class DeployInterruptedError extends InterruptedError {
  readonly jsonResult: DeployResult
  override readonly name = 'DeployInterruptedError'

  constructor(message: string, result: DeployResult, cause?: InterruptedError) {
    super(message, {...(cause === undefined ? {} : {cause, signal: cause.signal, suggestions: [...cause.suggestions]})})
    this.jsonResult = result
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Options and adapters

/** The client's parts (open-client.ts) and the rest of the outside world a deploy touches. */
export interface DeployAdapters extends ClientFactories {
  backup(env: NodeJS.ProcessEnv, project: string, policy: Policy): Promise<string | undefined>
  /** Finds gcloud without starting it (throws GCLOUD_MISSING), before the policy is touched. */
  locateGcloud(env: NodeJS.ProcessEnv): string
  now(): number
  /** Reads the existing service/function per region (what gcloud reuses), before planning. */
  readExisting: ExistingReader
  resolveContext(input: {env: NodeJS.ProcessEnv; kind?: DeployKind; project?: string; regions?: readonly string[]; requireRegion?: boolean}): ResolvedContext
  runGcloud(invocation: RunInvocation): Promise<RunResult>
}

export interface DeployOptions {
  adapters?: Partial<DeployAdapters>
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
  regions?: readonly string[]
  reporter: StepReporter
  /** Human text blocks (the diff, the plan): the command prints them to stdout unless --json. */
  show: (text: string) => void
  /** A policy diff block (the command colours it in a terminal); default: show. */
  showDiff?: (text: string) => void
  /** The run's interrupt: policy requests and gcloud stop when it aborts. */
  signal?: AbortSignal
  yes: boolean
}

/** The real adapters (tests replace some through DeployOptions.adapters). */
const DEFAULT_ADAPTERS: DeployAdapters = {
  ...DEFAULT_CLIENT_FACTORIES,
  backup: (env, project, policy) => savePolicyBackup(env, project, policy),
  locateGcloud,
  now: () => Date.now(),
  readExisting,
  resolveContext,
  runGcloud,
}

function adaptersFor(options: DeployOptions): DeployAdapters {
  return {...DEFAULT_ADAPTERS, ...options.adapters}
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

/** The binauthz command line with --yes inserted before `--` (for "re-run with --yes" messages). */
export function withYes(invocation: readonly string[]): string {
  const dashdash = invocation.indexOf('--')
  const args = dashdash === -1 ? [...invocation, '--yes'] : [...invocation.slice(0, dashdash), '--yes', ...invocation.slice(dashdash)]
  return formatCommand(args)
}

/** The command line without one of binauthz's own boolean flags (only before `--`). */
export function withoutOwnFlag(invocation: readonly string[], flag: string): string[] {
  const dashdash = invocation.indexOf('--')
  const end = dashdash === -1 ? invocation.length : dashdash
  return invocation.filter((arg, i) => i >= end || arg !== flag)
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

export async function runDeploy(options: DeployOptions): Promise<DeployResult> {
  const adapters = adaptersFor(options)
  const started = adapters.now()
  const {kind, reporter} = options
  // Identity flags after `--` (--account, --configuration, --impersonate-service-account, --access-token-file,
  // --billing-project) apply to binauthz's own reads and calls too, as the CLOUDSDK_* variables gcloud maps them to.
  const env = {...options.env, ...identityEnvOf(options.passthrough)}
  const command = kind === 'run' ? 'deploy run' : 'deploy function'

  // 1. Resolve and validate everything before any I/O beyond reading config files.
  await reporter.start('resolve', 'Resolve project and regions')
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
  await reporter.succeed(
    'resolve',
    `Project ${project} (${context.projectSource}), region${regions.length === 1 ? '' : 's'} ${regions.join(', ')} (${context.regionSource})`,
  )

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
  const finish = (): DeployResult => ({...result, durationMs: Math.max(0, adapters.now() - started)})
  assertGcloudRunnable(options, adapters)

  // 2. The policy: one read, at most one write for all regions.
  await reporter.start('policy', `Check the Binary Authorization policy of ${project}`)
  const connect = async (): Promise<BinauthzClient> => {
    const opened = await openClient({
      env,
      gcloud: context.gcloud,
      project,
      ...(options.deadlineSeconds === undefined ? {} : {deadline: started + (options.deadlineSeconds * 1000)}),
      ...(options.signal === undefined ? {} : {signal: options.signal}),
    }, adapters)
    result.auth = {
      detail: opened.credentials.detail,
      principal: opened.credentials.principal ?? null,
      quotaProject: opened.quotaProject ?? null,
      source: opened.credentials.kind,
    }
    await reporter.detail(`Acting as ${opened.credentials.principal ?? 'the holder of the access token'} (${opened.credentials.detail})`
      + (opened.quotaProject === undefined ? '' : `; quota project ${opened.quotaProject}`))
    return opened.client
  }

  try {
    await (early.targets.length === 0
      ? evaluatePrebuilt(options, connect, result, early.prebuilt)
      : buildAndAllowlist(options, adapters, {
        connect, context, env, passthrough, result,
      }))
    options.signal?.throwIfAborted()
  } catch (error) {
    // Interrupted during the policy step: --json still gets the result so far (what was read, written, backed up).
    if (error instanceof InterruptedError) throw new DeployInterruptedError(`${error.message} Nothing was deployed.`, finish(), error)
    throw error
  }

  // 3. The plan (dry run) or the deploys.
  const commands = result.deploys.map(d => `  ${formatCommand(d.argv)}`).join('\n')
  if (options.dryRun) {
    options.show(`Dry run: nothing was changed. binauthz would run:\n${commands}`)
    await reporter.skip('deploy', `Dry run: ${result.deploys.length} deploy${result.deploys.length === 1 ? '' : 's'} not run`)
    return finish()
  }

  await reporter.start('deploy', `Deploy ${name} to ${regions.join(', ')}`)
  await reporter.succeed('deploy', `Running gcloud (${regions.length} region${regions.length === 1 ? '' : 's'}):\n${commands}`)
  let interrupted = false
  let failure: undefined | {error: unknown} // e.g. gcloud missing: no new deploys start, running ones finish
  const explanations: string[] = []
  await pool(result.deploys, Math.max(1, options.concurrency ?? 2), () => interrupted || failure !== undefined, async (deploy, index) => {
    let run: RunResult
    try {
      run = await adapters.runGcloud({
        args: deploy.argv.slice(1), env, ...(options.signal === undefined ? {} : {signal: options.signal}), stdout: options.json ? 'stderr' : 'inherit',
      })
    } catch (error) {
      failure ??= {error}
      return
    }

    const denial = run.exitCode === 0 ? undefined : recognizeDenial(run.stderrTail, {patterns: result.patterns.required, project})
    const url = run.exitCode === 0 ? serviceUrlOf(run.stderrTail) : undefined
    result.deploys[index] = {
      ...deploy,
      exitCode: run.exitCode,
      ...(url === undefined ? {} : {url}),
      ...(denial === undefined ? {} : {denial: {fixes: [...denial.fixes], kind: denial.kind, summary: denial.summary}}),
    }
    if (denial !== undefined) explanations.push(`[${deploy.region}] ${explainDenial(denial)}`)
    if (run.interrupted) interrupted = true
  })

  if (interrupted) throw new DeployInterruptedError('Interrupted: gcloud was stopped; deploys that had not started were skipped.', finish())
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
      failed.map(d => `Re-run: ${formatCommand(d.argv)}`),
    )
  }

  return finish()
}

/** Read → plan → (diff, confirm) → write, via the transaction; fills result.patterns/policy. */
async function allowlist(options: DeployOptions, adapters: DeployAdapters, client: BinauthzClient, result: DeployResult): Promise<void> {
  const {env, reporter} = options
  const {project} = result
  const patterns = result.patterns.required
  const wanted: WantedBuild[] = result.builds.map(b => ({image: b.image, pattern: b.pattern}))
  const mode: ApplyOptions['mode'] = options.dryRun ? 'dry-run' : (options.noPatch ? 'no-patch' : 'write')
  let policyStepOpen = true
  const closePolicyStep = async (plan: PolicyPlan): Promise<void> => {
    if (!policyStepOpen) return
    policyStepOpen = false
    const missing = plan.added.length
    await reporter.succeed(
      'policy',
      missing === 0
        ? `Policy read: all ${patterns.length} required pattern${patterns.length === 1 ? ' is' : 's are'} already allowed`
        : `Policy read: ${missing} of ${patterns.length} required pattern${patterns.length === 1 ? '' : 's'} missing from the allowlist`,
    )
  }

  await reporter.detail(`Required: ${patterns.join(', ')}`)
  // The one policy-change path (src/app/policy-change.ts): the diff goes to the human output, one confirmation.
  const applied = await changePolicyOf(
    {
      backup: (target, policy) => adapters.backup(env, target, policy),
      client,
      // Progress only: the change does not wait for the reporter.
      onAttempt: event => reporter.detail(event.kind === 'conflict' ? 'The policy changed meanwhile (etag conflict): re-reading' : `Policy ${event.kind} (attempt ${event.attempt})`),
      onPlanned: closePolicyStep,
      prompter: options.prompter,
      ui: {diff: text => (options.showDiff ?? options.show)(text), info: line => options.show(line), warn: line => options.show(line)},
    },
    {
      mode, plan: policy => planAllowBuilds(policy, wanted), project, ...(options.invocation === undefined ? {} : {rerun: withYes(options.invocation)}), yes: options.yes,
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
    await reporter.skip('allowlist', `Already allowlisted (${result.patterns.alreadyCovered.map(c => `${c.pattern} by ${c.by}`).join('; ')})`)
    return
  }

  if (applied.declined) {
    await reporter.fail('allowlist', 'Policy change declined')
    throw new UserError('The policy change was declined: nothing was changed and nothing was deployed.', {
      code: 'CONFIRMATION_DECLINED',
      suggestions: ['Ask an administrator to add the entries (binauthz policy allow --print terraform shows the Terraform form), or re-run and confirm.'],
    })
  }

  if (mode === 'dry-run') {
    result.patterns.added = [...plan.added]
    const may
      = applied.permission === undefined
        ? ''
        : (applied.permission.update
          ? '\nYou may update the policy (binaryauthorization.policy.update).'
          : '\nYou may NOT update the policy (no binaryauthorization.policy.update): a real run would stop and print what an admin must add.')
    options.show(`Dry run: binauthz would add to the policy of ${project}:`);
    (options.showDiff ?? options.show)(result.policy.diff.replace(/\n$/, ''))
    if (may !== '') options.show(may)
    await reporter.skip('allowlist', `Dry run: would add ${plan.added.join(', ')}`)
    return
  }

  if (mode === 'no-patch') {
    await reporter.fail('allowlist', 'Not allowlisted, and --no-patch forbids changing the policy')
    throw new UserError(`The build repository is not allowlisted in the Binary Authorization policy of ${project}, and --no-patch forbids changing it. Nothing was deployed.\n\n${adminHandoff(project, plan.added)}`, {
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
  await reporter.succeed(
    'allowlist',
    `Added ${plan.added.join(', ')} (etag ${applied.etagBefore ?? 'none'} → ${applied.etagAfter ?? 'unknown'}${applied.backupFile ? `; previous policy saved to ${applied.backupFile}` : ''})`,
  )
}

/**
 * A deploy that builds: the existing service/function (what gcloud reuses) and the policy are read at the same time,
 * then the builds are derived, prebuilt sidecars judged, warnings given and the entries allowlisted.
 */
async function buildAndAllowlist(
  options: DeployOptions,
  adapters: DeployAdapters,
  /** `env`: the deploy's environment with the identity flags after `--` applied (the policy client uses the same). */
  run: {connect: () => Promise<BinauthzClient>; context: ResolvedContext; env: NodeJS.ProcessEnv; passthrough: Passthrough; result: DeployResult},
): Promise<void> {
  const {context, passthrough, result} = run
  const {kind, name, project, regions} = result.command === 'deploy run'
    ? {
      kind: 'run' as const, name: result.name, project: result.project, regions: result.regions,
    }
    : {
      kind: 'function' as const, name: result.name, project: result.project, regions: result.regions,
    }
  const opening = run.connect()
  const reading = opening.then(client => client.getPolicy(project))
  const [client, policy, existing] = await Promise.all([
    opening,
    reading,
    adapters.readExisting({
      env: run.env, gcloud: context.gcloud, kind, name, project, regions, ...(options.signal === undefined ? {} : {signal: options.signal}),
    }, adapters),
  ])
  const targets = deriveBuildTargets(buildInput({
    existing, kind, name, passthrough, project, regions,
  }))
  result.existing = existing
  result.builds = buildsOf(targets.targets)
  result.patterns.required = [...targets.patterns]
  options.show(`What gcloud will build:\n${targets.targets.map(t => `  ${describeTarget(t)}`).join('\n')}`)
  await checkPrebuilt(options, result, policy, targets)
  result.warnings = warningsFor(policy, targets, project)
  for (const warning of result.warnings) options.show(`Warning (${warning.code}): ${warning.message}`)
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
  for (const image of result.images) {
    await options.reporter.detail(`Prebuilt ${image.container === '' ? 'image' : `container ${image.container}`} ${image.image}: ${image.admitted ? 'admitted' : 'BLOCKED'} (${image.rule})`)
  }

  const blocked = result.images.filter(i => i.admitted === false)
  if (blocked.length > 0) throw blockedImages(result.project, blocked)
}

/** Only prebuilt images (a plain --image, or containers that all have one): nothing is allowlisted; each is judged. */
async function evaluatePrebuilt(options: DeployOptions, connect: () => Promise<BinauthzClient>, result: DeployResult, prebuilt: BuildTargets['prebuilt']): Promise<void> {
  const {reporter} = options
  let policy: Policy | undefined
  let unknown = ''
  try {
    const client = await connect()
    policy = await client.getPolicy(result.project)
    result.policy = {...result.policy, etagAfter: policy.etag ?? null, etagBefore: policy.etag ?? null}
  } catch (error) {
    // Reading is only advisory here: nothing is changed for a pre-built image.
    if (!(error instanceof BinauthzError) || error instanceof InterruptedError) throw error
    unknown = `could not read the policy (${error.message.split('\n')[0]})`
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
  for (const image of result.images) {
    await reporter.succeed('policy', `Pre-built image ${image.image}: ${image.admitted === null ? 'unknown' : (image.admitted ? 'admitted' : 'NOT admitted')} — ${image.reason}`)
  }

  await reporter.skip('allowlist', 'Nothing to allowlist: --image without --source builds nothing (binauthz adds no pattern for pre-built images)')
  const blocked = result.images.filter(i => i.admitted === false)
  if (blocked.length > 0) throw blockedImages(result.project, blocked)
}
