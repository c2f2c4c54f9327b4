// The domain calls behind `binauthz policy status|allow|revoke|export|restore`. Each takes an options object,
// does its I/O through the Binary Authorization client, transaction and backup modules, and returns a plain
// result object (the --json contract). Nothing here prints: progress and diffs go through the injected Ui.

import type {BinauthzClient} from '../google/binauthz-client.js'
import type {CoveredBy, ImageVerdict} from '../policy/coverage.js'
import type {PolicyPlan} from '../policy/plan.js'
import type {DeployKind} from '../policy/repository.js'
import type {Policy} from '../policy/types.js'

import {UserError} from '../errors.js'
import {
  coveringRule, describeCoverage, evaluateImage, findCoverage,
} from '../policy/coverage.js'
import {planAllow, planRevoke} from '../policy/plan.js'
import {terraformAllowlistBlock} from '../policy/terraform.js'
import {policyToYaml} from '../policy/yaml.js'
import {
  type BackupEntry, listPolicyBackups, readPolicyBackupRecord, savePolicyBackup,
} from '../store/backups.js'
import {resolveContext, type RunConfig, runConfig} from './context.js'
import {openClient, type OpenedClient} from './open-client.js'
import {changePolicyOf, type PolicyChange} from './policy-change.js'
import {
  type Clock, type Prompter, silentUi, systemClock, type Ui,
} from './ports.js'
import {
  type KindChoice, kindsOf, requiredTargets, type Target,
} from './targets.js'

export type {CoveredBy} from '../policy/coverage.js'

export interface CommonInput {
  /** The run's clock (default: the system's): backup names, the client's deadline and retry waits. */
  clock?: Clock
  /** The run's gcloud configuration and saved defaults, read once (default: read from `env`). */
  config?: RunConfig
  /** Overall deadline for API calls, epoch ms. */
  deadline?: number
  env: NodeJS.ProcessEnv
  project?: string
  /** The run's interrupt: every request stops when it aborts. */
  signal?: AbortSignal
}

interface Selection {
  project: string
  projectSource: string
  regions: string[]
  targets: Target[]
}

interface SelectionInput extends CommonInput {
  dockerRepository?: string
  kind?: KindChoice
  /** Select only --pattern / --docker-repository (default: when they are given without --kind). */
  onlyExplicit?: boolean
  patterns?: readonly string[]
  regions?: readonly string[]
  /** Whether a missing region is an error (default: unless only explicit patterns/repositories are asked for). */
  requireRegion?: boolean
  /** Use the saved default kind when --kind is absent. */
  useSavedKind: boolean
}

/**
 * Which patterns a command is about. Explicit --pattern / --docker-repository alone select only themselves
 * (no region needed); otherwise the default repositories of --kind (saved default kind, else both) per region.
 */
function select(input: SelectionInput): Selection {
  const explicitOnly
    = input.onlyExplicit
      ?? (input.kind === undefined && ((input.patterns?.length ?? 0) > 0 || input.dockerRepository !== undefined))
  const config = input.config ?? runConfig(input.env)
  const saved = input.useSavedKind ? config.defaults.kind : undefined
  const kind: KindChoice = input.kind ?? saved ?? 'all'
  const kinds = kindsOf(kind)
  const ctx = resolveContext({
    ...(input.project === undefined ? {} : {project: input.project}),
    ...(input.regions === undefined || input.regions.length === 0 ? {} : {regions: input.regions}),
    ...(kinds.length === 1 ? {kind: kinds[0]} : {}),
    config,
    env: input.env,
    requireRegion: input.requireRegion ?? !explicitOnly,
  })
  const targets = requiredTargets({
    kinds: explicitOnly ? [] : kinds,
    project: ctx.project,
    regions: explicitOnly ? [] : ctx.regions,
    ...(input.dockerRepository === undefined ? {} : {dockerRepository: input.dockerRepository}),
    ...(input.patterns === undefined ? {} : {patterns: input.patterns}),
  })
  return {
    project: ctx.project, projectSource: ctx.projectSource, regions: explicitOnly ? [] : ctx.regions, targets,
  }
}

function coveredBy(policy: Policy, pattern: string): CoveredBy | undefined {
  const coverage = findCoverage(policy, pattern)
  return coverage.covered ? coverage.by : undefined
}

/** The input with the run's configuration (gcloud config, saved defaults) attached, read at most once. */
function withRunConfig<T extends CommonInput>(input: T): T & {config: RunConfig} {
  return {...input, config: input.config ?? runConfig(input.env)}
}

