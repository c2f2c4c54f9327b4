// Programmatic entry point: start a sandbox in this process.
//
//   const sandbox = await startSandbox({stateDir})
//   await execa('gcloud', ['run', 'deploy', ...], {env: {...process.env, ...sandbox.env}})
//   await sandbox.stop()
import {
  chmodSync, existsSync, readFileSync, rmSync, writeFileSync,
} from 'node:fs'

import type {SandboxContext} from './api.js'
import type {BinauthzFault, BinauthzOp, Faults} from './faults.js'
import type {Policy} from './policy-model.js'

import {
  currentPolicy, presetPolicy, seedPolicy,
} from './binauthz.js'
import {sandboxEnv, writeGcloudConfig} from './env.js'
import {startServer} from './server.js'
import {
  DEFAULT_IDENTITY, isRecord, type RequestRecord, type SandboxIdentity, SandboxState, STATE_FILES,
} from './state.js'
import {TLS_FILES} from './tls.js'

export type PolicySeed = 'allow-all' | 'block-all' | Policy

export interface SandboxOptions {
  /** Environment whose NO_PROXY entries are kept in `env` (default process.env). */
  baseEnv?: NodeJS.ProcessEnv
  /** Merged into faults.json at start. */
  faults?: Partial<Faults>
  /** Fixed clock (tests). */
  now?: () => Date
  /**
   * Policies of further projects by ID (policies.json), merged with those already there; the sandbox serves these
   *  projects' Binary Authorization policies too. A non-empty `etag` is kept as given.
   */
  policies?: Record<string, Policy>
  /** Replace policy.json at start. Absent: keep the existing policy (or Google's default allow-all). */
  policy?: PolicySeed
  /** 0 or absent: any free port. */
  port?: number
  /** Project ID the sandbox serves (default: the one in sandbox.json, else "sandbox-project"). */
  project?: string
  projectNumber?: string
  stateDir: string
  /** The bearer token every API call must carry (default: the token file's, else a new random one). */
  token?: string
}

/** A targeted fault as startSandbox's helpers take it: `times` may also be Infinity (= "always"). */
export type FaultRule = Omit<BinauthzFault, 'times'> & {times?: 'always' | number}

/** What `reset()` restores between tests. */
export interface ResetOptions {
  /** faults.json afterwards (default: no knobs at all). */
  faults?: Partial<Faults>
  /** Policies to seed (by project ID; the sandbox's own goes to policy.json); other stored policies are kept. */
  policies?: Record<string, Policy>
}

export interface Sandbox {
  /** Drops every targeted fault (binauthzFaults); other knobs stay. */
  clearFaults(): void
  /** Variables that point gcloud and binauthz at the sandbox (merge into a child's environment). */
  env: Record<string, string>
  /** Appends a targeted Binary Authorization fault rule to faults.json (see the README's knobs). */
  fault(rule: FaultRule): void
  /** The policy a GET of `project` (default: the sandbox's own) would return now. */
  policy(project?: string): Policy
  port: number
  project: string
  /** Every request served so far (see RequestRecord), oldest first; with `op`, only those Binary Authorization calls. */
  requests(op?: BinauthzOp): RequestRecord[]
  /**
   * Between tests: empties the request log, replaces faults.json (default: no knobs, so every permission is granted
   *  again) and seeds `policies`.
   */
  reset(options?: ResetOptions): void
  /** Merges knobs into faults.json. */
  setFaults(faults: Partial<Faults>): void
  /** Seeds a project's policy (no etag check; a non-empty policy.etag is kept, else a new etag). */
  setPolicy(project: string, policy: Policy): void
  /** The state directory's files (seed with state.writeJson, inspect with state.readMap / readJson). */
  state: SandboxState
  stateDir: string
  stop(): Promise<void>
  /** The sandbox's bearer token (what a client under test must send). */
  token: string
  /** http://127.0.0.1:PORT/ */
  url: string
  /** Policy writes answered 200 (also those whose answer was then lost), for one project or all. */
  writes(project?: string): number
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
  if (options.token !== undefined) {
    const file = state.file(STATE_FILES.token)
    writeFileSync(file, `${options.token}\n`, {mode: 0o600})
    chmodSync(file, 0o600)
  }

