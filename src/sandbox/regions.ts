// The regions Cloud Run serves, and Google's answer for one it does not serve.
//
// Source: https://cloud.google.com/run/docs/locations ("Cloud Run locations", Tier 1 and Tier 2 pricing tables),
// cross-checked with https://cloud.google.com/functions/docs/locations (2nd gen functions run on Cloud Run, so a
// region without Cloud Run has no functions either). Update this list when Google adds a region.
//
// The refusal is the one Cloud Run's API returns for a region it does not serve, as reported by its users
// (turbot/steampipe-plugin-gcp#696): HTTP 400 INVALID_ARGUMENT, message `region: Unsupported region R`, with a
// google.rpc.BadRequest field violation on `region`. gcloud 528 prints it through
// googlecloudsdk/api_lib/util/exceptions.py HttpException (status, message, then the details as YAML), seen as
// `ERROR: (gcloud.run.deploy) INVALID_ARGUMENT: region: Unsupported region mars-north1` followed by the fieldViolations;
// `gcloud functions deploy` prints the same body through api_lib/functions/v1/util.py GetHttpErrorMessage as
// `ResponseError: status=[400], ..., message=[location: Unsupported region R\nProblems:\nlocation:\n...]`.
import {apiError, type Reply} from './api.js'

/** Tier 1 pricing regions. */
const TIER_1 = [
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
] as const

/** Tier 2 pricing regions. */
const TIER_2 = [
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
] as const

/** Every region Cloud Run serves, sorted. */
export const CLOUD_RUN_REGIONS: readonly string[] = [...TIER_1, ...TIER_2].sort()

const SERVED = new Set(CLOUD_RUN_REGIONS)

export function isCloudRunRegion(region: string): boolean {
  return SERVED.has(region)
}

/** Google's 400 for a region Cloud Run does not serve; undefined when it serves it. */
export function unsupportedRegion(region: string, field = 'region'): Reply | undefined {
  if (isCloudRunRegion(region)) return undefined
  const description = `Unsupported region ${region}`
  return apiError(400, `${field}: ${description}`, 'INVALID_ARGUMENT', {
    details: [{'@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{description, field}]}],
  })
}
