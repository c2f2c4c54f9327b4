// Reliability/security test kit: runs the BUILT CLI (bin/run.js) as child processes in an isolated environment
// (temp CLOUDSDK_CONFIG, BINAUTHZ_DATA_DIR, BINAUTHZ_CONFIG_DIR, HOME; a planted canary access token; the recording
// fake gcloud; CI=true) against a loopback stand-in, with a hard per-process timeout (SIGKILL) so nothing can hang
// a test run.
//
//   const kit = createCliKit({endpoint: server.url})
//   const run = await kit.run(['deploy', 'run', 'svc', '--project', P, '--region', R, '--yes'])
//   expect(run.code).to.equal(0); expect(run.timedOut).to.equal(false)
//   kit.cleanup()
import {
  mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync,
} from 'node:fs'
import {join} from 'node:path'

import type {Policy} from '../../src/policy/types.js'

import {CLOUD_RUN_REGIONS} from '../../src/sandbox/regions.js'
import {type CliRun, runCli} from './cli-process.js'
import {createFakeGcloud, type FakeGcloud} from './fake-gcloud.js'
import {tempDir} from './tmp.js'

export {BIN, type CliRun} from './cli-process.js'

/**
 * A recognisable access token that matches none of the generic redaction patterns (not ya29., no "Bearer " prefix
 * in the file), so only a real "never print the token" guarantee keeps it out of the output.
 */
export const CANARY_TOKEN = 'CANARYtok-7f3a9c21e4b8d05a6b1c9e2f-reliability-do-not-print'

export interface CliKitOptions {
  /** Value of CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION (omitted when undefined). */
  endpoint?: string
  /**
   * Where the deploy reads the existing service / function (CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN / _CLOUDFUNCTIONS):
   * default `endpoint` when it is a loopback one. Fault tests aimed at the policy API point it at the sandbox itself.
   */
  readersEndpoint?: string
  /** Per-process hard timeout in ms (default 45000). */
  timeoutMs?: number
  /** Token planted in the token file (default CANARY_TOKEN). */
  token?: string
}

export interface CliKit {
  /** Backup files of `project` (sorted by name). */
  backups(project: string): string[]
  cleanup(): void
  configDir: string
  dataDir: string
  /** Every file under BINAUTHZ_DATA_DIR (backups), as [path, content]. */
  dataFiles(): [string, string][]
  dir: string
  /** The environment every child gets (PATH, HOME and the tool's variables only). */
  env: NodeJS.ProcessEnv
  gcloud: FakeGcloud
  gcloudConfigDir: string
  /** Runs `node bin/run.js ...args`; `env` entries set to undefined are removed. */
  run(args: readonly string[], options?: {env?: NodeJS.ProcessEnv; timeoutMs?: number}): Promise<CliRun>
  tokenFile: string
}

