// Everything a person reads about a deploy: the pipeline's typed events (src/app/progress.ts) as progress steps and
// plan lines, and the closing summary. The pipeline (src/app/deploy.ts) returns typed results only.

import type {DeployResult} from '../app/deploy.js'
import type {DeployEvent, DeployReport, StepReporter} from '../app/progress.js'

import {describeTarget} from '../policy/build-targets.js'
import {formatCommand} from '../policy/shell.js'

const plural = (count: number, word: string): string => `${word}${count === 1 ? '' : 's'}`

/** The commands gcloud runs, one indented line each. */
function commandLines(argvs: readonly (readonly string[])[]): string {
  return argvs.map(argv => `  ${formatCommand([...argv])}`).join('\n')
}

/** What the deploy's --json `by` names when no entry but the default rule admits (src/policy/coverage.ts coveringRule). */
const DEFAULT_RULE_PREFIX = 'defaultAdmissionRule: '

/** Why nothing is added: each pattern allowlisted as it is, by a broader entry, or not needed under the default rule. */
export function coveredTitle(covered: readonly {by: string; pattern: string}[]): string {
  const byRule = covered.filter(c => c.by.startsWith(DEFAULT_RULE_PREFIX))
  const exact = covered.filter(c => c.by === c.pattern)
  const broader = covered.filter(c => c.by !== c.pattern && !c.by.startsWith(DEFAULT_RULE_PREFIX))
  const parts: string[] = []
  if (exact.length > 0) parts.push(`Already allowlisted: ${exact.map(c => c.pattern).join(', ')}`)
  for (const c of broader) parts.push(`${c.pattern} is covered by the broader entry ${c.by}`)
  if (byRule.length > 0) {
    const mode = byRule[0]?.by.slice(DEFAULT_RULE_PREFIX.length) ?? ''
    parts.push(`Nothing to allowlist: the default rule (${mode}) admits every image`)
  }

  return parts.join('; ')
}

type Handlers = {[K in DeployEvent['kind']]: (event: Extract<DeployEvent, {kind: K}>) => Promise<void>}

