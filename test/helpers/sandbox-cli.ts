// A sandbox started the way users start it: `binauthz sandbox start --json` through the built bin (a detached
// `sandbox serve` child on the default start path), its environment taken from that result, stopped with
// `binauthz sandbox stop`. End-to-end tests use this instead of an in-process startSandbox().
//
//   const sandbox = await startSandboxCli({stateDir, policy: 'block-all'})
//   ... runCli(args, {env: {...base, ...sandbox.env}}) ... sandbox.state.requests() ...
//   await sandbox.stop()
import {expect} from 'chai'
import {writeFileSync} from 'node:fs'

import type {Policy} from '../../src/policy/types.js'

import {SandboxState} from '../../src/sandbox/index.js'
import {runCli} from './cli-process.js'

export interface CliSandbox {
  /** What `eval "$(binauthz sandbox env)"` sets. */
  env: Record<string, string>
  pid: number
  port: number
  project: string
  /** The state directory's files (policy, services, request log): read them to see what gcloud did. */
  state: SandboxState
  stateDir: string
  stop(): Promise<void>
  url: string
}

export interface CliSandboxOptions {
  /** block-all, allow-all, the path of a JSON policy file, or a policy (written to STATE_DIR.policy.json first). */
  policy?: Policy | string
  project?: string
  stateDir: string
}

export async function startSandboxCli(options: CliSandboxOptions): Promise<CliSandbox> {
  const env = {HOME: options.stateDir, NO_COLOR: '1', PATH: process.env.PATH}
  let policy: string | undefined
  if (typeof options.policy === 'object') {
    policy = `${options.stateDir}.policy.json`
    writeFileSync(policy, JSON.stringify(options.policy))
  } else {
    policy = options.policy
  }

  const args = [
    'sandbox',
    'start',
    '--json',
    '--state-dir',
    options.stateDir,
    ...(policy === undefined ? [] : ['--policy', policy]),
    ...(options.project === undefined ? [] : ['--project', options.project]),
  ]
  const started = await runCli(args, {env, timeoutMs: 30_000})
  expect(started.code, `binauthz sandbox start: ${started.stdout}${started.stderr}`).to.equal(0)
  const result = JSON.parse(started.stdout) as Omit<CliSandbox, 'state' | 'stop'>
  let stopped = false
  return {
    ...result,
    state: new SandboxState(result.stateDir),
    async stop() {
      if (stopped) return
      stopped = true
      const stop = await runCli(['sandbox', 'stop', '--state-dir', options.stateDir], {env, timeoutMs: 30_000})
      expect(stop.code, `binauthz sandbox stop: ${stop.stderr}`).to.equal(0)
    },
  }
}
