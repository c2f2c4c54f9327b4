// Binary Authorization v1 project policy: GET / PUT (whole object, etag per AIP-154) / testIamPermissions /
// getIamPolicy. Fields the sandbox does not know are stored and returned verbatim. The sandbox's own project keeps
// its policy in policy.json; further projects (tests use several, e.g. `example.com:p`) are served when
// policies.json has an entry for them. Every write gets a new etag (chained on the previous one), like Google's.
import {createHash} from 'node:crypto'

import {
  apiError, type ApiRequest, clone, jsonBody, ok, type Reply, type SandboxContext,
} from './api.js'
import {
  type BinauthzFault, type BinauthzFaultKind, type BinauthzOp, faultMatches, normalizeFaultRule, normalizeFaults,
} from './faults.js'
import {
  ENFORCEMENT_MODES as ENFORCEMENT_MODE_LIST, EVALUATION_MODES as EVALUATION_MODE_LIST, GLOBAL_POLICY_EVALUATION_MODES, type Policy,
} from './policy-model.js'
import {isRecord, type JsonObject, STATE_FILES} from './state.js'

export const PERMISSION_GET = 'binaryauthorization.policy.get'
export const PERMISSION_UPDATE = 'binaryauthorization.policy.update'

const EVALUATION_MODES = new Set<string>(EVALUATION_MODE_LIST)
const ENFORCEMENT_MODES = new Set<string>(ENFORCEMENT_MODE_LIST)

/** Seed policies for `sandbox start --policy`. */
export function presetPolicy(preset: 'allow-all' | 'block-all'): Policy {
  return {
    defaultAdmissionRule: {
      enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG',
      evaluationMode: preset === 'allow-all' ? 'ALWAYS_ALLOW' : 'ALWAYS_DENY',
    },
    globalPolicyEvaluationMode: 'ENABLE',
  }
}

/** What GET returns for a project that never wrote a policy ("Returns a default policy"). */
export function defaultPolicy(): Policy {
  return presetPolicy('allow-all')
}

function contentEtag(policy: JsonObject, previous = ''): string {
  const {etag: _etag, ...rest} = policy
  return createHash('sha256').update(`${previous}\n${JSON.stringify(rest)}`).digest('base64url').slice(0, 16)
}

/** The project ID a path segment names (the number of the sandbox's own project counts as its ID). */
export function projectId(ctx: Pick<SandboxContext, 'identity'>, project: string): string {
  return project === ctx.identity.projectNumber ? ctx.identity.project : project
}

function isOwn(ctx: Pick<SandboxContext, 'identity'>, project: string): boolean {
  return projectId(ctx, project) === ctx.identity.project
}

/** Whether the sandbox serves this project's policy: its own, or one seeded in policies.json. */
export function servesProject(ctx: Pick<SandboxContext, 'identity' | 'state'>, project: string): boolean {
  return isOwn(ctx, project) || ctx.state.getEntry(STATE_FILES.policies, project) !== undefined
}

function storedPolicy(ctx: Pick<SandboxContext, 'identity' | 'state'>, project: string): JsonObject | undefined {
  const stored = isOwn(ctx, project)
    ? ctx.state.readJson<unknown>(STATE_FILES.policy, undefined)
    : ctx.state.getEntry(STATE_FILES.policies, project)
  return isRecord(stored) && Object.keys(stored).length > 0 ? stored : undefined
}

function store(ctx: Pick<SandboxContext, 'identity' | 'state'>, project: string, policy: JsonObject): void {
  if (isOwn(ctx, project)) ctx.state.writeJson(STATE_FILES.policy, policy)
  else ctx.state.putEntry(STATE_FILES.policies, project, policy)
}

