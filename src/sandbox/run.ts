// Cloud Run: the v1 Knative API gcloud's GA `run deploy` speaks on the REGIONAL host (us-central1-HOST), the v1
// IAM calls on the same host, and the v2 builds:submit used by source deploys. Admission is enforced when the
// service carries the annotation run.googleapis.com/binary-authorization.
import {createHash, randomUUID} from 'node:crypto'

import {
  apiError, type ApiRequest, checkProject, clone, jsonBody, ok, type Reply, type SandboxContext,
} from './api.js'
import {putOperation} from './operations.js'
import {unsupportedRegion} from './regions.js'
import {
  binauthzDenial, isReply, nextGeneration, obj, regionalKey, regionOfCall, type ResourceKind, resourceNotFound, storedMetadata, writeTarget,
} from './run-v1.js'
import {
  type ImageRecord, type JsonObject, STATE_FILES,
} from './state.js'

export {BINAUTHZ_ANNOTATION, BREAKGLASS_ANNOTATION, orgPolicyRefusal} from './run-v1.js'

export const serviceKey = regionalKey

function shortHash(text: string, length: number): string {
  const digest = createHash('sha256').update(text).digest()
  let out = ''
  for (let i = 0; i < length; i++) out += String.fromCodePoint(97 + ((digest[i] ?? 0) % 26))
  return out
}

/**
 * The images a Knative service's template runs: EVERY container of spec.template.spec.containers, sidecars included,
 * in order. gcloud 528 sends the image each container really runs: for the one container it may build from source
 * (surface/run/deploy.py `_ValidateAndGetBuildFromSource`: "At most one container can be deployed from source") it
 * writes `<build-image-uri>@<digest>` from the build result (command_lib/run/serverless_operations.py), the others
 * keep their `--image` as given. Traced with `gcloud run deploy S --container app --source . --container sidecar
 * --image X`: containers [{name: app, image: REPO/S@sha256:..., ports}, {name: sidecar, image: X}].
 */
export function templateImages(service: JsonObject): string[] {
  const {containers} = obj(obj(obj(service.spec).template).spec)
  if (!Array.isArray(containers)) return []
  return containers.map(c => obj(c).image).filter((image): image is string => typeof image === 'string')
}

/**
 * The image a revision really runs: Cloud Run resolves a tag to the digest it points at when it creates the revision
 * (https://cloud.google.com/artifact-registry/docs/integrate-cloud-run: "If you deploy from a container image tag, it
 * will be resolved to a digest"), and Binary Authorization judges that. A digest reference is kept; a tag the sandbox's own registry pushed (images.json, e.g. a
 * function build `...gcf-artifacts/...:version_2`) becomes `NAME@sha256:...`; any other tag (an image outside the
 * sandbox, such as a public sidecar) is judged as given, since the sandbox cannot resolve it.
 */
export function resolvedImage(ctx: Pick<SandboxContext, 'state'>, image: string): string {
  if (image.includes('@')) return image
  const pushed = ctx.state.readJson<ImageRecord[]>(STATE_FILES.images, []).findLast(record => record.image === image && record.digest)
  if (!pushed?.digest) return image
  const slash = image.lastIndexOf('/')
  const colon = image.lastIndexOf(':')
  const name = colon > slash ? image.slice(0, colon) : image
  return `${name}@${pushed.digest}`
}

export interface RevisionOutcome {
  admitted: boolean
  message?: string
  service: JsonObject
}

/**
 * Stores a new generation of a Knative service (create when `previous` is undefined) and computes its status the
 * way Cloud Run reports it: Ready/ConfigurationsReady/RoutesReady True, or False with the Binary Authorization
 * denial when the policy refuses an image. The status is final at once (gcloud then needs no polling).
 */
