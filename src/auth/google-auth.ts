// THE one google-auth-library import, lazy (its vendor chunk costs ~60 ms to load): only for what binauthz does not
// exchange itself — external_account and other credential files, keys that sign their own JWTs — and the metadata server.
import {ExternalError, type Secrets, UserError} from '../errors.js'
import {serverText} from '../policy/display.js'
import {validateToken} from './access-token.js'
import {CLOUD_PLATFORM_SCOPE} from './credential-types.js'

function libraryFailure(error: unknown, detail: string, secrets: Secrets): Error {
  const text = serverText(error instanceof Error ? error.message : String(error), t => secrets.redact(t))
  const suggestions = [
    'Fix or replace the credential (gcloud itself would fail the same way)',
    'Or unset auth/credential_file_override (CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE) to use the active gcloud account',
  ]
  if (/invalid_grant|invalid_rapt|reauth|expired|revoked|invalid_client|unauthorized_client|Unable to read|ENOENT|JSON|private key/i.test(text)) {
    return new UserError(`${detail} could not produce an access token: ${text}`, {
      code: 'CREDENTIAL_REJECTED',
      suggestions,
    })
  }

  return new ExternalError(`${detail} could not produce an access token: ${text}`, {
    code: 'CREDENTIAL_FAILED',
    suggestions,
  })
}

/**
 * google-auth-library, loaded with its logging off. google-logging-utils (used by google-auth-library, gaxios and
 * gcp-metadata) turns on when GOOGLE_SDK_NODE_LOGGING is set and then logs requests and answers — the metadata
 * server's token among them. Each of those modules creates its logger once, when it is loaded
 * (logging-utils.js `log()` reads the variable then), so the variable is hidden from the process for the import only.
 */
async function importQuietly(): Promise<typeof import('google-auth-library')> {
  const logging = process.env.GOOGLE_SDK_NODE_LOGGING
  delete process.env.GOOGLE_SDK_NODE_LOGGING
  try {
    return await import('google-auth-library')
  } finally {
    if (logging !== undefined) process.env.GOOGLE_SDK_NODE_LOGGING = logging
  }
}

type LibraryTarget = {file: string; kind: 'file';} | {kind: 'metadata'}

/** How a library token is fetched: for whom (messages), whether a metadata server is likely, and the run's secrets. */
interface LibraryContext {
  detail: string
  metadataLikely: boolean
  projectId: string | undefined
  secrets: Secrets
}

export async function libraryToken(target: LibraryTarget, {detail, metadataLikely, projectId, secrets}: LibraryContext): Promise<string> {
  // Without cheap evidence of a metadata server, keep google-auth-library from probing it (a slow network timeout).
  const previous = process.env.METADATA_SERVER_DETECTION
  const guard = !metadataLikely && previous === undefined
  if (guard) process.env.METADATA_SERVER_DETECTION = 'none'
  try {
    const lib = await importQuietly()
    let token: null | string | undefined
    if (target.kind === 'file') {
      const auth = new lib.GoogleAuth({keyFilename: target.file, scopes: [CLOUD_PLATFORM_SCOPE], ...(projectId ? {projectId} : {})})
      token = await auth.getAccessToken()
    } else {
      const compute = new lib.Compute({scopes: [CLOUD_PLATFORM_SCOPE]})
      token = (await compute.getAccessToken()).token
    }

    if (!token) throw new Error('no access token was returned')
    return validateToken(token, detail, secrets)
  } catch (error: unknown) {
    if (error instanceof UserError) throw error
    throw libraryFailure(error, detail, secrets)
  } finally {
    if (guard && process.env.METADATA_SERVER_DETECTION === 'none') delete process.env.METADATA_SERVER_DETECTION
  }
}
