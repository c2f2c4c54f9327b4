// Programmatic entry point: start a sandbox in this process.
//
//   const sandbox = await startSandbox({stateDir})
//   await execa('gcloud', ['run', 'deploy', ...], {env: {...process.env, ...sandbox.env}})
//   await sandbox.stop()
import {existsSync, readFileSync, rmSync} from 'node:fs'

import type {SandboxContext} from './api.js'
import type {Faults} from './faults.js'
import type {Policy} from './policy-model.js'

import {presetPolicy, seedPolicy} from './binauthz.js'
import {sandboxEnv, writeGcloudConfig} from './env.js'
import {startServer} from './server.js'
import {
  DEFAULT_IDENTITY, isRecord, type RequestRecord, type SandboxIdentity, SandboxState, STATE_FILES,
} from './state.js'

export type PolicySeed = 'allow-all' | 'block-all' | Policy

export interface SandboxOptions {
  /** Environment whose NO_PROXY entries are kept in `env` (default process.env). */
  baseEnv?: NodeJS.ProcessEnv
  /** Merged into faults.json at start. */
  faults?: Partial<Faults>
  /** Fixed clock (tests). */
  now?: () => Date
  /** Replace policy.json at start. Absent: keep the existing policy (or Google's default allow-all). */
  policy?: PolicySeed
  /** 0 or absent: any free port. */
  port?: number
  /** Project ID the sandbox serves (default: the one in sandbox.json, else "sandbox-project"). */
  project?: string
  projectNumber?: string
  stateDir: string
}

export interface Sandbox {
  /** Variables that point gcloud and binauthz at the sandbox (merge into a child's environment). */
  env: Record<string, string>
  port: number
  project: string
  /** Every request served so far (method, host, path, redacted query, status, api), oldest first. */
  requests(): RequestRecord[]
  /** The state directory's files (seed with state.writeJson, inspect with state.readMap / readJson). */
  state: SandboxState
  stateDir: string
  stop(): Promise<void>
  /** http://127.0.0.1:PORT/ */
  url: string
}

export interface ServerInfo {
  pid: number
  port: number
  project: string
  startedAt: string
  url: string
}

/** Prepares the state directory (identity, token, policy, faults). Returns the state and identity. */
export function prepareState(options: SandboxOptions): {identity: SandboxIdentity; state: SandboxState;} {
  const state = new SandboxState(options.stateDir)
  const stored = state.readJson<Partial<SandboxIdentity>>(STATE_FILES.identity, {})
  const identity: SandboxIdentity = {
    ...DEFAULT_IDENTITY,
    ...stored,
    ...(options.project ? {project: options.project} : {}),
    ...(options.projectNumber ? {projectNumber: options.projectNumber} : {}),
  }
  state.writeJson(STATE_FILES.identity, identity)
  state.token()
  const now = options.now ?? (() => new Date())
  if (options.policy !== undefined) {
    const policy = typeof options.policy === 'string' ? presetPolicy(options.policy) : options.policy
    seedPolicy({identity, now, state} satisfies Pick<SandboxContext, 'identity' | 'now' | 'state'>, policy)
  }

  if (options.faults) {
    const current = state.readJson<unknown>(STATE_FILES.faults, {})
    state.writeJson(STATE_FILES.faults, {...(isRecord(current) ? current : {}), ...options.faults})
  }

  return {identity, state}
}

/** Reads server.json; undefined when absent or malformed. */
export function readServerInfo(stateDir: string): ServerInfo | undefined {
  const file = `${stateDir}/${STATE_FILES.server}`
  if (!existsSync(file)) return undefined
  try {
    const value: unknown = JSON.parse(readFileSync(file, 'utf8'))
    if (!isRecord(value) || typeof value.pid !== 'number' || typeof value.port !== 'number') return undefined
    return value as unknown as ServerInfo
  } catch {
    return undefined
  }
}

/** The env for a sandbox whose state dir and port are known (used by `sandbox env` for a background server). */
export function envFor(stateDir: string, port: number, baseEnv: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const state = new SandboxState(stateDir)
  return sandboxEnv({
    gcloudConfigDir: state.file(STATE_FILES.gcloudConfig),
    identity: state.identity(),
    noProxy: baseEnv.NO_PROXY ?? baseEnv.no_proxy,
    port,
    tokenFile: state.file(STATE_FILES.token),
  })
}

/** The names of the variables `envFor` sets (so a shell can unset them again). */
export function sandboxVariableNames(): string[] {
  return Object.keys(sandboxEnv({
    gcloudConfigDir: '', identity: DEFAULT_IDENTITY, port: 1, tokenFile: '',
  }))
}

/** Starts a sandbox server in this process and writes its gcloud config and server.json. */
export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  const {identity, state} = prepareState(options)
  const server = await startServer({now: options.now, port: options.port, state})
  const baseEnv = options.baseEnv ?? process.env
  const envInput = {
    gcloudConfigDir: state.file(STATE_FILES.gcloudConfig),
    identity,
    noProxy: baseEnv.NO_PROXY ?? baseEnv.no_proxy,
    port: server.port,
    tokenFile: state.file(STATE_FILES.token),
  }
  writeGcloudConfig(envInput)
  const info: ServerInfo = {
    pid: process.pid, port: server.port, project: identity.project, startedAt: new Date().toISOString(), url: server.url,
  }
  state.writeJson(STATE_FILES.server, info)
  let stopped = false
  return {
    env: sandboxEnv(envInput),
    port: server.port,
    project: identity.project,
    requests: () => state.requests(),
    state,
    stateDir: state.dir,
    async stop() {
      if (stopped) return
      stopped = true
      await server.close()
      const current = readServerInfo(state.dir)
      if (current && current.pid === info.pid && current.port === info.port) rmSync(state.file(STATE_FILES.server), {force: true})
    },
    url: server.url,
  }
}

export {exportLines, shellQuote} from './env.js'
export type {Faults} from './faults.js'
export {DEFAULT_FAULTS} from './faults.js'
export {isRecord, SandboxState, STATE_FILES} from './state.js'
export type {ImageRecord, RequestRecord, SandboxIdentity} from './state.js'
