// How progress is shown: an animated listr2 task list in a terminal, plain lines otherwise (CI, pipes, --verbose),
// nothing under --json. Choosing is a pure function; listr2 is imported only when the task list is used.
import type {StepId, StepReporter} from '../app/progress.js'

export type RendererChoice = 'default' | 'silent' | 'simple' | 'verbose'

export interface RendererInput {
  /** CI is set (any value but '', '0', 'false'). */
  ci: boolean
  isTTY: boolean
  json: boolean
  /** --quiet: errors only, no progress at all. */
  quiet?: boolean
  verbose: boolean
}

/**
 * --quiet → nothing; --verbose → verbose plain lines; --json → simple plain lines on stderr (stdout holds only the
 * JSON); no TTY or CI → simple plain lines; otherwise listr2's default (animated) renderer.
 */
export function chooseRenderer(input: RendererInput): RendererChoice {
  if (input.quiet) return 'silent'
  // Under --json stdout holds only the result: progress goes to stderr as plain lines (the command's note()).
  if (input.verbose) return 'verbose'
  if (input.json) return 'simple'
  if (!input.isTTY || input.ci) return 'simple'
  return 'default'
}

/** Whether an environment variable value counts as "CI is set". */
export function isCiValue(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false'
}

/**
 * Plain progress lines for logs (no terminal, CI, --verbose): one line when a step starts and one when it ends, each
 * led by the ISO time from `now`, so a CI log shows how long every step took. Details only with --verbose.
 */
export function plainReporter(write: (line: string) => void, verbose: boolean, now: () => Date = () => new Date()): StepReporter {
  const line = (mark: string, text: string): void => {
    const [first = '', ...rest] = text.split('\n')
    write([`${now().toISOString()} ${mark} ${first}`, ...rest].join('\n'))
  }

  return {
    async close() {},
    async detail(message) {
      if (verbose) write(`  ${message}`)
    },
    async fail(_step, title) {
      line('✖', title)
    },
    async skip(_step, title) {
      line('↓', title)
    },
    async start(_step, title) {
      line('→', title)
    },
    async succeed(_step, title) {
      line('✔', title)
    },
  }
}

/** No progress at all (under --json). */
export function silentReporter(): StepReporter {
  return {
    async close() {},
    async detail() {},
    async fail() {},
    async skip() {},
    async start() {},
    async succeed() {},
  }
}

interface Pending {
  done: Promise<unknown>
  output?: (text: string) => void
  resolve: (outcome: {kind: 'fail' | 'skip' | 'succeed'; title: string}) => void
}

/**
 * A listr2 task list that shows each step while it runs. Each step is a one-task list whose task waits until the
 * pipeline reports the step finished, so prompts and gcloud run between steps, outside the renderer.
 */
export async function listrReporter(renderer: 'default' | 'silent' = 'default', write: (line: string) => void = line => process.stderr.write(`${line}\n`)): Promise<StepReporter> {
  const {Listr} = await import('listr2')
  const pending = new Map<StepId, Pending>()
  // Steps whose output is a child's (gcloud writing to the terminal): a still line at the start, one at the end.
  const streaming = new Set<StepId>()
  const still = (step: StepId, kind: 'fail' | 'skip' | 'succeed', title: string): boolean => {
    if (!streaming.delete(step)) return false
    write(`${kind === 'succeed' ? '✔' : (kind === 'skip' ? '↓' : '✖')} ${title}`)
    return true
  }

  const start = (step: StepId, title: string): void => {
    let resolve!: Pending['resolve']
    const outcome = new Promise<{kind: 'fail' | 'skip' | 'succeed'; title: string}>(r => {
      resolve = r
    })
    const entry: Pending = {done: Promise.resolve(), resolve}
    const list = new Listr(
      [
        {
          async task(_ctx, task) {
            entry.output = (text: string) => {
              task.output = text
            }

            const result = await outcome
            task.title = result.title
            if (result.kind === 'skip') task.skip(result.title)
            if (result.kind === 'fail') throw new Error(result.title)
          },
          title,
        },
      ],
      {
        exitOnError: false, registerSignalListeners: false, renderer, rendererOptions: {collapseErrors: false},
      },
    )
    entry.done = list.run()
    pending.set(step, entry)
  }

  const finish = async (step: StepId, kind: 'fail' | 'skip' | 'succeed', title: string): Promise<void> => {
    if (still(step, kind, title)) return
    if (!pending.has(step)) start(step, title) // a step reported only when done still gets its line
    const entry = pending.get(step)
    if (!entry) return
    pending.delete(step)
    entry.resolve({kind, title})
    await entry.done.catch(() => {})
  }

  return {
    async close() {
      for (const step of pending.keys()) await finish(step, 'fail', 'interrupted')
      for (const step of streaming) still(step, 'fail', 'interrupted')
    },
    async detail(message) {
      for (const entry of pending.values()) entry.output?.(message)
    },
    fail: (step, title) => finish(step, 'fail', title),
    skip: (step, title) => finish(step, 'skip', title),
    async start(step, title, options) {
      if (options?.streaming) {
        streaming.add(step)
        write(`❯ ${title}`)
        return
      }

      start(step, title)
    },
    succeed: (step, title) => finish(step, 'succeed', title),
  }
}
