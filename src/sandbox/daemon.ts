// A sandbox in the background: `binauthz sandbox start` spawns this file as a detached node process that serves
// until SIGTERM; server.json in the state dir tells `stop`, `status` and `env` where it is.
//
//   node dist/src/sandbox/daemon.js --state-dir DIR [--port N]
import {spawn} from 'node:child_process'
import {
  closeSync, openSync, readFileSync, rmSync,
} from 'node:fs'
import http from 'node:http'
import {homedir} from 'node:os'
import {join, resolve} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {fileURLToPath, pathToFileURL} from 'node:url'

import type {Policy} from '../policy/types.js'

import {UserError} from '../errors.js'
import {
  type PolicySeed, prepareState, readServerInfo, type ServerInfo, startSandbox,
} from './index.js'
import {isRecord, SandboxState, STATE_FILES} from './state.js'

export interface BackgroundStartOptions {
  policy?: PolicySeed
  port?: number
  project?: string
  stateDir: string
  /** How long to wait for the server to answer (default 15 s). */
  timeoutMs?: number
}

export interface SandboxStatus {
  functions: string[]
  pid?: number
  /** Allowlist patterns and default rule of the stored policy (a summary, no etag). */
  policy: {defaultRule?: string; patterns: string[];}
  port?: number
  project: string
  requests: number
  running: boolean
  services: string[]
  stateDir: string
  url?: string
}

/** BINAUTHZ_SANDBOX_DIR > BINAUTHZ_DATA_DIR/sandbox > XDG_DATA_HOME/binauthz/sandbox > ~/.local/share/binauthz/sandbox */
export function defaultStateDir(env: NodeJS.ProcessEnv): string {
  if (env.BINAUTHZ_SANDBOX_DIR) return resolve(env.BINAUTHZ_SANDBOX_DIR)
  if (env.BINAUTHZ_DATA_DIR) return join(resolve(env.BINAUTHZ_DATA_DIR), 'sandbox')
  const data = env.XDG_DATA_HOME ? resolve(env.XDG_DATA_HOME) : join(homedir(), '.local', 'share')
  return join(data, 'binauthz', 'sandbox')
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error: unknown) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** GET /__sandbox/health; resolves to the project it serves, or undefined when nothing (sandbox-like) answers. */
export function probe(port: number, timeoutMs = 1000): Promise<string | undefined> {
  return new Promise(done => {
    const req = http.get({
      host: '127.0.0.1', path: '/__sandbox/health', port, timeout: timeoutMs,
    }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        try {
          const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'))
          done(isRecord(body) && body.ok === true && typeof body.project === 'string' ? body.project : undefined)
        } catch {
          done(undefined)
        }
      })
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => done(undefined))
  })
}

/** The running server of a state dir, if server.json names a live process that answers as a sandbox. */
export async function runningServer(stateDir: string): Promise<ServerInfo | undefined> {
  const info = readServerInfo(stateDir)
  if (!info || !processAlive(info.pid)) return undefined
  return (await probe(info.port)) === undefined ? undefined : info
}

/** Reads a policy seed file (JSON, e.g. `gcloud container binauthz policy export --format=json`). */
export function readPolicyFile(file: string): Policy {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error: unknown) {
    throw new UserError(`Cannot read the policy file ${file}: ${(error as Error).message}.`, {
      code: 'SANDBOX_POLICY_FILE',
      suggestions: ['Pass --policy block-all, --policy allow-all, or the path of a JSON policy file.'],
    })
  }

  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new UserError(`The policy file ${file} is not JSON (the sandbox reads JSON policies).`, {
      code: 'SANDBOX_POLICY_FILE',
      suggestions: [
        'Export one as JSON: gcloud container binauthz policy export --format=json > policy.json',
        'Or start with --policy block-all and import YAML afterwards: gcloud container binauthz policy import FILE (with the sandbox env)',
      ],
    })
  }

  if (!isRecord(value)) {
    throw new UserError(`The policy file ${file} does not hold a JSON object.`, {code: 'SANDBOX_POLICY_FILE'})
  }

  return value as Policy
}

function daemonScript(): string {
  return fileURLToPath(import.meta.url)
}

function logTail(stateDir: string): string {
  try {
    return readFileSync(resolve(stateDir, STATE_FILES.log), 'utf8').trim().split('\n').slice(-10).join('\n')
  } catch {
    return ''
  }
}

