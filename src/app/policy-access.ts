// What the policy commands (`binauthz policy status|allow|revoke|export|restore`) share: which project, regions and
// patterns a command is about, the client opened as the run's principal, and for the writing ones the change through
// the one policy-change path (policy-change.ts changePolicyOf) and its report. Nothing here prints.

import type {BinauthzClient} from '../google/binauthz-client.js'
import type {RequestContext} from '../google/request-context.js'
import type {PolicyPlan} from '../policy/plan.js'
import type {Policy} from '../policy/types.js'

import {resolveContext, type RunConfig, runConfig} from './context.js'
import {openClient, type OpenedClient} from './open-client.js'
import {backupsIn, changePolicyOf, type PolicyChange} from './policy-change.js'
import {
  type Prompter, type Runtime, silentUi, systemClock, type Ui,
} from './ports.js'
import {
  type KindChoice, kindsOf, requiredTargets, type Target,
} from './targets.js'

/** The run's environment, and its clock and configuration (Runtime's; defaults: the system's clock, read from `env`). */
export interface CommonInput extends Partial<Pick<Runtime, 'clock' | 'config'>>, Pick<Runtime, 'env'> {
  /** Overall deadline for API calls, epoch ms. */
  deadline?: number
  project?: string
}

/** A use case's input that calls the Binary Authorization API. */
export interface ApiInput extends CommonInput, RequestContext {}

export interface Selection {
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
export function select(input: SelectionInput): Selection {
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

/** The input with the run's configuration (gcloud config, saved defaults) attached, read at most once. */
export function withRunConfig<T extends CommonInput>(input: T): T & {config: RunConfig} {
  return {...input, config: input.config ?? runConfig(input.env)}
}

/** The Binary Authorization client for the input's environment and deadline. */
export async function clientFor(input: ApiInput, project: string): Promise<BinauthzClient> {
  return (await openedFor(input, project)).client
}

/** The client and who it acts as. */
async function openedFor(input: ApiInput, project: string): Promise<OpenedClient> {
  const {gcloud} = input.config ?? runConfig(input.env)
  return openClient({
    clock: input.clock ?? systemClock,
    env: input.env,
    gcloud,
    project,
    secrets: input.secrets,
    userAgent: input.userAgent,
    ...(input.deadline === undefined ? {} : {deadline: input.deadline}),
    ...(input.signal === undefined ? {} : {signal: input.signal}),
  })
}

/** What a policy-writing command (allow, revoke, restore) is given besides what to change. */
export interface WriteInput extends ApiInput {
  /** The command line as typed: a refused confirmation names it with --yes. */
  invocation?: readonly string[]
  mode: 'dry-run' | 'write'
  prompter: Prompter
  ui?: Ui
  yes: boolean
}

/** A policy command's change, through the one policy-change path (src/app/policy-change.ts changePolicyOf). */
export async function applyConfirmed(input: WriteInput, change: {plan: (policy: Policy) => PolicyPlan; project: string}): Promise<PolicyChange> {
  const {client, credentials} = await openedFor(input, change.project)
  return changePolicyOf(
    {
      backup: backupsIn(input.env, input.clock),
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
export function writeOutcome(applied: PolicyChange, noChange: string): WriteOutcome {
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

