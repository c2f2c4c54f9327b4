// Cloud Storage: the JSON API calls of `run deploy --source` (bucket get/create/list, multipart upload) and the
// signed-URL PUT of `functions deploy` (no Authorization header; the signature is checked instead).
import {
  createHash, createHmac, randomUUID, timingSafeEqual,
} from 'node:crypto'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {
  apiError, type ApiRequest, checkProject, jsonBody, ok, type Reply, type SandboxContext,
} from './api.js'
import {multipartBoundary, parseMultipart} from './multipart.js'
import {type JsonObject, STATE_FILES} from './state.js'

let generationCounter = 0

function nextGeneration(ctx: SandboxContext): string {
  generationCounter = (generationCounter + 1) % 1000
  return String((ctx.now().getTime() * 1000) + generationCounter)
}

function bucketResource(ctx: SandboxContext, name: string, location: string): JsonObject {
  const now = ctx.now().toISOString()
  return {
    etag: 'CAE=',
    iamConfiguration: {uniformBucketLevelAccess: {enabled: true}},
    id: name,
    kind: 'storage#bucket',
    location: location.toUpperCase(),
    locationType: 'region',
    metageneration: '1',
    name,
    projectNumber: ctx.identity.projectNumber,
    selfLink: `${ctx.baseUrl}/storage/v1/b/${name}`,
    storageClass: 'STANDARD',
    timeCreated: now,
    updated: now,
  }
}

export function getBucket(_req: ApiRequest, ctx: SandboxContext, [bucket = '']: string[]): Reply {
  const stored = ctx.state.getEntry(STATE_FILES.buckets, bucket)
  return stored ? ok(stored) : apiError(404, 'The specified bucket does not exist.', 'NOT_FOUND')
}

export function createBucket(req: ApiRequest, ctx: SandboxContext): Reply {
  const project = req.query.get('project') ?? ''
  const wrong = checkProject(ctx, project)
  if (wrong) return wrong
  const body = jsonBody(req)
  if (!body || typeof body.name !== 'string' || !/^[a-z0-9][-a-z0-9_.]{1,220}[a-z0-9]$/.test(body.name)) {
    return apiError(400, 'Invalid bucket name.')
  }

  if (ctx.state.getEntry(STATE_FILES.buckets, body.name)) {
    return apiError(409, 'Your previous request to create the named bucket succeeded and you already own it.', 'CONFLICT')
  }

  const bucket = {...bucketResource(ctx, body.name, typeof body.location === 'string' ? body.location : 'US'), ...pick(body, ['cors', 'labels'])}
  ctx.state.putEntry(STATE_FILES.buckets, body.name, bucket)
  return ok(bucket)
}

function pick(source: JsonObject, keys: string[]): JsonObject {
  return Object.fromEntries(keys.filter(k => source[k] !== undefined).map(k => [k, source[k]]))
}

export function listBuckets(req: ApiRequest, ctx: SandboxContext): Reply {
  const project = req.query.get('project') ?? ''
  const wrong = checkProject(ctx, project)
  if (wrong) return wrong
  const prefix = req.query.get('prefix') ?? ''
  const items = Object.values(ctx.state.readMap(STATE_FILES.buckets)).filter(b => String(b.name).startsWith(prefix))
  return ok(items.length > 0 ? {items, kind: 'storage#buckets'} : {kind: 'storage#buckets'})
}

interface StoredObject {
  bucket: string
  contentType: string
  data: Buffer
  name: string
}

function storeObject(ctx: SandboxContext, {bucket, contentType, data, name}: StoredObject): JsonObject {
  const generation = nextGeneration(ctx)
  const file = `${createHash('sha256').update(`${bucket}/${name}#${generation}`).digest('hex').slice(0, 32)}.bin`
  writeFileSync(join(ctx.state.uploadsDir(), file), data)
  const now = ctx.now().toISOString()
  const object: JsonObject = {
    bucket,
    contentType,
    generation,
    id: `${bucket}/${name}/${generation}`,
    kind: 'storage#object',
    md5Hash: createHash('md5').update(data).digest('base64'),
    metageneration: '1',
    name,
    sandboxFile: `${STATE_FILES.uploads}/${file}`,
    size: String(data.length),
    storageClass: 'STANDARD',
    timeCreated: now,
    updated: now,
  }
  ctx.state.putEntry(STATE_FILES.objects, `${bucket}/${name}`, object)
  return object
}

