import type {PolicyChangeResult} from '../../app/policy-allow-revoke.js'

import {withExitCodes} from '../../cli/error-docs.js'
import {
  deadlineFlag, dockerRepositoryFlag, kindsFlag, patternFlag, policyDryRunFlag, projectFlag, quietFlag, regionFlag, yesFlag,
} from '../../cli/flags.js'
import {PolicyChangeCommand} from '../../cli/policy-change-command.js'

export default class PolicyRevoke extends PolicyChangeCommand {
  static override description = withExitCodes('Removes exactly the entries asked for (the build repositories of the chosen deploy paths and regions, a --docker-repository, or explicit --pattern values) from the policy\'s admissionWhitelistPatterns; every other entry and field stays as it is. Same diff, confirmation (--yes without a terminal), backup and etag rules as `binauthz policy allow`. Asked-for patterns that are not entries are reported and left alone.')
  static override examples = [
    '<%= config.bin %> <%= command.id %> --project my-proj --region us-central1 --kind run',
    '<%= config.bin %> <%= command.id %> --pattern us-central1-docker.pkg.dev/my-proj/images/** --yes',
    '<%= config.bin %> <%= command.id %> --region europe-west1 --dry-run --json',
  ]
  static override flags = {
    deadline: deadlineFlag,
    'docker-repository': dockerRepositoryFlag,
    'dry-run': policyDryRunFlag,
    kind: kindsFlag('Deploy path(s) whose entries to remove: run, job, worker-pool, function or all (default: the saved default, else all). job and worker-pool share run\'s entry: removing one removes it for all three.'),
    pattern: patternFlag,
    project: projectFlag,
    quiet: quietFlag,
    region: regionFlag,
    yes: yesFlag,
  }
  static override summary = "Remove this tool's allowlist patterns from the Binary Authorization policy."

  async run(): Promise<PolicyChangeResult> {
    const {flags} = await this.parse(PolicyRevoke)
    this.quiet(flags.quiet, !flags.yes)
    return this.changePolicy('revoke', flags)
  }
}
