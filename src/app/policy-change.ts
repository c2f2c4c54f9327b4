// Read-modify-write of the project policy with optimistic concurrency:
//   read → plan → (nothing to change: return, no IAM call, no write)
//   → mode 'write': testIamPermissions → (no update permission: PERMISSION_DENIED with the admin hand-off)
//     → confirm → backup(policy as read) → PUT with the etag read → on a stale etag: re-read, re-plan (bounded).
// 'dry-run' also asks testIamPermissions (it needs no permission) so it can report whether a real run could write;
// that check is best-effort: when it fails the result says `permission: undefined` instead of failing the dry run.
// 'no-patch' never calls IAM nor writes: the caller prints the hand-off for an admin.
// The read and the permission check are sequential on purpose: whether IAM is asked at all depends on the plan
// made from the read, and the common case (nothing to change: a redeploy) must cost one request, not two. Asking
// both at once would add a testIamPermissions to every no-change run to save one round trip on the rare write.

import type {BinauthzClient} from '../google/binauthz-client.js'
import type {PolicyPlan} from '../policy/plan.js'
import type {Policy} from '../policy/types.js'
import type {Clock, Prompter, Ui} from './ports.js'

import {
  BinauthzError, ExternalError, InterruptedError, UserError,
} from '../errors.js'
import {ApiError, PolicyConflictError} from '../google/google-errors.js'
import {renderPolicyDiff} from '../policy/diff.js'
import {
  adminHandoff, memberOf, POLICY_GET_PERMISSION as PERMISSION_GET, POLICY_UPDATE_PERMISSION as PERMISSION_UPDATE,
} from '../policy/handoff.js'
import {formatCommand} from '../policy/shell.js'
import {savePolicyBackup} from '../store/backups.js'
import {systemClock} from './ports.js'

export interface ApplyOptions {
  /** Saves the policy about to be replaced; returns the file written. Called before every PUT attempt. */
  backup?: (policy: Policy) => Promise<string | undefined>
  /** Asked only when a write would happen; false -> no write (declined). Asked again only if a re-plan changes what is added/removed. */
  confirm?: (plan: PolicyPlan) => Promise<boolean>
  /** Write attempts before giving up on etag conflicts, default 25 (with jittered backoff between them, see below). */
  maxAttempts?: number
  mode: 'dry-run' | 'no-patch' | 'write'
  onAttempt?: (event: {attempt: number; kind: 'conflict' | 'read' | 'write'}) => void
  plan: (policy: Policy) => PolicyPlan
  /** Who acts (the credential's account or service account): the hand-off grants the role to exactly them. */
  principal?: string
  project: string
}

export interface ApplyResult {
  /** Read/plan rounds performed (1 without conflicts). */
  attempts: number
  backupFile?: string
  declined: boolean
  etagAfter?: string
  etagBefore?: string
  permission: undefined | {get: boolean; update: boolean}
  plan: PolicyPlan
  written: boolean
}

function changeKey(plan: PolicyPlan): string {
  return JSON.stringify([plan.added, plan.removed])
}

function removalHandoff(project: string, patterns: readonly string[]): string {
  return [
    `An administrator of project ${project} can remove ${patterns.length === 1 ? 'this entry' : 'these entries'} from admissionWhitelistPatterns:`,
    ...patterns.map(pattern => `  - namePattern: ${pattern}`),
    '',
    `  gcloud container binauthz policy export --project=${project} > policy.yaml`,
    '  # delete the lines above from policy.yaml, then:',
    `  gcloud container binauthz policy import policy.yaml --project=${project}`,
  ].join('\n')
}

function genericHandoff(project: string): string {
  return [
    `An administrator of project ${project} can apply the change with:`,
    `  gcloud container binauthz policy export --project=${project} > policy.yaml`,
    '  # edit policy.yaml, then:',
    `  gcloud container binauthz policy import policy.yaml --project=${project}`,
  ].join('\n')
}