export function createCliKit(options: CliKitOptions = {}): CliKit {
  const dir = tempDir('binauthz-rel-')
  const tokenFile = join(dir, 'token')
  const dataDir = join(dir, 'data')
  const configDir = join(dir, 'config')
  const gcloudConfigDir = join(dir, 'gcloud')
  const home = join(dir, 'home')
  for (const d of [dataDir, configDir, gcloudConfigDir, home]) mkdirSync(d, {recursive: true})
  writeFileSync(tokenFile, `${options.token ?? CANARY_TOKEN}\n`, {mode: 0o600})
  const gcloud = createFakeGcloud({token: 'ya29.fake-gcloud-should-never-be-asked-0000'})
  const env: NodeJS.ProcessEnv = {
    BINAUTHZ_CONFIG_DIR: configDir,
    BINAUTHZ_DATA_DIR: dataDir,
    BINAUTHZ_GCLOUD: gcloud.bin,
    CI: 'true',
    CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: tokenFile,
    CLOUDSDK_CONFIG: gcloudConfigDir,
    HOME: home,
    NO_COLOR: '1',
    NO_PROXY: '127.0.0.1,localhost',
    PATH: process.env.PATH,
  }
  if (options.endpoint !== undefined) {
    env.CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION = options.endpoint
    // The deploy also reads the existing service / function from the same stand-in (a loopback one only).
    const readers = options.readersEndpoint ?? options.endpoint
    if (/^http:\/\/(127\.0\.0\.1|localhost)[:/]/.test(readers)) {
      env.CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDFUNCTIONS = readers
      env.CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN = readers
    }
  }

  const defaultTimeout = options.timeoutMs ?? 45_000

  const walk = (root: string): string[] => {
    let names: string[]
    try {
      names = readdirSync(root)
    } catch {
      return []
    }

    return names.flatMap(name => {
      const path = join(root, name)
      return statSync(path).isDirectory() ? walk(path) : [path]
    })
  }

  return {
    backups(project) {
      return walk(join(dataDir, 'backups', project.replaceAll(':', '_')))
      .filter(file => file.endsWith('.json'))
      .sort()
    },
    cleanup() {
      gcloud.cleanup()
      rmSync(dir, {force: true, recursive: true})
    },
    configDir,
    dataDir,
    dataFiles() {
      return walk(dataDir).map(file => [file, readFileSync(file, 'utf8')])
    },
    dir,
    env,
    gcloud,
    gcloudConfigDir,
    async run(args, runOptions = {}) {
      const childEnv: NodeJS.ProcessEnv = {...env}
      for (const [key, value] of Object.entries(runOptions.env ?? {})) {
        if (value === undefined) delete childEnv[key]
        else childEnv[key] = value
      }

      return runCli(args, {cwd: dir, env: childEnv, timeoutMs: runOptions.timeoutMs ?? defaultTimeout})
    },
    tokenFile,
  }
}

/** oclif wraps long error lines as "\n ›   "; joins them back so messages can be matched. */
export function unwrap(text: string): string {
  return text.replaceAll(/\s*\n\s*›\s*/g, ' ')
}

/**
 * The policy as JSON text without the fields a write legitimately changes (etag, updateTime, the allowlist) and
 * without the output-only `name` (which stand-ins re-append): byte-for-byte comparable.
 */
export function otherFields(policy: Policy | undefined): string {
  if (policy === undefined) return 'undefined'
  const volatile = new Set(['admissionWhitelistPatterns', 'etag', 'name', 'updateTime'])
  return JSON.stringify(Object.fromEntries(Object.entries(policy).filter(([key]) => !volatile.has(key))))
}

/** The allowlist entries' namePatterns, in order. */
export function patternsOf(policy: Policy | undefined): string[] {
  return (policy?.admissionWhitelistPatterns ?? []).map(entry => entry.namePattern)
}

/** Runs `count` tasks with at most `limit` in flight; results in input order. */
export async function inBatches<T>(count: number, limit: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = Array.from({length: count})
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++
      results[index] = await task(index)
    }
  }

  await Promise.all(Array.from({length: Math.min(limit, count)}, () => worker()))
  return results
}

/** Twenty distinct regions Cloud Run serves (the sandbox's table: it refuses any other). */
export const REGIONS: readonly string[] = CLOUD_RUN_REGIONS.slice(0, 20)

/** The pattern `deploy run` needs for a --source deploy to `region` (gcloud 528 writes the raw project ID there). */
export function runPattern(project: string, region: string): string {
  return `${region}-docker.pkg.dev/${project}/cloud-run-source-deploy/**`
}

/** GETs a project's policy straight from a stand-in (not through binauthz), with `token` as the bearer. */
export async function fetchPolicy(endpoint: string, project: string, token: string = CANARY_TOKEN): Promise<Policy> {
  const http = await import('node:http')
  const url = new URL(`v1/projects/${encodeURIComponent(project).replaceAll('%3A', ':')}/policy`, endpoint)
  return new Promise((resolve, reject) => {
    const req = http.request(url, {agent: false, headers: {authorization: `Bearer ${token}`}, method: 'GET'}, res => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        if (res.statusCode === 200) {
          resolve(JSON.parse(text) as Policy)
        } else {
          reject(new Error(`GET ${url.href}: HTTP ${res.statusCode} ${text.slice(0, 300)}`))
        }
      })
    })
    req.setTimeout(10_000, () => req.destroy(new Error('fetchPolicy timed out')))
    req.on('error', reject)
    req.end()
  })
}
