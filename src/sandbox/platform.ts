// The small supporting APIs gcloud consults during a deploy: Artifact Registry repositories (+ LRO), Service Usage,
// Cloud Build's default service account, IAM service accounts, Cloud Resource Manager project + IAM policy.
import {randomUUID} from 'node:crypto'

import {type ApiRequest, type Reply, type SandboxContext, apiError, checkProject, jsonBody, ok} from './api.js'
import {putOperation, readOperation} from './operations.js'
import {type JsonObject, STATE_FILES} from './state.js'

export function repositoryResource(ctx: SandboxContext, name: string, description: string): JsonObject {
  const now = ctx.now().toISOString()
  return {name, format: 'DOCKER', description, mode: 'STANDARD_REPOSITORY', createTime: now, updateTime: now, sizeBytes: '0'}
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
  return stored ? ok(stored) : apiError(404, `Requested entity was not found.`)
}

export function createRepository(req: ApiRequest, ctx: SandboxContext, [project = '', location = '']: string[]): Reply {
  const wrong = checkProject(ctx, project)
  if (wrong) return wrong
  const id = req.query.get('repositoryId') ?? ''
  if (!/^[a-z]([a-z0-9-]*[a-z0-9])?$/.test(id)) return apiError(400, `Invalid repositoryId "${id}".`)
  const body = jsonBody(req) ?? {}
  if (body.format !== undefined && body.format !== 'DOCKER') return apiError(400, 'The sandbox only serves DOCKER repositories.')
  const name = `projects/${ctx.identity.project}/locations/${location}/repositories/${id}`
  if (ctx.state.getEntry(STATE_FILES.repositories, name)) return apiError(409, `the repository already exists`, 'ALREADY_EXISTS')
  const repository = {...repositoryResource(ctx, name, typeof body.description === 'string' ? body.description : ''), ...body, name}
  ctx.state.putEntry(STATE_FILES.repositories, name, repository)
  const operationName = `projects/${ctx.identity.project}/locations/${location}/operations/${randomUUID()}`
  const metadata = {'@type': 'type.googleapis.com/google.devtools.artifactregistry.v1.OperationMetadata'}
  putOperation(ctx, operationName, {
    name: operationName,
    metadata,
    done: true,
    response: {'@type': 'type.googleapis.com/google.devtools.artifactregistry.v1.Repository', ...repository},
  })
  return ok({name: operationName, metadata, done: false})
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
    name: `projects/${ctx.identity.projectNumber}/services/${service}`,
    config: {name: service},
    state: 'ENABLED',
    parent: `projects/${ctx.identity.projectNumber}`,
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
    name: `projects/${ctx.identity.project}/serviceAccounts/${email}`,
    projectId: ctx.identity.project,
    uniqueId: '100000000000000000001',
    email,
    disabled: false,
  })
}

export function getProject(_req: ApiRequest, ctx: SandboxContext, [project = '']: string[]): Reply {
  const wrong = checkProject(ctx, project)
  if (wrong) return wrong
  return ok({
    projectNumber: ctx.identity.projectNumber,
    projectId: ctx.identity.project,
    lifecycleState: 'ACTIVE',
    name: ctx.identity.project,
    createTime: '2024-01-01T00:00:00.000Z',
  })
}

export function getProjectV3(_req: ApiRequest, ctx: SandboxContext, [project = '']: string[]): Reply {
  const wrong = checkProject(ctx, project)
  if (wrong) return wrong
  return ok({
    name: `projects/${ctx.identity.projectNumber}`,
    projectId: ctx.identity.project,
    state: 'ACTIVE',
    displayName: ctx.identity.project,
  })
}

export function getProjectIamPolicy(_req: ApiRequest, ctx: SandboxContext, [project = '']: string[]): Reply {
  const wrong = checkProject(ctx, project)
  if (wrong) return wrong
  return ok({
    version: 1,
    etag: 'BwYAAAAAAAA=',
    bindings: [
      {role: 'roles/owner', members: [`user:${ctx.identity.account}`]},
      {role: 'roles/cloudbuild.builds.builder', members: [`serviceAccount:${computeServiceAccount(ctx)}`]},
    ],
  })
}

export const SANDBOX_LOCATIONS = ['us-central1', 'us-east1', 'europe-west1', 'europe-west4', 'asia-northeast1']

/** GET /v1|v2/projects/P/locations: a fixed list of regions (shared by Run and Functions). */
export function listLocations(_req: ApiRequest, ctx: SandboxContext, [, project = '']: string[]): Reply {
  const wrong = checkProject(ctx, project)
  if (wrong) return wrong
  return ok({
    locations: SANDBOX_LOCATIONS.map((id) => ({name: `projects/${ctx.identity.project}/locations/${id}`, locationId: id, displayName: id})),
  })
}