/** The Binary Authorization client for the input's environment and deadline. */
async function clientFor(input: CommonInput, project: string): Promise<BinauthzClient> {
  return (await openedFor(input, project)).client
}

/** The client and who it acts as. */
async function openedFor(input: CommonInput, project: string): Promise<OpenedClient> {
  const {gcloud} = input.config ?? runConfig(input.env)
  return openClient({
    clock: input.clock ?? systemClock,
    env: input.env,
    gcloud,
    project,
    ...(input.deadline === undefined ? {} : {deadline: input.deadline}),
    ...(input.signal === undefined ? {} : {signal: input.signal}),
  })
}

/** What a policy-writing command (allow, revoke, restore) is given besides what to change. */
interface WriteInput extends CommonInput {
  /** The command line as typed: a refused confirmation names it with --yes. */
  invocation?: readonly string[]
  mode: 'dry-run' | 'write'
  prompter: Prompter
  ui?: Ui
  yes: boolean
}

/** A policy command's change, through the one policy-change path (src/app/policy-change.ts changePolicyOf). */
async function applyConfirmed(input: WriteInput, change: {plan: (policy: Policy) => PolicyPlan; project: string}): Promise<PolicyChange> {
  const {client, credentials} = await openedFor(input, change.project)
  return changePolicyOf(
    {
      backup: (project, policy) => savePolicyBackup(input.env, project, policy, {now: (input.clock ?? systemClock)()}),
      client,
      ...(credentials.principal ? {principal: credentials.principal} : {}),
      prompter: input.prompter,
      ui: input.ui ?? silentUi,
    },
    {
      ...(input.invocation === undefined ? {} : {invocation: input.invocation}), mode: input.mode, plan: change.plan, project: change.project, yes: input.yes,
    },
  )
}

/** The policy part of a write, in the shape of the deploy result's `policy` (null when unknown or not written). */
export interface PolicyWriteSummary {
  backupFile: null | string
  diff: string
  etagAfter: null | string
  etagBefore: null | string
  written: boolean
}

/** What every policy write reports (allow, revoke, restore). */
export interface PolicyWriteReport {
  added: string[]
  attempts: number
  /** Backup of the policy as it was just before the write. */
  backupFile?: string
  changed: boolean
  declined: boolean
  /** The policy diff (YAML lines prefixed "+ ", "- ", "  "); empty when nothing changes. */
  diff: string
  etagAfter?: string
  etagBefore?: string
  mode: 'dry-run' | 'write'
  /** The same etags, backup, diff and written flag as the deploy result's `policy` object. */
  policy: PolicyWriteSummary
  project: string
  removed: string[]
  /** Why nothing was written, when nothing was. */
  skippedReason?: string
  written: boolean
}

type WriteOutcome = Pick<PolicyWriteReport, 'attempts' | 'backupFile' | 'diff' | 'etagAfter' | 'etagBefore' | 'policy' | 'skippedReason'>

const SKIPPED: Partial<Record<PolicyChange['outcome'], string>> = {
  declined: 'Declined at the confirmation prompt: the policy was not changed.',
  'dry-run': 'Dry run: the policy was not changed.',
}

/** The outcome of an applied change; `noChange` says why when the plan changed nothing. */
function writeOutcome(applied: PolicyChange, noChange: string): WriteOutcome {
  const skippedReason = applied.outcome === 'unchanged' ? noChange : SKIPPED[applied.outcome]
  return {
    ...(applied.etagBefore === undefined ? {} : {etagBefore: applied.etagBefore}),
    ...(applied.etagAfter === undefined ? {} : {etagAfter: applied.etagAfter}),
    ...(applied.backupFile === undefined ? {} : {backupFile: applied.backupFile}),
    attempts: applied.attempts,
    diff: applied.diff,
    policy: {
      backupFile: applied.backupFile ?? null,
      diff: applied.diff,
      etagAfter: applied.etagAfter ?? applied.etagBefore ?? null,
      etagBefore: applied.etagBefore ?? null,
      written: applied.written,
    },
    ...(skippedReason === undefined ? {} : {skippedReason}),
  }
}

// ---------------------------------------------------------------------------------------------------------------
// policy status

export interface PathStatus extends Target {
  covered: boolean
  coveredBy?: CoveredBy
  /** True when the exact pattern is an entry of the allowlist. */
  exactEntry: boolean
}

