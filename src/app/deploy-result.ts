// The --json contract of `binauthz deploy run|job|worker-pool|function`: the DeployResult a deploy returns, and the
// two errors that carry it (a failed gcloud, an interrupt) so that --json still prints the result so far.
import type {Denial} from '../gcloud/output.js'
import type {ExistingResource} from '../policy/build-targets.js'
import type {CoveredBy} from '../policy/coverage.js'
import type {DeployKind} from '../policy/repository.js'
import type {JudgedImage} from './progress.js'

import {ExternalError, InterruptedError, type StopSignal} from '../errors.js'

/** A recognised failure in gcloud's output (src/gcloud/output.ts Denial): what happened and the exact fix. */
export type DeployDenial = Denial

export interface RegionDeploy {
  /** The exact command, starting with "gcloud". */
  argv: string[]
  denial?: DeployDenial
  /** gcloud's exit code; null when it did not run (dry run, or skipped after Ctrl-C). */
  exitCode: null | number
  region: string
  /** The service URL gcloud printed ("Service URL: …", gcloud run deploy), when it printed one. */
  url?: string
}

/**
 * The result of `binauthz deploy run|job|worker-pool|function` and its `--json` output (stable; new fields may be added):
 * - command: "deploy run" | "deploy job" | "deploy worker-pool" | "deploy function"; name: the service/job/worker pool/function name
 * - project, regions: what was resolved (and from where: projectSource, regionSource)
 * - existing: per region, whether the service/function exists and the build-image-uri / dockerRepository gcloud reuses
 * - builds: per region, the image the build pushes, its repository, the entry chosen (scope "repository" for Google's
 *   default build repositories, "image" for any other) and where gcloud takes the repository from
 * - images: prebuilt images (plain --image, --container sidecars) with admitted and the admitting/blocking rule
 * - warnings: [{code, message}] (EXEMPTION_SKIPS_ATTESTATION, DRY_RUN_ENFORCEMENT, CROSS_PROJECT_REPOSITORY)
 * - patterns.required: the allowlist patterns the deploy needs (empty for a plain --image deploy);
 *   patterns.added: the ones written (or, with --dry-run, that would be); patterns.alreadyCovered: [{pattern, by}]
 *   where `by` is the covering entry or "defaultAdmissionRule: ALWAYS_ALLOW"
 * - image: for a plain --image run deploy, whether the policy admits that image and why
 * - policy: etagBefore/etagAfter (null when unknown), written (a PUT happened), backupFile (the saved previous
 *   policy, or null), diff (the policy change as unified-style lines, "" when none)
 * - deploys: one entry per region: argv, gcloud exit code (null when not run), denial when recognised
 * - dryRun: nothing was changed or deployed; durationMs: wall time
 * On failure under --json the same object is printed with an added "error" key ({name, code, message, exitCode, suggestions}).
 */
export interface DeployResult {
  /**
   * Who binauthz's policy calls acted as (never the token): `source` is the credential kind in gcloud's order,
   * `principal` the account / service account (null for a bare token), `quotaProject` the X-Goog-User-Project sent.
   */
  auth?: {detail: string; principal: null | string; quotaProject: null | string; source: string}
  /** Per region: where the build pushes, the entry chosen and why (empty when nothing is built). */
  builds: {image: string; pattern: string; region: string; repository: string; scope: 'image' | 'repository'; source: string}[]
  command: DeployCommandName
  deploys: RegionDeploy[]
  dryRun: boolean
  durationMs: number
  /** What the deploy read before planning, per region: the service/function exists, and what gcloud will reuse. */
  existing: Record<string, ExistingResource>
  image?: {admitted: boolean | null; image: string; reason: string}
  /** Prebuilt images of the deploy (a plain --image, or --container sidecars) and the rule that admits or blocks each. */
  images: JudgedImage[]
  name: string
  patterns: {added: string[]; alreadyCovered: {by: string; coveredBy?: CoveredBy; pattern: string;}[]; required: string[];}
  policy: {backupFile: null | string; diff: string; etagAfter: null | string; etagBefore: null | string; written: boolean;}
  project: string
  projectSource: string
  regions: string[]
  regionSource: string
  /** What the change allows beyond this deploy, or why it matters less than it seems: [{code, message}]. */
  warnings: DeployWarning[]
}

/** The command each deploy kind is (the --json `command`). */
export const DEPLOY_COMMANDS = {
  function: 'deploy function', job: 'deploy job', run: 'deploy run', 'worker-pool': 'deploy worker-pool',
} as const satisfies Record<DeployKind, string>

export type DeployCommandName = (typeof DEPLOY_COMMANDS)[DeployKind]

/** The codes of the plan's warnings (--json `warnings[].code`): advice, not errors, so not in the error registry. */
export const WARNING_CODES = ['CROSS_PROJECT_REPOSITORY', 'DRY_RUN_ENFORCEMENT', 'EXEMPTION_SKIPS_ATTESTATION'] as const

export interface DeployWarning {
  code: (typeof WARNING_CODES)[number]
  message: string
}

/** gcloud failed in at least one region: exit with gcloud's code (one region) or 1 (several). Carries the result. */
export class DeployFailedError extends ExternalError {
  readonly jsonResult: DeployResult
  override readonly name: string = 'DeployFailedError'
  private readonly gcloudExitCode: number

  constructor(message: string, result: DeployResult, exitCode: number, suggestions: string[]) {
    super(message, {code: 'DEPLOY_FAILED', suggestions})
    this.jsonResult = result
    this.gcloudExitCode = exitCode
  }

  override get exitCode(): number {
    return this.gcloudExitCode
  }
}

/** The deploy was interrupted (exit 130, 143 for SIGTERM, 129 for SIGHUP). Carries the result so far for --json. */
export class DeployInterruptedError extends InterruptedError {
  readonly jsonResult: DeployResult
  override readonly name = 'DeployInterruptedError'

  constructor(message: string, result: DeployResult, cause?: InterruptedError | StopSignal) {
    super(message, typeof cause === 'string'
      ? {signal: cause}
      : {...(cause === undefined ? {} : {cause, signal: cause.signal, suggestions: [...cause.suggestions]})})
    this.jsonResult = result
  }
}
