// `binauthz setup`: from nothing to a working deploy. Every question has a flag; without a terminal (or with CI
// set) the answers come from flags and detected defaults, and a needed answer that is missing is a UserError
// naming its flag. Nothing is written before the end: the policy only after the diff was confirmed, the saved
// defaults last and atomically — so Ctrl-C at any prompt leaves everything as it was.

import type {CredentialSource} from '../auth/credentials.js'
import type {GcloudConfig} from '../auth/gcloud-config.js'
import type {BinauthzClient} from '../google/binauthz-client.js'
import type {DeployKind} from '../policy/repository.js'
import type {Policy} from '../policy/types.js'

import {UserError} from '../errors.js'
import {captureGcloud} from '../gcloud/runner.js'
import {describeCoverage} from '../policy/coverage.js'
import {adminHandoff} from '../policy/handoff.js'
import {validateProjectId} from '../policy/names.js'
import {planAllow} from '../policy/plan.js'
import {parseDockerRepository} from '../policy/repository.js'
import {formatCommand} from '../policy/shell.js'
import {savePolicyBackup} from '../store/backups.js'
import {type SavedDefaults, saveDefaults} from '../store/defaults.js'
import {checkedRegions, type RunConfig, runConfig} from './context.js'
import {openClient, type OpenedClient} from './open-client.js'
import {changePolicyOf} from './policy-change.js'
import {
  type DefaultRuleSummary, type PathStatus, pathStatuses, summarizeDefaultRule,
} from './policy-status.js'
import {
  type Clock, type Prompter, systemClock, type Ui,
} from './ports.js'
import {
  type ApiCheck, type Capture, checkApi, checkGcloud, type GcloudCheck,
} from './setup-checks.js'
import {
  describeKind, type KindChoice, kindsOf, requiredTargets, type Target,
} from './targets.js'

export interface SetupAnswers {
  /** --no-apply sets false: never write the policy, print the admin hand-off instead. */
  apply: boolean
  dockerRepository?: string
  kind?: KindChoice
  project?: string
  regions?: readonly string[]
  /** --save / --no-save; undefined: asked in a terminal, else saved (and said so, naming --no-save). */
  save?: boolean
  /** --yes: apply the missing entries without asking. */
  yes: boolean
}

export interface SetupDeps {
  /** Default: captureGcloud from src/gcloud/runner.ts (imported lazily). */
  capture?: Capture
  /** The run's clock (default: the system's): backup names and timestamps. */
  clock?: Clock
  /** The run's gcloud configuration and saved defaults, read once (default: read from `env`). */
  config?: RunConfig
  env: NodeJS.ProcessEnv
  /** The command line as typed: a refused confirmation names it with --yes. */
  invocation?: readonly string[]
  /** Default: openClient from ./client.ts. */
  open?: (options: {env: NodeJS.ProcessEnv; gcloud: GcloudConfig; signal?: AbortSignal}) => Promise<OpenedClient>
  prompter: Prompter
  /** The run's interrupt: the gcloud checks and policy requests stop when it aborts. */
  signal?: AbortSignal
  ui: Ui
}

export interface SetupPolicyResult {
  added: string[]
  backupFile?: string
  etagAfter?: string
  etagBefore?: string
  /** What an admin must do, when we could not or were told not to write. */
  handoff?: string
  /** nothing-missing | applied | declined | not-applied (--no-apply) | permission-denied | skipped (API unusable) */
  state: 'applied' | 'declined' | 'not-applied' | 'nothing-missing' | 'permission-denied' | 'skipped'
}

export interface SetupResult {
  api: {enableCommand?: string; message?: string; state: ApiCheck['state'];}
  credentials: CredentialSource & {account?: string}
  defaultRule?: DefaultRuleSummary
  defaults: {file?: string; saved: boolean; values: SavedDefaults}
  dockerRepository?: string
  gcloud: GcloudCheck
  kind: KindChoice
  nextSteps: string[]
  paths: PathStatus[]
  policy: SetupPolicyResult
  project: string
  /** Everything needed for `binauthz deploy` is in place. */
  ready: boolean
  regions: string[]
}

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

