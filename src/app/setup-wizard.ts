// `binauthz setup`: from nothing to a working deploy. Every question has a flag; without a terminal (or with CI
// set) the answers come from flags and detected defaults, and a needed answer that is missing is a UserError
// naming its flag. Nothing is written before the end: the policy only after the diff was confirmed, the saved
// defaults last and atomically — so Ctrl-C at any prompt leaves everything as it was.
//
// The steps: 1 gcloud (setup-checks), 2 credentials, 3 the questions (setup-questions), 4-6 the policy
// (setup-policy), 7 the saved defaults, then the closing lines (setup-next-steps).

import type {BinauthzClient} from '../google/binauthz-client.js'
import type {SavedDefaults} from '../store/defaults.js'
import type {
  SetupAnswers, SetupDeps, SetupPolicyResult, SetupResult,
} from './setup-types.js'

import {UserError} from '../errors.js'
import {captureGcloud} from '../gcloud/runner.js'
import {adminHandoff} from '../policy/handoff.js'
import {validateProjectId} from '../policy/names.js'
import {parseDockerRepository} from '../policy/repository.js'
import {checkedRegions, runConfig} from './context.js'
import {openClient, type OpenedClient} from './open-client.js'
import {type DefaultRuleSummary, type PathStatus} from './policy-status.js'
import {type Ui} from './ports.js'
import {
  type ApiCheck, type Capture, checkApi, checkGcloud, type GcloudCheck,
} from './setup-checks.js'
import {formatSteps, type NextStep, reportReadiness} from './setup-next-steps.js'
import {type PolicyStep, reviewPolicy} from './setup-policy.js'
import {SetupQuestions} from './setup-questions.js'
import {kindsOf, requiredTargets, type Target} from './targets.js'

export type {
  SetupAnswers, SetupDeps, SetupPolicyResult, SetupResult,
} from './setup-types.js'

/**
 * `setup` ended "Not ready yet.": exit 6 (SETUP_NOT_READY) with what is missing; the result still goes to --json.
 * The command raises it after the result was shown, so the wizard's own output is unchanged.
 */
export class SetupNotReadyError extends UserError {
  readonly jsonResult: SetupResult

  constructor(result: SetupResult) {
    super(`Not ready to deploy yet: ${notReadyReasons(result).join('; ')}.`, {code: 'SETUP_NOT_READY', suggestions: [...result.nextSteps]})
    this.jsonResult = result
  }
}

/** Why a setup result is not ready, one phrase each (pure). */
export function notReadyReasons(result: SetupResult): string[] {
  const reasons: string[] = []
  if (result.gcloud.problem !== undefined) reasons.push(result.gcloud.installed ? 'gcloud is too old' : 'gcloud is not installed')
  if (result.api.state === 'disabled') reasons.push(`the Binary Authorization API is not enabled in ${result.project}`)
  if (result.api.state === 'no-access') reasons.push(`the policy of ${result.project} cannot be read`)
  const missing = result.paths.filter(p => !p.covered).map(p => p.pattern)
  if (missing.length > 0) reasons.push(`not allowlisted: ${missing.join(', ')}`)
  if (reasons.length === 0) reasons.push('the deploy paths could not be checked')
  return reasons
}

/** Step 1's outcome: fine, or what to do about gcloud. */
function reportGcloud(gcloud: GcloudCheck, ui: Ui, nextSteps: NextStep[]): void {
  if (gcloud.problem) {
    ui.warn(gcloud.problem)
    nextSteps.push(gcloud.installed ? 'gcloud components update' : 'Install the Google Cloud CLI: https://cloud.google.com/sdk/docs/install')
  } else ui.info(`✔ gcloud ${gcloud.version ?? ''} (minimum ${gcloud.minimum})`)
}

/** The API check as the result reports it. */
function apiSummary(api: ApiCheck): SetupResult['api'] {
  return {
    state: api.state,
    ...(api.state === 'enabled' ? {} : {message: api.message}),
    ...(api.state === 'disabled' ? {enableCommand: api.enableCommand} : {}),
  }
}

/** Flag values are checked before anything runs (no gcloud, no request for a bad --region). */
function validateAnswers(answers: SetupAnswers, env: NodeJS.ProcessEnv): void {
  if (answers.project !== undefined) validateProjectId(answers.project, '--project')
  checkedRegions(answers.regions ?? [], '--region', env)
  if (answers.dockerRepository !== undefined) parseDockerRepository(answers.dockerRepository, '--docker-repository')
}

/** How the wizard runs its short gcloud commands: the injected capture, else the runner with the run's signal. */
function captureFor(deps: SetupDeps): Capture {
  return deps.capture ?? (inv => captureGcloud({...inv, ...(deps.signal === undefined ? {} : {signal: deps.signal})}))
}

/**
 * The quota project of user credentials is the project worked on (CURRENT_PROJECT is the deploy's --project): a project
 * chosen in the wizard gets a client of its own. The first one sent nothing yet (tokens are fetched on the first call).
 */
