// `binauthz policy export`: the policy as the API returns it, and as YAML. Nothing here prints.

import type {Policy} from '../policy/types.js'

import {policyToYaml} from '../policy/yaml.js'
import {resolveContext} from './context.js'
import {type ApiInput, clientFor, withRunConfig} from './policy-access.js'

export interface PolicyExportResult {
  etag?: string
  policy: Policy
  project: string
  yaml: string
}

export async function exportPolicy(given: ApiInput): Promise<PolicyExportResult> {
  const input = withRunConfig(given)
  const ctx = resolveContext({
    ...(input.project === undefined ? {} : {project: input.project}), config: input.config, env: input.env, requireRegion: false,
  })
  const client = await clientFor(input, ctx.project)
  const policy = await client.getPolicy(ctx.project)
  return {
    project: ctx.project, ...(policy.etag === undefined ? {} : {etag: policy.etag}), policy, yaml: policyToYaml(policy),
  }
}