function firstDefined<T>(...values: (T | undefined)[]): T | undefined {
  return values.find(v => v !== undefined)
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim()
  return trimmed || undefined
}

function validator(check: (value: string) => unknown): (value: string) => string | true {
  return value => {
    try {
      check(value)
      return true
    } catch (error) {
      return error instanceof Error ? error.message : String(error)
    }
  }
}

class Wizard {
  /** Who acts (the credential's principal, once known): the hand-off grants the role to exactly them. */
  principal: string | undefined
  private readonly interactive: boolean

  constructor(
    private readonly answers: SetupAnswers,
    private readonly deps: SetupDeps,
    private readonly gcloud: GcloudConfig,
    private readonly saved: SavedDefaults,
  ) {
    this.interactive = deps.prompter.interactive
  }

  private get ui(): Ui {
    return this.deps.ui
  }

  async applyMissing(client: BinauthzClient, project: string, missing: readonly string[]): Promise<SetupPolicyResult> {
    if (missing.length === 0) return {added: [], state: 'nothing-missing'}
    if (!this.answers.apply) {
      return {added: [], handoff: adminHandoff(project, missing, this.handoffOptions()), state: 'not-applied'}
    }

    try {
      const applied = await changePolicyOf(
        {
          backup: (target, policy) => savePolicyBackup(this.deps.env, target, policy, {now: (this.deps.clock ?? systemClock)()}),
          client,
          ...this.handoffOptions(),
          prompter: this.deps.prompter,
          ui: this.ui,
        },
        {
          ...(this.deps.invocation === undefined ? {} : {invocation: this.deps.invocation}), mode: 'write', plan: (policy: Policy) => planAllow(policy, missing), project, yes: this.answers.yes,
        },
      )
      const common = {
        ...(applied.etagBefore === undefined ? {} : {etagBefore: applied.etagBefore}),
        ...(applied.etagAfter === undefined ? {} : {etagAfter: applied.etagAfter}),
        ...(applied.backupFile === undefined ? {} : {backupFile: applied.backupFile}),
      }
      if (applied.declined) return {
        added: [], state: 'declined', ...common, handoff: adminHandoff(project, missing, this.handoffOptions()),
      }
      if (!applied.written) return {added: [], state: 'nothing-missing', ...common}
      return {added: applied.plan.added, state: 'applied', ...common}
    } catch (error) {
      if (error instanceof UserError && error.code === 'POLICY_UPDATE_DENIED') {
        return {added: [], handoff: adminHandoff(project, missing, this.handoffOptions()), state: 'permission-denied'}
      }

      throw error
    }
  }

  async dockerRepository(kinds: readonly DeployKind[]): Promise<string | undefined> {
    if (this.answers.dockerRepository !== undefined) {
      parseDockerRepository(this.answers.dockerRepository, '--docker-repository')
      return this.answers.dockerRepository
    }

    const detected = this.saved.dockerRepository
    // --docker-repository is a flag of gcloud functions deploy only: the Cloud Run path is never asked.
    if (!this.interactive || !kinds.includes('function')) return detected
    const answer = await this.deps.prompter.input('Custom build repository (--docker-repository; Enter for none)', {
      flag: '--docker-repository',
      ...(detected === undefined ? {} : {default: detected}),
      validate: validator(v => (v.trim() === '' ? true : parseDockerRepository(v.trim(), 'your answer'))),
    })
    return nonEmpty(answer)
  }

  handoffOptions(): {principal?: string} {
    return this.principal === undefined ? {} : {principal: this.principal}
  }

