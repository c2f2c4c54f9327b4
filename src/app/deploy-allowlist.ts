// The deploy's policy step when it builds: the existing service/function and the policy read at once, the build
// targets derived from what gcloud will build (policy/build-targets.ts), sidecars judged, warnings given, and the
// missing entries written through THE policy-change path (changePolicyOf in policy-change.ts).
import type {ResolvedTokenProvider} from '../auth/credentials.js'
import type {Passthrough} from '../gcloud/passthrough.js'
import type {BinauthzClient} from '../google/binauthz-client.js'
import type {PolicyPlan, WantedBuild} from '../policy/plan.js'
import type {Policy} from '../policy/types.js'
import type {ResolvedContext} from './context.js'
import type {DeployAdapters, DeployOptions} from './deploy-options.js'
import type {DeployResult} from './deploy-result.js'
import type {ApplyOptions} from './policy-change.js'

import {UserError} from '../errors.js'
import {
  type BuildInput, type BuildTarget, deriveBuildTargets, type ExistingResource,
} from '../policy/build-targets.js'
import {coveringRule} from '../policy/coverage.js'
import {adminHandoff} from '../policy/handoff.js'
import {planAllowBuilds} from '../policy/plan.js'
import {type DeployKind} from '../policy/repository.js'
import {checkPrebuilt} from './deploy-images.js'
import {warningsFor} from './deploy-warnings.js'
import {changePolicyOf, withoutOwnFlag, withYes} from './policy-change.js'
import {systemClock} from './ports.js'

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
export async function buildAndAllowlist(
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
      env: run.env, gcloud: context.gcloud, kind, name, project, regions, secrets: options.secrets, tokens, userAgent: options.userAgent,
      ...(options.signal === undefined ? {} : {signal: options.signal}),
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