/** POST /upload/storage/v1/b/BUCKET/o?uploadType=multipart|media&name=NAME */
export function uploadObject(req: ApiRequest, ctx: SandboxContext, [bucket = '']: string[]): Reply {
  if (!ctx.state.getEntry(STATE_FILES.buckets, bucket)) return apiError(404, 'The specified bucket does not exist.')
  const uploadType = req.query.get('uploadType') ?? 'media'
  let name = req.query.get('name') ?? undefined
  let data = req.body
  let contentType = String(req.headers['content-type'] ?? 'application/octet-stream')
  if (uploadType === 'multipart') {
    const boundary = multipartBoundary(contentType)
    if (!boundary) return apiError(400, 'Multipart upload without a boundary.')
    const parts = parseMultipart(req.body, boundary)
    const [meta, content] = parts
    if (!meta || !content) return apiError(400, `Multipart upload needs 2 parts, got ${parts.length}.`)
    try {
      const metadata = JSON.parse(meta.body.toString('utf8')) as JsonObject
      if (typeof metadata.name === 'string') name ??= metadata.name
    } catch {
      return apiError(400, 'The metadata part of the multipart upload is not JSON.')
    }

    data = content.body
    contentType = content.headers['content-type'] ?? 'application/octet-stream'
  } else if (uploadType !== 'media') {
    return apiError(400, `uploadType=${uploadType} is not supported by the sandbox (use multipart or media).`)
  }

  if (!name) return apiError(400, 'Object name is required.')
  return ok(storeObject(ctx, {
    bucket, contentType, data, name,
  }))
}

export function getObject(_req: ApiRequest, ctx: SandboxContext, [bucket = '', name = '']: string[]): Reply {
  const stored = ctx.state.getEntry(STATE_FILES.objects, `${bucket}/${name}`)
  return stored ? ok(stored) : apiError(404, 'No such object.')
}

function signature(ctx: SandboxContext, bucket: string, object: string, expires: string): string {
  return createHmac('sha256', ctx.signingKey).update(`${bucket}/${object}:${expires}`).digest('base64url')
}

/** A V2-style signed URL on the sandbox itself (http, so gcloud's proxy sends no CONNECT). */
export function signedUploadUrl(ctx: SandboxContext, bucket: string, object: string): string {
  const expires = String(Math.floor(ctx.now().getTime() / 1000) + 900)
  const query = new URLSearchParams({
    Expires: expires,
    GoogleAccessId: `service-${ctx.identity.projectNumber}@gcf-admin-robot.iam.gserviceaccount.com`,
    Signature: signature(ctx, bucket, object, expires),
  })
  return `${ctx.baseUrl}/__signed/${encodeURIComponent(bucket)}/${encodeURIComponent(object)}?${query.toString()}`
}

/** PUT /__signed/BUCKET/OBJECT?GoogleAccessId&Expires&Signature — no bearer token needed, like GCS signed URLs. */
export function signedUpload(req: ApiRequest, ctx: SandboxContext, [bucket = '', object = '']: string[]): Reply {
  const expires = req.query.get('Expires') ?? ''
  const given = Buffer.from(req.query.get('Signature') ?? '')
  const expected = Buffer.from(signature(ctx, bucket, object, expires))
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return {headers: {'content-type': 'application/xml'}, raw: Buffer.from('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code></Error>'), status: 403}
  }

  if (Number(expires) * 1000 < ctx.now().getTime()) {
    return {headers: {'content-type': 'application/xml'}, raw: Buffer.from('<?xml version="1.0" encoding="UTF-8"?><Error><Code>ExpiredToken</Code></Error>'), status: 400}
  }

  if (!ctx.state.getEntry(STATE_FILES.buckets, bucket)) {
    ctx.state.putEntry(STATE_FILES.buckets, bucket, bucketResource(ctx, bucket, 'US'))
  }

  storeObject(ctx, {
    bucket, contentType: String(req.headers['content-type'] ?? 'application/zip'), data: req.body, name: object,
  })
  return {raw: Buffer.alloc(0), status: 200}
}

export function newUploadObjectName(): string {
  return `${randomUUID()}.zip`
}
