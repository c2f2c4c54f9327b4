// Cloud Run worker pools: the v2 API gcloud 528's `beta run worker-pools deploy` speaks over gRPC (grpc.ts carries
// it). Read from the SDK (lib/surface/run/worker_pools/deploy.py Run; command_lib/run/v2/worker_pools_operations.py
// GetWorkerPool / ReleaseWorkerPool) and traced against the sandbox: GetWorkerPool (NOT_FOUND = create), for
// `--source` the same Artifact Registry / Storage / builds:submit REST calls as `run deploy --source` (run.ts) and a
// second GetWorkerPool, then ONE UpdateWorkerPool with allow_missing=true (create or update), whose long-running
// operation gcloud waits on (`response.result()`; google.longrunning.Operations GetOperation while not done).
// Pools are stored by REGION/NAME in the proto-loader's JSON form (camelCase fields), as gcloud sent them.
// Admission: with `binaryAuthorization.useDefault` or `.policy` set, every container image of the template is
// judged by the sandbox's own judge (admission.ts) on every create and update, in the form the revision runs
// (run.ts resolvedImage: a tag gcloud's build pushed → its digest). A denied revision is stored as the latest
// created (terminalCondition FAILED) and the operation ends in error FAILED_PRECONDITION carrying the denial,
// as a Run v2 operation ends when its revision is not ready.
import {createHash, randomUUID} from 'node:crypto'

import type {SandboxContext} from './api.js'

import {admitImages, denialText} from './admission.js'
import {unsupportedRegion} from './regions.js'
import {resolvedImage} from './run.js'
import {isRecord, type JsonObject} from './state.js'

export const WORKER_POOL_FILES = {operations: 'worker-pool-operations.json', pools: 'worker-pools.json'} as const

/** gRPC status codes the handlers answer with (google.rpc.Code). */
export const GRPC = {
  ALREADY_EXISTS: 6,
  FAILED_PRECONDITION: 9,
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  UNAUTHENTICATED: 16,
  UNIMPLEMENTED: 12,
} as const

export interface RpcError {
  code: number
  message: string
}

export type RpcResult<T> = {error: RpcError} | {value: T}

/** A stored long-running operation: done at once, with the pool as metadata and as the response (or an error). */
export interface PoolOperation {
  error?: RpcError
  name: string
  pool: JsonObject
}

function obj(value: unknown): JsonObject {
  return isRecord(value) ? value : {}
}

const POOL_NAME = /^projects\/([^/]+)\/locations\/([^/]+)\/workerPools\/([^/]+)$/

interface PoolRef {
  location: string
  name: string
  pool: string
  project: string
}

function parseName(ctx: SandboxContext, full: unknown): RpcResult<PoolRef> {
  const match = POOL_NAME.exec(typeof full === 'string' ? full : '')
  if (!match) return {error: {code: GRPC.INVALID_ARGUMENT, message: `Invalid worker pool name "${String(full)}": expected projects/PROJECT/locations/REGION/workerPools/NAME.`}}
  const [, project = '', location = '', pool = ''] = match
  if (project !== ctx.identity.project && project !== ctx.identity.projectNumber) {
    return {error: {code: GRPC.PERMISSION_DENIED, message: `Permission denied on resource project ${project} (the sandbox serves only project ${ctx.identity.project}).`}}
  }

  const region = unsupportedRegion(location)
  if (region) return {error: {code: GRPC.INVALID_ARGUMENT, message: `region: Unsupported region ${location}`}}
  if (!/^[a-z](?:[-a-z0-9]{0,47}[a-z0-9])?$/.test(pool)) {
    return {error: {code: GRPC.INVALID_ARGUMENT, message: `worker pool name "${pool}" is invalid: use lowercase letters, digits and hyphens, starting with a letter`}}
  }

  return {
    value: {
      location, name: `projects/${ctx.identity.project}/locations/${location}/workerPools/${pool}`, pool, project,
    },
  }
}

const key = (ref: PoolRef): string => `${ref.location}/${ref.pool}`

function notFound(ref: PoolRef): {error: RpcError} {
  return {error: {code: GRPC.NOT_FOUND, message: `Resource '${ref.pool}' of kind 'WORKER_POOL' in region '${ref.location}' in project '${ref.project}' does not exist.`}}
}

