// Cloud Functions v2 (global host): get / runtimes / generateUploadUrl / create / patch / operations. The build and
// the Cloud Run service behind a function are simulated server-side: the image lands in
// REGION-docker.pkg.dev/PROJECT/gcf-artifacts/... (or buildConfig.dockerRepository) and, with
// serviceConfig.binaryAuthorizationPolicy "default", the Run service is admitted or refused by the stored policy.
// A refused deploy ends as an operation error with code 9 (FAILED_PRECONDITION).
import {createHash, randomBytes, randomUUID} from 'node:crypto'

import {
  apiError, type ApiRequest, checkProject, clone, jsonBody, ok, type Reply, type SandboxContext,
} from './api.js'
import {putOperation, readOperation} from './operations.js'
import {ensureRepository} from './platform.js'
import {unsupportedRegion} from './regions.js'
import {
  BINAUTHZ_ANNOTATION, deployRevision, orgPolicyRefusal, serviceKey, templateImages,
} from './run.js'
import {isRecord, type JsonObject, STATE_FILES} from './state.js'
import {newUploadObjectName, signedUploadUrl} from './storage.js'

export const RUNTIMES = [
  ['nodejs18', 'Node.js 18'],
  ['nodejs20', 'Node.js 20'],
  ['nodejs22', 'Node.js 22'],
  ['nodejs24', 'Node.js 24'],
  ['python311', 'Python 3.11'],
  ['python312', 'Python 3.12'],
  ['python313', 'Python 3.13'],
  ['python314', 'Python 3.14'],
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
  const wrong = checkProject(ctx, project) ?? unsupportedRegion(location, 'location')
  if (wrong) return wrong
  const name = functionName(ctx, location, id)
  const stored = ctx.state.getEntry(STATE_FILES.functions, name)
  return stored ? ok(stored) : apiError(404, `Resource '${name}' was not found`)
}

export function listRuntimes(_req: ApiRequest, ctx: SandboxContext, [project = '', location = '']: string[]): Reply {
  const wrong = checkProject(ctx, project) ?? unsupportedRegion(location, 'location')
  if (wrong) return wrong
  return ok({
    runtimes: RUNTIMES.map(([name, displayName]) => ({
      displayName, environment: 'GEN_2', name, stage: 'GA',
    })),
  })
}

