// The plan of `binauthz policy restore`: replace the current policy by a backup's content, keeping the current
// output-only fields so the diff and the "changed" verdict show only real changes. Pure: no I/O.
import type {PolicyPlan} from './plan.js'
import type {Policy} from './types.js'

const OUTPUT_ONLY = new Set(['etag', 'name', 'updateTime'])

function withoutOutputOnly(policy: Policy): Record<string, unknown> {
  return Object.fromEntries(Object.entries(policy).filter(([key]) => !OUTPUT_ONLY.has(key)))
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(v => stableJson(v)).join(',')}]`
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : (a > b ? 1 : 0)))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`
  }

  return JSON.stringify(value)
}

/**
 * The plan that replaces `current` by the content of `backup`, sent with the CURRENT etag. Output-only fields
 * (name, updateTime, etag) are taken from `current` so the diff shows only real changes.
 */
export function planRestore(current: Policy, backup: Policy): PolicyPlan {
  const after: Policy = {...backup}
  for (const key of OUTPUT_ONLY) {
    if (current[key] === undefined) delete after[key]
    else after[key] = current[key]
  }

  const names = (p: Policy): string[] => (p.admissionWhitelistPatterns ?? []).map(e => e.namePattern)
  const beforeNames = new Set(names(current))
  const afterNames = new Set(names(after))
  return {
    added: names(after).filter(n => !beforeNames.has(n)),
    after,
    alreadyCovered: [],
    before: current,
    changed: stableJson(withoutOutputOnly(current)) !== stableJson(withoutOutputOnly(after)),
    notFound: [],
    removed: names(current).filter(n => !afterNames.has(n)),
  }
}