export function deployRevision(
  ctx: SandboxContext,
  {namespace, region}: {namespace: string; region: string},
  body: JsonObject,
  previous: JsonObject | undefined,
): RevisionOutcome {
  const metadata = obj(body.metadata)
  const name = String(metadata.name)
  const prevStatus = obj(previous?.status)
  const next = nextGeneration(ctx, previous)
  const {generation, now, uid} = next
  const template = obj(obj(body.spec).template)
  const templateName = obj(template.metadata).name
  const revision
    = typeof templateName === 'string' && templateName !== ''
      ? templateName
      : `${name}-${String(generation).padStart(5, '0')}-${shortHash(`${uid}:${generation}`, 3)}`
  const url = `https://${name}-${ctx.identity.projectNumber}.${region}.run.app`
  const denied = binauthzDenial(ctx, metadata, templateImages(body).map(image => resolvedImage(ctx, image)))
  const admitted = denied === undefined
  const message = admitted ? undefined : `Revision '${revision}' is not ready and cannot serve traffic. ${denied}`

  const conditions = (['Ready', 'ConfigurationsReady', 'RoutesReady'] as const).map(type =>
    admitted
      ? {lastTransitionTime: now, status: 'True', type}
      : {
        lastTransitionTime: now, message, reason: 'ContainerImageUnauthorized', status: 'False', type,
      })
  const status: JsonObject = admitted
    ? {
      address: {url},
      conditions,
      latestCreatedRevisionName: revision,
      latestReadyRevisionName: revision,
      observedGeneration: generation,
      traffic: [{latestRevision: true, percent: 100, revisionName: revision}],
      url,
    }
    : {
      ...clone(prevStatus),
      conditions,
      latestCreatedRevisionName: revision,
      observedGeneration: generation,
    }
  // The body is stored as gcloud sent it: service annotations such as run.googleapis.com/build-image-uri (written by
  // command_lib/run/serverless_operations.py `_AddRunFunctionsAnnotations`, read back on the next `run deploy
  // --source` by surface/run/deploy.py `_GetArtifactRegistryRepository` through Service.run_functions_annotations in
  // api_lib/run/service.py) and every container's name and image survive into the GET that gcloud's redeploy reads.
  const service: JsonObject = {
    ...clone(body),
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: storedMetadata(metadata, next, {
      namespace,
      region,
      resourceVersion: shortHash(`${uid}:${generation}:rv`, 12),
      selfLink: `/apis/serving.knative.dev/v1/namespaces/${ctx.identity.projectNumber}/services/${name}`,
    }),
    status,
  }
  ctx.state.putEntry(STATE_FILES.services, serviceKey(region, name), service)
  return {admitted, message, service}
}

const SERVICE: ResourceKind = {
  bodyName: 'a Knative Service object',
  imagePath: 'spec.template.spec.containers[].image',
  images: templateImages,
  kind: 'SERVICE',
  label: 'service',
  namePattern: /^[a-z](?:[-a-z0-9]{0,47}[a-z0-9])?$/,
  stateFile: STATE_FILES.services,
}

export function getService(req: ApiRequest, ctx: SandboxContext, [namespace = '', name = '']: string[]): Reply {
  const region = regionOfCall(req, ctx, namespace)
  if (typeof region !== 'string') return region
  const service = ctx.state.getEntry(STATE_FILES.services, serviceKey(region, name))
  return service ? ok(service) : resourceNotFound(SERVICE.kind, name, region, namespace)
}

export function listServices(req: ApiRequest, ctx: SandboxContext, [namespace = '']: string[]): Reply {
  const region = regionOfCall(req, ctx, namespace)
  if (typeof region !== 'string') return region
  const services = Object.entries(ctx.state.readMap(STATE_FILES.services))
  .filter(([key]) => key.startsWith(`${region}/`))
  .map(([, value]) => value)
  return ok({
    apiVersion: 'serving.knative.dev/v1', items: services, kind: 'ServiceList', metadata: {},
  })
}

