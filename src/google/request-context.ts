// What every request binauthz sends itself carries (the policy client, the token grants, IAM Credentials, the Cloud
// Run and Cloud Functions readers): the command builds it once, as part of the run's Runtime (src/app/ports.ts), and
// every option type down to the adapters extends this one instead of repeating its fields.

import type {Secrets} from '../errors.js'

export interface RequestContext {
  /**
   * The run's secrets: every token the run obtains or sends (and the key material it reads) is registered there, and
   * whatever the run prints or quotes of a server's answer is redacted with them.
   */
  secrets: Secrets
  /** The run's interrupt (SIGINT / SIGTERM): an abort stops every request in flight and every wait between them. */
  signal?: AbortSignal
  /** The run's User-Agent (user-agent.ts userAgentOf: `binauthz-deploy/<version> node/<version>`). */
  userAgent: string
}
