// Cloud Run jobs: the v1 namespaces API gcloud 528's GA `run jobs deploy` speaks on the REGIONAL host, traced with
// `gcloud --log-http run jobs deploy J --source .` against the sandbox: GET …/namespaces/NS/jobs/J (404 = create),
// the source build (the same Artifact Registry / Storage / builds:submit calls as `run deploy --source`, run.ts),
// POST …/namespaces/NS/jobs (create) or PUT …/jobs/J (replace), then GET …/jobs/J until Ready
// (command_lib/run/serverless_operations.py DeployJob / CreateJob / UpdateJob, ConditionPoller); with --execute-now
// POST …/jobs/J:run and GET …/namespaces/NS/executions/E until Started (RunJob, ExecutionConditionPoller).
// Admission is judged on create, on replace and on every execution, by the sandbox's own judge (admission.ts), when
// the job carries run.googleapis.com/binary-authorization.
import {createHash, randomUUID} from 'node:crypto'

import {admitImages, denialText} from './admission.js'
import {
  apiError, type ApiRequest, checkProject, clone, jsonBody, ok, type Reply, type SandboxContext,
} from './api.js'
import {unsupportedRegion} from './regions.js'
import {
  BINAUTHZ_ANNOTATION, BREAKGLASS_ANNOTATION, orgPolicyRefusal, resolvedImage,
} from './run.js'
import {isRecord, type JsonObject} from './state.js'

/** The sandbox's own files for jobs and their executions (beside state.ts's STATE_FILES). */
export const JOB_FILES = {executions: 'executions.json', jobs: 'jobs.json'} as const

function obj(value: unknown): JsonObject {
  return isRecord(value) ? value : {}
}

function regionOf(req: ApiRequest): Reply | string {
  if (req.region) return unsupportedRegion(req.region) ?? req.region
  return apiError(400, 'Cloud Run requests must use a regional endpoint (REGION-HOST); set the CLOUDSDK_PROXY_* variables from `binauthz sandbox env`.')
}

function key(region: string, name: string): string {
  return `${region}/${name}`
}

/** The images a job runs: every container of spec.template.spec.template.spec (Job → ExecutionTemplate → TaskTemplate). */
export function jobImages(job: JsonObject): string[] {
  const {containers} = obj(obj(obj(obj(obj(job.spec).template).spec).template).spec)
  if (!Array.isArray(containers)) return []
  return containers.map(c => obj(c).image).filter((image): image is string => typeof image === 'string')
}

/** The Binary Authorization verdict on a job's images: undefined when admitted (or not enforced / break-glass). */
function denial(ctx: SandboxContext, job: JsonObject): string | undefined {
  const annotations = obj(obj(job.metadata).annotations)
  const policy = annotations[BINAUTHZ_ANNOTATION]
  if (typeof policy !== 'string' || policy === '') return undefined
  const decision = admitImages(ctx, jobImages(job).map(image => resolvedImage(ctx, image)))
  const breakglass = annotations[BREAKGLASS_ANNOTATION]
  if (decision.admitted || (typeof breakglass === 'string' && breakglass !== '')) return undefined
  return denialText(ctx, decision)
}

function notFound(kind: string, name: string, region: string, namespace: string): Reply {
  return apiError(404, `Resource '${name}' of kind '${kind}' in region '${region}' in project '${namespace}' does not exist.`)
}

function problemOf(body: JsonObject | undefined, name?: string): string | undefined {
  if (!body) return 'the request body must be a Cloud Run Job object'
  const metaName = obj(body.metadata).name
  if (typeof metaName !== 'string' || !/^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/.test(metaName)) {
    return `job name "${String(metaName)}" is invalid: use lowercase letters, digits and hyphens, starting with a letter`
  }

  if (name !== undefined && metaName !== name) return `metadata.name "${metaName}" does not match "${name}"`
  if (jobImages(body).length === 0) return 'spec.template.spec.template.spec.containers[].image is required'
  return undefined
}

/** Stores a generation of the job with its final status: Ready True, or False with the Binary Authorization denial. */
function storeJob(ctx: SandboxContext, {namespace, region}: {namespace: string; region: string}, body: JsonObject, previous: JsonObject | undefined): JsonObject {
  const metadata = obj(body.metadata)
  const name = String(metadata.name)
  const prevMeta = obj(previous?.metadata)
  const generation = (typeof prevMeta.generation === 'number' ? prevMeta.generation : 0) + 1
  const uid = typeof prevMeta.uid === 'string' ? prevMeta.uid : randomUUID()
  const now = ctx.now().toISOString()
  const denied = denial(ctx, body)
  const conditions = denied === undefined
    ? [{lastTransitionTime: now, status: 'True', type: 'Ready'}]
    : [{
      lastTransitionTime: now, message: `Job '${name}' is not ready. ${denied}`, reason: 'ContainerImageUnauthorized', status: 'False', type: 'Ready',
    }]
  const job: JsonObject = {
    ...clone(body),
    apiVersion: 'run.googleapis.com/v1',
    kind: 'Job',
    metadata: {
      ...clone(metadata),
      creationTimestamp: typeof prevMeta.creationTimestamp === 'string' ? prevMeta.creationTimestamp : now,
      generation,
      labels: {...obj(metadata.labels), 'cloud.googleapis.com/location': region},
      namespace,
      resourceVersion: createHash('sha256').update(`${uid}:${generation}`).digest('hex').slice(0, 12),
      selfLink: `/apis/run.googleapis.com/v1/namespaces/${ctx.identity.projectNumber}/jobs/${name}`,
      uid,
    },
    status: {
      conditions,
      executionCount: obj(previous?.status).executionCount ?? 0,
      ...(isRecord(obj(previous?.status).latestCreatedExecution) ? {latestCreatedExecution: obj(previous?.status).latestCreatedExecution} : {}),
      observedGeneration: generation,
    },
  }
  ctx.state.putEntry(JOB_FILES.jobs, key(region, name), job)
  return job
}

