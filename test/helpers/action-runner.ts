// Runs a composite action's `run:` steps the way the GitHub runner does (for the subset of action.yml ours uses):
// each step's env with `${{ inputs.X }}` / `${{ steps.ID.outputs.X }}` substituted, INPUT_* from those, a fresh
// GITHUB_OUTPUT file per step (read back in both the NAME=VALUE and NAME<<DELIMITER forms), GITHUB_ACTION_PATH, and the
// script run by `bash --noprofile --norc -eo pipefail` (the runner's `shell: bash`). `uses:` steps are listed, not run
// (setup-node: the tests already run on a Node the CLI supports).
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {runProgram} from './e2e.js'

export interface ActionStep {
  env: Record<string, string>
  id?: string
  run?: string
  uses?: string
}

export interface ActionRun {
  outputs: Record<string, string>
  skipped: string[]
  steps: {exitCode: number; id?: string; outputs: Record<string, string>; stderr: string}[]
}

/** The steps and declared outputs of action.yml, read line by line (the file keeps to one simple layout). */
export function readAction(file: string): {inputs: Record<string, string>; outputs: Record<string, string>; steps: ActionStep[]} {
  const lines = readFileSync(file, 'utf8').split('\n')
  const inputs: Record<string, string> = {}
  const outputs: Record<string, string> = {}
  const steps: ActionStep[] = []
  let section = ''
  let current = ''
  let inEnv = false
  for (const line of lines) {
    if (/^\S/.test(line)) section = line.replace(/:.*/, '')
    const top = /^ {2}(\w+):\s*$/.exec(line)
    if (top && (section === 'inputs' || section === 'outputs')) {
      current = top[1] ?? ''
      if (section === 'inputs') inputs[current] = ''
    }

    const def = /^ {4}default: (.*)$/.exec(line)
    if (def && section === 'inputs') inputs[current] = unquote(def[1] ?? '')
    const value = /^ {4}value: (.*)$/.exec(line)
    if (value && section === 'outputs') outputs[current] = value[1] ?? ''
    if (section !== 'runs') continue
    const start = /^ {4}- (\w+): (.*)$/.exec(line)
    if (start) {
      steps.push({env: {}})
      inEnv = false
    }

    const step = steps.at(-1)
    const field = /^ {4}[- ] (\w+):\s*(.*)$/.exec(line)
    if (step && field) {
      const [, key = '', rest = ''] = field
      inEnv = key === 'env'
      if (key === 'id') step.id = rest
      if (key === 'run') step.run = rest
      if (key === 'uses') step.uses = rest
      continue
    }

    const envLine = /^ {8}(\w+): (.*)$/.exec(line)
    if (step && inEnv && envLine) step.env[envLine[1] ?? ''] = unquote(envLine[2] ?? '')
  }

  return {inputs, outputs, steps}
}

function unquote(text: string): string {
  return /^".*"$/.test(text) ? JSON.parse(text) as string : text
}

/** GITHUB_OUTPUT's two forms: NAME=VALUE lines and NAME<<DELIMITER … DELIMITER blocks. */
export function parseGithubOutput(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? ''
    const heredoc = /^([\w-]+)<<(.+)$/.exec(line)
    if (heredoc) {
      const [, name = '', delimiter] = heredoc
      const end = lines.indexOf(delimiter ?? '', i + 1)
      if (end === -1) throw new Error(`GITHUB_OUTPUT: no closing delimiter for ${name}`)
      out[name] = lines.slice(i + 1, end).join('\n')
      i = end
      continue
    }

    const simple = /^([\w-]+)=(.*)$/.exec(line)
    if (simple) out[simple[1] ?? ''] = simple[2] ?? ''
  }

  return out
}

function substitute(text: string, inputs: Record<string, string>, stepOutputs: Record<string, Record<string, string>>): string {
  return text.replaceAll(/\$\{\{\s*(inputs\.(\w+)|steps\.(\w+)\.outputs\.(\w+))\s*\}\}/g, (_m, _all, input?: string, id?: string, name?: string) =>
    (input === undefined ? (stepOutputs[id ?? '']?.[name ?? ''] ?? '') : (inputs[input] ?? '')))
}

/** Runs the action at `actionPath` with `given` inputs in `workdir`, with `env` (the job's environment). */
export async function runAction(options: {actionPath: string; env: NodeJS.ProcessEnv; given: Record<string, string>; timeoutMs: number; workdir: string}): Promise<ActionRun> {
  const action = readAction(join(options.actionPath, 'action.yml'))
  const inputs = {...action.inputs, ...options.given}
  const stepOutputs: Record<string, Record<string, string>> = {}
  const run: ActionRun = {outputs: {}, skipped: [], steps: []}
  for (const [index, step] of action.steps.entries()) {
    if (step.run === undefined) {
      run.skipped.push(step.uses ?? '?')
      continue
    }

    const outputFile = join(options.workdir, `github-output-${index}`)
    writeFileSync(outputFile, '')
    const stepEnv = Object.fromEntries(Object.entries(step.env).map(([k, v]) => [k, substitute(v, inputs, stepOutputs)]))
    const env = {
      ...options.env, ...stepEnv, GITHUB_ACTION_PATH: options.actionPath, GITHUB_OUTPUT: outputFile, RUNNER_TEMP: options.workdir,
    }
    const ran = await runProgram('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', step.run], {cwd: options.workdir, env, timeoutMs: options.timeoutMs})
    const outputs = parseGithubOutput(readFileSync(outputFile, 'utf8'))
    if (step.id !== undefined) stepOutputs[step.id] = outputs
    run.steps.push({
      exitCode: ran.code, ...(step.id === undefined ? {} : {id: step.id}), outputs, stderr: ran.stderr,
    })
    if (ran.code !== 0) break // the runner stops the composite at a failed step
  }

  run.outputs = Object.fromEntries(Object.entries(action.outputs).map(([name, expr]) => [name, substitute(expr, inputs, stepOutputs)]))
  return run
}
