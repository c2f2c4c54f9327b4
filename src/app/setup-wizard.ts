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
import {validateProjectId, validateRegion} from '../policy/names.js'
import {planAllow} from '../policy/plan.js'
import {parseDockerRepository} from '../policy/repository.js'
import {savePolicyBackup} from '../store/backups.js'
import {type SavedDefaults, saveDefaults} from '../store/defaults.js'
import {type RunConfig, runConfig, splitRegions} from './context.js'
import {openClient, type OpenedClient} from './open-client.js'
import {changePolicyOf} from './policy-change.js'
import {
  type DefaultRuleSummary, type PathStatus, pathStatuses, summarizeDefaultRule,
} from './policy-ops.js'
import {type Prompter, type Ui} from './ports.js'
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
  /** --no-save sets false: do not save the defaults. */
  save: boolean
  /** --yes: apply the missing entries without asking. */
  yes: boolean
}

export interface SetupDeps {
  /** Default: captureGcloud from src/gcloud/runner.ts (imported lazily). */
  capture?: Capture
  /** The run's gcloud configuration and saved defaults, read once (default: read from `env`). */
  config?: RunConfig
  env: NodeJS.ProcessEnv
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
      return {added: [], handoff: adminHandoff(project, missing), state: 'not-applied'}
    }

    try {
      const applied = await changePolicyOf(
        {
          backup: (target, policy) => savePolicyBackup(this.deps.env, target, policy), client, prompter: this.deps.prompter, ui: this.ui,
        },
        {
          mode: 'write', plan: (policy: Policy) => planAllow(policy, missing), project, yes: this.answers.yes,
        },
      )
      const common = {
        ...(applied.etagBefore === undefined ? {} : {etagBefore: applied.etagBefore}),
        ...(applied.etagAfter === undefined ? {} : {etagAfter: applied.etagAfter}),
        ...(applied.backupFile === undefined ? {} : {backupFile: applied.backupFile}),
      }
      if (applied.declined) return {
        added: [], state: 'declined', ...common, handoff: adminHandoff(project, missing),
      }
      if (!applied.written) return {added: [], state: 'nothing-missing', ...common}
      return {added: applied.plan.added, state: 'applied', ...common}
    } catch (error) {
      if (error instanceof UserError && error.code === 'POLICY_UPDATE_DENIED') {
        return {added: [], handoff: adminHandoff(project, missing), state: 'permission-denied'}
      }

      throw error
    }
  }

  async dockerRepository(): Promise<string | undefined> {
    if (this.answers.dockerRepository !== undefined) {
      parseDockerRepository(this.answers.dockerRepository, '--docker-repository')
      return this.answers.dockerRepository
    }

    const detected = this.saved.dockerRepository
    if (!this.interactive) return detected
    const answer = await this.deps.prompter.input('Custom build repository (--docker-repository; Enter for none)', {
      flag: '--docker-repository',
      ...(detected === undefined ? {} : {default: detected}),
      validate: validator(v => (v.trim() === '' ? true : parseDockerRepository(v.trim(), 'the repository'))),
    })
    return nonEmpty(answer)
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
      validate: validator(v => validateProjectId(v.trim(), 'the project')),
    })
    return validateProjectId(answer.trim(), 'the project')
  }

  async regions(kinds: readonly DeployKind[]): Promise<string[]> {
    if (this.answers.regions !== undefined && this.answers.regions.length > 0) {
      return splitRegions(this.answers.regions).map(r => validateRegion(r, '--region'))
    }

    const {env} = this.deps
    const fromEnv = kinds.includes('run') ? nonEmpty(env.CLOUDSDK_RUN_REGION) : nonEmpty(env.CLOUDSDK_FUNCTIONS_REGION)
    const fromConfig = kinds.includes('run') ? this.gcloud.runRegion : this.gcloud.functionsRegion
    const detected = firstDefined(
      fromEnv,
      this.saved.regions && this.saved.regions.length > 0 ? this.saved.regions.join(',') : undefined,
      fromConfig,
      this.gcloud.runRegion,
      this.gcloud.functionsRegion,
    )
    if (!this.interactive && detected !== undefined) {
      return splitRegions([detected]).map(r => validateRegion(r, 'the detected default region'))
    }

    const answer = await this.deps.prompter.input('Region(s), comma-separated', {
      flag: '--region',
      ...(detected === undefined ? {} : {default: detected}),
      validate: validator(v => {
        const list = splitRegions([v])
        if (list.length === 0) throw new Error('Enter at least one region, e.g. us-central1')
        for (const r of list) validateRegion(r, 'the region')
      }),
    })
    return splitRegions([answer]).map(r => validateRegion(r, 'the region'))
  }
}

