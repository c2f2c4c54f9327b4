import type {Context} from 'mocha'

// What the end-to-end tests share: a small function source to deploy, running a program (gcloud, the installed
// binauthz) with exactly the environment given, no stdin, bounded in time; gcloud and binauthz against a sandbox;
// policies to seed and what the sandbox holds; the set-up of a suite against a sandbox (gcloudSandboxSuite).
import {execFile} from 'node:child_process'
import {mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import type {Policy} from '../../src/policy/types.js'

import {SandboxState, startSandbox, STATE_FILES} from '../../src/sandbox/index.js'
import {runCli} from './cli-process.js'
import {type CliSandbox, startSandboxCli} from './sandbox-cli.js'
import {tempDir} from './tmp.js'

export interface ProgramRun {
  code: number
  stderr: string
  stdout: string
}

/** Writes DIR/NAME (default "src"): a Node function with a `handler` entry point. Returns its path. */
export function writeHelloSource(dir: string, name = 'src'): string {
  const source = join(dir, name)
  mkdirSync(source, {recursive: true})
  writeFileSync(join(source, 'package.json'), JSON.stringify({main: 'index.js', name: 'hello', version: '1.0.0'}))
  writeFileSync(join(source, 'index.js'), "exports.handler = (req, res) => res.send('hello')\n")
  return source
}

/** Runs `command args` with exactly `env` (nothing of ours added), no stdin; killed after `timeoutMs`. Never rejects. */
export function runProgram(command: string, args: readonly string[], options: {cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number}): Promise<ProgramRun> {
  return new Promise(resolve => {
    const child = execFile(command, [...args], {
      cwd: options.cwd, env: options.env, maxBuffer: 64 * 1024 * 1024, timeout: options.timeoutMs ?? 120_000,
    }, (error, stdout, stderr) => {
      resolve({code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stderr, stdout})
    })
    child.stdin?.end()
  })
}

/** This process's environment without the developer's gcloud settings (CLOUDSDK_*), for gcloud against a sandbox. */
export function withoutCloudsdk(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([key]) => !key.startsWith('CLOUDSDK_')))
}

/** Google's enforced "deny everything" default rule. */
export const DENY_ALL = {enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG', evaluationMode: 'ALWAYS_DENY'} as const

/** A policy that blocks every image except those `patterns` allowlist (system policy on, as Google's default). */
export function denyAllBut(patterns: readonly string[]): Policy {
  return {admissionWhitelistPatterns: patterns.map(namePattern => ({namePattern})), defaultAdmissionRule: {...DENY_ALL}, globalPolicyEvaluationMode: 'ENABLE'}
}

/** The allowlist entries of the policy the sandbox holds. */
export function allowlistOf(state: SandboxState): string[] {
  return (state.readJson<Policy>(STATE_FILES.policy, {}).admissionWhitelistPatterns ?? []).map(p => p.namePattern)
}

/** How many policy writes the sandbox has answered. */
export function policyWrites(state: SandboxState): number {
  return state.requests().filter(r => r.api === 'binaryauthorization' && r.method === 'PUT').length
}

export interface AgainstSandbox {
  /** The working directory; binauthz's saved defaults and backups go to DIR/config and DIR/data. */
  dir: string
  /** The gcloud to run (the real one in these tests). */
  gcloud: string
  /** What `eval "$(binauthz sandbox env)"` sets. */
  sandboxEnv: Record<string, string>
  timeoutMs: number
}

export interface ExitRun {
  exitCode: number
  stderr: string
  stdout: string
}

/** gcloud with only the sandbox's settings (any CLOUDSDK_* of the developer's shell dropped). */
export async function gcloudAgainst(to: AgainstSandbox, args: readonly string[], cwd = to.dir): Promise<ExitRun> {
  const ran = await runProgram(to.gcloud, args, {cwd, env: {...withoutCloudsdk(), ...to.sandboxEnv}, timeoutMs: to.timeoutMs})
  return {exitCode: ran.code, stderr: ran.stderr, stdout: ran.stdout}
}

/** The built binauthz (default start path) with only the sandbox's settings, its own data dirs, and that gcloud. */
export async function binauthzAgainst(to: AgainstSandbox, args: readonly string[]): Promise<ExitRun> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('CLOUDSDK_') && !key.startsWith('BINAUTHZ_')))
  const env = {
    ...base, ...to.sandboxEnv, BINAUTHZ_CONFIG_DIR: join(to.dir, 'config'), BINAUTHZ_DATA_DIR: join(to.dir, 'data'), BINAUTHZ_GCLOUD: to.gcloud,
  }
  const ran = await runCli(args, {cwd: to.dir, env, timeoutMs: to.timeoutMs})
  return {exitCode: ran.code ?? 1, stderr: ran.stderr, stdout: ran.stdout}
}

