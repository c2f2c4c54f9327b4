// Shared by the policy command, setup command and wizard tests: a local Binary Authorization stand-in, temp
// gcloud config / data / config dirs, a token file and a fake gcloud, wired up through process.env (restored
// by `restore()`). CI=1 so no test can ever block on a prompt.

import {mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import type {Policy} from '../../src/policy/types.js'

import {type BinauthzServer, startBinauthzServer} from '../helpers/binauthz-server.js'
import {type FakeGcloud, createFakeGcloud} from '../helpers/fake-gcloud.js'
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
    name: `projects/${PROJECT}/policy`,
    description: 'Team policy — do not lose me',
    globalPolicyEvaluationMode: 'ENABLE',
    admissionWhitelistPatterns: patterns.map((namePattern) => ({namePattern})),
    defaultAdmissionRule: {
      evaluationMode: 'REQUIRE_ATTESTATION',
      enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG',
      requireAttestationsBy: [`projects/${PROJECT}/attestors/built-by-ci`],
    },
    futureField: {kept: true},
  }
}

const VARS = [
  'CI',
  'CLOUDSDK_CONFIG',
  'CLOUDSDK_ACTIVE_CONFIG_NAME',
  'CLOUDSDK_AUTH_ACCESS_TOKEN_FILE',
  'CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION',
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
  server: BinauthzServer
  gcloud: FakeGcloud
  dir: string
  gcloudConfigDir: string
  dataDir: string
  configDir: string
  tokenFile: string
  /** The environment the harness set (also applied to process.env). */
  env: NodeJS.ProcessEnv
  /** Writes `[core] project` / `[run] region` into the temp gcloud configuration. */
  writeGcloudConfig(values: {project?: string; runRegion?: string; functionsRegion?: string}): void
  /** Restores process.env and removes temp dirs; closes the server. */
  close(): Promise<void>
}

export interface HarnessOptions {
  policies?: Record<string, Policy>
  permissions?: readonly string[]
  /** Apply to process.env (default true). */
  apply?: boolean
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const server = await startBinauthzServer({
    policies: options.policies ?? {[PROJECT]: enforcedPolicy()},
    ...(options.permissions ? {permissions: options.permissions} : {}),
    token: TOKEN,
  })
  const gcloud = createFakeGcloud({
    responses: [{args: ['version'], stdout: JSON.stringify({'Google Cloud SDK': '528.0.0', core: '2025.06.27'})}],
  })
  const dir = tempDir('binauthz-cmd-')
  const gcloudConfigDir = join(dir, 'gcloud')
  const dataDir = join(dir, 'data')
  const configDir = join(dir, 'config')
  mkdirSync(gcloudConfigDir, {recursive: true})
  const tokenFile = join(dir, 'token')
  writeFileSync(tokenFile, `${TOKEN}\n`, {mode: 0o600})
  const env: NodeJS.ProcessEnv = {
    CI: '1',
    CLOUDSDK_CONFIG: gcloudConfigDir,
    CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: tokenFile,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION: server.url,
    BINAUTHZ_DATA_DIR: dataDir,
    BINAUTHZ_CONFIG_DIR: configDir,
    BINAUTHZ_GCLOUD: gcloud.bin,
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
    server,
    gcloud,
    dir,
    gcloudConfigDir,
    dataDir,
    configDir,
    tokenFile,
    env,
    writeGcloudConfig(values) {
      mkdirSync(join(gcloudConfigDir, 'configurations'), {recursive: true})
      writeFileSync(join(gcloudConfigDir, 'active_config'), 'default')
      const lines: string[] = []
      if (values.project) lines.push('[core]', `project = ${values.project}`, '')
      if (values.runRegion) lines.push('[run]', `region = ${values.runRegion}`, '')
      if (values.functionsRegion) lines.push('[functions]', `region = ${values.functionsRegion}`, '')
      writeFileSync(join(gcloudConfigDir, 'configurations', 'config_default'), lines.join('\n'))
    },
    async close() {
      for (const [name, value] of saved) {
        if (value === undefined) delete process.env[name]
        else process.env[name] = value
      }
      await server.close()
      gcloud.cleanup()
      rmSync(dir, {recursive: true, force: true})
    },
  }
}

/** The exit code of an error returned by runCommand (undefined when there was none). */
export function exitOf(error: unknown): number | undefined {
  if (error === undefined) return undefined
  const oclif = (error as {oclif?: {exit?: number}}).oclif
  return oclif?.exit
}

/** Parses the --json stdout of runCommand. */
export function json<T = Record<string, unknown>>(stdout: string): T {
  return JSON.parse(stdout) as T
}