export interface DefaultRuleSummary {
  /** The default rule blocks images that are not allowlisted (and is not in dry-run audit mode). */
  enforced: boolean
  enforcementMode?: string
  evaluationMode?: string
}

export interface PolicyStatusResult {
  allowlist: string[]
  defaultRule: DefaultRuleSummary
  etag?: string
  globalPolicyEvaluationMode?: string
  image?: ImageVerdict & {image: string}
  /** Required patterns not covered by anything. */
  missing: string[]
  paths: PathStatus[]
  project: string
  projectSource: string
  /**
   * Present when no region was given or configured: the default rule and the allowlist are still shown, but the
   * per-region checks (each deploy path's build repository) need --region. `kinds` are the deploy paths not checked.
   */
  regionNeeded?: {flag: '--region'; kinds: DeployKind[]}
  regions: string[]
  updateTime?: string
}

export function summarizeDefaultRule(policy: Policy): DefaultRuleSummary {
  const rule = policy.defaultAdmissionRule
  const evaluationMode = typeof rule?.evaluationMode === 'string' ? rule.evaluationMode : undefined
  const enforcementMode = typeof rule?.enforcementMode === 'string' ? rule.enforcementMode : undefined
  const enforced
    = evaluationMode !== undefined
      && evaluationMode !== 'ALWAYS_ALLOW'
      && enforcementMode !== 'DRYRUN_AUDIT_LOG_ONLY'
  return {
    ...(evaluationMode === undefined ? {} : {evaluationMode}),
    ...(enforcementMode === undefined ? {} : {enforcementMode}),
    enforced,
  }
}

export function pathStatuses(policy: Policy, targets: readonly Target[]): PathStatus[] {
  const entries = new Set((policy.admissionWhitelistPatterns ?? []).map(p => p.namePattern.trim()))
  return targets.map(target => {
    const by = coveredBy(policy, target.pattern)
    return {
      ...target, covered: by !== undefined, exactEntry: entries.has(target.pattern), ...(by ? {coveredBy: by} : {}),
    }
  })
}

export interface PolicyStatusInput extends CommonInput {
  dockerRepository?: string
  image?: string
  kind?: KindChoice
  regions?: readonly string[]
}

export async function policyStatus(given: PolicyStatusInput): Promise<PolicyStatusResult> {
  const input = withRunConfig(given)
  const dockerRepository = input.dockerRepository ?? input.config.defaults.dockerRepository
  // `policy status --image IMAGE` or `--docker-repository` alone needs no region.
  const selection = select({
    ...input,
    ...(dockerRepository === undefined ? {} : {dockerRepository}),
    onlyExplicit: false,
    // Without a region the policy is still worth showing: the default rule and the allowlist need none; the per-region
    // deploy-path checks are reported as needing --region (regionNeeded).
    requireRegion: false,
    useSavedKind: true,
  })
  const kinds = kindsOf(input.kind ?? input.config.defaults.kind ?? 'all')
  const regionNeeded = selection.regions.length === 0 && input.image === undefined && input.dockerRepository === undefined
    ? {flag: '--region' as const, kinds}
    : undefined
  const client = await clientFor(input, selection.project)
  const policy = await client.getPolicy(selection.project)
  const paths = pathStatuses(policy, selection.targets)
  const result: PolicyStatusResult = {
    project: selection.project,
    projectSource: selection.projectSource,
    regions: selection.regions,
    ...(policy.etag === undefined ? {} : {etag: policy.etag}),
    ...(policy.updateTime === undefined ? {} : {updateTime: policy.updateTime}),
    defaultRule: summarizeDefaultRule(policy),
    ...(typeof policy.globalPolicyEvaluationMode === 'string' ? {globalPolicyEvaluationMode: policy.globalPolicyEvaluationMode} : {}),
    allowlist: (policy.admissionWhitelistPatterns ?? []).map(p => p.namePattern),
    missing: paths.filter(p => !p.covered).map(p => p.pattern),
    paths,
    ...(regionNeeded === undefined ? {} : {regionNeeded}),
  }
  if (input.image !== undefined) result.image = {image: input.image, ...evaluateImage(policy, input.image)}
  return result
}

// ---------------------------------------------------------------------------------------------------------------
// policy allow / revoke

export interface PolicyChangeInput extends WriteInput {
  action: 'allow' | 'revoke'
  dockerRepository?: string
  kind?: KindChoice
  patterns?: readonly string[]
  regions?: readonly string[]
}

