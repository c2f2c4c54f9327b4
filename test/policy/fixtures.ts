// Values the policy tests share: an Artifact Registry host, a repository in it, and a digest.

export const H = 'us-central1-docker.pkg.dev'
export const REPO = `${H}/my-project/cloud-run-source-deploy`
export const DIGEST = `sha256:${'ab'.repeat(32)}`