/** The report a deploy takes: each event as a progress step (through `reporter`) or a plan block (through `show`). */
/** `showDiff` prints a policy diff block (the command colours it in a terminal); default: `show`. */
export function deployReport(reporter: StepReporter, show: (text: string) => void, showDiff: (text: string) => void = show): DeployReport {
  const handlers: Handlers = {
    async 'acting-as'(event) {
      await reporter.detail(`Acting as ${event.principal ?? 'the holder of the access token'} (${event.detail})`
        + (event.quotaProject === undefined ? '' : `; quota project ${event.quotaProject}`))
    },
    async allowlisted(event) {
      await reporter.succeed(
        'allowlist',
        `Added ${event.added.join(', ')} (etag ${event.etagBefore ?? 'none'} → ${event.etagAfter ?? 'unknown'}${event.backupFile ? `; previous policy saved to ${event.backupFile}` : ''})`,
      )
    },
    async 'already-allowlisted'(event) {
      await reporter.skip('allowlist', coveredTitle(event.covered))
    },
    async 'builds-derived'(event) {
      show(`What gcloud will build:\n${event.targets.map(t => `  ${describeTarget(t)}`).join('\n')}`)
    },
    async declined() {
      await reporter.fail('allowlist', 'Policy change declined')
    },
    // Ticked once every gcloud ended: deployed everywhere, or where it failed or was interrupted.
    async 'deploy-ended'(event) {
      await (event.failed.length === 0
        ? reporter.succeed('deploy', `gcloud deployed ${event.name} to ${event.regions.join(', ')}`)
        : reporter.fail('deploy', `gcloud ${event.interrupted ? 'was interrupted' : 'failed'} in ${event.failed.join(', ')}`))
    },
    // gcloud writes its own progress while this step runs: a still line (no animation over gcloud's output).
    async 'deploy-started'(event) {
      const where = event.regions.length === 1 ? (event.regions[0] ?? '') : `${event.regions.length} regions (each line led by its region)`
      await reporter.start('deploy', `Running gcloud in ${where}:\n${commandLines(event.argvs)}`, {streaming: true})
    },
    async 'dry-run-deploys'(event) {
      show(`Dry run: nothing was changed. binauthz would run:\n${commandLines(event.argvs)}`)
      await reporter.skip('deploy', `Dry run: ${event.argvs.length} ${plural(event.argvs.length, 'deploy')} not run`)
    },
    async 'dry-run-policy'(event) {
      const may
        = event.permission === undefined
          ? ''
          : (event.permission.update
            ? '\nYou may update the policy (binaryauthorization.policy.update).'
            : '\nYou may NOT update the policy (no binaryauthorization.policy.update): a real run would stop and print what an admin must add.')
      show(`Dry run: binauthz would add to the policy of ${event.project}:`)
      showDiff(event.diff.replace(/\n$/, ''))
      if (may !== '') show(may.replace(/^\n/, ''))
      await reporter.skip('allowlist', `Dry run: would add ${event.added.join(', ')}`)
    },
    async 'image-judged'(event) {
      const {image} = event
      await reporter.succeed('policy', `Pre-built image ${image.image}: ${image.admitted === null ? 'unknown' : (image.admitted ? 'admitted' : 'NOT admitted')} — ${image.reason}`)
    },
    async 'no-patch'() {
      await reporter.fail('allowlist', 'Not allowlisted, and --no-patch forbids changing the policy')
    },
    async 'nothing-to-allowlist'() {
      await reporter.skip('allowlist', 'Nothing to allowlist: --image without --source builds nothing (binauthz adds no pattern for pre-built images)')
    },
    async 'policy-attempt'(event) {
      await reporter.detail(event.step === 'conflict' ? 'The policy changed meanwhile (etag conflict): re-reading' : `Policy ${event.step} (attempt ${event.attempt})`)
    },
    async 'policy-planned'(event) {
      const {missing, required} = event
      await reporter.succeed(
        'policy',
        missing === 0
          ? (required === 1 ? 'Policy read: the required pattern is already allowed' : `Policy read: all ${required} required patterns are already allowed`)
          : `Policy read: ${missing} of ${required} required ${plural(required, 'pattern')} missing from the allowlist`,
      )
    },
    async 'policy-started'(event) {
      await reporter.start('policy', `Check the Binary Authorization policy of ${event.project}`)
    },
    async required(event) {
      await reporter.detail(`Required: ${event.patterns.join(', ')}`)
    },
    async 'resolve-started'() {
      await reporter.start('resolve', 'Resolve project and regions')
    },
    async resolved(event) {
      await reporter.succeed(
        'resolve',
        `Project ${event.project} (${event.projectSource}), ${plural(event.regions.length, 'region')} ${event.regions.join(', ')} (${event.regionSource})`,
      )
    },
    async 'sidecar-judged'(event) {
      const {image} = event
      await reporter.detail(`Prebuilt ${image.container === '' ? 'image' : `container ${image.container}`} ${image.image}: ${image.admitted ? 'admitted' : 'BLOCKED'} (${image.rule})`)
    },
    async warning(event) {
      show(`Warning (${event.warning.code}): ${event.warning.message}`)
    },
  }
  return event => (handlers[event.kind] as (e: DeployEvent) => Promise<void>)(event)
}

/** The one line a finished (not dry-run) deploy ends with; undefined for a dry run (its plan was shown). */
export function deploySummary(result: DeployResult): string | undefined {
  if (result.dryRun) return undefined
  const where = result.regions.join(', ')
  const policy = result.policy.written
    ? `allowlisted ${result.patterns.added.join(', ')}`
    : (result.image === undefined
      ? 'policy already allowed the build repository'
      : 'pre-built image, policy unchanged')
  return `Deployed ${result.name} to ${where} in ${result.project} with --binary-authorization=default (${policy}).`
}
