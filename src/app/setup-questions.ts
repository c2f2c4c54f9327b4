// `binauthz setup` steps 3 and 7: the project, deploy path, regions and build repository, and whether to save them.
// Every question has a flag; without a terminal the detected default answers, and a needed answer that is missing is
// a UserError naming its flag (through the Prompter).

import type {DeployKind} from '../policy/repository.js'
import type {SetupAnswers, SetupDeps, SetupResult} from './setup-types.js'

import {validateProjectId} from '../policy/names.js'
import {parseDockerRepository} from '../policy/repository.js'
import {type SavedDefaults, saveDefaults} from '../store/defaults.js'
import {checkedRegions, configuredContext, type RunConfig} from './context.js'
import {type Ui} from './ports.js'
import {describeKind, type KindChoice} from './targets.js'

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

/** Step 3's questions and step 7's: each answered by its flag, else asked in a terminal, else the detected default. */
export class SetupQuestions {
  private readonly interactive: boolean

  constructor(
    private readonly answers: SetupAnswers,
    private readonly deps: SetupDeps,
    private readonly config: RunConfig,
  ) {
    this.interactive = deps.prompter.interactive
  }

  private get saved(): SavedDefaults {
    return this.config.defaults
  }

  private get ui(): Ui {
    return this.deps.ui
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
    // The default offered is the one a deploy would use (flags aside): context.ts's precedence and validation.
    const detected = configuredContext({config: this.config, env: this.deps.env}).project
    if (!this.interactive && detected !== undefined) return detected
    const answer = await this.deps.prompter.input('Google Cloud project ID', {
      flag: '--project',
      ...(detected === undefined ? {} : {default: detected}),
      validate: validator(v => validateProjectId(v.trim(), 'your answer')),
    })
    return validateProjectId(answer.trim(), 'your answer')
  }

  async regions(kinds: readonly DeployKind[], project: string): Promise<string[]> {
    const {env} = this.deps
    if (this.answers.regions !== undefined && this.answers.regions.length > 0) {
      return checkedRegions(this.answers.regions, '--region', env)
    }

    // The regions a deploy of this path would use (for every path, as `policy status` does): run/region settings for
    // services, jobs and worker pools, functions/region settings for functions.
    const [kind] = kinds.length === 1 ? kinds : []
    const detected = configuredContext({
      config: this.config, env, project, ...(kind === undefined ? {} : {kind}),
    }).regions
    if (!this.interactive && detected.length > 0) return detected
    const answer = await this.deps.prompter.input('Region(s), comma-separated', {
      flag: '--region',
      ...(detected.length === 0 ? {} : {default: detected.join(',')}),
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
