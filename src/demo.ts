// `npm run demo`: the whole job on this machine, against the sandbox, with the real gcloud.
//
//   1. `binauthz sandbox start` (the background server users get) with a policy that blocks every image (ALWAYS_DENY)
//   2. plain `gcloud run deploy --binary-authorization default` fails: the build repository is not allowlisted
//   3. `binauthz deploy run` shows the policy diff, allowlists cloud-run-source-deploy/**, deploys: success
//   4. `binauthz deploy function` does the same for gcf-artifacts/** and `gcloud functions deploy --gen2`
//   5. a second `binauthz deploy run` finds the entry already there: no policy write
//   6. the final policy, what the sandbox holds (`binauthz sandbox status`), and `binauthz sandbox stop`
//
// Without gcloud on PATH it says so and shows the policy half (a --dry-run plan) only.
import {
  existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync,
} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {shellEnvFor} from './app/sandbox-control.js'
import {BinauthzError} from './errors.js'
import {locateGcloud, type ProgramInvocation, runProgram} from './gcloud/runner.js'
import {readServerInfo, SandboxState} from './sandbox/index.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const CLI = join(ROOT, 'bin', 'run.js')
const REGION = 'us-central1'
const FUNCTION_REGION = 'europe-west1'
const tty = process.stdout.isTTY === true
const bold = (text: string): string => (tty ? `\u001B[1m${text}\u001B[22m` : text)
const dim = (text: string): string => (tty ? `\u001B[2m${text}\u001B[22m` : text)
const green = (text: string): string => (tty ? `\u001B[32m${text}\u001B[39m` : text)
const red = (text: string): string => (tty ? `\u001B[31m${text}\u001B[39m` : text)

function say(text = ''): void {
  process.stdout.write(`${text}\n`)
}

function step(n: number, title: string): void {
  say()
  say(bold(`── Step ${n}: ${title}`))
}

/** The gcloud the deploys will run (found as binauthz finds it), or undefined: then only the policy half is shown. */
function findGcloud(): string | undefined {
  try {
    return locateGcloud(process.env)
  } catch (error: unknown) {
    if (error instanceof BinauthzError && error.code === 'GCLOUD_MISSING') return undefined
    throw error
  }
}

function commandBuilt(id: string): boolean {
  return existsSync(join(ROOT, 'dist', 'src', 'commands', ...id.split(' ')) + '.js')
}

/** Runs a command with output streamed (indented via the child's own output), returns its exit code. */
async function runShown(display: string, inv: ProgramInvocation): Promise<number> {
  say(dim(`$ ${display}`))
  const {exitCode, spawnError} = await runProgram(inv)
  if (spawnError !== undefined) say(red(`could not run ${display}: ${spawnError}`))
  return exitCode
}

/** The demo's own environment: none of the user's gcloud or binauthz settings; saved defaults and backups in `work`. */
function baseEnv(work: string): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('CLOUDSDK_') && !key.startsWith('BINAUTHZ_')))
  return {
    ...base,
    BINAUTHZ_CONFIG_DIR: join(work, 'binauthz-config'),
    BINAUTHZ_DATA_DIR: join(work, 'binauthz-data'),
    ...(process.env.BINAUTHZ_GCLOUD ? {BINAUTHZ_GCLOUD: process.env.BINAUTHZ_GCLOUD} : {}),
  }
}

/** `binauthz ...args` as the demo runs it: the built CLI's bin, on its default start path. */
function cli(args: string[], env: NodeJS.ProcessEnv, cwd: string): ProgramInvocation {
  return {
    args: [CLI, ...args], command: process.execPath, cwd, env,
  }
}

function writeSource(work: string): string {
  const source = join(work, 'hello')
  mkdirSync(source, {recursive: true})
  writeFileSync(join(source, 'package.json'), `${JSON.stringify({main: 'index.js', name: 'hello', version: '1.0.0'}, null, 2)}\n`)
  writeFileSync(join(source, 'index.js'), "exports.handler = (req, res) => res.send('Hello from a Binary Authorization-enforced function')\n")
  return source
}