/** GET …/namespaces/NS/jobs/J. */
export function getJob(req: ApiRequest, ctx: SandboxContext, [namespace = '', name = '']: string[]): Reply {
  const region = regionOf(req)
  if (typeof region !== 'string') return region
  const wrong = checkProject(ctx, namespace)
  if (wrong) return wrong
  const job = ctx.state.getEntry(JOB_FILES.jobs, key(region, name))
  return job ? ok(job) : notFound('JOB', name, region, namespace)
}

/** POST …/namespaces/NS/jobs (create). */
export function createJob(req: ApiRequest, ctx: SandboxContext, [namespace = '']: string[]): Reply {
  const region = regionOf(req)
  if (typeof region !== 'string') return region
  const wrong = checkProject(ctx, namespace)
  if (wrong) return wrong
  const body = jsonBody(req)
  const problem = problemOf(body)
  if (problem || !body) return apiError(400, problem ?? 'invalid body')
  const name = String(obj(body.metadata).name)
  const refused = orgPolicyRefusal(ctx, obj(obj(body.metadata).annotations)[BINAUTHZ_ANNOTATION], `job ${name}`)
  if (refused) return refused
  if (ctx.state.getEntry(JOB_FILES.jobs, key(region, name))) return apiError(409, `Resource '${name}' already exists.`, 'ALREADY_EXISTS')
  return ok(storeJob(ctx, {namespace, region}, body, undefined))
}

/** PUT …/namespaces/NS/jobs/J (replace). */
export function replaceJob(req: ApiRequest, ctx: SandboxContext, [namespace = '', name = '']: string[]): Reply {
  const region = regionOf(req)
  if (typeof region !== 'string') return region
  const wrong = checkProject(ctx, namespace)
  if (wrong) return wrong
  const body = jsonBody(req)
  const problem = problemOf(body, name)
  if (problem || !body) return apiError(400, problem ?? 'invalid body')
  const previous = ctx.state.getEntry(JOB_FILES.jobs, key(region, name))
  if (!previous) return notFound('JOB', name, region, namespace)
  const refused = orgPolicyRefusal(ctx, obj(obj(body.metadata).annotations)[BINAUTHZ_ANNOTATION], `job ${name}`)
  if (refused) return refused
  return ok(storeJob(ctx, {namespace, region}, body, previous))
}

/**
 * POST …/namespaces/NS/jobs/J:run: an execution of the job as it is now, judged again (the policy may have changed
 * since the job was stored); a denied one is refused with the denial and no execution is created.
 */
export function runJob(req: ApiRequest, ctx: SandboxContext, [namespace = '', name = '']: string[]): Reply {
  const region = regionOf(req)
  if (typeof region !== 'string') return region
  const wrong = checkProject(ctx, namespace)
  if (wrong) return wrong
  const job = ctx.state.getEntry(JOB_FILES.jobs, key(region, name))
  if (!job) return notFound('JOB', name, region, namespace)
  const denied = denial(ctx, job)
  if (denied !== undefined) return apiError(400, `Execution of job '${name}' was not created. ${denied}`, 'FAILED_PRECONDITION')
  const count = (typeof obj(job.status).executionCount === 'number' ? obj(job.status).executionCount as number : 0) + 1
  const executionName = `${name}-${createHash('sha256').update(`${String(obj(job.metadata).uid)}:${count}`).digest('hex').slice(0, 5)}`
  const now = ctx.now().toISOString()
  const execution: JsonObject = {
    apiVersion: 'run.googleapis.com/v1',
    kind: 'Execution',
    metadata: {
      annotations: {}, creationTimestamp: now, generation: 1, labels: {'cloud.googleapis.com/location': region, 'run.googleapis.com/job': name}, name: executionName, namespace,
    },
    spec: clone(obj(obj(job.spec).template).spec ?? {}),
    status: {
      completionTime: now,
      conditions: [
        {lastTransitionTime: now, status: 'True', type: 'Completed'},
        {lastTransitionTime: now, status: 'True', type: 'ResourcesAvailable'},
        {lastTransitionTime: now, status: 'True', type: 'Started'},
      ],
      observedGeneration: 1,
      startTime: now,
      succeededCount: 1,
    },
  }
  ctx.state.putEntry(JOB_FILES.executions, key(region, executionName), execution)
  ctx.state.putEntry(JOB_FILES.jobs, key(region, name), {
    ...job,
    status: {...obj(job.status), executionCount: count, latestCreatedExecution: {completionTimestamp: now, creationTimestamp: now, name: executionName}},
  })
  return ok(execution)
}

/** GET …/namespaces/NS/executions/E. */
export function getExecution(req: ApiRequest, ctx: SandboxContext, [namespace = '', name = '']: string[]): Reply {
  const region = regionOf(req)
  if (typeof region !== 'string') return region
  const wrong = checkProject(ctx, namespace)
  if (wrong) return wrong
  const execution = ctx.state.getEntry(JOB_FILES.executions, key(region, name))
  return execution ? ok(execution) : notFound('EXECUTION', name, region, namespace)
}