export interface PolicyChangeResult extends PolicyWriteReport {
  action: 'allow' | 'revoke'
  /** As in the deploy result: `by` names the covering rule, `coveredBy` is the same as structured data. */
  alreadyCovered: {by: string; coveredBy: CoveredBy; pattern: string;}[]
  /** revoke: asked-for patterns that are not entries of the policy (nothing to remove). */
  notFound: string[]
  regions: string[]
  /** The patterns asked for. */
  requested: string[]
  targets: Target[]
}

function planFor(action: 'allow' | 'revoke', patterns: readonly string[]): (policy: Policy) => PolicyPlan {
  return action === 'allow' ? policy => planAllow(policy, patterns) : policy => planRevoke(policy, patterns)
}

export function explainNoChange(action: 'allow' | 'revoke', plan: PolicyPlan): string {
  if (action === 'allow') {
    const reasons = plan.alreadyCovered.map(({coverage, pattern}) =>
      coverage.covered ? `${pattern}: ${describeCoverage(coverage.by, pattern)}` : `${pattern}: already present`)
    return reasons.length > 0 ? `Nothing to add. ${reasons.join('; ')}.` : 'Nothing to add.'
  }

  return plan.notFound.length > 0
    ? `Nothing to remove: ${plan.notFound.join(', ')} ${plan.notFound.length === 1 ? 'is' : 'are'} not an entry of the policy.`
    : 'Nothing to remove.'
}

export async function changePolicy(given: PolicyChangeInput): Promise<PolicyChangeResult> {
  const input = withRunConfig(given)
  const selection = select({...input, useSavedKind: true})
  const requested = selection.targets.map(t => t.pattern)
  const {project} = selection
  const applied = await applyConfirmed(input, {
    plan: planFor(input.action, requested),
    project,
  })
  const {plan} = applied
  return {
    action: input.action,
    added: plan.added,
    alreadyCovered: plan.alreadyCovered.flatMap(({coverage, pattern}) =>
      coverage.covered ? [{by: coveringRule(coverage.by), coveredBy: coverage.by, pattern}] : []),
    changed: plan.changed,
    declined: applied.declined,
    mode: input.mode,
    notFound: plan.notFound,
    project,
    regions: selection.regions,
    removed: plan.removed,
    requested,
    targets: selection.targets,
    written: applied.written,
    ...writeOutcome(applied, explainNoChange(input.action, plan)),
  }
}

export interface TerraformResult {
  patterns: string[]
  project: string
  regions: string[]
  terraform: string
}

/** `policy allow --print terraform`: the block to add to the Terraform configuration; no API call, no write. */
export function terraformForAllow(given: Omit<PolicyChangeInput, 'action' | 'mode' | 'prompter' | 'yes'>): TerraformResult {
  const input = withRunConfig(given)
  const selection = select({...input, useSavedKind: true})
  const patterns = selection.targets.map(t => t.pattern)
  return {
    patterns, project: selection.project, regions: selection.regions, terraform: terraformAllowlistBlock(patterns, {project: selection.project}),
  }
}

// ---------------------------------------------------------------------------------------------------------------
// policy export

export interface PolicyExportResult {
  etag?: string
  policy: Policy
  project: string
  yaml: string
}

export async function exportPolicy(given: CommonInput): Promise<PolicyExportResult> {
  const input = withRunConfig(given)
  const ctx = resolveContext({
    ...(input.project === undefined ? {} : {project: input.project}), config: input.config, env: input.env, requireRegion: false,
  })
  const client = await clientFor(input, ctx.project)
  const policy = await client.getPolicy(ctx.project)
  return {
    project: ctx.project, ...(policy.etag === undefined ? {} : {etag: policy.etag}), policy, yaml: policyToYaml(policy),
  }
}

// ---------------------------------------------------------------------------------------------------------------
// policy restore

const OUTPUT_ONLY = new Set(['etag', 'name', 'updateTime'])

function withoutOutputOnly(policy: Policy): Record<string, unknown> {
  return Object.fromEntries(Object.entries(policy).filter(([key]) => !OUTPUT_ONLY.has(key)))
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(v => stableJson(v)).join(',')}]`
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : (a > b ? 1 : 0)))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`
  }

  return JSON.stringify(value)
}

/**
 * The plan that replaces `current` by the content of `backup`, sent with the CURRENT etag. Output-only fields
 * (name, updateTime, etag) are taken from `current` so the diff shows only real changes.
 */