function requestsByApi(state: SandboxState): void {
  const counts = new Map<string, number>()
  for (const r of state.requests()) counts.set(r.api, (counts.get(r.api) ?? 0) + 1)
  say(`Requests served: ${[...counts.entries()].map(([api, n]) => `${api} ${n}`).join(', ')}`)
}

interface DemoRun {
  env: NodeJS.ProcessEnv
  /** What went wrong, for the closing line. */
  problems: string[]
  source: string
  work: string
}

/** Without gcloud: the plan binauthz would apply (a --dry-run), against the sandbox's policy. */
async function policyHalf({env, problems, source, work}: DemoRun): Promise<void> {
  say()
  say(red(`gcloud was not found (${process.env.BINAUTHZ_GCLOUD ? `BINAUTHZ_GCLOUD=${process.env.BINAUTHZ_GCLOUD}` : 'not on PATH'}), so nothing can be deployed.`))
  say('With the Google Cloud CLI installed (https://cloud.google.com/sdk/docs/install) this demo runs `gcloud run deploy`')
  say('and `gcloud functions deploy` for real against the sandbox. Without it, here is the policy half: the plan')
  say('binauthz would apply before deploying (a --dry-run changes nothing and runs nothing).')
  step(2, 'what `binauthz deploy run` would change')
  const code = await runShown(`binauthz deploy run hello --region ${REGION} --dry-run -- --source ${source} --function handler`, cli(['deploy', 'run', 'hello', '--region', REGION, '--dry-run', '--', `--source=${source}`, '--function=handler'], env, work))
  if (code !== 0) problems.push(`binauthz deploy run --dry-run exited ${code}`)
}

/** Steps 2-5 with the real gcloud: refused, allowlisted and deployed twice (run and function), then no write. */
async function deploySteps({env, gcloud, problems, source, state, work}: DemoRun & {gcloud: string; state: SandboxState}): Promise<void> {
  await runShown('gcloud container binauthz policy export', {
    args: ['container', 'binauthz', 'policy', 'export'], command: gcloud, cwd: work, env,
  })

  step(2, 'plain gcloud with --binary-authorization default: refused, the build repository is not allowlisted')
  const refused = await runShown(`gcloud run deploy hello --source ${source} --function handler --region ${REGION} --binary-authorization default`, {
    args: ['run', 'deploy', 'hello', `--source=${source}`, '--function=handler', `--region=${REGION}`, '--binary-authorization=default'], command: gcloud, cwd: work, env,
  })
  say(refused === 0 ? red('Unexpected: the deploy was admitted.') : green(`As expected: gcloud exited ${refused} — Binary Authorization refused the image.`))
  if (refused === 0) problems.push('the un-allowlisted deploy was admitted')

  step(3, 'binauthz deploy run: allowlist cloud-run-source-deploy/**, then deploy')
  const run = await runShown(`binauthz deploy run hello --region ${REGION} --yes -- --source ${source} --function handler`, cli(['deploy', 'run', 'hello', '--region', REGION, '--yes', '--', `--source=${source}`, '--function=handler'], env, work))
  say(run === 0 ? green('Deployed.') : red(`binauthz deploy run exited ${run}.`))
  if (run !== 0) problems.push(`binauthz deploy run exited ${run}`)

  step(4, 'binauthz deploy function: allowlist gcf-artifacts/**, then gcloud functions deploy --gen2')
  const fn = await runShown(`binauthz deploy function hello-fn --region ${FUNCTION_REGION} --yes -- --runtime nodejs24 --source ${source} --entry-point handler --trigger-http`, cli(['deploy', 'function', 'hello-fn', '--region', FUNCTION_REGION, '--yes', '--', '--runtime=nodejs24', `--source=${source}`, '--entry-point=handler', '--trigger-http'], env, work))
  say(fn === 0 ? green('Deployed.') : red(`binauthz deploy function exited ${fn}.`))
  if (fn !== 0) problems.push(`binauthz deploy function exited ${fn}`)

  step(5, 'deploy again: the entry is already there, so the policy is not written')
  const writesBefore = state.requests().filter(r => r.api === 'binaryauthorization' && r.method === 'PUT').length
  const again = await runShown(`binauthz deploy run hello --region ${REGION} --yes -- --source ${source} --function handler`, cli(['deploy', 'run', 'hello', '--region', REGION, '--yes', '--', `--source=${source}`, '--function=handler'], env, work))
  const writesAfter = state.requests().filter(r => r.api === 'binaryauthorization' && r.method === 'PUT').length
  say(again === 0 && writesAfter === writesBefore ? green('Deployed, with no policy write.') : red(`exit ${again}, policy writes ${writesAfter - writesBefore}.`))
  if (again !== 0 || writesAfter !== writesBefore) problems.push('the second deploy did not go through without a policy write')
}

