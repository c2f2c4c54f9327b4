// Read-modify-write of the project policy with optimistic concurrency:
//   read → plan → (nothing to change: return, no IAM call, no write)
//   → mode 'write': testIamPermissions → (no update permission: PERMISSION_DENIED with the admin hand-off)
//     → confirm → backup(policy as read) → PUT with the etag read → on a stale etag: re-read, re-plan (bounded).
// 'dry-run' also asks testIamPermissions (it needs no permission) so it can report whether a real run could write;
// that check is best-effort: when it fails the result says `permission: undefined` instead of failing the dry run.
// 'no-patch' never calls IAM nor writes: the caller prints the hand-off for an admin.

import {BinauthzError, ExternalError, UserError} from '../errors.js'
import {adminHandoff} from '../policy/handoff.js'
import type {PolicyPlan} from '../policy/plan.js'
import type {Policy} from '../policy/types.js'
import {ApiError, type BinauthzClient, PolicyConflictError} from './client.js'

export const PERMISSION_GET = 'binaryauthorization.policy.get'
export const PERMISSION_UPDATE = 'binaryauthorization.policy.update'

export interface ApplyOptions {
  project: string
  plan: (policy: Policy) => PolicyPlan
  mode: 'write' | 'dry-run' | 'no-patch'
  /** Asked only when a write would happen; false -> no write (declined). Asked again only if a re-plan changes what is added/removed. */
  confirm?: (plan: PolicyPlan) => Promise<boolean>
  /** Write attempts before giving up on etag conflicts, default 10 (with jittered backoff between them, see below). */
  maxAttempts?: number
  /** Saves the policy about to be replaced; returns the file written. Called before every PUT attempt. */
  backup?: (policy: Policy) => Promise<string | undefined>
  onAttempt?: (event: {attempt: number; kind: 'read' | 'conflict' | 'write'}) => void
}

export interface ApplyResult {
  plan: PolicyPlan
  written: boolean
  declined: boolean
  permission: {get: boolean; update: boolean} | undefined
  etagBefore?: string
  etagAfter?: string
  /** Read/plan rounds performed (1 without conflicts). */
  attempts: number
  backupFile?: string
}

function changeKey(plan: PolicyPlan): string {
  return JSON.stringify([plan.added, plan.removed])
}

