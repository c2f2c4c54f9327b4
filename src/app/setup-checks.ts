// The wizard's checks, each a function returning data (no printing), so they can be tested one by one.

import type {CaptureInvocation, CaptureResult} from '../gcloud/runner.js'
import type {BinauthzClient} from '../google/binauthz-client.js'
import type {Policy} from '../policy/types.js'

import {BinauthzError, InterruptedError} from '../errors.js'

/** Oldest gcloud this tool supports: new functions deploy as 2nd gen by default since Cloud SDK 492. */
export const MINIMUM_GCLOUD_VERSION = '492.0.0'

export interface GcloudCheck {
  installed: boolean
  minimum: string
  /** What is wrong and how to fix it, when something is. */
  problem?: string
  recentEnough: boolean
  version?: string
}

/** Extracts the Cloud SDK version from `gcloud version --format=json` output; undefined when absent. */
export function parseGcloudVersion(stdout: string): string | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(stdout)
  } catch {
    return undefined
  }

  if (typeof parsed !== 'object' || parsed === null) return undefined
  const version = (parsed as Record<string, unknown>)['Google Cloud SDK']
  return typeof version === 'string' && /^\d+(\.\d+)*$/.test(version.trim()) ? version.trim() : undefined
}

/** Numeric dotted-version comparison: negative when a < b. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number)
  const pb = b.split('.').map(Number)
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0)
    if (diff !== 0) return diff
  }

  return 0
}

export type Capture = (inv: CaptureInvocation) => Promise<CaptureResult>

/** Runs `gcloud version --format=json` once. A missing gcloud is reported, not thrown. */
export async function checkGcloud(env: NodeJS.ProcessEnv, capture: Capture): Promise<GcloudCheck> {
  const minimum = MINIMUM_GCLOUD_VERSION
  let result: CaptureResult
  try {
    result = await capture({args: ['version', '--format=json'], env, timeoutMs: 30_000})
  } catch (error) {
    if (error instanceof BinauthzError && error.code === 'GCLOUD_MISSING') {
      return {
        installed: false,
        minimum,
        problem: `gcloud was not found: ${error.message} Install the Google Cloud CLI (https://cloud.google.com/sdk/docs/install) or set BINAUTHZ_GCLOUD to its path.`,
        recentEnough: false,
      }
    }

    if (error instanceof BinauthzError && !(error instanceof InterruptedError)) {
      return {
        installed: true, minimum, problem: `\`gcloud version\` failed: ${error.message}`, recentEnough: false,
      }
    }

    throw error
  }

  const version = result.exitCode === 0 ? parseGcloudVersion(result.stdout) : undefined
  if (version === undefined) {
    return {
      installed: true,
      minimum,
      problem: `\`gcloud version --format=json\` exited ${result.exitCode} without a version: ${result.stderr.trim().slice(-300) || '(no output)'}`,
      recentEnough: false,
    }
  }

  const recentEnough = compareVersions(version, minimum) >= 0
  return {
    installed: true,
    minimum,
    recentEnough,
    version,
    ...(recentEnough ? {} : {problem: `gcloud ${version} is older than ${minimum}. Update it: gcloud components update`}),
  }
}

export type ApiCheck
  = | {enableCommand: string; message: string; state: 'disabled';}
    | {message: string; state: 'no-access';}
    | {policy: Policy; state: 'enabled';}

export function enableApiCommand(project: string): string {
  return `gcloud services enable binaryauthorization.googleapis.com --project ${project}`
}

/** One GET of the policy: tells whether the API is enabled and whether we may read the policy. */
export async function checkApi(client: BinauthzClient, project: string): Promise<ApiCheck> {
  try {
    return {policy: await client.getPolicy(project), state: 'enabled'}
  } catch (error) {
    const e = error as {apiStatus?: unknown; message?: unknown; reason?: unknown; status?: unknown;}
    const message = typeof e.message === 'string' ? e.message : String(error)
    if (e.reason === 'SERVICE_DISABLED' || /SERVICE_DISABLED|has not been used in project|it is disabled/i.test(message)) {
      return {enableCommand: enableApiCommand(project), message, state: 'disabled'}
    }

    if (e.status === 403 || e.apiStatus === 'PERMISSION_DENIED') return {message, state: 'no-access'}
    throw error
  }
}