export function planRestore(current: Policy, backup: Policy): PolicyPlan {
  const after: Policy = {...backup}
  for (const key of OUTPUT_ONLY) {
    if (current[key] === undefined) delete after[key]
    else after[key] = current[key]
  }

  const names = (p: Policy): string[] => (p.admissionWhitelistPatterns ?? []).map(e => e.namePattern)
  const beforeNames = new Set(names(current))
  const afterNames = new Set(names(after))
  return {
    added: names(after).filter(n => !beforeNames.has(n)),
    after,
    alreadyCovered: [],
    before: current,
    changed: stableJson(withoutOutputOnly(current)) !== stableJson(withoutOutputOnly(after)),
    notFound: [],
    removed: names(current).filter(n => !afterNames.has(n)),
  }
}

export interface PolicyRestoreInput extends WriteInput {
  file?: string
  latest: boolean
}

export interface PolicyRestoreResult extends PolicyWriteReport {
  /** The etag the backup was taken at, when it recorded one. */
  backupEtag?: string
  /** The backup restored from. */
  file: string
}

async function chooseBackup(input: PolicyRestoreInput, project: string): Promise<string> {
  if (input.file !== undefined) return input.file
  const backups = await listPolicyBackups(input.env, project)
  if (backups.length === 0) {
    throw new UserError(`No policy backups of project ${project} were found.`, {
      code: 'NO_BACKUP',
      suggestions: ['Backups are saved before every policy write by binauthz; pass --file FILE to restore another file.'],
    })
  }

  const newestFirst = backups // listPolicyBackups returns newest first
  const newest = newestFirst[0]
  if (input.latest && newest) return newest.file
  return input.prompter.select(
    'Which backup should be restored?',
    newestFirst.map(b => ({name: `${b.savedAt}  ${b.etag ?? '(no etag)'}  ${b.file}`, value: b.file})),
    {flag: '--latest or --file FILE'},
  )
}

export async function restorePolicy(given: PolicyRestoreInput): Promise<PolicyRestoreResult> {
  const input = withRunConfig(given)
  const ctx = resolveContext({
    ...(input.project === undefined ? {} : {project: input.project}), config: input.config, env: input.env, requireRegion: false,
  })
  const {project} = ctx
  const file = await chooseBackup(input, project)
  const record = await readPolicyBackupRecord(file)
  const backup = record.policy
  const otherProject = (): UserError => new UserError(
    `The backup ${file} is a policy of project ${record.project}${typeof backup.name === 'string' ? ` (${backup.name})` : ''}, not of project ${project}; nothing was changed.`,
    {
      code: 'BACKUP_OTHER_PROJECT',
      suggestions: [`Pass --project matching the backup, or choose a backup of ${project} with --latest.`],
    },
  )
  const numbered = typeof backup.name === 'string' ? /^projects\/(\d+)\/policy$/.exec(backup.name)?.[1] : undefined
  const foreignName = typeof backup.name === 'string' && backup.name !== `projects/${project}/policy` && numbered === undefined
  if (record.project !== project || foreignName) throw otherProject()

  const applied = await applyConfirmed(input, {
    plan(current) {
      // A policy named by project NUMBER belongs here only if that number is this project's: the ID itself, or the
      // number the API names the current policy with. Otherwise it could be any project's (refused).
      if (numbered !== undefined && numbered !== project && current.name !== `projects/${numbered}/policy`) throw otherProject()
      return planRestore(current, backup)
    },
    project,
  })
  const {plan} = applied
  return {
    file,
    mode: input.mode,
    project,
    ...(record.etag === undefined ? {} : {backupEtag: record.etag}),
    added: plan.added,
    changed: plan.changed,
    declined: applied.declined,
    removed: plan.removed,
    written: applied.written,
    ...writeOutcome(applied, 'Nothing to restore: the current policy already has the content of the backup.'),
  }
}

export interface BackupListResult {
  /** Newest first. */
  backups: BackupEntry[]
  project: string
}

/** `policy restore --list`: the saved backups of the project's policy; no API call. */
export async function listBackups(given: CommonInput): Promise<BackupListResult> {
  const input = withRunConfig(given)
  const ctx = resolveContext({
    ...(input.project === undefined ? {} : {project: input.project}), config: input.config, env: input.env, requireRegion: false,
  })
  return {backups: await listPolicyBackups(input.env, ctx.project), project: ctx.project}
}