  async kind(): Promise<KindChoice> {
    if (this.answers.kind !== undefined) return this.answers.kind
    const detected: KindChoice = this.saved.kind ?? 'all'
    if (!this.interactive) return detected
    return this.deps.prompter.select<KindChoice>(
      'How do you deploy?',
      [
        {description: 'gcloud run deploy --source and gcloud functions deploy', name: 'Both', value: 'all'},
        {name: describeKind('run'), value: 'run'},
        {name: describeKind('job'), value: 'job'},
        {name: describeKind('worker-pool'), value: 'worker-pool'},
        {name: describeKind('function'), value: 'function'},
      ],
      {default: detected, flag: '--kind'},
    )
  }

  async project(): Promise<string> {
    if (this.answers.project !== undefined) return validateProjectId(this.answers.project, '--project')
    const detected = firstDefined(nonEmpty(this.deps.env.CLOUDSDK_CORE_PROJECT), this.saved.project, this.gcloud.project)
    if (!this.interactive && detected !== undefined) return validateProjectId(detected, 'the detected default project')
    const answer = await this.deps.prompter.input('Google Cloud project ID', {
      flag: '--project',
      ...(detected === undefined ? {} : {default: detected}),
      validate: validator(v => validateProjectId(v.trim(), 'your answer')),
    })
    return validateProjectId(answer.trim(), 'your answer')
  }

  async regions(kinds: readonly DeployKind[]): Promise<string[]> {
    if (this.answers.regions !== undefined && this.answers.regions.length > 0) {
      return checkedRegions(this.answers.regions, '--region', this.deps.env)
    }

    const {env} = this.deps
    // Jobs and worker pools read run/region as services do (gcloud's run flags).
    const cloudRun = kinds.some(kind => kind !== 'function')
    const fromEnv = cloudRun ? nonEmpty(env.CLOUDSDK_RUN_REGION) : nonEmpty(env.CLOUDSDK_FUNCTIONS_REGION)
    const fromConfig = cloudRun ? this.gcloud.runRegion : this.gcloud.functionsRegion
    const detected = firstDefined(
      fromEnv,
      this.saved.regions && this.saved.regions.length > 0 ? this.saved.regions.join(',') : undefined,
      fromConfig,
      this.gcloud.runRegion,
      this.gcloud.functionsRegion,
    )
    if (!this.interactive && detected !== undefined) {
      return checkedRegions([detected], 'the detected default region', env)
    }

    const answer = await this.deps.prompter.input('Region(s), comma-separated', {
      flag: '--region',
      ...(detected === undefined ? {} : {default: detected}),
      validate: validator(v => {
        if (v.trim() === '') throw new Error('Enter at least one region, e.g. us-central1')
        checkedRegions([typedList(v)], 'your answer', env)
      }),
    })
    return checkedRegions([typedList(answer)], 'your answer', env)
  }

  /** Step 7: save the answers as defaults per the flag, else as answered in a terminal, else save and say so. */
  async saveDefaults(values: SavedDefaults): Promise<SetupResult['defaults']> {
    const asked = this.answers.save === undefined && this.interactive
    let save = this.answers.save ?? true
    if (asked) {
      const regions = values.regions ?? []
      const what = [`project ${values.project ?? ''}`, `region${regions.length === 1 ? '' : 's'} ${regions.join(', ')}`, ...(values.kind === undefined ? [] : [`deploy path ${values.kind}`])]
      save = await this.deps.prompter.confirm(`Save ${what.join(', ')} as defaults for later binauthz commands?`, {default: true, flag: '--save / --no-save'})
    }

    return save ? saveStep(this.deps.env, values, this.ui, asked || this.answers.save !== undefined) : {saved: false, values}
  }
}

interface PolicyReview {
  client: Parameters<Wizard['applyMissing']>[0]
  nextSteps: NextStep[]
  policy: Policy
  project: string
  targets: Target[]
  ui: Ui
  wizard: Wizard
}

