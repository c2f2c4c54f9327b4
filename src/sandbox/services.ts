// Disabled APIs (the `disabledApis` knob): a call to a disabled Google API is answered as Google answers it, 403
// PERMISSION_DENIED with a google.rpc.ErrorInfo of reason SERVICE_DISABLED whose metadata names the service; the
// message is the one gcloud 528 parses (googlecloudsdk/api_lib/util/api_enablement.py API_ENABLEMENT_REGEX: "... has
// not been used in project N before or it is disabled. Enable it by visiting
// https://console.developers.google.com/apis/api/SERVICE/overview?project=N then retry. ...").
// Service Usage's GET of a disabled service is refused (403): the deployer cannot check service state, so gcloud does
// not offer to enable it (api_lib/run/api_enabler.py check_and_enable_apis: GetServicePermissionDeniedException → go
// on) and meets the disabled API itself — the case a user is left with.
import {apiError, type Reply} from './api.js'

/** The route's API label (server.ts ROUTES) → the service name and the title Google gives it. */
const SERVICES: Readonly<Record<string, {service: string; title: string}>> = {
  artifactregistry: {service: 'artifactregistry.googleapis.com', title: 'Artifact Registry API'},
  cloudbuild: {service: 'cloudbuild.googleapis.com', title: 'Cloud Build API'},
  cloudfunctions: {service: 'cloudfunctions.googleapis.com', title: 'Cloud Functions API'},
  iam: {service: 'iam.googleapis.com', title: 'Identity and Access Management (IAM) API'},
  run: {service: 'run.googleapis.com', title: 'Cloud Run Admin API'},
  storage: {service: 'storage.googleapis.com', title: 'Cloud Storage API'},
}

/** The service a route's API label stands for, when it can be disabled. */
export function serviceOfApi(api: string): string | undefined {
  return SERVICES[api]?.service
}

/** Google's answer to a call of a disabled API. */
export function serviceDisabled(api: string, projectNumber: string): Reply | undefined {
  const known = SERVICES[api]
  if (known === undefined) return undefined
  const url = `https://console.developers.google.com/apis/api/${known.service}/overview?project=${projectNumber}`
  return apiError(
    403,
    `${known.title} has not been used in project ${projectNumber} before or it is disabled. Enable it by visiting ${url} then retry. `
    + 'If you enabled this API recently, wait a few minutes for the action to propagate to our systems and retry.',
    'PERMISSION_DENIED',
    {
      details: [{
        '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
        domain: 'googleapis.com',
        metadata: {
          activationUrl: url, consumer: `projects/${projectNumber}`, containerInfo: projectNumber, service: known.service, serviceTitle: known.title,
        },
        reason: 'SERVICE_DISABLED',
      }],
    },
  )
}

/** Service Usage refusing to say whether a (disabled) service is enabled: the caller lacks serviceusage.services.get. */
export function serviceStateHidden(service: string): Reply {
  return apiError(403, `Permission denied to get service [${service}]`, 'PERMISSION_DENIED', {
    details: [{'@type': 'type.googleapis.com/google.rpc.ErrorInfo', domain: 'serviceusage.googleapis.com', reason: 'AUTH_PERMISSION_DENIED'}],
  })
}
