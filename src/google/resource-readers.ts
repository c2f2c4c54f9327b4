// Small REST readers for what gcloud 528 reads before it builds: the existing Cloud Run service (v1 Knative, on the
// regional endpoint) and the existing Cloud Functions v2 function. One GET each over http-transport.ts, with the same
// token (one refresh on a 401), quota-project header, loopback-only http rule and AbortSignal as the policy client.
//
// Endpoints, as gcloud 528 builds them:
//   run: apis.GetEffectiveApiEndpoint('run', 'v1') = CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN or https://run.googleapis.com/,
//        then command_lib/run/connection_context.py DeriveRegionalEndpoint: the host becomes `{region}-{host}` (scheme,
//        port and path kept); path apis/serving.knative.dev/v1/namespaces/{project}/services/{name}
//        (api_lib/run ... serverless_operations.py GetService: a 404 is "no service", None).
//   functions: CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDFUNCTIONS or https://cloudfunctions.googleapis.com/, path
//        v2/projects/{project}/locations/{region}/functions/{name} (api_lib/functions/v2/util.py GetFunction: 404 = None).
// A regional loopback host such as `us-central1-127.0.0.1` does not resolve (gcloud reaches it through its proxy):
// the request then goes to the loopback address itself with that Host header, which is what the local sandbox routes by.

import type {Agent} from 'node:http'

import type {TokenProvider} from '../auth/token-provider.js'
import type {RequestContext} from './request-context.js'

import {ExternalError, UserError} from '../errors.js'
import {isLoopbackHost} from './endpoint.js'
import {DEFAULT_LIMITS, keepAliveAgent, sendHttp} from './http-transport.js'
import {agentFor, type NetworkPath} from './network.js'

/** The annotation gcloud reuses as the build's image (api_lib/run/service.py RUN_FUNCTIONS_BUILD_IMAGE_URI_ANNOTATION). */
export const BUILD_IMAGE_URI_ANNOTATION = 'run.googleapis.com/build-image-uri'

/** Roles that can read what gcloud reads (run.services.get / cloudfunctions.functions.get). */
export const READ_ROLES = {function: 'roles/cloudfunctions.viewer', run: 'roles/run.viewer'} as const

export interface ExistingService {
  buildImageUri?: string
  exists: boolean
}

export interface ExistingFunction {
  dockerRepository?: string
  exists: boolean
}

export interface ReaderOptions extends RequestContext {
  /** Proxy tunnel and CA bundle, as for the policy client (network.ts resolveNetwork); default: direct. */
  network?: NetworkPath
  quotaProject?: string
  /** Per request (default 15 s). */
  timeoutMs?: number
  tokens: TokenProvider
}

/** connection_context.py DeriveRegionalEndpoint: `{region}-{netloc}`, scheme and path kept. */
export function regionalEndpoint(base: URL, region: string): {connect: string; hostHeader?: string; url: string} {
  const netloc = `${region}-${base.host}`
  const url = `${base.protocol}//${netloc}${base.pathname}`
  // `us-central1-127.0.0.1` never resolves; a regional name of a loopback host is sent to the loopback host itself.
  if (isLoopbackHost(base.hostname)) return {connect: `${base.protocol}//${base.host}${base.pathname}`, hostHeader: netloc, url}
  return {connect: url, url}
}

function encodeSegment(value: string): string {
  return encodeURIComponent(value).replaceAll('%3A', ':')
}

type Kind = 'function' | 'run'

/** One GET: the answer, or an error for a call without one. */
/** One read: what it reads (for messages), where, and how. */
interface Call {
  agent: Agent | false
  kind: Kind
  options: ReaderOptions
  path: string
  target: {connect: string; hostHeader?: string}
  what: string
}

async function send({agent, options, path, target, what}: Call, token: string): Promise<{body: string; status: number}> {
  options.secrets.add(token)
  const outcome = await sendHttp({
    agent,
    authorization: `Bearer ${token}`,
    headers: {
      accept: 'application/json',
      'user-agent': options.userAgent,
      ...(target.hostHeader === undefined ? {} : {host: target.hostHeader}),
      ...(options.quotaProject === undefined || options.quotaProject === '' ? {} : {'x-goog-user-project': options.quotaProject}),
    },
    maxResponseBytes: DEFAULT_LIMITS.maxResponseBytes,
    method: 'GET',
    ...(options.signal === undefined ? {} : {signal: options.signal}),
    timeoutMs: options.timeoutMs ?? DEFAULT_LIMITS.timeoutMs,
    url: `${target.connect}${path}`,
  })
  if (outcome.kind === 'aborted') {
    options.signal?.throwIfAborted()
    throw new ExternalError(`Reading ${what} was aborted.`, {code: 'EXISTING_READ_FAILED'})
  }

  if (outcome.kind !== 'response') {
    const detail = outcome.kind === 'too-large' ? 'the answer was too large' : `${outcome.kind}: ${outcome.error.message}`
    throw new ExternalError(`Could not read ${what} (${detail}); binauthz needs it to know what gcloud will build, and does not guess. Nothing was changed.`, {
      code: 'EXISTING_READ_FAILED', suggestions: ['Check the network and re-run.'],
    })
  }

  return {body: outcome.response.body, status: outcome.response.status}
}