export function generateUploadUrl(_req: ApiRequest, ctx: SandboxContext, [project = '', location = '']: string[]): Reply {
  const wrong = checkProject(ctx, project) ?? unsupportedRegion(location, 'location')
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

/** The pattern Google documents for buildConfig.dockerRepository (and gcloud's own flag check, command_lib/functions/flags.py). */
const DOCKER_REPOSITORY = /^projects\/([^/]+)\/locations\/([^/]+)\/repositories\/([a-z](?:[a-z0-9-]*[a-z0-9])?)$/

interface DockerRepository {
  /** REGION-docker.pkg.dev/PROJECT/REPO */
  host: string
  /** Whether Cloud Functions manages it (gcf-artifacts, created on first use) or the user does. */
  managed: boolean
  /** projects/PROJECT/locations/REGION/repositories/REPO, as Google returns it in buildConfig.dockerRepository. */
  resource: string
}

function defaultDockerRepository(ctx: SandboxContext, location: string): DockerRepository {
  return {
    host: `${location}-docker.pkg.dev/${ctx.identity.project.replace(':', '/')}/gcf-artifacts`,
    managed: true,
    resource: `projects/${ctx.identity.project}/locations/${location}/repositories/gcf-artifacts`,
  }
}

function dockerRepositoryRefusal(description: string): Reply {
  const field = 'build_config.docker_repository'
  return apiError(400, `Invalid value for field '${field}': ${description}`, 'INVALID_ARGUMENT', {
    details: [{'@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{description, field}]}],
  })
}

/**
 * The repository a function's image is pushed to, or Google's refusal. Google documents buildConfig.dockerRepository
 * (cloudfunctions v2 BuildConfig, generated_clients/apis/cloudfunctions/v2/cloudfunctions_v2_messages.py) as: "It must
 * match the pattern projects/{project}/locations/{location}/repositories/{repository}. Repository format must be
 * 'DOCKER'", and `gcloud functions deploy --docker-repository` (command_lib/functions/flags.py) as "an Artifact
 * Registry Docker repository present in the same project and location as the Cloud Function" (other projects and
 * locations only as a Preview with extra requirements, which the sandbox does not model). The repository must exist:
 * Cloud Functions creates only its own gcf-artifacts.
 */
export function dockerRepositoryFor(ctx: SandboxContext, location: string, buildConfig: JsonObject): DockerRepository | Reply {
  const custom = buildConfig.dockerRepository
  if (custom === undefined || custom === null || custom === '') return defaultDockerRepository(ctx, location)
  const match = typeof custom === 'string' ? DOCKER_REPOSITORY.exec(custom) : null
  if (!match || typeof custom !== 'string') {
    return dockerRepositoryRefusal(`'${String(custom)}' must match the pattern projects/{project}/locations/{location}/repositories/{repository}.`)
  }

  const [, project = '', repoLocation = '', repo = ''] = match
  if (project !== ctx.identity.project && project !== ctx.identity.projectNumber) {
    return dockerRepositoryRefusal(`repository ${custom} is in project ${project}; cross-project repositories are not supported, use one in project ${ctx.identity.project}.`)
  }

  if (repoLocation !== location) {
    return dockerRepositoryRefusal(`repository ${custom} is in location ${repoLocation}; cross-location repositories are not supported, use one in ${location} (the function's location).`)
  }

  const resource = `projects/${ctx.identity.project}/locations/${repoLocation}/repositories/${repo}`
  const stored = ctx.state.getEntry(STATE_FILES.repositories, resource)
  if (!stored) return dockerRepositoryRefusal(`repository ${custom} does not exist; create it with \`gcloud artifacts repositories create ${repo} --repository-format=docker --location=${repoLocation}\`.`)
  if (stored.format !== undefined && stored.format !== 'DOCKER') {
    return dockerRepositoryRefusal(`repository ${custom} has format ${String(stored.format)}; the repository format must be 'DOCKER'.`)
  }

  return {host: `${repoLocation}-docker.pkg.dev/${ctx.identity.project.replace(':', '/')}/${repo}`, managed: false, resource: custom}
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

export const FUNCTION_ID_ANNOTATION = 'cloudfunctions.googleapis.com/function-id'
export const MANAGED_BY_LABEL = 'goog-managed-by'

/**
 * The Knative service a 2nd gen function runs as, as Cloud Run shows it (GET
 * /apis/serving.knative.dev/v1/namespaces/P/services/NAME): label goog-managed-by=cloudfunctions and
 * goog-cloudfunctions-runtime, annotation cloudfunctions.googleapis.com/function-id, one container named "worker"
 * (surface/run/deploy.py `_BuildFromSource`: "If service exists and it's GCF's worker container, use the name"). No
 * run.googleapis.com/build-* annotations: Cloud Functions builds the image itself, so `gcloud run deploy FUNCTION
 * --source .` finds no build-image-uri and builds into cloud-run-source-deploy, as it does against Google. Annotations
 * and labels a previous `gcloud run deploy` wrote on the service are kept, as Cloud Run keeps them.
 */
function knativeServiceFor(fn: {
  buildConfig: JsonObject; id: string; image: string; policy: unknown; previous: JsonObject | undefined; runService: string
}): JsonObject {
  const {buildConfig, id, image, policy, previous, runService} = fn
  const prevMeta = obj(previous?.metadata)
  const {[BINAUTHZ_ANNOTATION]: _policy, ...keptAnnotations} = obj(prevMeta.annotations)
  const runtime = typeof buildConfig.runtime === 'string' ? buildConfig.runtime : ''
  const labels = {'goog-cloudfunctions-runtime': runtime, [MANAGED_BY_LABEL]: 'cloudfunctions'}
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: {
      annotations: {
        ...keptAnnotations,
        [FUNCTION_ID_ANNOTATION]: id,
        'run.googleapis.com/ingress': 'all',
        ...(typeof policy === 'string' && policy !== '' ? {[BINAUTHZ_ANNOTATION]: policy} : {}),
      },
      labels: {...obj(prevMeta.labels), ...labels},
      name: runService,
      ...(typeof prevMeta.resourceVersion === 'string' ? {resourceVersion: prevMeta.resourceVersion} : {}),
    },
    spec: {
      template: {
        metadata: {
          annotations: {'cloudfunctions.googleapis.com/trigger-type': buildConfig.eventTrigger ? 'EVENT_TRIGGER' : 'HTTP_TRIGGER', [FUNCTION_ID_ANNOTATION]: id},
          labels,
        },
        spec: {containers: [{image, name: 'worker', ports: [{containerPort: 8080, name: 'http1'}]}]},
      },
    },
  }
}

/** The images of the Cloud Run service behind a function (what inventory and tests read). */
export function functionImages(ctx: Pick<SandboxContext, 'state'>, fn: JsonObject): string[] {
  const match = /^projects\/[^/]+\/locations\/([^/]+)\/services\/([^/]+)$/.exec(String(obj(fn.serviceConfig).service ?? ''))
  if (!match) return []
  const service = ctx.state.getEntry(STATE_FILES.services, serviceKey(match[1] ?? '', match[2] ?? ''))
  return service ? templateImages(service) : []
}

/** Why the build fails, as the operation error says it: the source, or a fault knob (buildServiceAccountDenied, buildFailure). */
function buildProblem(ctx: SandboxContext, buildConfig: JsonObject, buildUri: string): undefined | {code: number; message: string} {
  const source = sourceProblem(ctx, buildConfig)
  if (source) return {code: 3, message: source}
  if (ctx.faults.buildServiceAccountDenied) {
    return {
      code: 7,
      message: "Could not build the function due to a missing permission on the build service account. If you didn't revoke that permission explicitly, this could be caused by a change in the organization policies.",
    }
  }

  if (ctx.faults.buildFailure) return {code: 3, message: `Build failed with status: FAILURE and message: sandbox fault knob buildFailure is set. For more details see the logs at ${buildUri}`}
  return undefined
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

  // Checked when the request arrives, before any build: Google refuses an unusable repository synchronously.
  const repo = dockerRepositoryFor(ctx, location, buildConfig)
  if (!('host' in repo)) return repo
  const broken = buildProblem(ctx, buildConfig, buildUri)
  if (broken) {
    final = failure(broken.code, broken.message)
  } else {
    if (repo.managed) ensureRepository(ctx, repo.resource, 'This repository is created and used by Cloud Functions for storing function docker images.')
    const previousRun = ctx.state.getEntry(STATE_FILES.services, serviceKey(location, runService))
    const version = generationOf(previousRun) + 1
    const image = `${repo.host}/${doubled(ctx.identity.project)}__${doubled(location)}__${doubled(id)}:version_${version}`
    const digest = `sha256:${createHash('sha256').update(`${image}:${buildId}`).digest('hex')}`
    ctx.state.recordImage({
      digest, image, pushedAt: now, repository: repo.resource,
    })
    const knative = knativeServiceFor({
      buildConfig, id, image, policy: serviceConfig.binaryAuthorizationPolicy, previous: previousRun, runService,
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
  const wrong = checkProject(ctx, project) ?? unsupportedRegion(location, 'location')
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
  const wrong = checkProject(ctx, project) ?? unsupportedRegion(location, 'location')
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