/** The current policy of a project (default: the sandbox's own) as the API returns it: stored or default, name, etag. */
export function currentPolicy(ctx: Pick<SandboxContext, 'identity' | 'state'>, project = ctx.identity.project): Policy {
  const id = projectId(ctx, project)
  const stored = storedPolicy(ctx, id)
  const base: JsonObject = stored ? clone(stored) : (defaultPolicy() as JsonObject)
  const withName: JsonObject = {...base, name: `projects/${id}/policy`}
  const etag = typeof base.etag === 'string' && base.etag !== '' ? base.etag : contentEtag(withName)
  return {...withName, etag} as Policy
}

/** Stores `fields` as a project's policy (output-only fields replaced), with a new etag; returns what is stored. */
function writePolicy(ctx: Pick<SandboxContext, 'identity' | 'now' | 'state'>, project: string, fields: JsonObject, etag?: string): Policy {
  const id = projectId(ctx, project)
  const previous = storedPolicy(ctx, id)?.etag
  const {etag: _etag, name: _name, updateTime: _updateTime, ...rest} = clone(fields)
  const stored: JsonObject = {...rest, name: `projects/${id}/policy`, updateTime: ctx.now().toISOString()}
  const final = {...stored, etag: etag ?? contentEtag(stored, typeof previous === 'string' ? previous : '')}
  store(ctx, id, final)
  return final as Policy
}

/**
 * Writes a policy as a seed (no etag check); returns the stored policy. `project` defaults to the sandbox's own
 * (policy.json); another project goes to policies.json and is served from then on. `keepEtag`: a non-empty
 * `policy.etag` is stored as given (tests seed odd etags); otherwise a new one is made.
 */
export function seedPolicy(
  ctx: Pick<SandboxContext, 'identity' | 'now' | 'state'>,
  policy: Policy,
  options: {keepEtag?: boolean; project?: string} = {},
): Policy {
  const etag = options.keepEtag && typeof policy.etag === 'string' && policy.etag !== '' ? policy.etag : undefined
  return writePolicy(ctx, options.project ?? ctx.identity.project, policy as JsonObject, etag)
}

/** "Another admin" writes just before our request: appends `namePattern` to the stored policy (new etag). */
export function concurrentWrite(ctx: Pick<SandboxContext, 'identity' | 'now' | 'state'>, project: string, namePattern: string): Policy {
  const current = currentPolicy(ctx, project)
  const patterns = Array.isArray(current.admissionWhitelistPatterns) ? current.admissionWhitelistPatterns : []
  return writePolicy(ctx, project, {...current, admissionWhitelistPatterns: [...patterns, {namePattern}]})
}

/** Whether the caller holds a permission: granted (grantedPermissions, default binaryauthorization.*) and not denied. */
export function holds(ctx: SandboxContext, permission: string): boolean {
  const granted = ctx.faults.grantedPermissions
  const has = granted === undefined ? permission.startsWith('binaryauthorization.') : granted.includes(permission)
  return has && !ctx.faults.deniedPermissions.includes(permission)
}

function notServed(ctx: SandboxContext, project: string): Reply {
  return apiError(
    403,
    `Permission denied on resource project ${project} (the sandbox serves project ${ctx.identity.project} and those in policies.json).`,
    'PERMISSION_DENIED',
  )
}

function permissionDenied(project: string, permission: string): Reply {
  return apiError(
    403,
    `Permission '${permission}' denied on resource 'projects/${project}/policy' (or it may not exist).`,
    'PERMISSION_DENIED',
    {
      details: [
        {
          '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
          domain: 'binaryauthorization.googleapis.com',
          metadata: {permission, resource: `projects/${project}/policy`},
          reason: 'IAM_PERMISSION_DENIED',
        },
      ],
    },
  )
}

