// The deploy's last step: gcloud per region (bounded concurrency; no new run starts after an interrupt or a
// failure to start gcloud), each run recognised (denials, the service URL), and the failure or interrupt that ends it.
import type {RunInvocation, RunResult} from '../gcloud/runner.js'
import type {DeployAdapters, DeployOptions} from './deploy-options.js'

import {abortSignalName, type StopSignal} from '../errors.js'
import {recognizeDenial} from '../gcloud/output.js'
import {serviceUrlOf} from '../gcloud/service-url.js'
import {formatCommand} from '../policy/shell.js'
import {
  DeployFailedError, DeployInterruptedError, type DeployResult, type RegionDeploy,
} from './deploy-result.js'

/**
 * Runs gcloud in every region of `result.deploys` (recording each run in it) and returns the finished result, or
 * throws DeployInterruptedError / DeployFailedError carrying it. `env` is the deploy's environment, identity flags
 * after `--` applied; `finish` stamps the duration.
 */
export async function deployRegions(
  options: DeployOptions,
  adapters: DeployAdapters,
  deploying: {env: NodeJS.ProcessEnv; finish: () => DeployResult; regions: readonly string[]; result: DeployResult},
): Promise<DeployResult> {
  const {report} = options
  const {env, finish, regions, result} = deploying
  const {name} = result
  // gcloud writes its own progress while this step runs: the presenter shows a still line, ticked when every gcloud ended.
  await report({
    argvs: result.deploys.map(d => d.argv), kind: 'deploy-started', name, regions,
  })
  let interrupted: StopSignal | undefined
  let failure: undefined | {error: unknown} // e.g. gcloud missing: no new deploys start, running ones finish
  const explanations: string[] = []
  await pool(result.deploys, Math.max(1, options.concurrency ?? 2), () => interrupted !== undefined || failure !== undefined, async (deploy, index) => {
    let run: RunResult
    try {
      run = await adapters.runGcloud({
        args: deploy.argv.slice(1), env, ...(options.signal === undefined ? {} : {signal: options.signal}), ...gcloudOutput(options, regions.length, deploy.region),
      })
    } catch (error) {
      failure ??= {error}
      return
    }

    const explained = explainRun(options, result, deploy, run)
    // `Service URL: …`, which gcloud run deploy prints when it succeeded (the action's `url` output).
    const url = run.exitCode === 0 ? serviceUrlOf(run.stderrTail) : undefined
    result.deploys[index] = {...explained.entry, ...(url === undefined ? {} : {url})}
    explanations.push(...explained.lines)
    if (run.interrupted) interrupted ??= stopSignalOf(run, options.signal)
  })

  await report({
    failed: result.deploys.filter(d => d.exitCode !== 0).map(d => d.region), interrupted: interrupted !== undefined, kind: 'deploy-ended', name, regions,
  })
  if (interrupted !== undefined) throw new DeployInterruptedError('Interrupted: gcloud was stopped; deploys that had not started were skipped.', finish(), interrupted)
  if (failure !== undefined) throw failure.error
  const failed = result.deploys.filter(d => d.exitCode !== 0)
  if (failed.length > 0) {
    const single = regions.length === 1 ? (failed[0]?.exitCode ?? 1) : 1
    const where = failed.map(d => `${d.region} (exit ${d.exitCode})`).join(', ')
    const policyNote = result.policy.written ? ' The policy change was kept (it is needed for the next attempt).' : ''
    throw new DeployFailedError(
      `gcloud deploy failed in ${where}.${policyNote}${explanations.length > 0 ? `\n${explanations.join('\n')}` : ''}`,
      finish(),
      single === 0 ? 1 : single,
      failureSuggestions(failed, options.invocation),
    )
  }

  return finish()
}

/**
 * Which signal stopped a gcloud run: ours when the run was aborted (the signal is passed on to gcloud), else the one
 * gcloud itself died of or reported as its exit (128 + n), so the run ends as gcloud did (143 after SIGTERM).
 */
export function stopSignalOf(run: RunResult, signal: AbortSignal | undefined): StopSignal {
  if (signal?.aborted) return abortSignalName(signal)
  if (run.signal === 'SIGTERM' || run.exitCode === 143) return 'SIGTERM'
  if (run.signal === 'SIGHUP' || run.exitCode === 129) return 'SIGHUP'
  return 'SIGINT'
}

/**
 * What to do after failed deploys: each recognised failure's fixes (commands), then how to try again — the binauthz
 * command, not gcloud's (which would skip the allowlist check). Unrecognised: read gcloud's error above.
 */
export function failureSuggestions(failed: readonly RegionDeploy[], invocation: readonly string[] | undefined): string[] {
  const fixes = [...new Set(failed.flatMap(d => d.denial?.fixes.map(fix => (failed.length > 1 ? `[${d.region}] ${fix}` : fix)) ?? []))]
  const again = invocation === undefined ? 'the same binauthz command' : formatCommand(invocation)
  if (failed.some(d => d.denial === undefined)) fixes.push(`gcloud's error is above${failed.length > 1 ? ` (${failed.filter(d => d.denial === undefined).map(d => d.region).join(', ')})` : ''}; once it is fixed, run again: ${again}`)
  return fixes
}

/** Where gcloud's output goes: hidden (--quiet), led by its region (several regions), or straight to ours. */
function gcloudOutput(options: DeployOptions, regionCount: number, region: string): Pick<RunInvocation, 'linePrefix' | 'stderr' | 'stdout'> {
  return {
    ...(regionCount > 1 ? {linePrefix: `[${region}] `} : {}),
    ...(options.quiet ? {stderr: 'ignore', stdout: 'ignore'} : {stdout: options.json ? 'stderr' : 'inherit'}),
  }
}

/**
 * One region's gcloud run as the result records it (with the recognised failure), and the lines it adds to the
 * failure's message: the failure's summary (its fixes are the suggestions, said once), and under --quiet gcloud's
 * ERROR lines, which were not shown.
 */
function explainRun(options: DeployOptions, result: DeployResult, deploy: RegionDeploy, run: RunResult): {entry: RegionDeploy; lines: string[]} {
  const denial = run.exitCode === 0 || run.interrupted
    ? undefined
    : recognizeDenial(run.stderrTail, {
      patterns: result.patterns.required, project: result.project, region: deploy.region, ...(result.auth?.principal ? {account: result.auth.principal} : {}),
    })
  const lines = [
    ...(denial === undefined ? [] : [`[${deploy.region}] binauthz: ${denial.summary}`]),
    ...(options.quiet && run.exitCode !== 0 ? gcloudErrorLines(run.stderrTail).map(line => `[${deploy.region}] ${line}`) : []),
  ]
  return {entry: {...deploy, exitCode: run.exitCode, ...(denial === undefined ? {} : {denial})}, lines}
}

/** gcloud's `ERROR: …` lines (and what follows the last one), from the tail of its stderr. */
export function gcloudErrorLines(stderr: string): string[] {
  const lines = stderr.split(/\r?\n/)
  const first = lines.findIndex(line => line.startsWith('ERROR:'))
  return first === -1 ? [] : lines.slice(first).filter(line => line.trim() !== '').slice(0, 40)
}

/** Runs `tasks` with at most `limit` at a time; stops starting new ones once `stop()` is true. */
async function pool<T>(items: readonly T[], limit: number, stop: () => boolean, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length && !stop()) {
      const index = next++
      await work(items[index] as T, index)
    }
  }

  await Promise.all(Array.from({length: Math.max(1, Math.min(limit, items.length))}, () => worker()))
}
