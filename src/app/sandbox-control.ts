// The sandbox in the background, as the CLI controls it: `binauthz sandbox start` starts the hidden
// `binauthz sandbox serve` command as a detached process through the CLI's own bin (never a module's own file
// path: inside the fast-start bundle that path is the bundle), and server.json in the state dir tells `stop`,
// `status` and `env` where it is. The sandbox itself (src/sandbox) knows nothing of the CLI.
//
//   node <package>/bin/run.js sandbox serve --state-dir DIR [--port N]
import {spawn} from 'node:child_process'
import {
  closeSync, openSync, readFileSync, rmSync,
} from 'node:fs'
import http from 'node:http'
import {join, resolve} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import {ExternalError, UserError} from '../errors.js'
import {formatCommand} from '../policy/shell.js'
import {
  envFor, exportLines, isRecord, type PolicySeed, prepareState, readServerInfo, SandboxState, sandboxVariableNames, type ServerInfo,
  STATE_FILES,
} from '../sandbox/index.js'
import {type InventoryEntry, listInventory} from '../sandbox/inventory.js'
import {dataDir} from '../store/backups.js'

export interface BackgroundStartOptions {
  /** The CLI's own entry point (package.json "bin"): the server runs as `node BIN sandbox serve ...`. */
  bin: string
  policy?: PolicySeed
  port?: number
  project?: string
  stateDir: string
  /** How long to wait for the server to answer (default 15 s). */
  timeoutMs?: number
}

export interface SandboxStatus {
  functions: string[]
  /** Every service and function with its health (ready, or why not) and the images it runs. */
  inventory: InventoryEntry[]
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
  return join(resolve(dataDir(env)), 'sandbox')
}

/** The variables that point gcloud and binauthz at a running sandbox (what `sandbox env` prints). */
export function shellEnvFor(stateDir: string, port: number): Record<string, string> {
  // BINAUTHZ_SANDBOX_DIR: later `sandbox stop/status/env` and error hints find this state dir without --state-dir.
  return {...envFor(stateDir, port), BINAUTHZ_SANDBOX_DIR: resolve(stateDir)}
}

/** What undoes `eval "$(binauthz sandbox env)"`. */
export interface EnvUndo {
  /** Variables to set again: NO_PROXY / no_proxy with the entries other than the loopback ones the sandbox added. */
  export: Record<string, string>
  unset: string[]
}

/** How to undo `sandbox env` in a shell whose environment is `env`. */
export function envUndo(env: NodeJS.ProcessEnv): EnvUndo {
  const undo: EnvUndo = {export: {}, unset: []}
  for (const name of [...sandboxVariableNames(), 'BINAUTHZ_SANDBOX_DIR']) {
    const kept = name === 'NO_PROXY' || name === 'no_proxy'
      ? (env[name] ?? '').split(',').map(e => e.trim()).filter(e => e !== '' && e !== '127.0.0.1' && e !== 'localhost')
      : []
    if (kept.length > 0) undo.export[name] = kept.join(',')
    else undo.unset.push(name)
  }

  return undo
}

/** The shell lines of an {@link EnvUndo}. */
export function undoLines(undo: EnvUndo): string {
  return [...undo.unset.map(name => `unset ${name}`), ...Object.keys(undo.export).length > 0 ? [exportLines(undo.export)] : []].join('\n')
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
export function readPolicyFile(file: string): Exclude<PolicySeed, string> {
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

  // The sandbox validates the policy as Google would when it is seeded.
  return value as Exclude<PolicySeed, string>
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
  const logFile = resolve(stateDir, STATE_FILES.log)
  const log = openSync(logFile, 'a')
  const args = [options.bin, 'sandbox', 'serve', '--state-dir', stateDir, ...(options.port === undefined ? [] : ['--port', String(options.port)])]
  const child = spawn(process.execPath, args, {
    cwd: stateDir, detached: true, env: process.env, stdio: ['ignore', log, log],
  })
  closeSync(log)
  let exited: null | number | undefined
  let spawnError: Error | undefined
  child.once('exit', code => {
    exited = code
  })
  child.once('error', error => {
    spawnError = error
    exited = null
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
  throw startFailure({
    exited, logFile, options, spawnError, stateDir,
  })
}

interface StartFailure {
  exited: null | number | undefined
  logFile: string
  options: BackgroundStartOptions
  spawnError: Error | undefined
  stateDir: string
}

/** Why the background server did not come up, with its log's tail and retry commands that keep the user's flags. */
function startFailure({exited, logFile, options, spawnError, stateDir}: StartFailure): ExternalError {
  const tail = logTail(stateDir)
  const why = spawnError === undefined
    ? (exited === undefined ? `it did not answer within ${(options.timeoutMs ?? 15_000) / 1000} s` : `it exited${exited === null ? '' : ` with code ${exited}`}`)
    : `it could not be started (${spawnError.message})`
  const stateFlag = ['--state-dir', stateDir]
  const retry = ['binauthz', 'sandbox', 'start', ...stateFlag, ...(options.port === undefined ? [] : ['--port', String(options.port)])]
  const portInUse = /EADDRINUSE/.test(tail)
  return new ExternalError(`The sandbox server did not start: ${why}.${tail ? `\nLast lines of ${logFile}:\n${tail}` : ''}`, {
    code: 'SANDBOX_START_FAILED',
    suggestions: [
      ...(portInUse && options.port !== undefined
        ? [`Port ${options.port} is in use: choose another, or omit --port for any free one: ${formatCommand(['binauthz', 'sandbox', 'start', ...stateFlag])}`]
        : []),
      `Retry: ${formatCommand(retry)}`,
      `Read the whole log: ${formatCommand(['cat', logFile])}`,
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
    inventory: listInventory(state),
    policy: {patterns, ...(typeof rule === 'string' ? {defaultRule: rule} : {})},
    project: state.identity().project,
    requests: state.requests().length,
    services: Object.keys(state.readMap(STATE_FILES.services)),
  }
}
