// The small supporting APIs gcloud consults during a deploy: Artifact Registry repositories (+ LRO), Service Usage,
// Cloud Build's default service account, IAM service accounts, Cloud Resource Manager project + IAM policy.
import {randomUUID} from 'node:crypto'

import {
  apiError, type ApiRequest, checkProject, jsonBody, ok, type Reply, type SandboxContext,
} from './api.js'
import {putOperation, readOperation} from './operations.js'
import {CLOUD_RUN_REGIONS} from './regions.js'
import {type JsonObject, STATE_FILES} from './state.js'

export function repositoryResource(ctx: SandboxContext, name: string, description: string): JsonObject {
  const now = ctx.now().toISOString()
  return {
    createTime: now, description, format: 'DOCKER', mode: 'STANDARD_REPOSITORY', name, sizeBytes: '0', updateTime: now,
  }
}

/** Creates a repository unless it exists (used for server-managed repos such as gcf-artifacts). */
export function ensureRepository(ctx: SandboxContext, name: string, description: string): void {
  if (!ctx.state.getEntry(STATE_FILES.repositories, name)) {
    ctx.state.putEntry(STATE_FILES.repositories, name, repositoryResource(ctx, name, description))
  }
}

export function getRepository(_req: ApiRequest, ctx: SandboxContext, [project = '', location = '', repo = '']: string[]): Reply {
  const wrong = checkProject(ctx, project)
  if (wrong) return wrong
  const name = `projects/${ctx.identity.project}/locations/${location}/repositories/${repo}`
  const stored = ctx.state.getEntry(STATE_FILES.repositories, name)
  return stored ? ok(stored) : apiError(404, 'Requested entity was not found.')
}

export function createRepository(req: ApiRequest, ctx: SandboxContext, [project = '', location = '']: string[]): Reply {
  const wrong = checkProject(ctx, project)
  if (wrong) return wrong
  const id = req.query.get('repositoryId') ?? ''
  if (!/^[a-z]([a-z0-9-]*[a-z0-9])?$/.test(id)) return apiError(400, `Invalid repositoryId "${id}".`)
  const body = jsonBody(req) ?? {}
  if (body.format !== undefined && body.format !== 'DOCKER') return apiError(400, 'The sandbox only serves DOCKER repositories.')
  const name = `projects/${ctx.identity.project}/locations/${location}/repositories/${id}`
  if (ctx.state.getEntry(STATE_FILES.repositories, name)) return apiError(409, 'the repository already exists', 'ALREADY_EXISTS')
  const repository = {...repositoryResource(ctx, name, typeof body.description === 'string' ? body.description : ''), ...body, name}
  ctx.state.putEntry(STATE_FILES.repositories, name, repository)
  const operationName = `projects/${ctx.identity.project}/locations/${location}/operations/${randomUUID()}`
  const metadata = {'@type': 'type.googleapis.com/google.devtools.artifactregistry.v1.OperationMetadata'}
  putOperation(ctx, operationName, {
    done: true,
    metadata,
    name: operationName,
    response: {'@type': 'type.googleapis.com/google.devtools.artifactregistry.v1.Repository', ...repository},
  })
  return ok({done: false, metadata, name: operationName})
}

/** GET /v1/projects/P/locations/L/operations/ID — Artifact Registry and Cloud Build share this path. */
export function getV1Operation(_req: ApiRequest, ctx: SandboxContext, [project = '', location = '', id = '']: string[]): Reply {
  const wrong = checkProject(ctx, project)
  if (wrong) return wrong
  return readOperation(ctx, `projects/${ctx.identity.project}/locations/${location}/operations/${id}`)
}

export function getServiceUsage(_req: ApiRequest, ctx: SandboxContext, [project = '', service = '']: string[]): Reply {
  const wrong = checkProject(ctx, project)
  if (wrong) return wrong
  return ok({
    config: {name: service},
    name: `projects/${ctx.identity.projectNumber}/services/${service}`,
    parent: `projects/${ctx.identity.projectNumber}`,
    state: 'ENABLED',
  })
}

