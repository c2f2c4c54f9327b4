// `binauthz setup` steps 4-6 once the policy could be read: enforcement, the allowlist, each deploy path, then the
// missing entries, written through the one policy-change path (changePolicyOf) or handed to an admin.

import type {BinauthzClient} from '../google/binauthz-client.js'
import type {Policy} from '../policy/types.js'
import type {NextStep} from './setup-next-steps.js'
import type {SetupAnswers, SetupDeps, SetupPolicyResult} from './setup-types.js'

import {UserError} from '../errors.js'
import {describeCoverage} from '../policy/coverage.js'
import {adminHandoff} from '../policy/handoff.js'
import {planAllow} from '../policy/plan.js'
import {backupsIn, changePolicyOf} from './policy-change.js'
import {
  type DefaultRuleSummary, type PathStatus, pathStatuses, summarizeDefaultRule,
} from './policy-status.js'
import {describeKind, type Target} from './targets.js'

/** Step 6: the missing entries through the one policy-change path, or the admin hand-off when we may not or must not. */
async function applyMissing(step: PolicyStep, missing: readonly string[]): Promise<SetupPolicyResult> {
  const {answers, client, deps, handoff, project} = step
  if (missing.length === 0) return {added: [], state: 'nothing-missing'}
  if (!answers.apply) {
    return {added: [], handoff: adminHandoff(project, missing, handoff), state: 'not-applied'}
  }

  try {
    const applied = await changePolicyOf(
      {
        backup: backupsIn(deps.env, deps.clock),
        client,
        ...handoff,
        prompter: deps.prompter,
        ui: deps.ui,
      },
      {
        ...(deps.invocation === undefined ? {} : {invocation: deps.invocation}), mode: 'write', plan: (policy: Policy) => planAllow(policy, missing), project, yes: answers.yes,
      },
    )
    const common = {
      ...(applied.etagBefore === undefined ? {} : {etagBefore: applied.etagBefore}),
      ...(applied.etagAfter === undefined ? {} : {etagAfter: applied.etagAfter}),
      ...(applied.backupFile === undefined ? {} : {backupFile: applied.backupFile}),
    }
    if (applied.declined) return {
      added: [], state: 'declined', ...common, handoff: adminHandoff(project, missing, handoff),
    }
    if (!applied.written) return {added: [], state: 'nothing-missing', ...common}
    return {added: applied.plan.added, state: 'applied', ...common}
  } catch (error) {
    if (error instanceof UserError && error.code === 'POLICY_UPDATE_DENIED') {
      return {added: [], handoff: adminHandoff(project, missing, handoff), state: 'permission-denied'}
    }

    throw error
  }
}

export interface PolicyStep {
  answers: SetupAnswers
  client: BinauthzClient
  deps: SetupDeps
  /** Who acts (the credential's principal, once known): the hand-off grants the role to exactly them. */
  handoff: {principal?: string}
  nextSteps: NextStep[]
  project: string
}

/** Steps 4-6 when the policy could be read: enforcement, the allowlist, each deploy path, then the missing entries. */
export async function reviewPolicy(step: PolicyStep, read: Policy, targets: readonly Target[]): Promise<{defaultRule: DefaultRuleSummary; paths: PathStatus[]; policy: SetupPolicyResult}> {
  const {deps: {ui}, nextSteps} = step
  const defaultRule = summarizeDefaultRule(read)
  ui.info(defaultRule.enforced
    ? `✔ Binary Authorization is enforced (default rule ${defaultRule.evaluationMode ?? '?'}, ${defaultRule.enforcementMode ?? '?'})`
    : `ℹ Binary Authorization does not block anything yet (default rule ${defaultRule.evaluationMode ?? 'unset'}, ${defaultRule.enforcementMode ?? 'unset'})`)

  const allowlist = (read.admissionWhitelistPatterns ?? []).map(p => p.namePattern)
  ui.info(allowlist.length === 0 ? 'ℹ The allowlist is empty.' : `ℹ Current allowlist (${allowlist.length}):`)
  for (const entry of allowlist) ui.info(`    ${entry}`)

  // 5. Which deploy paths are allowlisted already.
  let paths = pathStatuses(read, targets)
  for (const p of paths) {
    const where = `${describeKind(p.kind)}${p.region ? ` in ${p.region}` : ''}`
    ui.info(p.coveredBy ? `✔ ${where}: ${p.pattern} — ${describeCoverage(p.coveredBy, p.pattern)}` : `✘ ${where}: ${p.pattern} is missing`)
  }

  // 6. Offer the missing entries.
  const missing = paths.filter(p => !p.covered).map(p => p.pattern)
  const policy = await applyMissing(step, missing)
  if (policy.state === 'applied') {
    ui.info(`✔ Added ${policy.added.length} entr${policy.added.length === 1 ? 'y' : 'ies'} to the policy${policy.backupFile ? ` (previous policy saved to ${policy.backupFile})` : ''}`)
    paths = paths.map(p => (p.covered
      ? p
      : {
        ...p, covered: true, coveredBy: {kind: 'pattern', pattern: p.pattern}, exactEntry: true,
      }))
  }

  if (policy.handoff) {
    ui.warn(policy.state === 'permission-denied'
      ? 'You may not change the policy. Hand this to a policy admin:'
      : 'The policy was not changed. To add the entries later, run the `binauthz policy allow` command under "Next:" below, or hand this to a policy admin:')
    for (const line of policy.handoff.split('\n')) ui.info(line)
    nextSteps.push({binauthz: ['policy', 'allow']})
  }

  return {defaultRule, paths, policy}
}