/** The images a worker pool's revisions run: every container of template.containers. */
export function workerPoolImages(pool: JsonObject): string[] {
  const {containers} = obj(pool.template)
  if (!Array.isArray(containers)) return []
  return containers.map(c => obj(c).image).filter((image): image is string => typeof image === 'string')
}

/** The policy a pool asks for: "default", a policy name, or undefined (no Binary Authorization). */
function requestedPolicy(pool: JsonObject): string | undefined {
  const binaryAuthorization = obj(pool.binaryAuthorization)
  if (binaryAuthorization.useDefault === true) return 'default'
  return typeof binaryAuthorization.policy === 'string' && binaryAuthorization.policy !== '' ? binaryAuthorization.policy : undefined
}

function denial(ctx: SandboxContext, pool: JsonObject): string | undefined {
  if (requestedPolicy(pool) === undefined) return undefined
  const decision = admitImages(ctx, workerPoolImages(pool).map(image => resolvedImage(ctx, image)))
  const breakglass = obj(pool.binaryAuthorization).breakglassJustification
  if (decision.admitted || (typeof breakglass === 'string' && breakglass !== '')) return undefined
  return denialText(ctx, decision)
}

function timestamp(date: Date): JsonObject {
  const ms = date.getTime()
  return {nanos: (ms % 1000) * 1_000_000, seconds: String(Math.floor(ms / 1000))}
}

/** GetWorkerPool. */
export function getWorkerPool(ctx: SandboxContext, request: JsonObject): RpcResult<JsonObject> {
  const ref = parseName(ctx, request.name)
  if ('error' in ref) return ref
  const pool = ctx.state.getEntry(WORKER_POOL_FILES.pools, key(ref.value))
  return pool ? {value: pool} : notFound(ref.value)
}

/** ListWorkerPools of one location (gcloud's `worker-pools list`; no paging: the sandbox holds few). */
export function listWorkerPools(ctx: SandboxContext, request: JsonObject): RpcResult<JsonObject> {
  const match = /^projects\/([^/]+)\/locations\/([^/]+)$/.exec(typeof request.parent === 'string' ? request.parent : '')
  if (!match) return {error: {code: GRPC.INVALID_ARGUMENT, message: `Invalid parent "${String(request.parent)}".`}}
  const pools = Object.entries(ctx.state.readJson<Record<string, JsonObject>>(WORKER_POOL_FILES.pools, {}))
  .filter(([k]) => k.startsWith(`${match[2]}/`))
  .map(([, pool]) => pool)
  return {value: {workerPools: pools}}
}

function storeOperation(ctx: SandboxContext, ref: PoolRef, pool: JsonObject, error?: RpcError): PoolOperation {
  const operation: PoolOperation = {name: `projects/${ctx.identity.project}/locations/${ref.location}/operations/${randomUUID()}`, pool, ...(error ? {error} : {})}
  ctx.state.putEntry(WORKER_POOL_FILES.operations, operation.name, operation as unknown as JsonObject)
  return operation
}