/** Validates an allowlist pattern the way the service is documented to (wildcards only as a suffix). */
export function patternProblem(pattern: unknown): string | undefined {
  if (typeof pattern !== 'string' || pattern === '') return 'namePattern must be a non-empty string'
  if (/\s/.test(pattern)) return `namePattern "${pattern}" contains whitespace`
  if (pattern.includes('://')) return `namePattern "${pattern}" must not contain a URL scheme`
  const slash = pattern.indexOf('/')
  if (slash <= 0) return `namePattern "${pattern}" must have the form registry/path`
  const star = pattern.indexOf('*')
  if (star !== -1) {
    if (star < slash) return `namePattern "${pattern}": wildcards are allowed only after "registry/"`
    const tail = pattern.slice(star)
    if (tail !== '*' && tail !== '**') return `namePattern "${pattern}": only a trailing * or ** wildcard is supported`
  }

  return undefined
}

function ruleProblem(rule: unknown, where: string): string | undefined {
  if (!isRecord(rule)) return `${where} is required`
  if (typeof rule.evaluationMode !== 'string' || !EVALUATION_MODES.has(rule.evaluationMode)) {
    return `${where}.evaluationMode must be one of ${[...EVALUATION_MODES].join(', ')}`
  }

  if (typeof rule.enforcementMode !== 'string' || !ENFORCEMENT_MODES.has(rule.enforcementMode)) {
    return `${where}.enforcementMode must be one of ${[...ENFORCEMENT_MODES].join(', ')}`
  }

  const attestors = rule.requireAttestationsBy
  const hasAttestors = Array.isArray(attestors) && attestors.length > 0
  if (rule.evaluationMode === 'REQUIRE_ATTESTATION' && !hasAttestors) {
    return `${where}.requireAttestationsBy must be non-empty when evaluationMode is REQUIRE_ATTESTATION`
  }

  return undefined
}

/** Why a policy body would be refused with INVALID_ARGUMENT, if it would. */
export function policyProblem(body: JsonObject, project: string, projectNumber: string): string | undefined {
  if (body.name !== undefined) {
    const names = new Set([`projects/${projectNumber}/policy`, `projects/${project}/policy`])
    if (typeof body.name !== 'string' || !names.has(body.name)) {
      return `Policy name "${String(body.name)}" does not match the requested resource projects/${project}/policy`
    }
  }

  const rule = ruleProblem(body.defaultAdmissionRule, 'defaultAdmissionRule')
  if (rule) return rule
  const patterns = body.admissionWhitelistPatterns
  if (patterns !== undefined) {
    if (!Array.isArray(patterns)) return 'admissionWhitelistPatterns must be a list'
    for (const entry of patterns) {
      if (!isRecord(entry)) return 'admissionWhitelistPatterns entries must be objects'
      const problem = patternProblem(entry.namePattern)
      if (problem) return problem
    }
  }

  const mode = body.globalPolicyEvaluationMode
  if (mode !== undefined && !(GLOBAL_POLICY_EVALUATION_MODES as readonly string[]).includes(String(mode))) {
    return 'globalPolicyEvaluationMode must be ENABLE or DISABLE'
  }

  return undefined
}

/** Decrements a counter knob in faults.json (keeping every other key); returns whether it was positive. */
export function consumeCounter(ctx: SandboxContext, key: 'binauthzFailNext' | 'etagConflicts'): boolean {
  const raw = ctx.state.readJson<unknown>(STATE_FILES.faults, {})
  const current = normalizeFaults(raw)[key]
  if (current <= 0) return false
  ctx.state.writeJson(STATE_FILES.faults, {...(isRecord(raw) ? raw : {}), [key]: current - 1})
  return true
}

export function getPolicy(_req: ApiRequest, ctx: SandboxContext, [project = '']: string[]): Reply {
  if (!servesProject(ctx, project)) return notServed(ctx, project)
  if (!holds(ctx, PERMISSION_GET)) return permissionDenied(project, PERMISSION_GET)
  return ok(currentPolicy(ctx, project))
}