/** Steps 4-6 when the policy could be read: enforcement, the allowlist, each deploy path, then the missing entries. */
async function reviewPolicy(review: PolicyReview): Promise<{defaultRule: DefaultRuleSummary; paths: PathStatus[]; policy: SetupPolicyResult}> {
  const {client, nextSteps, policy: read, project, targets, ui, wizard} = review
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
  const policy = await wizard.applyMissing(client, project, missing)
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

/** Step 7 with --save: writes the defaults and says where (and, when nobody was asked, how not to). */
async function saveStep(env: NodeJS.ProcessEnv, values: SavedDefaults, ui: Ui, asked: boolean): Promise<SetupResult['defaults']> {
  const file = await saveDefaults(env, values)
  ui.info(`✔ Saved defaults to ${file}${asked ? '' : ' (--no-save: do not save them)'}`)
  return {file, saved: true, values}
}

/** What a person typed at the prompt: spaces around the commas are typing, not data (flags are never trimmed). */
function typedList(answer: string): string {
  return answer.split(',').map(part => part.trim()).join(',')
}

/** A next step: a sentence or gcloud command, or a binauthz command that gets the target flags when nothing was saved. */
type NextStep = string | {binauthz: readonly string[]; gcloud?: readonly string[]}

/**
 * The next steps as commands that run as printed: binauthz commands name the project, regions, deploy path and
 * repository unless they were saved as defaults (then later commands read them).
 */
function formatSteps(steps: readonly NextStep[], target: {defaults: SetupResult['defaults']; kind: KindChoice}): string[] {
  const {saved, values} = target.defaults
  const flags = saved
    ? []
    : [
      `--project=${values.project}`,
      `--region=${(values.regions ?? []).join(',')}`,
    ]
  return steps.map(step => {
    if (typeof step === 'string') return step
    const [group] = step.binauthz
    // `deploy` takes --project/--region only; policy allow and setup also the deploy path and repository.
    const selection = saved || group === 'deploy'
      ? []
      : [...(target.kind === 'all' ? [] : [`--kind=${target.kind}`]), ...(values.dockerRepository === undefined ? [] : [`--docker-repository=${values.dockerRepository}`])]
    return formatCommand(['binauthz', ...step.binauthz, ...flags, ...selection, ...(step.gcloud === undefined ? [] : ['--', ...step.gcloud])])
  })
}

/** Flag values are checked before anything runs (no gcloud, no request for a bad --region). */
function validateAnswers(answers: SetupAnswers, env: NodeJS.ProcessEnv): void {
  if (answers.project !== undefined) validateProjectId(answers.project, '--project')
  checkedRegions(answers.regions ?? [], '--region', env)
  if (answers.dockerRepository !== undefined) parseDockerRepository(answers.dockerRepository, '--docker-repository')
}

/** The deploy commands a ready setup points to, one per deploy path chosen (gcloud's arguments after `--`). */
export const DEPLOY_NEXT_STEPS: Readonly<Record<DeployKind, {binauthz: readonly string[]; gcloud: readonly string[]}>> = {
  function: {binauthz: ['deploy', 'function', 'my-function'], gcloud: ['--source', '.', '--runtime=nodejs22', '--trigger-http', '--entry-point=handler']},
  job: {binauthz: ['deploy', 'job', 'my-job'], gcloud: ['--source', '.']},
  run: {binauthz: ['deploy', 'run', 'my-service'], gcloud: ['--source', '.']},
  'worker-pool': {binauthz: ['deploy', 'worker-pool', 'my-pool'], gcloud: ['--source', '.']},
}

/** The closing lines: ready or not, and the next commands (one per line, each runs as printed). */
function reportReadiness({kinds, nextSteps, ready, ui}: {kinds: readonly DeployKind[]; nextSteps: NextStep[]; ready: boolean; ui: Ui}): void {
  if (ready) for (const kind of kinds) nextSteps.push(DEPLOY_NEXT_STEPS[kind])
  ui.info(ready ? '✔ Ready to deploy with Binary Authorization enforced.' : 'Not ready yet.')
}

/** How the wizard runs its short gcloud commands: the injected capture, else the runner with the run's signal. */
function captureFor(deps: SetupDeps): Capture {
  return deps.capture ?? (inv => captureGcloud({...inv, ...(deps.signal === undefined ? {} : {signal: deps.signal})}))
}

/** Runs the wizard. Throws (having written nothing) on Ctrl-C, a missing answer without a terminal, or an API failure. */
/**
 * The quota project of user credentials is the project worked on (CURRENT_PROJECT is the deploy's --project): a project
 * chosen in the wizard gets a client of its own. The first one sent nothing yet (tokens are fetched on the first call).
 */
async function clientFor(project: string, opened: string | undefined, first: OpenedClient, reopen: () => Promise<OpenedClient>): Promise<BinauthzClient> {
  return project === opened ? first.client : (await reopen()).client
}

export async function runSetup(answers: SetupAnswers, deps: SetupDeps): Promise<SetupResult> {
  const {env, ui} = deps
  validateAnswers(answers, env)
  const {defaults: saved, gcloud: gcloudConfig} = deps.config ?? runConfig(env)
  const wizard = new Wizard(answers, deps, gcloudConfig, saved)
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
    env, gcloud: gcloudConfig, ...(currentProject ? {project: currentProject} : {}), ...(deps.signal === undefined ? {} : {signal: deps.signal}),
  })
  const credentials = {...opened.credentials, ...(opened.credentials.principal ? {account: opened.credentials.principal} : {})}
  wizard.principal = credentials.account
  ui.info(`✔ Credentials: ${credentials.detail}${credentials.account ? ` (account ${credentials.account})` : ''}`)

  // 3. Project, deploy path, regions, custom repository.
  const project = await wizard.project()
  const kind = await wizard.kind()
  const kinds = kindsOf(kind)
  const regions = await wizard.regions(kinds)
  const dockerRepository = await wizard.dockerRepository(kinds)
  ui.info(`✔ Project ${project}, region${regions.length === 1 ? '' : 's'} ${regions.join(', ')}, deploy path: ${kind}`)

  const client = await clientFor(project, currentProject, opened, async () => open({
    env, gcloud: gcloudConfig, project, ...(deps.signal === undefined ? {} : {signal: deps.signal}),
  }))

  // 4. Binary Authorization API enabled? Enforced?
  const api = await checkApi(client, project)
  let paths: PathStatus[] = []
  let defaultRule: DefaultRuleSummary | undefined
  let policy: SetupPolicyResult = {added: [], state: 'skipped'}
  const targets: Target[] = requiredTargets({
    kinds,
    project,
    regions,
    ...(dockerRepository === undefined ? {} : {dockerRepository}),
  })
  if (api.state === 'disabled') {
    ui.warn(`The Binary Authorization API is not enabled in ${project}. Enable it with: ${api.enableCommand}`)
    nextSteps.push(api.enableCommand, {binauthz: ['setup']})
  } else if (api.state === 'no-access') {
    const handoff = adminHandoff(project, targets.map(t => t.pattern), wizard.handoffOptions())
    ui.warn(`Cannot read the Binary Authorization policy of ${project}: ${api.message}`)
    policy = {added: [], handoff, state: 'permission-denied'}
    nextSteps.push('Ask a policy admin to apply the hand-off below, or grant roles/binaryauthorization.policyViewer.')
  } else {
    ({defaultRule, paths, policy} = await reviewPolicy({
      client, nextSteps, policy: api.policy, project, targets, ui, wizard,
    }))
  }

  // 7. Save the defaults (last, atomically).
  const values: SavedDefaults = {
    project,
    regions,
    ...(kind === 'all' ? {} : {kind}),
    ...(dockerRepository === undefined ? {} : {dockerRepository}),
  }
  const defaults = await wizard.saveDefaults(values)

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