export function createService(req: ApiRequest, ctx: SandboxContext, [namespace = '']: string[]): Reply {
  const target = writeTarget(req, ctx, SERVICE, {namespace})
  if (isReply(target)) return target
  const {body, region} = target
  // `gcloud beta run deploy` validates first with ?dryRun=all: answer without storing anything.
  if (req.query.has('dryRun')) return ok({...body, metadata: {...obj(body.metadata), namespace}})
  return ok(deployRevision(ctx, {namespace, region}, body, undefined).service)
}

export function replaceService(req: ApiRequest, ctx: SandboxContext, [namespace = '', name = '']: string[]): Reply {
  const target = writeTarget(req, ctx, SERVICE, {name, namespace})
  if (isReply(target)) return target
  const {body, previous, region} = target
  const sentVersion = obj(body.metadata).resourceVersion
  if (typeof sentVersion === 'string' && sentVersion !== obj(previous?.metadata).resourceVersion) {
    return apiError(409, `Conflict for resource '${name}': version '${sentVersion}' was specified but current version is '${String(obj(previous?.metadata).resourceVersion)}'.`, 'ABORTED')
  }

  if (req.query.has('dryRun')) return ok({...body, metadata: {...obj(body.metadata), namespace}})
  return ok(deployRevision(ctx, {namespace, region}, body, previous).service)
}

export function deleteService(req: ApiRequest, ctx: SandboxContext, [namespace = '', name = '']: string[]): Reply {
  const region = regionOfCall(req, ctx, namespace)
  if (typeof region !== 'string') return region
  const services = ctx.state.readMap(STATE_FILES.services)
  const key = serviceKey(region, name)
  if (!services[key]) return apiError(404, `Resource '${name}' of kind 'SERVICE' does not exist.`)
  const {[key]: _removed, ...rest} = services
  ctx.state.writeJson(STATE_FILES.services, rest)
  return ok({details: {kind: 'services', name}, status: 'Success'})
}

/** v1 projects.locations.services:testIamPermissions / getIamPolicy / setIamPolicy (regional). */
export function serviceIam(req: ApiRequest, ctx: SandboxContext, params: string[]): Reply {
  // params: project, location, service, verb
  const project = params[0] ?? ''
  const verb = params[3] ?? ''
  const wrong = checkProject(ctx, project) ?? unsupportedRegion(params[1] ?? '')
  if (wrong) return wrong
  const body = jsonBody(req) ?? {}
  if (verb === 'testIamPermissions') {
    const permissions = Array.isArray(body.permissions) ? body.permissions : []
    return ok(permissions.length > 0 ? {permissions} : {})
  }

  if (verb === 'setIamPolicy') return ok(obj(body.policy))
  return ok({etag: 'BwYAAAAAAAA=', version: 1})
}

/** Which Artifact Registry repository a pkg.dev image lives in, as a full resource name. */
export function repositoryOfImage(image: string): string | undefined {
  const match = /^([a-z0-9-]+)-docker\.pkg\.dev\/([^/]+)\/([^/@:]+)/.exec(image)
  if (!match) return undefined
  return `projects/${match[2]}/locations/${match[1]}/repositories/${match[3]}`
}

const RUNTIME_BASE = /^[a-z]+\d+$/

/** storageSource must name an uploaded object. */
function missingSource(ctx: SandboxContext, source: JsonObject): Reply | undefined {
  if (typeof source.bucket !== 'string' || typeof source.object !== 'string') return apiError(400, 'storageSource.bucket and storageSource.object are required.')
  if (!ctx.state.getEntry(STATE_FILES.objects, `${source.bucket}/${source.object}`)) {
    return apiError(400, `Source gs://${source.bucket}/${source.object} does not exist.`)
  }

  return undefined
}

