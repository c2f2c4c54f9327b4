// Cloud Functions v2 (global host): get / runtimes / generateUploadUrl / create / patch / operations. The build and
// the Cloud Run service behind a function are simulated server-side: the image lands in
// REGION-docker.pkg.dev/PROJECT/gcf-artifacts/... (or buildConfig.dockerRepository) and, with
// serviceConfig.binaryAuthorizationPolicy "default", the Run service is admitted or refused by the stored policy.
// A refused deploy ends as an operation error with code 9 (FAILED_PRECONDITION).
import {randomBytes, randomUUID} from 'node:crypto'

import {
  apiError, type ApiRequest, checkProject, clone, jsonBody, ok, type Reply, type SandboxContext,
} from './api.js'
import {putOperation, readOperation} from './operations.js'
import {ensureRepository} from './platform.js'
import {
  BINAUTHZ_ANNOTATION, deployRevision, orgPolicyRefusal, serviceKey,
} from './run.js'
import {isRecord, type JsonObject, STATE_FILES} from './state.js'
import {newUploadObjectName, signedUploadUrl} from './storage.js'

export const RUNTIMES = [
  ['nodejs18', 'Node.js 18'],
  ['nodejs20', 'Node.js 20'],
  ['nodejs22', 'Node.js 22'],
  ['python311', 'Python 3.11'],
  ['python312', 'Python 3.12'],
  ['go122', 'Go 1.22'],
  ['java17', 'Java 17'],
  ['java21', 'Java 21'],
] as const

const OPERATION_METADATA_TYPE = 'type.googleapis.com/google.cloud.functions.v2.OperationMetadata'

function obj(value: unknown): JsonObject {
  return isRecord(value) ? value : {}
}

function functionName(ctx: SandboxContext, location: string, id: string): string {
  return `projects/${ctx.identity.project}/locations/${location}/functions/${id}`
}

export function getFunction(_req: ApiRequest, ctx: SandboxContext, [project = '', location = '', id = '']: string[]): Reply {
  const wrong = checkProject(ctx, project)
  if (wrong) return wrong
  const name = functionName(ctx, location, id)
  const stored = ctx.state.getEntry(STATE_FILES.functions, name)
  return stored ? ok(stored) : apiError(404, `Resource '${name}' was not found`)
}

export function listRuntimes(_req: ApiRequest, ctx: SandboxContext, [project = '']: string[]): Reply {
  const wrong = checkProject(ctx, project)
  if (wrong) return wrong
  return ok({
    runtimes: RUNTIMES.map(([name, displayName]) => ({
      displayName, environment: 'GEN_2', name, stage: 'GA',
    })),
  })
}

export function generateUploadUrl(_req: ApiRequest, ctx: SandboxContext, [project = '', location = '']: string[]): Reply {
  const wrong = checkProject(ctx, project)
  if (wrong) return wrong
  const bucket = `gcf-v2-uploads-${ctx.identity.projectNumber}.${location}.cloudfunctions.appspot.com`
  const object = newUploadObjectName()
  return ok({storageSource: {bucket, object}, uploadUrl: signedUploadUrl(ctx, bucket, object)})
}

/** Cloud Run service name GCF gives a function: lower-case, '_' -> '-'. */
export function runServiceName(functionId: string): string {
  return functionId.toLowerCase().replaceAll('_', '-')
}

function doubled(text: string): string {
  return text.toLowerCase().replaceAll('-', '--')
}

function dockerRepositoryOf(ctx: SandboxContext, location: string, buildConfig: JsonObject): {host: string; resource: string;} {
  const custom = buildConfig.dockerRepository
  const match = typeof custom === 'string' ? /^projects\/([^/]+)\/locations\/([^/]+)\/repositories\/([^/]+)$/.exec(custom) : null
  if (match) {
    return {host: `${match[2]}-docker.pkg.dev/${(match[1] ?? '').replace(':', '/')}/${match[3]}`, resource: custom as string}
  }

  return {
    host: `${location}-docker.pkg.dev/${ctx.identity.project.replace(':', '/')}/gcf-artifacts`,
    resource: `projects/${ctx.identity.project}/locations/${location}/repositories/gcf-artifacts`,
  }
}

