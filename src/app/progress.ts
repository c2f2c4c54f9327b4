// Progress of the deploy pipeline as typed events: the pipeline says what happened; the command's presenter
// (src/cli/deploy-presenter.ts) decides the words and how to show them (listr2 task list, plain lines, or nothing —
// see src/cli/renderer.ts). Domain code never prints.

import type {BuildTarget} from '../policy/build-targets.js'

/** The four steps of a deploy, in order. */
export type StepId = 'allowlist' | 'deploy' | 'policy' | 'resolve'

export interface StepReporter {
  /** Ends any step still shown (e.g. after an error). */
  close(): Promise<void>
  /** Extra detail for the running step (shown under --verbose / as task output). */
  detail(message: string): Promise<void>
  fail(step: StepId, title: string): Promise<void>
  skip(step: StepId, title: string): Promise<void>
  /**
   * A step started (`title` says what it does). `streaming`: a child process (gcloud) writes to the terminal while
   * the step runs, so the step is shown as one still line (no animation that would overwrite gcloud's output).
   */
  start(step: StepId, title: string, options?: {streaming?: boolean}): Promise<void>
  /** The step finished; `title` is the final one-line outcome. */
  succeed(step: StepId, title: string): Promise<void>
}

/** A prebuilt image judged against the policy (DeployResult.images[number]). */
export interface JudgedImage {
  admitted: boolean | null
  container: string
  image: string
  reason: string
  rule: string
}

/** What the deploy pipeline reports, in order; the presenter turns each into progress or plan lines. */
export type DeployEvent
  = | {added: readonly string[]; backupFile: string | undefined; etagAfter: string | undefined; etagBefore: string | undefined; kind: 'allowlisted'}
    | {added: readonly string[]; diff: string; kind: 'dry-run-policy'; permission: undefined | {update: boolean}; project: string}
    | {argvs: readonly (readonly string[])[]; kind: 'deploy-started'; name: string; regions: readonly string[]}
    | {argvs: readonly (readonly string[])[]; kind: 'dry-run-deploys'}
    | {attempt: number; kind: 'policy-attempt'; step: 'conflict' | 'read' | 'write'}
    | {covered: readonly {by: string; pattern: string}[]; kind: 'already-allowlisted'}
    | {detail: string; kind: 'acting-as'; principal: string | undefined; quotaProject: string | undefined}
    | {failed: readonly string[]; interrupted: boolean; kind: 'deploy-ended'; name: string; regions: readonly string[]}
    | {image: JudgedImage; kind: 'image-judged'}
    | {image: JudgedImage; kind: 'sidecar-judged'}
    | {kind: 'builds-derived'; targets: readonly BuildTarget[]}
    | {kind: 'declined'}
    | {kind: 'no-patch'}
    | {kind: 'nothing-to-allowlist'}
    | {kind: 'policy-planned'; missing: number; required: number}
    | {kind: 'policy-started'; project: string}
    | {kind: 'required'; patterns: readonly string[]}
    | {kind: 'resolve-started'}
    | {kind: 'resolved'; project: string; projectSource: string; regions: readonly string[]; regionSource: string}
    | {kind: 'warning'; warning: {code: string; message: string}}

/** Where the pipeline reports its events (awaited: a listr2 step may need to settle before the next line). */
export type DeployReport = (event: DeployEvent) => Promise<void>
