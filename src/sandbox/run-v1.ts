// What the Cloud Run v1 namespaces handlers share: services (run.ts, Knative serving.knative.dev/v1) and jobs
// (jobs.ts, run.googleapis.com/v1) are stored, refused and judged the same way, so the request checks, the create /
// replace preamble and the Binary Authorization verdict on a template's images live here once.
import {randomUUID} from 'node:crypto'

import {admitImages, denialText} from './admission.js'
import {
  apiError, type ApiRequest, checkProject, clone, jsonBody, type Reply, type SandboxContext,
} from './api.js'
import {unsupportedRegion} from './regions.js'
import {isRecord, type JsonObject} from './state.js'

export const BINAUTHZ_ANNOTATION = 'run.googleapis.com/binary-authorization'
export const BREAKGLASS_ANNOTATION = 'run.googleapis.com/binary-authorization-breakglass'

export function obj(value: unknown): JsonObject {
  return isRecord(value) ? value : {}
}

/** The state-file key of a regional resource. */
export function regionalKey(region: string, name: string): string {
  return `${region}/${name}`
}

/**
 * The region of a regional Cloud Run call whose namespace is the sandbox's project; a region Cloud Run does not
 * serve, a call on the global host or another project is refused as Google refuses it.
 */
export function regionOfCall(req: ApiRequest, ctx: SandboxContext, namespace: string): Reply | string {
  if (!req.region) {
    return apiError(
      400,
      'Cloud Run requests must use a regional endpoint (REGION-HOST); set the CLOUDSDK_PROXY_* variables from `binauthz sandbox env`.',
    )
  }

  return unsupportedRegion(req.region) ?? checkProject(ctx, namespace) ?? req.region
}

export function resourceNotFound(kind: string, name: string, region: string, namespace: string): Reply {
  return apiError(404, `Resource '${name}' of kind '${kind}' in region '${region}' in project '${namespace}' does not exist.`)
}

/** The org-policy refusal, when the knob requires Binary Authorization and the deploy does not use "default". */
export function orgPolicyRefusal(ctx: SandboxContext, policy: unknown, resource: string): Reply | undefined {
  if (!ctx.faults.requireBinaryAuthorization || policy === 'default') return undefined
  return apiError(
    400,
    `Constraint constraints/run.allowedBinaryAuthorizationPolicies violated for ${resource}: the organization policy requires `
    + 'Binary Authorization policy "default" (deploy with --binary-authorization=default).',
    'FAILED_PRECONDITION',
  )
}

/**
 * The Binary Authorization verdict on a resource's images: undefined when admitted, when the resource does not carry
 * the policy annotation, or when it carries a break-glass justification; otherwise the denial text.
 */
export function binauthzDenial(ctx: SandboxContext, metadata: JsonObject, images: readonly string[]): string | undefined {
  const annotations = obj(metadata.annotations)
  const policy = annotations[BINAUTHZ_ANNOTATION]
  if (typeof policy !== 'string' || policy === '') return undefined
  const decision = admitImages(ctx, images)
  const breakglass = annotations[BREAKGLASS_ANNOTATION]
  if (decision.admitted || (typeof breakglass === 'string' && breakglass !== '')) return undefined
  return denialText(ctx, decision)
}

/** A new generation of a stored resource (the first when `previous` is undefined): its number, uid and times. */
export interface NextGeneration {
  creationTimestamp: string
  generation: number
  now: string
  uid: string
}

export function nextGeneration(ctx: SandboxContext, previous: JsonObject | undefined): NextGeneration {
  const prevMeta = obj(previous?.metadata)
  const now = ctx.now().toISOString()
  return {
    creationTimestamp: typeof prevMeta.creationTimestamp === 'string' ? prevMeta.creationTimestamp : now,
    generation: (typeof prevMeta.generation === 'number' ? prevMeta.generation : 0) + 1,
    now,
    uid: typeof prevMeta.uid === 'string' ? prevMeta.uid : randomUUID(),
  }
}

/** The metadata a stored generation carries: what gcloud sent, with the fields the server sets. */
export function storedMetadata(
  metadata: JsonObject,
  next: NextGeneration,
  at: {namespace: string; region: string; resourceVersion: string; selfLink: string},
): JsonObject {
  return {
    ...clone(metadata),
    creationTimestamp: next.creationTimestamp,
    generation: next.generation,
    labels: {...obj(metadata.labels), 'cloud.googleapis.com/location': at.region},
    namespace: at.namespace,
    resourceVersion: at.resourceVersion,
    selfLink: at.selfLink,
    uid: next.uid,
  }
}

/** How one kind of v1 resource is named, checked and stored. */
export interface ResourceKind {
  /** The body's description in a 400: "a Knative Service object". */
  bodyName: string
  /** Where its images are, for the 400 when there is none. */
  imagePath: string
  images(body: JsonObject): string[]
  /** In 404s: "SERVICE". */
  kind: string
  /** In 400s and the org-policy refusal: "service". */
  label: string
  namePattern: RegExp
  /** The state file of the kind, keyed by regionalKey. */
  stateFile: string
}

function problemOf(kind: ResourceKind, body: JsonObject | undefined, name?: string): string | undefined {
  if (!body) return `the request body must be ${kind.bodyName}`
  const metaName = obj(body.metadata).name
  if (typeof metaName !== 'string' || !kind.namePattern.test(metaName)) {
    return `${kind.label} name "${String(metaName)}" is invalid: use lowercase letters, digits and hyphens, starting with a letter`
  }

  if (name !== undefined && metaName !== name) return `metadata.name "${metaName}" does not match "${name}"`
  if (kind.images(body).length === 0) return `${kind.imagePath} is required`
  return undefined
}

export interface WriteTarget {
  body: JsonObject
  name: string
  /** The stored resource a replace replaces; undefined on create. */
  previous: JsonObject | undefined
  region: string
}

/**
 * The checks before a create (POST …/namespaces/NS/KINDs: `name` undefined) or a replace (PUT …/KINDs/NAME), in
 * Cloud Run's order: region and project, the body, then for a create the org policy before "already exists", for a
 * replace "does not exist" before the org policy. A Reply is the refusal.
 */
export function writeTarget(req: ApiRequest, ctx: SandboxContext, kind: ResourceKind, {name, namespace}: {name?: string; namespace: string}): Reply | WriteTarget {
  const region = regionOfCall(req, ctx, namespace)
  if (typeof region !== 'string') return region
  const body = jsonBody(req)
  const problem = problemOf(kind, body, name)
  if (problem || !body) return apiError(400, problem ?? 'invalid body')
  const target = name ?? String(obj(body.metadata).name)
  const refusal = (): Reply | undefined =>
    orgPolicyRefusal(ctx, obj(obj(body.metadata).annotations)[BINAUTHZ_ANNOTATION], `${kind.label} ${target}`)
  const previous = ctx.state.getEntry(kind.stateFile, regionalKey(region, target))
  if (name === undefined) {
    const refused = refusal()
    if (refused) return refused
    if (previous) return apiError(409, `Resource '${target}' already exists.`, 'ALREADY_EXISTS')
    return {
      body, name: target, previous: undefined, region,
    }
  }

  if (!previous) return resourceNotFound(kind.kind, target, region, namespace)
  return refusal() ?? {
    body, name: target, previous, region,
  }
}

export function isReply(value: Reply | WriteTarget): value is Reply {
  return 'status' in value
}
