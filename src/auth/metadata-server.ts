// Whether a Google metadata server is likely reachable, decided cheaply (no network): store.py GceCredentialProvider's
// fallback when there is no account, and whether google-auth-library may probe it.
import {readRegularFileText} from '../store/regular-file.js'

const DMI_PRODUCT_NAME_FILE = '/sys/class/dmi/id/product_name'

/** Cheap evidence that a Google metadata server is reachable (GCE, Cloud Run, Cloud Build, GKE ...). */
export function metadataServerLikely(env: NodeJS.ProcessEnv, dmiProductNameFile = DMI_PRODUCT_NAME_FILE): boolean {
  const detection = env.METADATA_SERVER_DETECTION?.trim().toLowerCase()
  if (detection === 'none') return false
  if (detection === 'assume-present') return true
  if (env.GCE_METADATA_HOST || env.GCE_METADATA_IP) return true
  // Serverless runtimes (Cloud Run services/jobs, Cloud Functions) document these variables.
  if (env.K_SERVICE || env.K_CONFIGURATION || env.CLOUD_RUN_JOB || env.FUNCTION_TARGET) return true
  try {
    const product = readRegularFileText(dmiProductNameFile, {maxBytes: 4096, what: 'DMI product name'})
    return product !== undefined && /Google/.test(product)
  } catch {
    return false // not a regular file (sysfs always is): no evidence
  }
}