function permissionDenied(who: {principal?: string; project: string}, plan: PolicyPlan, why: string, cause?: unknown): UserError {
  const {principal, project} = who
  const actions: string[] = []
  const handoffs: string[] = []
  if (plan.added.length > 0) {
    actions.push(`allowlist ${plan.added.join(', ')}`)
    handoffs.push(adminHandoff(project, plan.added, principal === undefined ? {} : {principal}))
  }

  if (plan.removed.length > 0) {
    actions.push(`remove ${plan.removed.join(', ')}`)
    handoffs.push(removalHandoff(project, plan.removed))
  }

  if (actions.length === 0) {
    actions.push('change it')
    handoffs.push(genericHandoff(project))
  }

  return new UserError(
    `You may not update the Binary Authorization policy of project ${project} (${why}), so binauthz cannot `
    + `${actions.join(' or ')}. Nothing was changed.\n\n${handoffs.join('\n\n')}`,
    {
      cause,
      code: 'POLICY_UPDATE_DENIED',
      suggestions: [
        `Ask a project admin for roles/binaryauthorization.policyEditor: gcloud projects add-iam-policy-binding ${project} --member=${memberOf(principal)} --role=roles/binaryauthorization.policyEditor`,
        'Or have an admin apply the change above, then run the command again',
        ...(plan.added.length > 0 ? ['Use --no-patch to only print what an admin must change'] : []),
      ],
    },
  )
}

async function readPermissions(client: BinauthzClient, project: string): Promise<NonNullable<ApplyResult['permission']>> {
  const granted = await client.testIamPermissions(project, [PERMISSION_GET, PERMISSION_UPDATE])
  return {get: granted.includes(PERMISSION_GET), update: granted.includes(PERMISSION_UPDATE)}
}

/** A dry run reports the permissions when it can; an API failure there only means "unknown". */
async function dryRunPermissions(client: BinauthzClient, project: string): Promise<ApplyResult['permission']> {
  try {
    return await readPermissions(client, project)
  } catch (error: unknown) {
    if (!(error instanceof BinauthzError) || error instanceof InterruptedError) throw error
    return undefined
  }
}

/** The etag of the policy read, or POLICY_WITHOUT_ETAG: a write without it would be blind. */
function etagRead(policy: Policy, project: string): string {
  if (policy.etag !== undefined && policy.etag !== '') return policy.etag
  throw new ExternalError(
    `The Binary Authorization policy of project ${project} was read without an etag, so binauthz cannot write it without `
    + 'risking to overwrite a concurrent change (the API always sends one; a proxy or a stand-in in the way may drop it). Nothing was changed.',
    {
      code: 'POLICY_WITHOUT_ETAG',
      suggestions: [
        `Check what answers for the API: gcloud container binauthz policy export --project=${project} --format=json | grep etag`,
        'If CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION points at a proxy or stand-in, make it pass the etag on, then run the command again',
      ],
    },
  )
}

/** The policy to PUT: the planned one with exactly the etag we read (the plan's copy carries it too; this makes it explicit). */
function withEtagRead(after: Policy, read: Policy & {etag: string}): Policy {
  return {...after, etag: read.etag}
}

/** The API's answer must hold what we added and lack what we removed. */
function checkApplied(project: string, plan: PolicyPlan, updated: Policy): void {
  const present = new Set((updated.admissionWhitelistPatterns ?? []).map(entry => entry.namePattern))
  const missing = plan.added.filter(pattern => !present.has(pattern))
  const lingering = plan.removed.filter(pattern => present.has(pattern))
  if (missing.length > 0 || lingering.length > 0) {
    const what = missing.length > 0 ? `lacks ${missing.join(', ')}` : `still has ${lingering.join(', ')}`
    throw new ExternalError(
      `The Binary Authorization API accepted the update of project ${project} but its answer ${what}.`,
      {code: 'WRITE_NOT_APPLIED', suggestions: [`Inspect the policy: gcloud container binauthz policy export --project=${project}`]},
    )
  }
}

/** PUT the policy; a stale etag resolves with the conflict (to re-read), every other failure throws. */
async function update(client: BinauthzClient, who: {principal?: string; project: string}, plan: PolicyPlan, body: Policy): Promise<Policy | PolicyConflictError> {
  try {
    return await client.updatePolicy(who.project, body)
  } catch (error: unknown) {
    if (error instanceof PolicyConflictError) return error
    if (error instanceof ApiError && error.code === 'PERMISSION_DENIED') {
      throw permissionDenied(who, plan, 'the API answered PERMISSION_DENIED to the update', error)
    }

    throw error
  }
}

