// What `policy allow` and `policy revoke` share: their flags become the policy selection, the change goes through
// changePolicy (diff, confirmation, backup, etag-checked write) and its human summary is printed; the returned
// object is the --json output. The commands keep their own flags and help text.
import type {KindChoice} from '../app/targets.js'

import {changePolicy, type PolicyChangeResult} from '../app/policy-allow-revoke.js'
import {BinauthzCommand} from './base-command.js'
import {deadlineFrom} from './flags.js'
import {renderChange} from './policy-presenter.js'

/** The parsed flags both commands have. */
export interface PolicyChangeFlags {
  deadline?: number
  'docker-repository'?: string
  'dry-run': boolean
  kind?: KindChoice
  pattern?: string[]
  project?: string
  region?: string[]
  yes: boolean
}

/** Which patterns the flags select (project, regions, deploy paths, repository, explicit patterns). */
export function policySelection(flags: PolicyChangeFlags) {
  return {
    env: process.env,
    ...(flags.project === undefined ? {} : {project: flags.project}),
    ...(flags.region === undefined ? {} : {regions: flags.region}),
    ...(flags.kind === undefined ? {} : {kind: flags.kind}),
    ...(flags['docker-repository'] === undefined ? {} : {dockerRepository: flags['docker-repository']}),
    ...(flags.pattern === undefined ? {} : {patterns: flags.pattern}),
  }
}

export abstract class PolicyChangeCommand extends BinauthzCommand {
  // Restated from BinauthzCommand: oclif's manifest walks the static prototype chain only through classes that have
  // static properties of their own, so without this the manifest would lose `enableJsonFlag` for allow/revoke.
  static override enableJsonFlag = true

  /** Adds (allow) or removes (revoke) the selected patterns, prints what happened and returns the result. */
  protected async changePolicy(action: 'allow' | 'revoke', flags: PolicyChangeFlags): Promise<PolicyChangeResult> {
    const runtime = this.runtime()
    const result = await changePolicy({
      ...policySelection(flags),
      ...runtime,
      action,
      mode: flags['dry-run'] ? 'dry-run' : 'write',
      yes: flags.yes,
      ...deadlineFrom(flags.deadline, runtime.clock),
    })
    for (const line of renderChange(result, diff => this.coloured(diff))) this.say(line)
    return result
  }
}
