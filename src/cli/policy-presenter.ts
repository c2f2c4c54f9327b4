// Human-readable lines for the policy command results (pure; the commands print them unless --json).

import type {PolicyChangeResult} from '../app/policy-allow-revoke.js'
import type {PolicyRestoreResult} from '../app/policy-restore.js'
import type {PolicyStatusResult} from '../app/policy-status.js'

import {describeKind} from '../app/targets.js'
import {describeCoverage} from '../policy/coverage.js'
import {formatCommand} from '../policy/shell.js'

export function renderStatus(result: PolicyStatusResult): string[] {
  const lines: string[] = []
  const rule = result.defaultRule
  lines.push(
    `Project ${result.project} (from ${result.projectSource})${result.etag ? `, policy etag ${result.etag}` : ''}`,
    `Default rule: ${rule.evaluationMode ?? 'unset'} / ${rule.enforcementMode ?? 'unset'} — ${
      rule.enforced ? 'images that are not allowlisted are blocked' : 'nothing is blocked by the default rule'
    }`,
    result.allowlist.length === 0 ? 'Allowlist: (empty)' : 'Allowlist:',
  )
  for (const entry of result.allowlist) lines.push(`  ${entry}`)
  if (result.paths.length > 0) lines.push('Deploy paths:')
  for (const p of result.paths) {
    const where = `${describeKind(p.kind)}${p.region ? ` in ${p.region}` : ''}`
    lines.push(p.coveredBy ? `  ✔ ${where}: ${p.pattern} — ${describeCoverage(p.coveredBy, p.pattern)}` : `  ✘ ${where}: ${p.pattern} — missing`)
  }

  if (result.regionNeeded) {
    const paths = result.regionNeeded.kinds.map(k => describeKind(k))
    lines.push(`Not checked without a region: whether ${paths.join(' and ')} ${paths.length === 1 ? 'is' : 'are'} allowlisted (their build repositories are per region). Pass --region=REGION, e.g. binauthz policy status --project=${result.project} --region=us-central1`)
  }

  if (result.missing.length > 0) {
    lines.push(`Missing ${result.missing.length}: add with \`binauthz policy allow\` (see --help for --kind/--region).`)
  }

  if (result.image) {
    const v = result.image
    const by = v.rule === 'allowlist' ? `allowlist entry ${v.pattern ?? ''}` : `default rule ${v.evaluationMode ?? ''}`
    lines.push(`Image ${v.image}: ${v.admitted ? 'ADMITTED' : 'BLOCKED'} by the ${by} — ${v.reason}`)
  }

  return lines
}

/** `colour` styles the diff block (the command passes terminal colour; identity by default). */
export function renderChange(result: PolicyChangeResult, colour: (diff: string) => string = d => d): string[] {
  const lines: string[] = []
  if (result.written) {
    if (result.added.length > 0) lines.push(`Added to the policy of ${result.project}:`, ...result.added.map(p => `  + ${p}`))
    if (result.removed.length > 0) lines.push(`Removed from the policy of ${result.project}:`, ...result.removed.map(p => `  - ${p}`))
    lines.push(`Policy etag ${result.etagBefore ?? '(none)'} → ${result.etagAfter ?? '(none)'}`)
    if (result.backupFile) lines.push(`Previous policy saved to ${result.backupFile}. To undo:`, `  ${formatCommand(['binauthz', 'policy', 'restore', '--file', result.backupFile])}`)
  } else if (result.mode === 'dry-run' && result.changed) {
    lines.push('Dry run — this change would be written:', ...colour(result.diff.replace(/\n$/, '')).split('\n'))
  }

  // Nothing to add: the reason is each entry's coverage, shown once (not again in skippedReason's sentence).
  const nothingToAdd = result.action === 'allow' && !result.changed && result.alreadyCovered.length > 0
  if (nothingToAdd) lines.push('Nothing to add:')
  for (const c of result.alreadyCovered) lines.push(`  = ${c.pattern}: ${describeCoverage(c.coveredBy, c.pattern)}`)
  if (result.action === 'revoke') for (const n of result.notFound) lines.push(`  ? ${n}: not an entry of the policy`)
  if (result.skippedReason && !nothingToAdd) lines.push(result.skippedReason)
  return lines
}

export function renderRestore(result: PolicyRestoreResult, colour: (diff: string) => string = d => d): string[] {
  const lines: string[] = []
  if (result.written) {
    lines.push(`Restored the policy of ${result.project} from ${result.file}`, `Policy etag ${result.etagBefore ?? '(none)'} → ${result.etagAfter ?? '(none)'}`)
    if (result.backupFile) lines.push(`The policy as it was before the restore is saved to ${result.backupFile}`)
  } else if (result.mode === 'dry-run' && result.changed) {
    lines.push('Dry run — restoring would write:', ...colour(result.diff.replace(/\n$/, '')).split('\n'))
  }

  if (result.skippedReason) lines.push(result.skippedReason)
  return lines
}