/** An interrupted write names the backup of the policy as it was, and how to put it back. */
function withBackupNamed(error: InterruptedError, backupFile: string): InterruptedError {
  return new InterruptedError(`${error.message} The policy as it was before is saved in ${backupFile}.`, {
    cause: error,
    signal: error.signal,
    suggestions: [...error.suggestions, `To put it back: binauthz policy restore --file ${backupFile}`],
  })
}

/** Applies `options.plan` to the project policy; see the module comment for the sequence. */
export async function applyPolicyChange(client: BinauthzClient, options: ApplyOptions): Promise<ApplyResult> {
  const {mode, project} = options
  const who = {project, ...(options.principal === undefined ? {} : {principal: options.principal})}
  // 25 attempts with full-jitter backoff (client.conflictBackoff) between them: with N writers patching at once
  // only one can win each round, so immediate retries need up to N attempts; 5 were measurably not enough for 20
  // concurrent deploys (test/reliability/concurrency.test.ts), 10 not for 60 (concurrency-60.test.ts); the jitter
  // spreads the re-reads out, and --deadline still bounds the whole.
  const maxAttempts = Math.max(1, options.maxAttempts ?? 25)
  let permission: ApplyResult['permission']
  let confirmedKey: string | undefined
  let backupFile: string | undefined
  let lastConflict: PolicyConflictError | undefined
  let attemptsMade = 0

  for (let attempt = 1; ; attempt++) {
    options.onAttempt?.({attempt, kind: 'read'})
    const policy = await client.getPolicy(project)
    const plan = options.plan(policy)
    const base = {attempts: attempt, etagBefore: policy.etag, plan}

    if (!plan.changed) {
      return {
        ...base, backupFile, declined: false, permission, written: false,
      }
    }

    if (mode === 'no-patch') return {
      ...base, declined: false, permission: undefined, written: false,
    }

    if (mode === 'dry-run') {
      permission = await dryRunPermissions(client, project)
      return {
        ...base, declined: false, permission, written: false,
      }
    }

    // No blind write: without the etag read, a PUT replaces whatever a concurrent writer added (last writer wins).
    // binauthz refuses instead of writing and re-checking (which still loses a change made between its two reads).
    const etag = etagRead(policy, project)
    permission ??= await readPermissions(client, project)

    if (!permission.update) throw permissionDenied(who, plan, `you lack ${PERMISSION_UPDATE}`)

    const key = changeKey(plan)
    if (options.confirm !== undefined && confirmedKey !== key) {
      const ok = await options.confirm(plan)
      if (!ok) return {
        ...base, backupFile, declined: true, permission, written: false,
      }
      confirmedKey = key
    }

    if (options.backup !== undefined) backupFile = (await options.backup(policy)) ?? backupFile

    options.onAttempt?.({attempt, kind: 'write'})
    const updated = await update(client, who, plan, withEtagRead(plan.after, {...policy, etag})).catch((error: unknown) => {
      throw error instanceof InterruptedError && backupFile !== undefined ? withBackupNamed(error, backupFile) : error
    })
    if (updated instanceof PolicyConflictError) {
      lastConflict = updated
      attemptsMade = attempt
      if (attempt >= maxAttempts) break
      // Out of time for another round: give up with the conflict rather than a deadline error.
      if (!(await client.conflictBackoff(attempt))) break
      options.onAttempt?.({attempt, kind: 'conflict'})
      continue
    }

    checkApplied(project, plan, updated)
    return {
      ...base, backupFile, declined: false, etagAfter: updated.etag, permission, written: true,
    }
  }

  throw new ExternalError(
    `The Binary Authorization policy of project ${project} changed while binauthz was updating it, ${attemptsMade} `
    + 'times in a row (someone else is writing it concurrently). Nothing was changed.',
    {
      cause: lastConflict,
      code: 'POLICY_CONFLICT',
      suggestions: ['Run the same command again in a moment: it re-reads the policy and re-plans the change'],
    },
  )
}