async function main(): Promise<number> {
  const gcloud = findGcloud()
  const missing = ['deploy run', 'deploy function'].filter(id => !commandBuilt(id))
  const work = mkdtempSync(join(tmpdir(), 'binauthz-demo-'))
  const keep = process.argv.includes('--keep')
  const problems: string[] = []
  say(bold('binauthz demo: deploy functions with Binary Authorization enforced, against a local Google Cloud sandbox'))
  say(dim(`(work dir ${work}${keep ? ', kept' : ', removed at the end; pass --keep to keep it'})`))
  if (missing.length > 0) {
    say(red(`The CLI commands ${missing.map(m => `\`binauthz ${m}\``).join(' and ')} are not built in this checkout, so the demo cannot run them.`))
    say('Build first (npx tsc -p tsconfig.json) or check that src/commands/deploy/ exists.')
    rmSync(work, {force: true, recursive: true})
    return 1
  }

  step(1, 'start the sandbox with a policy that blocks every image')
  const stateDir = join(work, 'sandbox')
  const plain = baseEnv(work)
  const started = await runShown(`binauthz sandbox start --state-dir ${stateDir} --policy block-all`, cli(['sandbox', 'start', '--state-dir', stateDir, '--policy', 'block-all'], plain, work))
  const server = readServerInfo(stateDir)
  if (started !== 0 || server === undefined) {
    say(red(`binauthz sandbox start exited ${started}.`))
    if (!keep) rmSync(work, {force: true, recursive: true})
    return 1
  }

  const state = new SandboxState(stateDir)
  // What `eval "$(binauthz sandbox env --state-dir DIR)"` would put in a shell.
  const env = {...plain, ...shellEnvFor(stateDir, server.port)}
  const source = writeSource(work)
  say(`gcloud uses a private config in ${env.CLOUDSDK_CONFIG}, as \`eval "$(binauthz sandbox env)"\` would set it.`)
  try {
    await (gcloud
      ? deploySteps({
        env, gcloud, problems, source, state, work,
      })
      : policyHalf({
        env, problems, source, work,
      }));
    step(6, 'what the sandbox holds now')
    await runShown('binauthz sandbox status', cli(['sandbox', 'status'], env, work))
    requestsByApi(state)
    return problems.length > 0 ? 1 : 0
  } finally {
    const stopped = await runShown('binauthz sandbox stop', cli(['sandbox', 'stop'], env, work))
    if (stopped !== 0) problems.push(`binauthz sandbox stop exited ${stopped}`)
    say()
    say(problems.length === 0 ? bold(green('Demo complete: sandbox stopped.')) : bold(red(`Demo finished with problems: ${problems.join('; ')}.`)))
    if (!keep) rmSync(work, {force: true, recursive: true})
  }
}

try {
  process.exitCode = await main()
} catch (error: unknown) {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
}
