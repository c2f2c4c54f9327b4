// What the sandbox runs, and whether it is healthy: Cloud Run services and jobs and Cloud Functions (2nd gen) read
// from the state directory, judged the way gcloud judges them.
//
// - A service is ready when its `Ready` condition is "True" (gcloud's readiness rule, command_lib/run/
//   serverless_operations.py / api_lib/run/condition.py). Its message is the one gcloud would print for a failed
//   deploy: the ConfigurationsReady message when that condition is False, else the Ready message.
// - A job is ready on the same rule: gcloud 528's `run jobs deploy` waits on the job's Ready condition
//   (serverless_operations.py ConditionPoller), and a refused create or replace leaves Ready False with the denial.
// - A function is ready when its `state` is ACTIVE and no stateMessages entry has severity ERROR (a refused redeploy
//   leaves the function ACTIVE on its old revision but with an ERROR state message, as Cloud Functions does).
//   Its images are those of the Cloud Run service behind it (serviceConfig.service).
// - A worker pool is ready when its v2 terminalCondition is CONDITION_SUCCEEDED (a refused create or update leaves
//   it CONDITION_FAILED with the denial; worker-pools.ts).
// - The Cloud Run service behind a function is listed once, as the function (kind "function"), not again as a service.
import {functionImages} from './functions.js'
import {JOB_FILES, jobImages} from './jobs.js'
import {serviceKey, templateImages} from './run.js'
import {
  isRecord, type JsonObject, type SandboxState, STATE_FILES,
} from './state.js'
import {WORKER_POOL_FILES, workerPoolImages} from './worker-pools.js'

export interface InventoryEntry {
  /** Cloud Run images of the revision or task template (every container), or of the function's service. */
  images: string[]
  kind: 'function' | 'job' | 'service' | 'worker-pool'
  /** Why it is not ready (or the Ready message when there is one). */
  message?: string
  /** Service or job name, or function id. */
  name: string
  ready: boolean
  region: string
}

function obj(value: unknown): JsonObject {
  return isRecord(value) ? value : {}
}

interface Condition {
  message?: string
  status?: string
  type?: string
}

function conditionsOf(service: JsonObject): Condition[] {
  const {conditions} = obj(service.status)
  return Array.isArray(conditions) ? conditions.filter(c => isRecord(c)).map(c => c as Condition) : []
}

function serviceHealth(service: JsonObject): {message?: string; ready: boolean} {
  const conditions = conditionsOf(service)
  const ready = conditions.find(c => c.type === 'Ready')
  const configurations = conditions.find(c => c.type === 'ConfigurationsReady')
  const isReady = ready?.status === 'True'
  const message = !isReady && configurations?.status === 'False' && configurations.message ? configurations.message : ready?.message
  return message ? {message, ready: isReady} : {ready: isReady}
}

function functionHealth(fn: JsonObject): {message?: string; ready: boolean} {
  const messages = Array.isArray(fn.stateMessages) ? fn.stateMessages.filter(m => isRecord(m)) : []
  const error = messages.find(m => m.severity === 'ERROR')
  const ready = fn.state === 'ACTIVE' && !error
  const text = error?.message ?? (ready ? undefined : `state ${String(fn.state ?? 'unknown')}`)
  return typeof text === 'string' ? {message: text, ready} : {ready}
}

/** Every service, job, worker pool and function in the sandbox state with its health, in that order, each group sorted by region and name. */
export function listInventory(state: SandboxState): InventoryEntry[] {
  const functions = Object.entries(state.readMap(STATE_FILES.functions))
  const backing = new Set<string>()
  const functionEntries: InventoryEntry[] = functions.map(([fullName, fn]) => {
    const match = /^projects\/[^/]+\/locations\/([^/]+)\/functions\/([^/]+)$/.exec(fullName)
    const region = match?.[1] ?? ''
    const service = /\/services\/([^/]+)$/.exec(String(obj(fn.serviceConfig).service ?? ''))?.[1]
    if (service) backing.add(serviceKey(region, service))
    return {
      images: functionImages({state}, fn), kind: 'function', name: match?.[2] ?? fullName, region, ...functionHealth(fn),
    }
  })
  const serviceEntries: InventoryEntry[] = Object.entries(state.readMap(STATE_FILES.services))
  .filter(([key]) => !backing.has(key))
  .map(([key, service]) => {
    const slash = key.indexOf('/')
    return {
      images: templateImages(service),
      kind: 'service',
      name: key.slice(slash + 1),
      region: key.slice(0, slash),
      ...serviceHealth(service),
    }
  })
  const jobEntries: InventoryEntry[] = Object.entries(state.readMap(JOB_FILES.jobs)).map(([key, job]) => {
    const slash = key.indexOf('/')
    return {
      images: jobImages(job), kind: 'job', name: key.slice(slash + 1), region: key.slice(0, slash), ...serviceHealth(job),
    }
  })
  const poolEntries: InventoryEntry[] = Object.entries(state.readMap(WORKER_POOL_FILES.pools)).map(([key, pool]) => {
    const slash = key.indexOf('/')
    const condition = obj(pool.terminalCondition)
    const ready = condition.state === 'CONDITION_SUCCEEDED'
    return {
      images: workerPoolImages(pool),
      kind: 'worker-pool',
      name: key.slice(slash + 1),
      ready,
      region: key.slice(0, slash),
      ...(typeof condition.message === 'string' && condition.message !== '' ? {message: condition.message} : {}),
    }
  })
  const byPlace = (a: InventoryEntry, b: InventoryEntry): number => a.region.localeCompare(b.region) || a.name.localeCompare(b.name)
  return [...serviceEntries.sort(byPlace), ...jobEntries.sort(byPlace), ...poolEntries.sort(byPlace), ...functionEntries.sort(byPlace)]
}
