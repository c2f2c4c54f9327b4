// What the end-to-end tests share: a small function source to deploy, running a program (gcloud, the installed
// binauthz) with exactly the environment given, no stdin, bounded in time; gcloud and binauthz against a sandbox;
// policies to seed and what the sandbox holds.
import {execFile} from 'node:child_process'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import type {Policy} from '../../src/policy/types.js'

import {type SandboxState, STATE_FILES} from '../../src/sandbox/index.js'
import {runCli} from './cli-process.js'

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
