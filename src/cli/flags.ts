import * as Flags from '@oclif/core/flags'

// Shared flag definitions: one definition per flag, used by every command that takes it.
// Use them as values: `static flags = {project: projectFlag, region: regionFlag, yes: yesFlag}`.
// Validation of project/region values happens in resolveContext (src/app/context.ts), which
// knows where a value came from (flag, environment, saved defaults, gcloud config).
import type {Clock} from '../app/ports.js'

/** --project PROJECT_ID: the Google Cloud project (same meaning as gcloud's --project). */
export const projectFlag = Flags.string({
  helpValue: 'PROJECT_ID',
  summary: 'Google Cloud project ID (default: CLOUDSDK_CORE_PROJECT, saved defaults, then the active gcloud configuration).',
})

/** --region REGION, repeatable and comma-separated (`--region a --region b` or `--region a,b`). */
export const regionFlag = Flags.string({
  // No oclif `delimiter`: it trims and strips quotes; src/app/context.ts splitRegions splits and refuses padding.
  helpValue: 'REGION',
  multiple: true,
  // one value per --region (so `--region us-central1 my-svc` does not swallow NAME); commas split a list
  multipleNonGreedy: true,
  summary: 'Region to deploy to; repeat the flag or give a comma-separated list to deploy to several regions. Must be a region Cloud Run serves; allow a newer one with BINAUTHZ_EXTRA_REGIONS=REGION.',
})

/** --yes / -y: answer yes to the policy-change confirmation (required to patch without a TTY or in CI). */
export const yesFlag = Flags.boolean({
  char: 'y',
  default: false,
  summary: 'Change the Binary Authorization policy without asking (required when there is no TTY or CI is set).',
})

/** --dry-run: show the plan (policy diff and exact gcloud argv) and change nothing. */
export const dryRunFlag = Flags.boolean({
  default: false,
  summary: 'Show the policy diff and the exact gcloud command, then stop: change nothing, deploy nothing.',
})

/** --dry-run for the policy commands (allow, revoke, restore): show the policy diff, write nothing. */
export const policyDryRunFlag = Flags.boolean({default: false, summary: 'Show the policy diff and change nothing.'})

/** --pattern PATTERN, repeatable: an explicit allowlist entry for `policy allow` / `policy revoke`. */
export const patternFlag = Flags.string({
  helpValue: 'PATTERN',
  multiple: true,
  summary: 'An explicit allowlist pattern (repeatable), e.g. us-central1-docker.pkg.dev/my-proj/repo/**.',
})

/** --no-patch: never write the policy; stop with the admin hand-off when an entry is missing. */
export const noPatchFlag = Flags.boolean({
  default: false,
  summary: 'Never change the policy; if the build repository is not allowlisted, stop and print what an admin must add.',
})

/** --deadline SECONDS: overall time limit for the policy check and update (not for gcloud itself). */
export const deadlineFlag = Flags.integer({
  helpValue: 'SECONDS',
  max: 3600,
  min: 1,
  summary: 'Give up on the policy check and update after this many seconds (the gcloud deploy itself is not limited).',
})

/** --deadline SECONDS for the commands that only read the policy (status, export): no deploy to mention. */
export const readDeadlineFlag = Flags.integer({
  helpValue: 'SECONDS',
  max: 3600,
  min: 1,
  summary: 'Give up on reading the policy after this many seconds.',
})

/** The overall API deadline (epoch ms) a --deadline value sets, counted from the run's clock; nothing when the flag is absent. */
export function deadlineFrom(seconds: number | undefined, clock: Clock): {deadline?: number} {
  return seconds === undefined ? {} : {deadline: clock().getTime() + (seconds * 1000)}
}

/** --verbose: plain line-by-line progress even in a TTY, with more detail. */
export const verboseFlag = Flags.boolean({
  default: false,
  summary: 'Print plain progress lines with more detail instead of the animated task list.',
})

/** --quiet / -q: errors only (no progress, no summary); what a command is asked to print (export's YAML) still is. */
export const quietFlag = Flags.boolean({
  char: 'q',
  default: false,
  exclusive: ['verbose'],
  summary: 'Print errors only: no progress lines or summary (a deploy hides gcloud\'s output too; its error lines go into the error). A question still shows what it asks about.',
})

/** --docker-repository for commands that reason about a custom build repository (policy status/allow, setup). */
export const dockerRepositoryFlag = Flags.string({
  helpValue: 'REPOSITORY',
  summary: 'Custom Artifact Registry build repository: projects/P/locations/L/repositories/R or L-docker.pkg.dev/P/R.',
})

/**
 * --kind run|job|worker-pool|function|all for commands that work on several deploy paths; each command says what the
 * paths are for. job and worker-pool build into run's cloud-run-source-deploy, so they name the same entry as run.
 */
export function kindsFlag(summary: string) {
  return Flags.option({options: ['run', 'job', 'worker-pool', 'function', 'all'] as const, summary})()
}

/** --state-dir DIR for the sandbox commands (start, stop, status, env). */
export const stateDirFlag = Flags.directory({
  helpValue: 'DIR',
  summary: 'Directory holding the sandbox state (default: BINAUTHZ_SANDBOX_DIR, else ~/.local/share/binauthz/sandbox).',
})

/** The flags every policy-changing deploy command shares. */
export const deployFlags = {
  deadline: deadlineFlag,
  // --dry-run already changes nothing; with --no-patch as well the intent is unclear, so say so instead of guessing.
  'dry-run': Flags.boolean({...dryRunFlag, exclusive: ['no-patch']}),
  'no-patch': noPatchFlag,
  project: projectFlag,
  quiet: quietFlag,
  region: regionFlag,
  verbose: {...verboseFlag, exclusive: ['quiet']},
  yes: yesFlag,
}