/** What a suite reads of its sandbox, however it was started. */
export type SuiteSandbox = Pick<CliSandbox, 'env' | 'project' | 'state' | 'stateDir' | 'stop'>

export interface SandboxStart {
  patterns?: readonly string[]
  /** A fixed policy instead of deny-all-but-`patterns`. */
  policy?: 'allow-all' | 'block-all'
  project?: string
}

export interface GcloudSandboxSuite {
  /** For after(): stops the sandbox and removes the directory. */
  afterSuite(): Promise<void>
  /** gcloud / binauthz against the current sandbox, with `extraEnv` over the sandbox's settings. */
  against(extraEnv?: Record<string, string>): AgainstSandbox
  /** For before(): skips the suite without gcloud, makes the directory and the source (and, per suite, the sandbox). */
  beforeSuite(this: Context): Promise<void>
  binauthz(args: readonly string[], extraEnv?: Record<string, string>): Promise<ExitRun>
  /** The suite's temporary directory (removed after the suite). */
  readonly dir: string
  gcloud(args: readonly string[], cwd?: string): Promise<ExitRun>
  /** The sandbox start() started last. */
  readonly sandbox: SuiteSandbox
  /** DIR/src: a function source to deploy (writeHelloSource). */
  readonly source: string
  /** Starts a fresh sandbox (its own state directory) whose policy denies all but `patterns` (or is `policy`). */
  start(options?: SandboxStart): Promise<void>
  readonly state: SandboxState
  /** For afterEach() when each test starts its own sandbox. */
  stopSandbox(): Promise<void>
}

/**
 * The set-up every suite of the built CLI and the real gcloud against a sandbox shares: skipped without gcloud; a
 * temporary directory with a function source; start() launches a sandbox as users start it (`binauthz sandbox start
 * --policy FILE`), or in this process where the sandbox itself is under test (`inProcess`, to seed and read its state
 * directly). With `sandboxPer: 'test'` each test calls start() and afterEach(stopSandbox) stops it; with 'suite'
 * beforeSuite starts one with `startWith`. Register the hooks in the describe():
 *   before(e2e.beforeSuite); afterEach(e2e.stopSandbox); after(e2e.afterSuite)
 */
export function gcloudSandboxSuite(options: {
  gcloud: string | undefined
  inProcess?: boolean
  prefix: string
  sandboxPer: 'suite' | 'test'
  startWith?: SandboxStart
  timeoutMs: number
}): GcloudSandboxSuite {
  let dir = ''
  let source = ''
  let sandbox: SuiteSandbox | undefined
  const current = (): SuiteSandbox => {
    if (!sandbox) throw new Error('no sandbox: call start() first')
    return sandbox
  }

  const suite: GcloudSandboxSuite = {
    async afterSuite() {
      await sandbox?.stop()
      if (dir) rmSync(dir, {force: true, recursive: true})
    },
    against: (extraEnv = {}) => ({
      dir, gcloud: options.gcloud ?? 'gcloud', sandboxEnv: {...current().env, ...extraEnv}, timeoutMs: options.timeoutMs,
    }),
    async beforeSuite() {
      if (!options.gcloud) this.skip() // gcloud is not on PATH: these tests need the real Google Cloud CLI.
      dir = tempDir(options.prefix)
      source = writeHelloSource(dir)
      if (options.sandboxPer === 'suite') await suite.start(options.startWith)
    },
    binauthz: (args, extraEnv) => binauthzAgainst(suite.against(extraEnv), args),
    get dir() {
      return dir
    },
    gcloud: (args, cwd) => gcloudAgainst(suite.against(), args, cwd),
    get sandbox() {
      return current()
    },
    get source() {
      return source
    },
    async start({patterns = [], policy, project} = {}) {
      const stateDir = options.sandboxPer === 'suite' ? join(dir, 'state') : join(dir, `state-${Date.now()}`)
      const seed = policy ?? denyAllBut(patterns)
      if (!options.inProcess) {
        sandbox = await startSandboxCli({policy: seed, project, stateDir})
        return
      }

      const started = await startSandbox({policy: seed, stateDir, ...(project === undefined ? {} : {project})})
      sandbox = {
        env: started.env, project: started.project, state: new SandboxState(stateDir), stateDir, stop: () => started.stop(),
      }
    },
    get state() {
      return current().state
    },
    async stopSandbox() {
      await sandbox?.stop()
    },
  }
  return suite
}