/** Stores the next generation of the pool (a new revision), judged; the operation that reports it. */
function release(ctx: SandboxContext, ref: PoolRef, sent: JsonObject, {previous, principal}: {previous?: JsonObject; principal?: string}): PoolOperation {
  const generation = Number(previous?.generation ?? 0) + 1
  const uid = typeof previous?.uid === 'string' ? previous.uid : randomUUID()
  const now = timestamp(ctx.now())
  const revision = `${ref.pool}-${String(generation).padStart(5, '0')}-${createHash('sha256').update(`${uid}:${generation}`).digest('hex').slice(0, 3)}`
  const denied = denial(ctx, sent)
  const revisionName = `${ref.name}/revisions/${revision}`
  const pool: JsonObject = {
    ...structuredClone(sent),
    createTime: previous?.createTime ?? now,
    creator: previous?.creator ?? principal ?? ctx.identity.account,
    etag: createHash('sha256').update(`${uid}:${generation}:etag`).digest('hex').slice(0, 16),
    generation: String(generation),
    lastModifier: principal ?? ctx.identity.account,
    latestCreatedRevision: revisionName,
    // A denied revision never becomes ready: the last ready one stays.
    latestReadyRevision: denied === undefined ? revisionName : (previous?.latestReadyRevision ?? ''),
    name: ref.name,
    observedGeneration: String(generation),
    reconciling: false,
    terminalCondition: denied === undefined
      ? {lastTransitionTime: now, state: 'CONDITION_SUCCEEDED', type: 'Ready'}
      : {
        lastTransitionTime: now, message: `Revision '${revision}' is not ready. ${denied}`, reason: 'CONTAINER_IMAGE_UNAUTHORIZED', state: 'CONDITION_FAILED', type: 'Ready',
      },
    uid,
    updateTime: now,
  }
  ctx.state.putEntry(WORKER_POOL_FILES.pools, key(ref), pool)
  return storeOperation(ctx, ref, pool, denied === undefined ? undefined : {code: GRPC.FAILED_PRECONDITION, message: `Revision '${revision}' is not ready and cannot serve traffic. ${denied}`})
}

function orgPolicyRefusal(ctx: SandboxContext, pool: JsonObject, ref: PoolRef): RpcError | undefined {
  if (!ctx.faults.requireBinaryAuthorization || requestedPolicy(pool) === 'default') return undefined
  return {
    code: GRPC.FAILED_PRECONDITION,
    message: `Constraint constraints/run.allowedBinaryAuthorizationPolicies violated for worker pool ${ref.pool}: the organization policy requires `
      + 'Binary Authorization policy "default" (deploy with --binary-authorization=default).',
  }
}

function problemOf(pool: JsonObject): string | undefined {
  return workerPoolImages(pool).length === 0 ? 'worker_pool.template.containers[].image is required' : undefined
}

/** UpdateWorkerPool (allow_missing: create when absent), what `worker-pools deploy` sends. */
export function updateWorkerPool(ctx: SandboxContext, request: JsonObject, principal?: string): RpcResult<PoolOperation> {
  const sent = obj(request.workerPool)
  const ref = parseName(ctx, sent.name)
  if ('error' in ref) return ref
  const problem = problemOf(sent)
  if (problem) return {error: {code: GRPC.INVALID_ARGUMENT, message: problem}}
  const previous = ctx.state.getEntry(WORKER_POOL_FILES.pools, key(ref.value))
  if (!previous && request.allowMissing !== true) return notFound(ref.value)
  const refused = orgPolicyRefusal(ctx, sent, ref.value)
  if (refused) return {error: refused}
  if (request.validateOnly === true) return {value: {name: '', pool: sent}}
  return {value: release(ctx, ref.value, sent, {previous, principal})}
}

/** CreateWorkerPool (parent + worker_pool_id). */
export function createWorkerPool(ctx: SandboxContext, request: JsonObject, principal?: string): RpcResult<PoolOperation> {
  const sent = obj(request.workerPool)
  const ref = parseName(ctx, `${String(request.parent)}/workerPools/${String(request.workerPoolId)}`)
  if ('error' in ref) return ref
  const problem = problemOf(sent)
  if (problem) return {error: {code: GRPC.INVALID_ARGUMENT, message: problem}}
  if (ctx.state.getEntry(WORKER_POOL_FILES.pools, key(ref.value))) return {error: {code: GRPC.ALREADY_EXISTS, message: `Resource '${ref.value.pool}' already exists.`}}
  const refused = orgPolicyRefusal(ctx, sent, ref.value)
  if (refused) return {error: refused}
  if (request.validateOnly === true) return {value: {name: '', pool: sent}}
  return {value: release(ctx, ref.value, sent, {principal})}
}

/** google.longrunning.Operations GetOperation / WaitOperation. */
export function getPoolOperation(ctx: SandboxContext, request: JsonObject): RpcResult<PoolOperation> {
  const name = typeof request.name === 'string' ? request.name : ''
  const stored = ctx.state.getEntry(WORKER_POOL_FILES.operations, name)
  return stored ? {value: stored as unknown as PoolOperation} : {error: {code: GRPC.NOT_FOUND, message: `Operation ${name} not found.`}}
}