/** v2 projects.locations.builds:submit (regional): builds the uploaded source into `imageUri` at once. */
export function submitBuild(req: ApiRequest, ctx: SandboxContext, [project = '', location = '']: string[]): Reply {
  const wrong = checkProject(ctx, project) ?? unsupportedRegion(location)
  if (wrong) return wrong
  const body = jsonBody(req)
  if (!body) return apiError(400, 'Invalid JSON payload received.')
  const source = obj(body.storageSource)
  const {imageUri} = body
  if (typeof imageUri !== 'string' || imageUri === '') return apiError(400, 'imageUri is required.')
  const sourceProblem = missingSource(ctx, source)
  if (sourceProblem) return sourceProblem

  const id = randomUUID()
  const buildName = `projects/${ctx.identity.projectNumber}/locations/${location}/builds/${id}`
  const logUrl = `https://console.cloud.google.com/cloud-build/builds;region=${location}/${id}?project=${ctx.identity.projectNumber}`
  const digest = `sha256:${createHash('sha256').update(`${source.bucket}/${source.object}#${String(source.generation)}:${imageUri}`).digest('hex')}`
  const now = ctx.now().toISOString()
  const repository = repositoryOfImage(imageUri)
  const repoMissing = repository === undefined || !ctx.state.getEntry(STATE_FILES.repositories, repository)
  const failed = ctx.faults.buildFailure || repoMissing
  const build: JsonObject = {
    createTime: now,
    finishTime: now,
    id,
    logUrl,
    name: buildName,
    projectId: ctx.identity.project,
    source: {storageSource: source},
    startTime: now,
    status: failed ? 'FAILURE' : 'SUCCESS',
    tags: body.tags ?? [],
    ...(failed ? {} : {images: [imageUri], results: {images: [{digest, name: imageUri}]}}),
  }
  ctx.state.putEntry(STATE_FILES.builds, id, build)
  const operationName = `projects/${ctx.identity.project}/locations/${location}/operations/${id}`
  const metadata = {'@type': 'type.googleapis.com/google.devtools.cloudbuild.v1.BuildOperationMetadata', build}
  if (failed) {
    const message = repoMissing
      ? `Build failed: repository for ${imageUri} does not exist; create it first.`
      : 'Build failed; check build logs for details'
    putOperation(ctx, operationName, {
      done: true, error: {code: 2, message}, metadata, name: operationName,
    })
  } else {
    ctx.state.recordImage({
      digest, image: `${imageUri}@${digest}`, pushedAt: now, repository: repository ?? '',
    })
    putOperation(ctx, operationName, {
      done: true,
      metadata,
      name: operationName,
      response: {'@type': 'type.googleapis.com/google.devtools.cloudbuild.v1.Build', ...build},
    })
  }

  const pack = obj(body.buildpackBuild)
  const baseImage = typeof pack.baseImage === 'string' ? pack.baseImage : undefined
  return ok({
    buildOperation: {
      metadata: {
        ...metadata, build: {
          id, logUrl, name: buildName, projectId: ctx.identity.project, status: 'QUEUED',
        },
      },
      name: `projects/${ctx.identity.projectNumber}/locations/${location}/operations/${id}`,
    },
    ...(baseImage && RUNTIME_BASE.test(baseImage)
      ? {baseImageUri: `${location}-docker.pkg.dev/serverless-runtimes/google-22-full/runtimes/${baseImage}`}
      : {}),
  })
}

/** Run v1 projects.locations.services.list (global host; location "-" = every region). */
export function listServicesV1(_req: ApiRequest, ctx: SandboxContext, [project = '', location = '']: string[]): Reply {
  const wrong = checkProject(ctx, project) ?? (location === '-' ? undefined : unsupportedRegion(location))
  if (wrong) return wrong
  const items = Object.entries(ctx.state.readMap(STATE_FILES.services))
  .filter(([key]) => location === '-' || key.startsWith(`${location}/`))
  .map(([, value]) => value)
  return ok({
    apiVersion: 'serving.knative.dev/v1', items, kind: 'ServiceList', metadata: {},
  })
}