  state.token()
  const now = options.now ?? (() => new Date())
  const ctx = {identity, now, state} satisfies Pick<SandboxContext, 'identity' | 'now' | 'state'>
  if (options.policy !== undefined) {
    const policy = typeof options.policy === 'string' ? presetPolicy(options.policy) : options.policy
    seedPolicy(ctx, policy)
  }

  for (const [project, policy] of Object.entries(options.policies ?? {})) seedPolicy(ctx, policy, {keepEtag: true, project})

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
    caFile: state.file(TLS_FILES.ca),
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
    caFile: '', gcloudConfigDir: '', identity: DEFAULT_IDENTITY, port: 1, tokenFile: '',
  }))
}

/** Starts a sandbox server in this process and writes its gcloud config and server.json. */
export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  const {identity, state} = prepareState(options)
  const server = await startServer({now: options.now, port: options.port, state})
  const baseEnv = options.baseEnv ?? process.env
  const envInput = {
    caFile: state.file(TLS_FILES.ca),
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
  const now = options.now ?? (() => new Date())
  const ctx = (): Pick<SandboxContext, 'identity' | 'now' | 'state'> => ({identity: state.identity(), now, state})
  const faultsFile = (): Record<string, unknown> => {
    const current = state.readJson<unknown>(STATE_FILES.faults, {})
    return isRecord(current) ? current : {}
  }

  const requests = (op?: BinauthzOp): RequestRecord[] => {
    const all = state.requests()
    return op === undefined ? all : all.filter(r => r.op === op)
  }

  return {
    clearFaults() {
      state.writeJson(STATE_FILES.faults, {...faultsFile(), binauthzFaults: []})
    },
    env: sandboxEnv(envInput),
    fault(rule) {
      const times = rule.times === Number.POSITIVE_INFINITY ? 'always' : rule.times
      const current = faultsFile()
      const rules = Array.isArray(current.binauthzFaults) ? current.binauthzFaults : []
      state.writeJson(STATE_FILES.faults, {...current, binauthzFaults: [...rules, {...rule, ...(times === undefined ? {} : {times})}]})
    },
    policy: project => currentPolicy(ctx(), project),
    port: server.port,
    project: identity.project,
    requests,
    reset(resetOptions = {}) {
      state.clearRequests()
      state.writeJson(STATE_FILES.faults, resetOptions.faults ?? {})
      for (const [project, policy] of Object.entries(resetOptions.policies ?? {})) seedPolicy(ctx(), policy, {keepEtag: true, project})
    },
    setFaults(faults) {
      state.writeJson(STATE_FILES.faults, {...faultsFile(), ...faults})
    },
    setPolicy(project, policy) {
      seedPolicy(ctx(), policy, {keepEtag: true, project})
    },
    state,
    stateDir: state.dir,
    async stop() {
      if (stopped) return
      stopped = true
      await server.close()
      const current = readServerInfo(state.dir)
      if (current && current.pid === info.pid && current.port === info.port) rmSync(state.file(STATE_FILES.server), {force: true})
    },
    token: state.token(),
    url: server.url,
    writes: project => requests('updatePolicy').filter(r => r.status === 200 && (project === undefined || r.project === project)).length,
  }
}

export {exportLines, shellQuote} from './env.js'
export type {
  BinauthzFault, BinauthzFaultKind, BinauthzOp, Faults,
} from './faults.js'
export {DEFAULT_FAULTS} from './faults.js'
export type {Policy} from './policy-model.js'
export {issueServiceAccountKey, type ServiceAccountKeyFile} from './service-account-keys.js'
export {isRecord, SandboxState, STATE_FILES} from './state.js'
export type {ImageRecord, RequestRecord, SandboxIdentity} from './state.js'