async function clientFor(project: string, opened: string | undefined, first: OpenedClient, reopen: () => Promise<OpenedClient>): Promise<BinauthzClient> {
  return project === opened ? first.client : (await reopen()).client
}

/** Steps 4-6 by what the API check found: not enabled, not readable (the hand-off), or the policy to review. */
async function policySteps(api: ApiCheck, step: PolicyStep, targets: readonly Target[]): Promise<{defaultRule?: DefaultRuleSummary; paths: PathStatus[]; policy: SetupPolicyResult}> {
  const {deps: {ui}, nextSteps, project} = step
  if (api.state === 'disabled') {
    ui.warn(`The Binary Authorization API is not enabled in ${project}. Enable it with: ${api.enableCommand}`)
    nextSteps.push(api.enableCommand, {binauthz: ['setup']})
    return {paths: [], policy: {added: [], state: 'skipped'}}
  }

  if (api.state === 'no-access') {
    const handoff = adminHandoff(project, targets.map(t => t.pattern), step.handoff)
    ui.warn(`Cannot read the Binary Authorization policy of ${project}: ${api.message}`)
    nextSteps.push('Ask a policy admin to apply the hand-off below, or grant roles/binaryauthorization.policyViewer.')
    return {paths: [], policy: {added: [], handoff, state: 'permission-denied'}}
  }

  return reviewPolicy(step, api.policy, targets)
}

/** Runs the wizard. Throws (having written nothing) on Ctrl-C, a missing answer without a terminal, or an API failure. */
export async function runSetup(answers: SetupAnswers, deps: SetupDeps): Promise<SetupResult> {
  const {env, ui} = deps
  validateAnswers(answers, env)
  const config = deps.config ?? runConfig(env)
  const {gcloud: gcloudConfig} = config
  const questions = new SetupQuestions(answers, deps, config)
  const nextSteps: NextStep[] = []

  // 1. gcloud installed and recent enough.
  const capture = captureFor(deps)
  const gcloud = await checkGcloud(env, capture)
  reportGcloud(gcloud, ui, nextSteps)

  // 2. Credentials (and which account).
  const open = deps.open ?? openClient
  // The quota project of user credentials is gcloud's current project (billing/quota_project CURRENT_PROJECT).
  const currentProject = env.CLOUDSDK_CORE_PROJECT || gcloudConfig.project
  const opened = await open({
    env, gcloud: gcloudConfig, secrets: deps.secrets, userAgent: deps.userAgent, ...(currentProject ? {project: currentProject} : {}), ...(deps.signal === undefined ? {} : {signal: deps.signal}),
  })
  const credentials = {...opened.credentials, ...(opened.credentials.principal ? {account: opened.credentials.principal} : {})}
  // Who acts: the hand-off grants the role to exactly them.
  const actor = credentials.account === undefined ? {} : {principal: credentials.account}
  ui.info(`✔ Credentials: ${credentials.detail}${credentials.account ? ` (account ${credentials.account})` : ''}`)

  // 3. Project, deploy path, regions, custom repository.
  const project = await questions.project()
  const kind = await questions.kind()
  const kinds = kindsOf(kind)
  const regions = await questions.regions(kinds, project)
  const dockerRepository = await questions.dockerRepository(kinds)
  ui.info(`✔ Project ${project}, region${regions.length === 1 ? '' : 's'} ${regions.join(', ')}, deploy path: ${kind}`)

  const client = await clientFor(project, currentProject, opened, async () => open({
    env, gcloud: gcloudConfig, project, secrets: deps.secrets, userAgent: deps.userAgent, ...(deps.signal === undefined ? {} : {signal: deps.signal}),
  }))

  // 4. Binary Authorization API enabled? Enforced?
  const api = await checkApi(client, project)
  const targets: Target[] = requiredTargets({
    kinds,
    project,
    regions,
    ...(dockerRepository === undefined ? {} : {dockerRepository}),
  })
  const {defaultRule, paths, policy} = await policySteps(api, {
    answers, client, deps, handoff: actor, nextSteps, project,
  }, targets)

  // 7. Save the defaults (last, atomically).
  const values: SavedDefaults = {
    project,
    regions,
    ...(kind === 'all' ? {} : {kind}),
    ...(dockerRepository === undefined ? {} : {dockerRepository}),
  }
  const defaults = await questions.saveDefaults(values)

  const ready = gcloud.problem === undefined && api.state === 'enabled' && paths.length > 0 && paths.every(p => p.covered)
  reportReadiness({
    kinds, nextSteps, ready, ui,
  })
  const steps = formatSteps(nextSteps, {defaults, kind})
  if (steps.length > 0) ui.info(['Next:', ...steps.map(step => `  ${step}`)].join('\n'))
  return {
    credentials,
    gcloud,
    kind,
    project,
    regions,
    ...(dockerRepository === undefined ? {} : {dockerRepository}),
    api: apiSummary(api),
    ...(defaultRule === undefined ? {} : {defaultRule}),
    defaults,
    nextSteps: steps,
    paths,
    policy,
    ready,
  }
}
