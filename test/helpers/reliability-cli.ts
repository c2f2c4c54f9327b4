// Reliability/security test kit: runs the BUILT CLI (bin/run.js) as child processes in an isolated environment
// (temp CLOUDSDK_CONFIG, BINAUTHZ_DATA_DIR, BINAUTHZ_CONFIG_DIR, HOME; a planted canary access token; the recording
// fake gcloud; CI=true) against a loopback stand-in, with a hard per-process timeout (SIGKILL) so nothing can hang
// a test run.
//
//   const kit = createCliKit({endpoint: server.url})
//   const run = await kit.run(['deploy', 'run', 'svc', '--project', P, '--region', R, '--yes'])
//   expect(run.code).to.equal(0); expect(run.timedOut).to.equal(false)
//   kit.cleanup()
import {spawn} from 'node:child_process'
import {once} from 'node:events'
import {mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import type {Policy} from '../../src/policy/types.js'

import {type FakeGcloud, createFakeGcloud} from './fake-gcloud.js'
import {tempDir} from './tmp.js'

/** bin/run.js of this checkout (dist/test/helpers/x.js → ../../../bin/run.js). */
export const BIN = fileURLToPath(new URL('../../../bin/run.js', import.meta.url))

/**
 * A recognisable access token that matches none of the generic redaction patterns (not ya29., no "Bearer " prefix
 * in the file), so only a real "never print the token" guarantee keeps it out of the output.
 */
export const CANARY_TOKEN = 'CANARYtok-7f3a9c21e4b8d05a6b1c9e2f-reliability-do-not-print'

export interface CliRun {
  args: string[]
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** Killed by the kit's timeout (a hang). */
  timedOut: boolean
}

export interface CliKitOptions {
  /** Value of CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION (omitted when undefined). */
  endpoint?: string
  /** Token planted in the token file (default CANARY_TOKEN). */
  token?: string
  /** Per-process hard timeout in ms (default 45000). */
  timeoutMs?: number
}

export interface CliKit {
  dir: string
  tokenFile: string
  dataDir: string
  configDir: string
  gcloudConfigDir: string
  gcloud: FakeGcloud
  /** The environment every child gets (PATH, HOME and the tool's variables only). */
  env: NodeJS.ProcessEnv
  /** Runs `node bin/run.js ...args`; `env` entries set to undefined are removed. */
  run(args: readonly string[], options?: {env?: NodeJS.ProcessEnv; timeoutMs?: number}): Promise<CliRun>
  /** Every file under BINAUTHZ_DATA_DIR (backups), as [path, content]. */
  dataFiles(): [string, string][]
  /** Backup files of `project` (sorted by name). */
  backups(project: string): string[]
  cleanup(): void
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
    PATH: process.env.PATH,
    HOME: home,
    CI: 'true',
    NO_COLOR: '1',
    CLOUDSDK_CONFIG: gcloudConfigDir,
    CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: tokenFile,
    BINAUTHZ_GCLOUD: gcloud.bin,
    BINAUTHZ_DATA_DIR: dataDir,
    BINAUTHZ_CONFIG_DIR: configDir,
    NO_PROXY: '127.0.0.1,localhost',
  }
  if (options.endpoint !== undefined) env.CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION = options.endpoint
  const defaultTimeout = options.timeoutMs ?? 45_000

  const walk = (root: string): string[] => {
    let names: string[]
    try {
      names = readdirSync(root)
    } catch {
      return []
    }
    return names.flatMap((name) => {
      const path = join(root, name)
      return statSync(path).isDirectory() ? walk(path) : [path]
    })
  }

  return {
    dir,
    tokenFile,
    dataDir,
    configDir,
    gcloudConfigDir,
    gcloud,
    env,
    async run(args, runOptions = {}) {
      const childEnv: NodeJS.ProcessEnv = {...env}
      for (const [key, value] of Object.entries(runOptions.env ?? {})) {
        if (value === undefined) delete childEnv[key]
        else childEnv[key] = value
      }
      const child = spawn(process.execPath, [BIN, ...args], {env: childEnv, cwd: dir, stdio: ['ignore', 'pipe', 'pipe']})
      const out: Buffer[] = []
      const err: Buffer[] = []
      child.stdout.on('data', (chunk: Buffer) => out.push(chunk))
      child.stderr.on('data', (chunk: Buffer) => err.push(chunk))
      let timedOut = false
      const timer = setTimeout(() => {
        timedOut = true
        child.kill('SIGKILL')
      }, runOptions.timeoutMs ?? defaultTimeout)
      const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null]
      clearTimeout(timer)
      return {
        args: [...args],
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
      }
    },
    dataFiles() {
      return walk(dataDir).map((file) => [file, readFileSync(file, 'utf8')])
    },
    backups(project) {
      return walk(join(dataDir, 'backups', project.replaceAll(':', '_')))
        .filter((file) => file.endsWith('.json'))
        .sort()
    },
    cleanup() {
      gcloud.cleanup()
      rmSync(dir, {recursive: true, force: true})
    },
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
  const {etag: _etag, updateTime: _updateTime, admissionWhitelistPatterns: _patterns, name: _name, ...rest} = policy
  return JSON.stringify(rest)
}

/** The allowlist entries' namePatterns, in order. */
export function patternsOf(policy: Policy | undefined): string[] {
  return (policy?.admissionWhitelistPatterns ?? []).map((entry) => entry.namePattern)
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

/** Twenty valid, distinct Google Cloud region names. */
export const REGIONS = [
  'us-central1',
  'us-east1',
  'us-east4',
  'us-east5',
  'us-south1',
  'us-west1',
  'us-west2',
  'us-west3',
  'us-west4',
  'europe-west1',
  'europe-west2',
  'europe-west3',
  'europe-west4',
  'europe-west6',
  'europe-north1',
  'asia-east1',
  'asia-northeast1',
  'asia-south1',
  'australia-southeast1',
  'southamerica-east1',
] as const

/** The pattern `deploy run` needs for a --source deploy to `region`. */
export function runPattern(project: string, region: string): string {
  return `${region}-docker.pkg.dev/${project.replace(':', '/')}/cloud-run-source-deploy/**`
}

/** GETs a project's policy straight from a stand-in (not through binauthz), with `token` as the bearer. */
export async function fetchPolicy(endpoint: string, project: string, token: string = CANARY_TOKEN): Promise<Policy> {
  const http = await import('node:http')
  const url = new URL(`v1/projects/${encodeURIComponent(project).replaceAll('%3A', ':')}/policy`, endpoint)
  return new Promise((resolve, reject) => {
    const req = http.request(url, {method: 'GET', headers: {authorization: `Bearer ${token}`}, agent: false}, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        if (res.statusCode !== 200) reject(new Error(`GET ${url.href}: HTTP ${res.statusCode} ${text.slice(0, 300)}`))
        else resolve(JSON.parse(text) as Policy)
      })
    })
    req.setTimeout(10_000, () => req.destroy(new Error('fetchPolicy timed out')))
    req.on('error', reject)
    req.end()
  })
}