export function computeServiceAccount(ctx: SandboxContext): string {
  return `${ctx.identity.projectNumber}-compute@developer.gserviceaccount.com`
}

export function defaultBuildServiceAccount(_req: ApiRequest, ctx: SandboxContext, [project = '', location = '']: string[]): Reply {
  const wrong = checkProject(ctx, project)
  if (wrong) return wrong
  return ok({
    name: `projects/${ctx.identity.project}/locations/${location}/defaultServiceAccount`,
    serviceAccountEmail: `projects/${ctx.identity.project}/serviceAccounts/${computeServiceAccount(ctx)}`,
  })
}

export function getServiceAccount(_req: ApiRequest, ctx: SandboxContext, [, email = '']: string[]): Reply {
  if (!email.includes('@')) return apiError(404, `Unknown service account ${email}.`)
  return ok({
    disabled: false,
    email,
    name: `projects/${ctx.identity.project}/serviceAccounts/${email}`,
    projectId: ctx.identity.project,
    uniqueId: '100000000000000000001',
  })
}

export function getProject(_req: ApiRequest, ctx: SandboxContext, [project = '']: string[]): Reply {
  const wrong = checkProject(ctx, project)
  if (wrong) return wrong
  return ok({
    createTime: '2024-01-01T00:00:00.000Z',
    lifecycleState: 'ACTIVE',
    name: ctx.identity.project,
    projectId: ctx.identity.project,
    projectNumber: ctx.identity.projectNumber,
  })
}

export function getProjectV3(_req: ApiRequest, ctx: SandboxContext, [project = '']: string[]): Reply {
  const wrong = checkProject(ctx, project)
  if (wrong) return wrong
  return ok({
    displayName: ctx.identity.project,
    name: `projects/${ctx.identity.projectNumber}`,
    projectId: ctx.identity.project,
    state: 'ACTIVE',
  })
}

export function getProjectIamPolicy(_req: ApiRequest, ctx: SandboxContext, [project = '']: string[]): Reply {
  const wrong = checkProject(ctx, project)
  if (wrong) return wrong
  return ok({
    bindings: [
      {members: [`user:${ctx.identity.account}`], role: 'roles/owner'},
      {members: [`serviceAccount:${computeServiceAccount(ctx)}`], role: 'roles/cloudbuild.builds.builder'},
    ],
    etag: 'BwYAAAAAAAA=',
    version: 1,
  })
}

/**
 * POST /v1/projects/P:setIamPolicy (what `gcloud projects add-iam-policy-binding` ends with, the admin hand-off's
 * grant): answers with the policy sent, as Google does. Not stored: the sandbox's permissions are its fault knobs.
 */
export function setProjectIamPolicy(req: ApiRequest, ctx: SandboxContext, [project = '']: string[]): Reply {
  const wrong = checkProject(ctx, project)
  if (wrong) return wrong
  const policy = jsonBody(req)?.policy
  if (typeof policy !== 'object' || policy === null) return apiError(400, 'setIamPolicy needs a "policy" object.', 'INVALID_ARGUMENT')
  return ok({...(policy as JsonObject), etag: 'BwYAAAAAAAE='})
}

/** The regions the sandbox lists: those Cloud Run serves (regions.ts, from Google's documented list). */
export const SANDBOX_LOCATIONS = CLOUD_RUN_REGIONS

/** GET /v1|v2/projects/P/locations: the Cloud Run regions (shared by Run and Functions). */
export function listLocations(_req: ApiRequest, ctx: SandboxContext, [, project = '']: string[]): Reply {
  const wrong = checkProject(ctx, project)
  if (wrong) return wrong
  return ok({
    locations: SANDBOX_LOCATIONS.map(id => ({displayName: id, locationId: id, name: `projects/${ctx.identity.project}/locations/${id}`})),
  })
}
