// Cloud Run jobs: the v1 namespaces API gcloud 528's GA `run jobs deploy` speaks on the REGIONAL host, traced with
// `gcloud --log-http run jobs deploy J --source .` against the sandbox: GET …/namespaces/NS/jobs/J (404 = create),
// the source build (the same Artifact Registry / Storage / builds:submit calls as `run deploy --source`, run.ts),
// POST …/namespaces/NS/jobs (create) or PUT …/jobs/J (replace), then GET …/jobs/J until Ready
// (command_lib/run/serverless_operations.py DeployJob / CreateJob / UpdateJob, ConditionPoller); with --execute-now
// POST …/jobs/J:run and GET …/namespaces/NS/executions/E until Started (RunJob, ExecutionConditionPoller).
// Admission is judged on create, on replace and on every execution, by the sandbox's own judge (admission.ts), when
// the job carries run.googleapis.com/binary-authorization.
import {createHash} from 'node:crypto'

import {
  apiError, type ApiRequest, clone, ok, type Reply, type SandboxContext,
} from './api.js'
import {
  binauthzDenial, isReply, regionalKey as key, nextGeneration, obj, regionOfCall, type ResourceKind, resourceNotFound, storedMetadata, writeTarget,
} from './run-v1.js'
import {resolvedImage} from './run.js'
import {isRecord, type JsonObject} from './state.js'

/** The sandbox's own files for jobs and their executions (beside state.ts's STATE_FILES). */
export const JOB_FILES = {executions: 'executions.json', jobs: 'jobs.json'} as const

/** The images a job runs: every container of spec.template.spec.template.spec (Job → ExecutionTemplate → TaskTemplate). */
export function jobImages(job: JsonObject): string[] {
  const {containers} = obj(obj(obj(obj(obj(job.spec).template).spec).template).spec)
  if (!Array.isArray(containers)) return []
  return containers.map(c => obj(c).image).filter((image): image is string => typeof image === 'string')
}

/** The Binary Authorization verdict on a job's images: undefined when admitted (or not enforced / break-glass). */
function denial(ctx: SandboxContext, job: JsonObject): string | undefined {
  return binauthzDenial(ctx, obj(job.metadata), jobImages(job).map(image => resolvedImage(ctx, image)))
}

const JOB: ResourceKind = {
  bodyName: 'a Cloud Run Job object',
  imagePath: 'spec.template.spec.template.spec.containers[].image',
  images: jobImages,
  kind: 'JOB',
  label: 'job',
  namePattern: /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/,
  stateFile: JOB_FILES.jobs,
}

/** Stores a generation of the job with its final status: Ready True, or False with the Binary Authorization denial. */
function storeJob(ctx: SandboxContext, {namespace, region}: {namespace: string; region: string}, body: JsonObject, previous: JsonObject | undefined): JsonObject {
  const metadata = obj(body.metadata)
  const name = String(metadata.name)
  const next = nextGeneration(ctx, previous)
  const {generation, now, uid} = next
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
    metadata: storedMetadata(metadata, next, {
      namespace,
      region,
      resourceVersion: createHash('sha256').update(`${uid}:${generation}`).digest('hex').slice(0, 12),
      selfLink: `/apis/run.googleapis.com/v1/namespaces/${ctx.identity.projectNumber}/jobs/${name}`,
    }),
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
  const region = regionOfCall(req, ctx, namespace)
  if (typeof region !== 'string') return region
  const job = ctx.state.getEntry(JOB_FILES.jobs, key(region, name))
  return job ? ok(job) : resourceNotFound(JOB.kind, name, region, namespace)
}

/** POST …/namespaces/NS/jobs (create). */
export function createJob(req: ApiRequest, ctx: SandboxContext, [namespace = '']: string[]): Reply {
  const target = writeTarget(req, ctx, JOB, {namespace})
  return isReply(target) ? target : ok(storeJob(ctx, {namespace, region: target.region}, target.body, undefined))
}

/** PUT …/namespaces/NS/jobs/J (replace). */
export function replaceJob(req: ApiRequest, ctx: SandboxContext, [namespace = '', name = '']: string[]): Reply {
  const target = writeTarget(req, ctx, JOB, {name, namespace})
  return isReply(target) ? target : ok(storeJob(ctx, {namespace, region: target.region}, target.body, target.previous))
}

/**
 * POST …/namespaces/NS/jobs/J:run: an execution of the job as it is now, judged again (the policy may have changed
 * since the job was stored); a denied one is refused with the denial and no execution is created.
 */
export function runJob(req: ApiRequest, ctx: SandboxContext, [namespace = '', name = '']: string[]): Reply {
  const region = regionOfCall(req, ctx, namespace)
  if (typeof region !== 'string') return region
  const job = ctx.state.getEntry(JOB_FILES.jobs, key(region, name))
  if (!job) return resourceNotFound(JOB.kind, name, region, namespace)
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
  const region = regionOfCall(req, ctx, namespace)
  if (typeof region !== 'string') return region
  const execution = ctx.state.getEntry(JOB_FILES.executions, key(region, name))
  return execution ? ok(execution) : resourceNotFound('EXECUTION', name, region, namespace)
}
