// Shared by the policy command, setup command and wizard tests: the sandbox (Binary Authorization only), temp
// gcloud config / data / config dirs, a token file and a fake gcloud, wired up through process.env (restored
// by `restore()`). CI=1 so no test can ever block on a prompt.

import {mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import type {Policy} from '../../src/policy/types.js'

import {createFakeGcloud, type FakeGcloud} from '../helpers/fake-gcloud.js'
import {assertValidResult} from '../helpers/json-schema.js'
import {startTestSandbox, type TestSandbox} from '../helpers/sandbox.js'
import {tempDir} from '../helpers/tmp.js'

/** Repository root (dist/test/setup/harness.js → ../../../). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

export const TOKEN = 'ya29.binauthz-test-token-0123456789abcdef'
export const PROJECT = 'my-proj'
export const REGION = 'us-central1'
export const RUN_PATTERN = `${REGION}-docker.pkg.dev/${PROJECT}/cloud-run-source-deploy/**`
export const FN_PATTERN = `${REGION}-docker.pkg.dev/${PROJECT}/gcf-artifacts/**`
export const OTHER_PATTERN = 'gcr.io/someone-else/**'

/** A policy that blocks what is not allowlisted, with fields we must never touch. */
export function enforcedPolicy(patterns: readonly string[] = [OTHER_PATTERN]): Policy {
  return {
    admissionWhitelistPatterns: patterns.map(namePattern => ({namePattern})),
    defaultAdmissionRule: {
      enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG',
      evaluationMode: 'REQUIRE_ATTESTATION',
      requireAttestationsBy: [`projects/${PROJECT}/attestors/built-by-ci`],
    },
    description: 'Team policy — do not lose me',
    futureField: {kept: true},
    globalPolicyEvaluationMode: 'ENABLE',
    name: `projects/${PROJECT}/policy`,
  }
}

const VARS = [
  'CI',
  'CLOUDSDK_CONFIG',
  'CLOUDSDK_ACTIVE_CONFIG_NAME',
  'CLOUDSDK_AUTH_ACCESS_TOKEN_FILE',
  'CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION',
  'CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDFUNCTIONS',
  'CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN',
  'CLOUDSDK_CORE_PROJECT',
  'CLOUDSDK_RUN_REGION',
  'CLOUDSDK_FUNCTIONS_REGION',
  'GOOGLE_APPLICATION_CREDENTIALS',
  'BINAUTHZ_DATA_DIR',
  'BINAUTHZ_CONFIG_DIR',
  'BINAUTHZ_GCLOUD',
  'XDG_CONFIG_HOME',
  'XDG_DATA_HOME',
] as const

export interface Harness {
  /** Restores process.env and removes temp dirs; stops the sandbox. */
  close(): Promise<void>
  configDir: string
  dataDir: string
  dir: string
  /** The environment the harness set (also applied to process.env). */
  env: NodeJS.ProcessEnv
  gcloud: FakeGcloud
  gcloudConfigDir: string
  /** The sandbox serving PROJECT (and any further project in `policies`), token TOKEN. */
  server: TestSandbox
  tokenFile: string
  /** Writes `[core] project` / `[run] region` into the temp gcloud configuration. */
  writeGcloudConfig(values: {functionsRegion?: string; project?: string; runRegion?: string;}): void
}

export interface HarnessOptions {
  /** Apply to process.env (default true). */
  apply?: boolean
  /** The permissions the caller holds (the sandbox's grantedPermissions knob; default every binaryauthorization.*). */
  permissions?: readonly string[]
  /** Policies by project (default PROJECT: enforcedPolicy()); PROJECT is the sandbox's own project. */
  policies?: Record<string, Policy>
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const server = await startTestSandbox({
    ...(options.permissions ? {faults: {grantedPermissions: [...options.permissions]}} : {}),
    policies: options.policies ?? {[PROJECT]: enforcedPolicy()},
    project: PROJECT,
    token: TOKEN,
  })
  const gcloud = createFakeGcloud({
    responses: [{args: ['version'], stdout: JSON.stringify({core: '2025.06.27', 'Google Cloud SDK': '528.0.0'})}],
  })
  const dir = tempDir('binauthz-cmd-')
  const gcloudConfigDir = join(dir, 'gcloud')
  const dataDir = join(dir, 'data')
  const configDir = join(dir, 'config')
  mkdirSync(gcloudConfigDir, {recursive: true})
  const tokenFile = join(dir, 'token')
  writeFileSync(tokenFile, `${TOKEN}\n`, {mode: 0o600})
  const env: NodeJS.ProcessEnv = {
    BINAUTHZ_CONFIG_DIR: configDir,
    BINAUTHZ_DATA_DIR: dataDir,
    BINAUTHZ_GCLOUD: gcloud.bin,
    CI: '1',
    CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION: server.url,
    // The deploy reads the existing service / function (what gcloud reuses) from the same sandbox.
    CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDFUNCTIONS: server.url,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN: server.url,
    CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: tokenFile,
    CLOUDSDK_CONFIG: gcloudConfigDir,
  }

  const saved = new Map<string, string | undefined>()
  if (options.apply ?? true) {
    for (const name of VARS) {
      saved.set(name, process.env[name])
      delete process.env[name]
    }

    Object.assign(process.env, env)
  }

  return {
    async close() {
      for (const [name, value] of saved) {
        if (value === undefined) delete process.env[name]
        else process.env[name] = value
      }

      await server.stop()
      gcloud.cleanup()
      rmSync(dir, {force: true, recursive: true})
    },
    configDir,
    dataDir,
    dir,
    env,
    gcloud,
    gcloudConfigDir,
    server,
    tokenFile,
    writeGcloudConfig(values) {
      mkdirSync(join(gcloudConfigDir, 'configurations'), {recursive: true})
      writeFileSync(join(gcloudConfigDir, 'active_config'), 'default')
      const lines: string[] = []
      if (values.project) lines.push('[core]', `project = ${values.project}`, '')
      if (values.runRegion) lines.push('[run]', `region = ${values.runRegion}`, '')
      if (values.functionsRegion) lines.push('[functions]', `region = ${values.functionsRegion}`, '')
      writeFileSync(join(gcloudConfigDir, 'configurations', 'config_default'), lines.join('\n'))
    },
  }
}

/** The exit code of an error returned by runCommand (undefined when there was none). */
export function exitOf(error: unknown): number | undefined {
  if (error === undefined) return undefined
  const {oclif} = (error as {oclif?: {exit?: number}})
  return oclif?.exit
}

/** Parses the --json stdout of runCommand. */
/** The --json output of a command run in-process, checked against its command's schema in schemas/. */
export function json<T = Record<string, unknown>>(stdout: string): T {
  const parsed = JSON.parse(stdout) as T
  assertValidResult(parsed)
  return parsed
}