function removalHandoff(project: string, patterns: readonly string[]): string {
  return [
    `An administrator of project ${project} can remove ${patterns.length === 1 ? 'this entry' : 'these entries'} from admissionWhitelistPatterns:`,
    ...patterns.map((pattern) => `  - namePattern: ${pattern}`),
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

function permissionDenied(project: string, plan: PolicyPlan, why: string, cause?: unknown): UserError {
  const actions: string[] = []
  const handoffs: string[] = []
  if (plan.added.length > 0) {
    actions.push(`allowlist ${plan.added.join(', ')}`)
    handoffs.push(adminHandoff(project, plan.added))
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
    `You may not update the Binary Authorization policy of project ${project} (${why}), so binauthz cannot ` +
      `${actions.join(' or ')}. Nothing was changed.\n\n${handoffs.join('\n\n')}`,
    {
      code: 'PERMISSION_DENIED',
      exit: 'permission',
      suggestions: [
        `Ask a project admin for roles/binaryauthorization.policyEditor: gcloud projects add-iam-policy-binding ${project} --member=user:YOU@example.com --role=roles/binaryauthorization.policyEditor`,
        'Or have an admin apply the change above, then run the command again',
        ...(plan.added.length > 0 ? ['Use --no-patch to only print what an admin must change'] : []),
      ],
      cause,
    },
  )
}

/** Applies `options.plan` to the project policy; see the module comment for the sequence. */
export async function applyPolicyChange(client: BinauthzClient, options: ApplyOptions): Promise<ApplyResult> {
  const {project, mode} = options
  // 10 attempts with full-jitter backoff (client.conflictBackoff) between them: with N writers patching at once
  // only one can win each round, so immediate retries need up to N attempts; 5 were measurably not enough for 20
  // concurrent deploys (test/reliability/concurrency.test.ts), and the jitter spreads the re-reads out.
  const maxAttempts = Math.max(1, options.maxAttempts ?? 10)
  let permission: ApplyResult['permission']
  let confirmedKey: string | undefined
  let backupFile: string | undefined
  let lastConflict: PolicyConflictError | undefined
  let attemptsMade = 0

  for (let attempt = 1; ; attempt++) {
    options.onAttempt?.({attempt, kind: 'read'})
    const policy = await client.getPolicy(project)
    const plan = options.plan(policy)
    const base = {plan, etagBefore: policy.etag, attempts: attempt}

    if (!plan.changed) {
      return {...base, written: false, declined: false, permission, backupFile}
    }

    if (mode === 'no-patch') return {...base, written: false, declined: false, permission: undefined}

    if (mode === 'dry-run') {
      try {
        const granted = await client.testIamPermissions(project, [PERMISSION_GET, PERMISSION_UPDATE])
        permission = {get: granted.includes(PERMISSION_GET), update: granted.includes(PERMISSION_UPDATE)}
      } catch (error: unknown) {
        if (!(error instanceof BinauthzError)) throw error
        permission = undefined
      }
      return {...base, written: false, declined: false, permission}
    }

    if (permission === undefined) {
      const granted = await client.testIamPermissions(project, [PERMISSION_GET, PERMISSION_UPDATE])
      permission = {get: granted.includes(PERMISSION_GET), update: granted.includes(PERMISSION_UPDATE)}
    }
    if (!permission.update) throw permissionDenied(project, plan, `you lack ${PERMISSION_UPDATE}`)

    const key = changeKey(plan)
    if (options.confirm !== undefined && confirmedKey !== key) {
      const ok = await options.confirm(plan)
      if (!ok) return {...base, written: false, declined: true, permission, backupFile}
      confirmedKey = key
    }

    if (options.backup !== undefined) backupFile = (await options.backup(policy)) ?? backupFile

    // Send back exactly the etag we read (the plan's copy carries it too; this makes it explicit).
    const body: Policy = {...plan.after}
    if (policy.etag === undefined) delete body.etag
    else body.etag = policy.etag

    options.onAttempt?.({attempt, kind: 'write'})
    let updated: Policy
    try {
      updated = await client.updatePolicy(project, body)
    } catch (error: unknown) {
      if (error instanceof PolicyConflictError) {
        lastConflict = error
        attemptsMade = attempt
        if (attempt >= maxAttempts) break
        // Out of time for another round: give up with the conflict rather than a deadline error.
        if (!(await client.conflictBackoff(attempt))) break
        options.onAttempt?.({attempt, kind: 'conflict'})
        continue
      }
      if (error instanceof ApiError && error.code === 'PERMISSION_DENIED') {
        throw permissionDenied(project, plan, 'the API answered PERMISSION_DENIED to the update', error)
      }
      throw error
    }

    const present = new Set((updated.admissionWhitelistPatterns ?? []).map((entry) => entry.namePattern))
    const missing = plan.added.filter((pattern) => !present.has(pattern))
    const lingering = plan.removed.filter((pattern) => present.has(pattern))
    if (missing.length > 0 || lingering.length > 0) {
      const what = missing.length > 0 ? `lacks ${missing.join(', ')}` : `still has ${lingering.join(', ')}`
      throw new ExternalError(
        `The Binary Authorization API accepted the update of project ${project} but its answer ${what}.`,
        {code: 'WRITE_NOT_APPLIED', suggestions: [`Inspect the policy: gcloud container binauthz policy export --project=${project}`]},
      )
    }
    return {...base, written: true, declined: false, permission, etagAfter: updated.etag, backupFile}
  }

  throw new ExternalError(
    `The Binary Authorization policy of project ${project} changed while binauthz was updating it, ${attemptsMade} ` +
      `times in a row (someone else is writing it concurrently). Nothing was changed.`,
    {
      code: 'POLICY_CONFLICT',
      exit: 'conflict',
      suggestions: ['Run the same command again in a moment: it re-reads the policy and re-plans the change'],
      cause: lastConflict,
    },
  )
}