/** GET `connect + path` (one token refresh on a 401): the JSON object, or undefined for a 404. Permission errors name the reader role. */
async function getJson(call: Call): Promise<Record<string, unknown> | undefined> {
  const {kind, options, what} = call
  const token = await options.tokens.getToken()
  let answer = await send(call, token)
  if (answer.status === 401 && options.tokens.refresh !== undefined) {
    const renewed = await options.tokens.refresh()
    if (renewed !== token) answer = await send(call, renewed)
  }

  const {body, status} = answer
  if (status === 404) return undefined
  if (status === 401 || status === 403) {
    const permission = kind === 'run' ? 'run.services.get' : 'cloudfunctions.functions.get'
    throw new UserError(
      `Reading ${what} was refused (HTTP ${status}): binauthz reads it, as gcloud does, to know which repository the build uses, and does not guess. Nothing was changed.`,
      {
        code: 'EXISTING_READ_DENIED',
        suggestions: [`Ask for ${permission} (e.g. ${READ_ROLES[kind]}) on the project, or run with an account that has it.`],
      },
    )
  }

  if (status < 200 || status >= 300) {
    throw new ExternalError(`Could not read ${what}: HTTP ${status}. Nothing was changed.`, {code: 'EXISTING_READ_FAILED', suggestions: ['Re-run; if it persists, check the API status.']})
  }

  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    json = undefined
  }

  if (typeof json === 'object' && json !== null && !Array.isArray(json)) return json as Record<string, unknown>
  throw new ExternalError(`Could not read ${what}: the answer is not a JSON object.`, {code: 'EXISTING_READ_FAILED'})
}

function field(value: unknown, ...path: string[]): unknown {
  let current = value
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined
    current = (current as Record<string, unknown>)[key]
  }

  return current
}

/** The Cloud Run service (v1) in `region`, as gcloud's GetService reads it before a deploy. */
/** The agent of one read: through the proxy tunnel / with the CA bundle when the network path has them. */
function agentOf(options: ReaderOptions, protocol: string): Agent {
  return (options.network === undefined ? false : agentFor(options.network, protocol, true)) || keepAliveAgent(protocol)
}

export async function readExistingService(
  base: URL,
  input: {name: string; project: string; region: string},
  options: ReaderOptions,
): Promise<ExistingService> {
  const target = regionalEndpoint(base, input.region)
  const path = `apis/serving.knative.dev/v1/namespaces/${encodeSegment(input.project)}/services/${encodeSegment(input.name)}`
  const agent = agentOf(options, new URL(target.connect).protocol)
  try {
    const json = await getJson({
      agent, kind: 'run', options, path, target, what: `the Cloud Run service ${input.name} in ${input.region}`,
    })
    if (json === undefined) return {exists: false}
    const uri = field(json, 'metadata', 'annotations', BUILD_IMAGE_URI_ANNOTATION)
    return {exists: true, ...(typeof uri === 'string' && uri !== '' ? {buildImageUri: uri} : {})}
  } finally {
    agent.destroy()
  }
}

/** The Cloud Functions v2 function in `region`, as gcloud's deploy reads it (its buildConfig.dockerRepository). */
export async function readExistingFunction(
  base: URL,
  input: {name: string; project: string; region: string},
  options: ReaderOptions,
): Promise<ExistingFunction> {
  const path = `v2/projects/${encodeSegment(input.project)}/locations/${encodeSegment(input.region)}/functions/${encodeSegment(input.name)}`
  const agent = agentOf(options, base.protocol)
  try {
    const json = await getJson({
      agent, kind: 'function', options, path, target: {connect: base.href}, what: `the function ${input.name} in ${input.region}`,
    })
    if (json === undefined) return {exists: false}
    const repo = field(json, 'buildConfig', 'dockerRepository')
    return {exists: true, ...(typeof repo === 'string' && repo !== '' ? {dockerRepository: repo} : {})}
  } finally {
    agent.destroy()
  }
}
