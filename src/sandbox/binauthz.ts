// Binary Authorization v1 project policy: GET / PUT (whole object, etag per AIP-154) / testIamPermissions /
// getIamPolicy. Fields the sandbox does not know are stored and returned verbatim.
import {createHash} from 'node:crypto'

import type {Policy} from './policy-model.js'

import {
  apiError, type ApiRequest, checkProject, clone, jsonBody, ok, type Reply, type SandboxContext,
} from './api.js'
import {normalizeFaults} from './faults.js'
import {isRecord, type JsonObject, STATE_FILES} from './state.js'

export const PERMISSION_GET = 'binaryauthorization.policy.get'
export const PERMISSION_UPDATE = 'binaryauthorization.policy.update'

const EVALUATION_MODES = new Set(['ALWAYS_ALLOW', 'ALWAYS_DENY', 'REQUIRE_ATTESTATION'])
const ENFORCEMENT_MODES = new Set(['DRYRUN_AUDIT_LOG_ONLY', 'ENFORCED_BLOCK_AND_AUDIT_LOG'])

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

function contentEtag(policy: JsonObject): string {
  const {etag: _etag, ...rest} = policy
  return createHash('sha256').update(JSON.stringify(rest)).digest('base64url').slice(0, 16)
}

/** The current policy as the API returns it: stored (or default) plus name and etag. */
export function currentPolicy(ctx: SandboxContext): Policy {
  const stored = ctx.state.readJson<unknown>(STATE_FILES.policy, undefined)
  const base: JsonObject = isRecord(stored) ? clone(stored) : (defaultPolicy() as JsonObject)
  const withName: JsonObject = {...base, name: `projects/${ctx.identity.project}/policy`}
  const etag = typeof base.etag === 'string' && base.etag !== '' ? base.etag : contentEtag(withName)
  return {...withName, etag} as Policy
}

/** Writes a policy to policy.json as a seed (no etag check); returns the stored policy. */
export function seedPolicy(ctx: Pick<SandboxContext, 'identity' | 'now' | 'state'>, policy: Policy): Policy {
  const {etag: _etag, name: _name, updateTime: _updateTime, ...rest} = clone(policy) as JsonObject
  const stored: JsonObject = {...rest, name: `projects/${ctx.identity.project}/policy`, updateTime: ctx.now().toISOString()}
  const final = {...stored, etag: contentEtag(stored)}
  ctx.state.writeJson(STATE_FILES.policy, final)
  return final as Policy
}

function denied(ctx: SandboxContext, permission: string): boolean {
  return ctx.faults.deniedPermissions.includes(permission)
}

function permissionDenied(ctx: SandboxContext, permission: string): Reply {
  return apiError(
    403,
    `Permission '${permission}' denied on resource 'projects/${ctx.identity.project}/policy' (or it may not exist).`,
    'PERMISSION_DENIED',
    {
      details: [
        {
          '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
          domain: 'binaryauthorization.googleapis.com',
          metadata: {permission, resource: `projects/${ctx.identity.project}/policy`},
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
  if (mode !== undefined && !['DISABLE', 'ENABLE', 'GLOBAL_POLICY_EVALUATION_MODE_UNSPECIFIED'].includes(String(mode))) {
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
  const wrong = checkProject(ctx, project)
  if (wrong) return wrong
  if (denied(ctx, PERMISSION_GET)) return permissionDenied(ctx, PERMISSION_GET)
  return ok(currentPolicy(ctx))
}

export function updatePolicy(req: ApiRequest, ctx: SandboxContext, [project = '']: string[]): Reply {
  const wrong = checkProject(ctx, project)
  if (wrong) return wrong
  if (denied(ctx, PERMISSION_UPDATE)) return permissionDenied(ctx, PERMISSION_UPDATE)
  const body = jsonBody(req)
  if (!body) return apiError(400, 'Invalid JSON payload received: the policy must be a JSON object.')
  const problem = policyProblem(body, ctx.identity.project, ctx.identity.projectNumber)
  if (problem) return apiError(400, `Invalid policy: ${problem}.`)
  const current = currentPolicy(ctx)
  if (consumeCounter(ctx, 'etagConflicts')) {
    // As if another admin wrote in between: the stored policy gets a new etag too.
    const etag = createHash('sha256').update(`${current.etag ?? ''}:conflict`).digest('base64url').slice(0, 16)
    ctx.state.writeJson(STATE_FILES.policy, {...current, etag, updateTime: ctx.now().toISOString()})
    return apiError(409, 'Policy was modified concurrently (etag mismatch); re-read the policy and retry.', 'ABORTED')
  }

  if (typeof body.etag === 'string' && body.etag !== '' && body.etag !== current.etag) {
    return apiError(409, 'Stale etag: the policy changed since it was read; re-read the policy and retry.', 'ABORTED')
  }

  // Output-only fields are ignored; everything else (including unknown fields) is kept verbatim.
  const {etag: _etag, name: _name, updateTime: _updateTime, ...rest} = body
  const stored: JsonObject = {...rest, name: `projects/${ctx.identity.project}/policy`, updateTime: ctx.now().toISOString()}
  const final = {...stored, etag: contentEtag(stored)}
  ctx.state.writeJson(STATE_FILES.policy, final)
  return ok(final)
}

export function testPolicyPermissions(req: ApiRequest, ctx: SandboxContext, [project = '']: string[]): Reply {
  const body = jsonBody(req)
  if (!body) return apiError(400, 'Invalid JSON payload received.')
  if (project !== ctx.identity.project && project !== ctx.identity.projectNumber) return ok({})
  const requested = Array.isArray(body.permissions) ? body.permissions.filter((p): p is string => typeof p === 'string') : []
  const granted = requested.filter(p => !denied(ctx, p) && p.startsWith('binaryauthorization.'))
  return ok(granted.length > 0 ? {permissions: granted} : {})
}

export function getPolicyIam(_req: ApiRequest, ctx: SandboxContext, [project = '']: string[]): Reply {
  const wrong = checkProject(ctx, project)
  if (wrong) return wrong
  return ok({bindings: [{members: [`user:${ctx.identity.account}`], role: 'roles/binaryauthorization.policyEditor'}], etag: 'BwYAAAAAAAA=', version: 1})
}
