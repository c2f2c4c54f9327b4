// The regions a deploy may name: the ones Cloud Run and Cloud Functions serve, so a misspelt region (us-centrall1)
// stops before anything is written instead of ending up in the policy. Pure: no I/O.
//
// Source: Google's documented locations, https://cloud.google.com/run/docs/locations ("Cloud Run locations", the
// Tier 1 and Tier 2 tables) and https://cloud.google.com/functions/docs/locations ("Cloud Functions locations", 1st and
// 2nd gen; every 2nd gen region is a Cloud Run region). A region Google adds after this table is used through
// BINAUTHZ_EXTRA_REGIONS (see README "Regions"). The sandbox keeps its own, independent table (src/sandbox/regions.ts).

import {UserError} from '../errors.js'
import {displayValue} from './names.js'

/** Cloud Run's regions (Tier 1 then Tier 2 pricing), which include every Cloud Functions region. */
export const SERVED_REGIONS: readonly string[] = [
  // Tier 1
  'asia-east1',
  'asia-northeast1',
  'asia-northeast2',
  'europe-north1',
  'europe-north2',
  'europe-southwest1',
  'europe-west1',
  'europe-west4',
  'europe-west8',
  'europe-west9',
  'me-west1',
  'us-central1',
  'us-east1',
  'us-east4',
  'us-east5',
  'us-south1',
  'us-west1',
  // Tier 2
  'africa-south1',
  'asia-east2',
  'asia-northeast3',
  'asia-south1',
  'asia-south2',
  'asia-southeast1',
  'asia-southeast2',
  'australia-southeast1',
  'australia-southeast2',
  'europe-central2',
  'europe-west10',
  'europe-west12',
  'europe-west2',
  'europe-west3',
  'europe-west6',
  'me-central1',
  'me-central2',
  'northamerica-northeast1',
  'northamerica-northeast2',
  'northamerica-south1',
  'southamerica-east1',
  'southamerica-west1',
  'us-west2',
  'us-west3',
  'us-west4',
]

/** The environment variable that names regions newer than the table (comma list of exact region names). */
export const EXTRA_REGIONS_ENV = 'BINAUTHZ_EXTRA_REGIONS'

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions): "us-cnetral1" is 1 from us-central1. */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({length: a.length + 1}, (_, i) => Array.from({length: b.length + 1}, (_unused, j) => (i === 0 ? j : (j === 0 ? i : 0))))
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      const row = rows[i] as number[]
      const above = rows[i - 1] as number[]
      let best = Math.min((above[j] as number) + 1, (row[j - 1] as number) + 1, (above[j - 1] as number) + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, ((rows[i - 2] as number[])[j - 2] as number) + 1)
      row[j] = best
    }
  }

  return (rows[a.length] as number[])[b.length] as number
}

/** The served regions closest to `region` (at most 2 edits away, nearest first, ties alphabetical). */
export function nearestRegions(region: string, extra: readonly string[] = []): string[] {
  const scored = [...new Set([...extra, ...SERVED_REGIONS])]
  .map(candidate => ({candidate, distance: editDistance(region, candidate)}))
  .filter(s => s.distance > 0 && s.distance <= 2)
  .sort((x, y) => x.distance - y.distance || x.candidate.localeCompare(y.candidate))
  const best = scored[0]?.distance
  return scored.filter(s => s.distance === best).map(s => s.candidate)
}

/**
 * Checks that a syntactically valid region is one Cloud Run / Cloud Functions serves, or one the user named in
 * BINAUTHZ_EXTRA_REGIONS (`extra`). Returns it unchanged; throws UserError REGION_UNLISTED with "did you mean".
 */
export function assertServedRegion(region: string, source: string, extra: readonly string[] = []): string {
  if (SERVED_REGIONS.includes(region) || extra.includes(region)) return region
  const near = nearestRegions(region, extra)
  const flagLike = /^--?[a-z][\w-]*$/.test(source) || /^[A-Z_][A-Z0-9_]*$/.test(source)
  const suggestions = near.map(n => (flagLike ? `Did you mean ${displayValue(n)}? Pass ${source}=${n}.` : `Did you mean ${displayValue(n)}?`))
  suggestions.push(
    "List the regions Cloud Run serves with: gcloud run regions list --format='value(locationId)'",
    `If ${region} is a region Google added after this binauthz release, allow it explicitly: ${EXTRA_REGIONS_ENV}=${region}`,
  )
  throw new UserError(`Unknown region ${displayValue(region)} from ${source}: Cloud Run and Cloud Functions do not serve it${near.length > 0 ? ` (did you mean ${near.join(' or ')}?)` : ''}. Nothing was changed.`, {
    code: 'REGION_UNLISTED',
    suggestions,
  })
}