function stages(state: 'COMPLETE' | 'IN_PROGRESS' | 'NOT_STARTED', buildUri?: string): JsonObject[] {
  return [
    {name: 'BUILD', state: state === 'NOT_STARTED' ? 'NOT_STARTED' : state, ...(buildUri && state !== 'NOT_STARTED' ? {resourceUri: buildUri} : {})},
    {name: 'SERVICE', state: state === 'COMPLETE' ? 'COMPLETE' : 'NOT_STARTED'},
  ]
}

function operationMetadata(target: string, verb: 'create' | 'update', stageList: JsonObject[], now: string): JsonObject {
  return {
    '@type': OPERATION_METADATA_TYPE, apiVersion: 'v2', createTime: now, requestedCancellation: false, stages: stageList, target, verb,
  }
}

function sourceProblem(ctx: SandboxContext, buildConfig: JsonObject): string | undefined {
  const storage = obj(obj(buildConfig.source).storageSource)
  if (typeof storage.bucket !== 'string' || typeof storage.object !== 'string') {
    return 'buildConfig.source.storageSource is required (the sandbox only supports uploaded sources)'
  }

  if (!ctx.state.getEntry(STATE_FILES.objects, `${storage.bucket}/${storage.object}`)) {
    return `Failed to retrieve function source code: gs://${storage.bucket}/${storage.object} was not uploaded`
  }

  return undefined
}

/**
 * Runs the server-side part of a deploy (build, push, Cloud Run service) and returns the long-running operation
 * name. The first GET of the operation shows the BUILD stage in progress, the second the final result.
 */
/** The Cloud Run service's generation (0 when there is none yet). */
function generationOf(service: JsonObject | undefined): number {
  const {generation} = obj(service?.metadata)
  return typeof generation === 'number' ? generation : 0
}

/** The Knative service a 2nd gen function deploys as. */
function knativeServiceFor(fn: {buildConfig: JsonObject; id: string; image: string; policy: unknown; runService: string}): JsonObject {
  const {buildConfig, id, image, policy, runService} = fn
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: {
      annotations: {
        'cloudfunctions.googleapis.com/function-id': id,
        'run.googleapis.com/build-function-target': String(buildConfig.entryPoint ?? ''),
        ...(typeof policy === 'string' && policy !== '' ? {[BINAUTHZ_ANNOTATION]: policy} : {}),
      },
      labels: {'goog-managed-by': 'cloudfunctions'},
      name: runService,
    },
    spec: {template: {spec: {containers: [{image}]}}},
  }
}

