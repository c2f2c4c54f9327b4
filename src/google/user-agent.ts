// The User-Agent of every request binauthz sends itself (policy client, token grants, IAM Credentials, the Cloud Run
// and Cloud Functions readers). The command builds it once from what oclif already read of package.json
// (this.config.name / version) and passes it down on the run's Runtime: nothing here reads a file.

/** `binauthz-deploy/<version> node/<version>`: the product token, then the runtime's. */
export function userAgentOf(product: {name: string; version: string}): string {
  return `${product.name}/${product.version} node/${process.version}`
}