/** Starts a detached background sandbox and waits until it answers. Refuses when one already runs there. */
export async function startBackground(options: BackgroundStartOptions): Promise<ServerInfo & {alreadyRunning: boolean}> {
  const stateDir = resolve(options.stateDir)
  const existing = await runningServer(stateDir)
  if (existing) {
    if (options.policy !== undefined || (options.port !== undefined && options.port !== existing.port)) {
      throw new UserError(`A sandbox already runs for ${stateDir} (pid ${existing.pid}, port ${existing.port}).`, {
        code: 'SANDBOX_RUNNING',
        suggestions: [`Stop it first: binauthz sandbox stop --state-dir ${stateDir}`],
      })
    }

    return {...existing, alreadyRunning: true}
  }

  rmSync(resolve(stateDir, STATE_FILES.server), {force: true})
  prepareState({policy: options.policy, project: options.project, stateDir})
  const log = openSync(resolve(stateDir, STATE_FILES.log), 'a')
  const args = [daemonScript(), '--state-dir', stateDir, ...(options.port === undefined ? [] : ['--port', String(options.port)])]
  const child = spawn(process.execPath, args, {detached: true, stdio: ['ignore', log, log]})
  closeSync(log)
  let exited: null | number | undefined
  child.once('exit', code => {
    exited = code
  })
  child.unref()
  const deadline = Date.now() + (options.timeoutMs ?? 15_000)
  while (Date.now() < deadline) {
    const info = readServerInfo(stateDir)
    if (info && info.pid === child.pid && (await probe(info.port)) !== undefined) return {...info, alreadyRunning: false}
    if (exited !== undefined) break
    await sleep(50)
  }

  if (exited === undefined && child.pid !== undefined) process.kill(child.pid, 'SIGTERM')
  const tail = logTail(stateDir)
  throw new UserError(`The sandbox server did not start${tail ? `:\n${tail}` : '.'}`, {
    code: 'SANDBOX_START_FAILED',
    suggestions: [
      options.port === undefined ? 'Retry: binauthz sandbox start' : `Choose another port (--port) or omit it; ${options.port} may be in use.`,
    ],
  })
}

/** Stops the background sandbox of a state dir. */
export async function stopBackground(stateDir: string, timeoutMs = 10_000): Promise<{pid?: number; stopped: boolean;}> {
  const dir = resolve(stateDir)
  const info = readServerInfo(dir)
  if (!info) return {stopped: false}
  if (!processAlive(info.pid) || (await probe(info.port)) === undefined) {
    // Stale server.json (crashed or rebooted): nothing to stop; never signal a pid we cannot confirm as ours.
    rmSync(resolve(dir, STATE_FILES.server), {force: true})
    return {pid: info.pid, stopped: false}
  }

  process.kill(info.pid, 'SIGTERM')
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline && processAlive(info.pid)) await sleep(50)
  if (processAlive(info.pid)) {
    throw new UserError(`The sandbox (pid ${info.pid}) did not stop within ${timeoutMs / 1000} s.`, {
      code: 'SANDBOX_STOP_FAILED',
      suggestions: [`Stop it by hand: kill ${info.pid}`],
    })
  }

  rmSync(resolve(dir, STATE_FILES.server), {force: true})
  return {pid: info.pid, stopped: true}
}

export async function sandboxStatus(stateDir: string): Promise<SandboxStatus> {
  const dir = resolve(stateDir)
  const state = new SandboxState(dir)
  const info = await runningServer(dir)
  const policy = state.readJson<unknown>(STATE_FILES.policy, undefined)
  const patterns
    = isRecord(policy) && Array.isArray(policy.admissionWhitelistPatterns)
      ? policy.admissionWhitelistPatterns.map(p => (isRecord(p) ? String(p.namePattern) : '')).filter(Boolean)
      : []
  const rule = isRecord(policy) && isRecord(policy.defaultAdmissionRule) ? policy.defaultAdmissionRule.evaluationMode : 'ALWAYS_ALLOW'
  return {
    running: info !== undefined,
    stateDir: dir,
    ...(info ? {pid: info.pid, port: info.port, url: info.url} : {}),
    functions: Object.keys(state.readMap(STATE_FILES.functions)),
    policy: {patterns, ...(typeof rule === 'string' ? {defaultRule: rule} : {})},
    project: state.identity().project,
    requests: state.requests().length,
    services: Object.keys(state.readMap(STATE_FILES.services)),
  }
}

async function main(argv: string[]): Promise<void> {
  const stateIndex = argv.indexOf('--state-dir')
  const portIndex = argv.indexOf('--port')
  const stateDir = stateIndex === -1 ? undefined : argv[stateIndex + 1]
  if (!stateDir) throw new Error('usage: daemon.js --state-dir DIR [--port N]')
  const port = portIndex === -1 ? 0 : Number(argv[portIndex + 1])
  const sandbox = await startSandbox({port, stateDir})
  process.stdout.write(`${new Date().toISOString()} sandbox listening on ${sandbox.url} (pid ${process.pid})\n`)
  const stop = (): void => {
    sandbox.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  }

  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    await main(process.argv.slice(2))
  } catch (error: unknown) {
    process.stderr.write(`${new Date().toISOString()} sandbox failed: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(1)
  }
}