function deployFunction(ctx: SandboxContext, {id, location}: {id: string; location: string}, desired: JsonObject, previous: JsonObject | undefined): Reply {
  const name = functionName(ctx, location, id)
  const now = ctx.now().toISOString()
  const verb = previous ? 'update' : 'create'
  const operationName = `projects/${ctx.identity.project}/locations/${location}/operations/operation-${ctx.now().getTime()}-${randomBytes(7).toString('hex')}`
  const buildConfig = obj(desired.buildConfig)
  const serviceConfig = obj(desired.serviceConfig)
  const buildId = randomUUID()
  const buildName = `projects/${ctx.identity.projectNumber}/locations/${location}/builds/${buildId}`
  const buildUri = `https://console.cloud.google.com/cloud-build/builds;region=${location}/${buildId}?project=${ctx.identity.projectNumber}`
  const {runtime} = buildConfig
  const runService = runServiceName(id)
  const refused = orgPolicyRefusal(ctx, serviceConfig.binaryAuthorizationPolicy, `function ${id}`)
  if (refused) return refused
  const failure = (code: number, message: string): JsonObject => ({
    done: true,
    error: {code, message},
    metadata: operationMetadata(name, verb, stages('COMPLETE', buildUri), now),
    name: operationName,
  })
  let final: JsonObject
  if (typeof runtime !== 'string' || !RUNTIMES.some(([r]) => r === runtime)) {
    return apiError(400, `Invalid runtime "${String(runtime)}"; supported: ${RUNTIMES.map(([r]) => r).join(', ')}.`)
  }

  const source = sourceProblem(ctx, buildConfig)
  if (source) {
    final = failure(3, source)
  } else if (ctx.faults.buildFailure) {
    final = failure(3, `Build failed with status: FAILURE and message: sandbox fault knob buildFailure is set. For more details see the logs at ${buildUri}`)
  } else {
    const repo = dockerRepositoryOf(ctx, location, buildConfig)
    ensureRepository(ctx, repo.resource, 'This repository is created and used by Cloud Functions for storing function docker images.')
    const previousRun = ctx.state.getEntry(STATE_FILES.services, serviceKey(location, runService))
    const version = generationOf(previousRun) + 1
    const image = `${repo.host}/${doubled(ctx.identity.project)}__${doubled(location)}__${doubled(id)}:version_${version}`
    ctx.state.recordImage({image, pushedAt: now, repository: repo.resource})
    const knative = knativeServiceFor({
      buildConfig, id, image, policy: serviceConfig.binaryAuthorizationPolicy, runService,
    })
    const outcome = deployRevision(ctx, {namespace: ctx.identity.project, region: location}, knative, previousRun)
    const status = obj(outcome.service.status)
    const revision = String(status.latestCreatedRevisionName ?? '')
    if (outcome.admitted) {
      const url = String(status.url ?? '')
      const fn: JsonObject = {
        ...clone(previous ?? {}),
        ...clone(desired),
        buildConfig: {
          ...buildConfig, build: buildName, dockerRegistry: 'ARTIFACT_REGISTRY', dockerRepository: repo.resource,
        },
        createTime: typeof previous?.createTime === 'string' ? previous.createTime : now,
        environment: 'GEN_2',
        name,
        serviceConfig: {
          ...serviceConfig,
          availableMemory: serviceConfig.availableMemory ?? '256M',
          ingressSettings: serviceConfig.ingressSettings ?? 'ALLOW_ALL',
          revision,
          service: `projects/${ctx.identity.project}/locations/${location}/services/${runService}`,
          serviceAccountEmail: `${ctx.identity.projectNumber}-compute@developer.gserviceaccount.com`,
          timeoutSeconds: serviceConfig.timeoutSeconds ?? 60,
          uri: url,
        },
        state: 'ACTIVE',
        updateTime: now,
        url,
      }
      delete fn.stateMessages
      ctx.state.putEntry(STATE_FILES.functions, name, fn)
      final = {
        done: true,
        metadata: operationMetadata(name, verb, stages('COMPLETE', buildUri), now),
        name: operationName,
        response: {'@type': 'type.googleapis.com/google.cloud.functions.v2.Function', ...fn},
      }
    } else {
      const message = `Could not create or update Cloud Run service ${runService}. ${outcome.message ?? 'Binary Authorization denied the image.'}`
      final = failure(9, message)
      const failed: JsonObject = previous
        ? {...clone(previous), stateMessages: [{message, severity: 'ERROR', type: 'CloudRunServiceDeployment'}]}
        : {
          ...clone(desired),
          createTime: now,
          environment: 'GEN_2',
          name,
          state: 'FAILED',
          stateMessages: [{message, severity: 'ERROR', type: 'CloudRunServiceDeployment'}],
          updateTime: now,
        }
      ctx.state.putEntry(STATE_FILES.functions, name, failed)
    }
  }

  const inProgress: JsonObject = {done: false, metadata: operationMetadata(name, verb, stages('IN_PROGRESS', buildUri), now), name: operationName}
  putOperation(ctx, operationName, final, [inProgress])
  return ok({done: false, metadata: operationMetadata(name, verb, stages('NOT_STARTED'), now), name: operationName})
}

const FUNCTION_ID = /^[A-Za-z](?:[-_A-Za-z0-9]{0,61}[A-Za-z0-9])?$/

export function createFunction(req: ApiRequest, ctx: SandboxContext, [project = '', location = '']: string[]): Reply {
  const wrong = checkProject(ctx, project)
  if (wrong) return wrong
  const id = req.query.get('functionId') ?? ''
  if (!FUNCTION_ID.test(id)) return apiError(400, `Invalid function id "${id}".`)
  const body = jsonBody(req)
  if (!body) return apiError(400, 'Invalid JSON payload received.')
  if (body.environment !== undefined && body.environment !== 'GEN_2') return apiError(400, 'The sandbox serves 2nd gen functions only.')
  const name = functionName(ctx, location, id)
  if (ctx.state.getEntry(STATE_FILES.functions, name)) return apiError(409, `Function ${id} in region ${location} in project ${project} already exists`, 'ALREADY_EXISTS')
  return deployFunction(ctx, {id, location}, {...body, name}, undefined)
}