export function updatePolicy(req: ApiRequest, ctx: SandboxContext, [project = '']: string[]): Reply {
  if (!servesProject(ctx, project)) return notServed(ctx, project)
  if (!holds(ctx, PERMISSION_UPDATE)) return permissionDenied(project, PERMISSION_UPDATE)
  const body = jsonBody(req)
  if (!body) return apiError(400, 'Invalid JSON payload received: the policy must be a JSON object.')
  const id = projectId(ctx, project)
  const number = isOwn(ctx, id) ? ctx.identity.projectNumber : id
  const problem = policyProblem(body, id, number)
  if (problem) return apiError(400, `Invalid policy: ${problem}.`)
  const current = currentPolicy(ctx, id)
  if (consumeCounter(ctx, 'etagConflicts')) {
    // As if another admin wrote in between: the stored policy gets a new etag too.
    writePolicy(ctx, id, current as JsonObject)
    return apiError(409, 'Policy was modified concurrently (etag mismatch); re-read the policy and retry.', 'ABORTED')
  }

  if (typeof body.etag === 'string' && body.etag !== '' && body.etag !== current.etag) {
    return apiError(409, 'Stale etag: the policy changed since it was read; re-read the policy and retry.', 'ABORTED')
  }

  // Output-only fields are ignored; everything else (including unknown fields) is kept verbatim.
  return ok(writePolicy(ctx, id, body))
}

export function testPolicyPermissions(req: ApiRequest, ctx: SandboxContext, [project = '']: string[]): Reply {
  const body = jsonBody(req)
  if (!body) return apiError(400, 'Invalid JSON payload received.')
  if (!servesProject(ctx, project)) return ok({})
  const requested = Array.isArray(body.permissions) ? body.permissions.filter((p): p is string => typeof p === 'string') : []
  const granted = requested.filter(p => holds(ctx, p))
  return ok(granted.length > 0 ? {permissions: granted} : {})
}

export function getPolicyIam(_req: ApiRequest, ctx: SandboxContext, [project = '']: string[]): Reply {
  if (!servesProject(ctx, project)) return notServed(ctx, project)
  return ok({bindings: [{members: [`user:${ctx.identity.account}`], role: 'roles/binaryauthorization.policyEditor'}], etag: 'BwYAAAAAAAA=', version: 1})
}

// ---------------------------------------------------------------------------------------------------------------
// Targeted faults (binauthzFaults in faults.json)

/** Takes the first matching rule from faults.json, counting its `times` down (a used-up rule is dropped). */
export function takeFault(ctx: SandboxContext, call: {method: string; op?: BinauthzOp; project?: string;}): BinauthzFault | undefined {
  const raw = ctx.state.readJson<unknown>(STATE_FILES.faults, {})
  if (!isRecord(raw) || !Array.isArray(raw.binauthzFaults)) return undefined
  const rules = raw.binauthzFaults.flatMap(rule => normalizeFaultRule(rule))
  const index = rules.findIndex(rule => faultMatches(rule, call))
  const rule = rules[index]
  if (rule === undefined) return undefined
  if (rule.times !== 'always') {
    const left = (rule.times ?? 1) - 1
    const next = left > 0 ? rules.map((r, i) => (i === index ? {...r, times: left} : r)) : rules.filter((_r, i) => i !== index)
    ctx.state.writeJson(STATE_FILES.faults, {...raw, binauthzFaults: next})
  }

  return rule
}

const FAULT_STATUS_NAMES: Record<number, string> = {
  409: 'ABORTED', 502: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED',
}

/** A Google JSON error with an optional ErrorInfo reason and Retry-After. */
export function faultError(rule: BinauthzFault): Reply {
  const status = rule.status ?? 503
  const details = rule.reason === undefined
    ? {}
    : {
      details: [{
        '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
        domain: 'googleapis.com',
        metadata: {service: 'binaryauthorization.googleapis.com'},
        reason: rule.reason,
      }],
    }
  const reply = apiError(status, rule.message ?? `Injected HTTP ${status} (sandbox fault).`, rule.apiStatus ?? FAULT_STATUS_NAMES[status], details)
  return rule.retryAfter === undefined ? reply : {...reply, headers: {'retry-after': String(rule.retryAfter)}}
}