interface PolicyReview {
  client: Parameters<Wizard['applyMissing']>[0]
  nextSteps: string[]
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
      : 'The policy was not changed. To add the entries later run `binauthz policy allow`, or hand this to a policy admin:')
    for (const line of policy.handoff.split('\n')) ui.info(line)
    nextSteps.push('binauthz policy allow')
  }

  return {defaultRule, paths, policy}
}

/** Step 1's outcome: fine, or what to do about gcloud. */
function reportGcloud(gcloud: GcloudCheck, ui: Ui, nextSteps: string[]): void {
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

/** Step 7 with --save: writes the defaults and says where. */
async function saveStep(env: NodeJS.ProcessEnv, values: SavedDefaults, ui: Ui): Promise<SetupResult['defaults']> {
  const file = await saveDefaults(env, values)
  ui.info(`✔ Saved defaults to ${file}`)
  return {file, saved: true, values}
}

/** Flag values are checked before anything runs (no gcloud, no request for a bad --region). */
function validateAnswers(answers: SetupAnswers): void {
  if (answers.project !== undefined) validateProjectId(answers.project, '--project')
  for (const region of splitRegions(answers.regions ?? [])) validateRegion(region, '--region')
  if (answers.dockerRepository !== undefined) parseDockerRepository(answers.dockerRepository, '--docker-repository')
}

/** The closing lines: ready or not, and the next commands. */
function reportReadiness({kinds, nextSteps, ready, ui}: {kinds: readonly DeployKind[]; nextSteps: string[]; ready: boolean; ui: Ui}): void {
  if (ready) nextSteps.push(kinds.includes('run') ? 'binauthz deploy run SERVICE --source .' : 'binauthz deploy function NAME --source .')
  ui.info(ready ? '✔ Ready to deploy with Binary Authorization enforced.' : 'Not ready yet.')
  if (nextSteps.length > 0) ui.info(`Next: ${nextSteps.join('  ·  ')}`)
}

/** How the wizard runs its short gcloud commands: the injected capture, else the runner with the run's signal. */
function captureFor(deps: SetupDeps): Capture {
  return deps.capture ?? (inv => captureGcloud({...inv, ...(deps.signal === undefined ? {} : {signal: deps.signal})}))
}

/** Runs the wizard. Throws (having written nothing) on Ctrl-C, a missing answer without a terminal, or an API failure. */
export async function runSetup(answers: SetupAnswers, deps: SetupDeps): Promise<SetupResult> {
  const {env, ui} = deps
  validateAnswers(answers)
  const {defaults: saved, gcloud: gcloudConfig} = deps.config ?? runConfig(env)
  const wizard = new Wizard(answers, deps, gcloudConfig, saved)
  const nextSteps: string[] = []

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
  ui.info(`✔ Credentials: ${credentials.detail}${credentials.account ? ` (account ${credentials.account})` : ''}`)

  // 3. Project, deploy path, regions, custom repository.
  const project = await wizard.project()
  const kind = await wizard.kind()
  const kinds = kindsOf(kind)
  const regions = await wizard.regions(kinds)
  const dockerRepository = await wizard.dockerRepository()
  ui.info(`✔ Project ${project}, region${regions.length === 1 ? '' : 's'} ${regions.join(', ')}, deploy path: ${kind}`)

  // 4. Binary Authorization API enabled? Enforced?
  const api = await checkApi(opened.client, project)
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
    nextSteps.push(api.enableCommand, 'binauthz setup')
  } else if (api.state === 'no-access') {
    const handoff = adminHandoff(project, targets.map(t => t.pattern))
    ui.warn(`Cannot read the Binary Authorization policy of ${project}: ${api.message}`)
    policy = {added: [], handoff, state: 'permission-denied'}
    nextSteps.push('Ask a policy admin to apply the hand-off below, or grant roles/binaryauthorization.policyViewer.')
  } else {
    ({defaultRule, paths, policy} = await reviewPolicy({
      client: opened.client, nextSteps, policy: api.policy, project, targets, ui, wizard,
    }))
  }

  // 7. Save the defaults (last, atomically).
  const values: SavedDefaults = {
    project,
    regions,
    ...(kind === 'all' ? {} : {kind}),
    ...(dockerRepository === undefined ? {} : {dockerRepository}),
  }
  const defaults = answers.save ? await saveStep(env, values, ui) : {saved: false, values}

  const ready = gcloud.problem === undefined && api.state === 'enabled' && paths.length > 0 && paths.every(p => p.covered)
  reportReadiness({
    kinds, nextSteps, ready, ui,
  })
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
    nextSteps,
    paths,
    policy,
    ready,
  }
}
