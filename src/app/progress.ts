// Progress reporting for the deploy pipeline: the pipeline reports steps; the command decides how to show them
// (listr2 task list, plain lines, or nothing — see src/cli/renderer.ts). Domain code never prints.

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