function json(reply: Reply): Buffer {
  return Buffer.from(reply.raw ?? (reply.body === undefined ? '' : JSON.stringify(reply.body)))
}

/** How a faulted call is answered: the reply (what the log records), and whether/when it is delivered. */
export interface FaultOutcome {
  /** Hold the answer this long (slow). */
  delayMs?: number
  /** lost: the call took effect, then the connection is destroyed; reset: destroyed before anything happened. */
  delivery?: 'lost' | 'reset'
  reply: Reply
}

/** The call a fault applies to: its normal handling `handle` runs at most once, and only when the rule lets it. */
export interface FaultedCall {
  ctx: SandboxContext
  handle: () => Reply
  /** n-th Binary Authorization call since the server started. */
  n: number
  project: string
}

const JSON_TYPE = {'content-type': 'application/json; charset=UTF-8'}

/** The real answer with `fields` rewritten, when it is a JSON object. */
function rewritten(call: FaultedCall, rewrite: (body: JsonObject, reply: Reply) => Reply): FaultOutcome {
  const reply = call.handle()
  return {reply: isRecord(reply.body) ? rewrite(reply.body, reply) : reply}
}

const FAULTS: Record<BinauthzFaultKind, (rule: BinauthzFault, call: FaultedCall) => FaultOutcome> = {
  'concurrent-write'(rule, {ctx, handle, n, project}) {
    if (servesProject(ctx, project)) concurrentWrite(ctx, project, rule.namePattern ?? `gcr.io/other-writer-${n}/**`)
    return {reply: handle()}
  },
  'foreign-policy'(rule, {n}) {
    const policy = {...defaultPolicy(), name: `projects/${rule.foreignProject ?? 'someone-else'}/policy`}
    return {reply: ok({...policy, etag: contentEtag(policy as JsonObject, String(n))})}
  },
  html(rule) {
    const body = typeof rule.body === 'string' ? rule.body : '<html><body>Sign in to continue</body></html>'
    return {reply: {headers: {'content-type': rule.contentType ?? 'text/html; charset=UTF-8'}, raw: Buffer.from(body), status: 200}}
  },
  huge: (rule, call) => rewritten(call, (body, reply) => {
    const base = JSON.stringify({...body, description: ''})
    const pad = Math.max(0, (rule.bytes ?? 5 * 1024 * 1024) - Buffer.byteLength(base))
    return {headers: JSON_TYPE, raw: Buffer.from(base.replace('"description":""', `"description":"${'x'.repeat(pad)}"`)), status: reply.status}
  }),
  'lost-response': (_rule, {handle}) => ({delivery: 'lost', reply: handle()}),
  'missing-etag': (_rule, call) => rewritten(call, ({etag: _etag, ...rest}, reply) => ({...reply, body: rest})),
  'not-policy': rule => ({reply: ok(rule.body ?? {})}),
  raw(rule) {
    const body = typeof rule.body === 'string' ? rule.body : JSON.stringify(rule.body ?? '')
    return {reply: {headers: rule.headers ?? {}, raw: Buffer.from(body), status: rule.status ?? 200}}
  },
  reset: () => ({delivery: 'reset', reply: {status: 0}}),
  slow: (rule, {handle}) => ({delayMs: rule.delayMs ?? 0, reply: handle()}),
  status: rule => ({reply: faultError(rule)}),
  truncated(rule, {handle}) {
    const reply = handle()
    const full = json(reply)
    return {reply: {headers: JSON_TYPE, raw: full.subarray(0, rule.bytes ?? Math.floor(full.length / 2)), status: reply.status}}
  },
}

/** Applies a rule to a call. */
export function applyFault(rule: BinauthzFault, call: FaultedCall): FaultOutcome {
  return FAULTS[rule.kind ?? 'status'](rule, call)
}
