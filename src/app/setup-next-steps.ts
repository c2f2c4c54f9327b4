// `binauthz setup`'s closing lines: ready or not, and the next commands, each runnable as printed.

import type {DeployKind} from '../policy/repository.js'
import type {SetupResult} from './setup-types.js'

import {formatCommand} from '../policy/shell.js'
import {type Ui} from './ports.js'
import {type KindChoice} from './targets.js'

/** A next step: a sentence or gcloud command, or a binauthz command that gets the target flags when nothing was saved. */
export type NextStep = string | {binauthz: readonly string[]; gcloud?: readonly string[]}

/**
 * The next steps as commands that run as printed: binauthz commands name the project, regions, deploy path and
 * repository unless they were saved as defaults (then later commands read them).
 */
export function formatSteps(steps: readonly NextStep[], target: {defaults: SetupResult['defaults']; kind: KindChoice}): string[] {
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

/** The deploy commands a ready setup points to, one per deploy path chosen (gcloud's arguments after `--`). */
export const DEPLOY_NEXT_STEPS: Readonly<Record<DeployKind, {binauthz: readonly string[]; gcloud: readonly string[]}>> = {
  function: {binauthz: ['deploy', 'function', 'my-function'], gcloud: ['--source', '.', '--runtime=nodejs22', '--trigger-http', '--entry-point=handler']},
  job: {binauthz: ['deploy', 'job', 'my-job'], gcloud: ['--source', '.']},
  run: {binauthz: ['deploy', 'run', 'my-service'], gcloud: ['--source', '.']},
  'worker-pool': {binauthz: ['deploy', 'worker-pool', 'my-pool'], gcloud: ['--source', '.']},
}

/** The closing lines: ready or not, and the next commands (one per line, each runs as printed). */
export function reportReadiness({kinds, nextSteps, ready, ui}: {kinds: readonly DeployKind[]; nextSteps: NextStep[]; ready: boolean; ui: Ui}): void {
  if (ready) for (const kind of kinds) nextSteps.push(DEPLOY_NEXT_STEPS[kind])
  ui.info(ready ? '✔ Ready to deploy with Binary Authorization enforced.' : 'Not ready yet.')
}