// ---------------------------------------------------------------------------------------------------------------
// THE policy change every flow takes (deploy, policy allow/revoke/restore, setup): the plan shown as a diff, one
// confirmation wording (unless --yes), a backup of the policy read, the etag-checked write, re-planning on a
// concurrent change (asking again only when the change differs), and one outcome.

/** What became of a requested change. Failures (permission, conflicts, API errors, interrupts) are thrown. */
export type ChangeOutcome = 'declined' | 'dry-run' | 'no-patch' | 'unchanged' | 'written'

/** The backup every policy write keeps: the policy as read, saved in the data directory of `env`, stamped by `clock`. */
export function backupsIn(env: NodeJS.ProcessEnv, clock: Clock = systemClock): PolicyChangeDeps['backup'] {
  return (project, policy) => savePolicyBackup(env, project, policy, {now: clock()})
}

export interface PolicyChangeDeps {
  /** Saves the policy about to be replaced, returns the file written (src/store/backups.ts savePolicyBackup). */
  backup(project: string, policy: Policy): Promise<string | undefined>
  client: BinauthzClient
  onAttempt?: ApplyOptions['onAttempt']
  /** Called once a change is planned, before it is shown (a deploy closes its "policy read" step here). */
  onPlanned?(plan: PolicyPlan): Promise<void>
  /** Who acts (the credential's principal): named in the hand-off when the change is not permitted. */
  principal?: string
  prompter: Prompter
  /** Where the planned diff is shown. */
  ui: Ui
}

export interface PolicyChangeRequest {
  /** The binauthz command line as typed (bin first): re-run with --yes, it is the command a refusal names. */
  invocation?: readonly string[]
  mode: ApplyOptions['mode']
  plan: (policy: Policy) => PolicyPlan
  project: string
  /** --yes: write without asking (the diff is still shown). */
  yes: boolean
}

export interface PolicyChange extends ApplyResult {
  /** The policy diff (YAML lines prefixed "+ ", "- ", "  "); empty when nothing changes. */
  diff: string
  outcome: ChangeOutcome
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

/** The question every policy write asks. */
function confirmationQuestion(project: string): string {
  return `Write this change to the Binary Authorization policy of project ${project}?`
}

export async function changePolicyOf(deps: PolicyChangeDeps, request: PolicyChangeRequest): Promise<PolicyChange> {
  const {project} = request
  let announced = false
  const announce = async (plan: PolicyPlan): Promise<void> => {
    if (announced) return
    announced = true
    await deps.onPlanned?.(plan)
  }

  const confirm = async (plan: PolicyPlan): Promise<boolean> => {
    await announce(plan)
    deps.ui.info(`Planned change to the Binary Authorization policy of project ${project}:`)
    const diff = renderPolicyDiff(plan.before, plan.after).replace(/\n$/, '')
    if (deps.ui.diff) deps.ui.diff(diff)
    else for (const line of diff.split('\n')) deps.ui.info(line)
    if (request.yes) return true
    return deps.prompter.confirm(confirmationQuestion(project), {
      default: false, flag: '--yes', ...(request.invocation === undefined ? {} : {rerun: withYes(request.invocation)}),
    })
  }

  const applied = await applyPolicyChange(deps.client, {
    backup: policy => deps.backup(project, policy),
    confirm,
    mode: request.mode,
    ...(deps.onAttempt === undefined ? {} : {onAttempt: deps.onAttempt}),
    plan: request.plan,
    ...(deps.principal === undefined ? {} : {principal: deps.principal}),
    project,
  })
  const {plan} = applied
  let outcome: ChangeOutcome = 'unchanged'
  if (applied.written) outcome = 'written'
  else if (!plan.changed) outcome = 'unchanged'
  else if (applied.declined) outcome = 'declined'
  else if (request.mode === 'dry-run') outcome = 'dry-run'
  else if (request.mode === 'no-patch') outcome = 'no-patch'
  await announce(plan)
  return {...applied, diff: plan.changed ? renderPolicyDiff(plan.before, plan.after) : '', outcome}
}