function camel(segment: string): string {
  return segment.replaceAll(/_([a-z])/g, (_m, c: string) => c.toUpperCase())
}

/** Applies a FieldMask (snake_case paths) from `patch` onto `base`; a path absent in `patch` is cleared. */
export function applyUpdateMask(base: JsonObject, patch: JsonObject, mask: string): JsonObject {
  const out = clone(base)
  for (const path of mask.split(',').map(p => p.trim()).filter(Boolean)) {
    const keys = path.split('.').map(segment => camel(segment))
    let target: JsonObject = out
    let source: JsonObject | undefined = patch
    for (const key of keys.slice(0, -1)) {
      if (!isRecord(target[key])) target[key] = {}
      target = target[key] as JsonObject
      source = source && isRecord(source[key]) ? (source[key] as JsonObject) : undefined
    }

    const last = keys.at(-1) ?? ''
    if (source && source[last] !== undefined) target[last] = clone(source[last])
    else delete target[last]
  }

  return out
}

export function patchFunction(req: ApiRequest, ctx: SandboxContext, [project = '', location = '', id = '']: string[]): Reply {
  const wrong = checkProject(ctx, project)
  if (wrong) return wrong
  const name = functionName(ctx, location, id)
  const previous = ctx.state.getEntry(STATE_FILES.functions, name)
  if (!previous) return apiError(404, `Resource '${name}' was not found`)
  const body = jsonBody(req)
  if (!body) return apiError(400, 'Invalid JSON payload received.')
  const mask = req.query.get('updateMask')
  const {state: _s, stateMessages: _m, updateTime: _t, url: _u, ...base} = previous
  const desired = mask ? applyUpdateMask(base, body, mask) : {...base, ...body}
  return deployFunction(ctx, {id, location}, {...desired, name}, previous)
}

export function getFunctionOperation(_req: ApiRequest, ctx: SandboxContext, [project = '', location = '', id = '']: string[]): Reply {
  const wrong = checkProject(ctx, project)
  if (wrong) return wrong
  return readOperation(ctx, `projects/${ctx.identity.project}/locations/${location}/operations/${id}`)
}

export function listFunctions(_req: ApiRequest, ctx: SandboxContext, [project = '', location = '']: string[]): Reply {
  const wrong = checkProject(ctx, project)
  if (wrong) return wrong
  const prefix = location === '-' ? `projects/${ctx.identity.project}/locations/` : `projects/${ctx.identity.project}/locations/${location}/`
  const functions = Object.entries(ctx.state.readMap(STATE_FILES.functions))
  .filter(([name]) => name.startsWith(prefix))
  .map(([, fn]) => fn)
  return ok(functions.length > 0 ? {functions} : {})
}

/** Cloud Functions v1 list (gcloud functions list asks for 1st gen too): the sandbox has none. */
export function listFunctionsV1(_req: ApiRequest, ctx: SandboxContext, [project = '']: string[]): Reply {
  return checkProject(ctx, project) ?? ok({})
}

/** DELETE a function (and its Cloud Run service); the operation is done on its first poll. */
export function deleteFunction(_req: ApiRequest, ctx: SandboxContext, [project = '', location = '', id = '']: string[]): Reply {
  const wrong = checkProject(ctx, project)
  if (wrong) return wrong
  const name = functionName(ctx, location, id)
  const functions = ctx.state.readMap(STATE_FILES.functions)
  if (!functions[name]) return apiError(404, `Resource '${name}' was not found`)
  const {[name]: _removed, ...rest} = functions
  ctx.state.writeJson(STATE_FILES.functions, rest)
  const services = ctx.state.readMap(STATE_FILES.services)
  const {[serviceKey(location, runServiceName(id))]: _service, ...otherServices} = services
  ctx.state.writeJson(STATE_FILES.services, otherServices)
  const now = ctx.now().toISOString()
  const operationName = `projects/${ctx.identity.project}/locations/${location}/operations/operation-${ctx.now().getTime()}-${randomBytes(7).toString('hex')}`
  const metadata = {
    '@type': OPERATION_METADATA_TYPE, apiVersion: 'v2', createTime: now, target: name, verb: 'delete',
  }
  putOperation(ctx, operationName, {
    done: true, metadata, name: operationName, response: {'@type': 'type.googleapis.com/google.protobuf.Empty'},
  })
  return ok({done: false, metadata, name: operationName})
}
