import * as Flags from '@oclif/core/flags'

import {type PolicyChangeResult, terraformForAllow, type TerraformResult} from '../../app/policy-allow-revoke.js'
import {withExitCodes} from '../../cli/error-docs.js'
import {
  deadlineFlag, dockerRepositoryFlag, kindsFlag, patternFlag, policyDryRunFlag, projectFlag, quietFlag, regionFlag, yesFlag,
} from '../../cli/flags.js'
import {PolicyChangeCommand, policySelection} from '../../cli/policy-change-command.js'

export default class PolicyAllow extends PolicyChangeCommand {
  static override description = withExitCodes('Adds the build repositories of the chosen deploy paths and regions (or explicit --pattern values) to the project policy\'s admissionWhitelistPatterns. Reads the policy, shows the diff, asks for confirmation (--yes without a terminal), saves a backup of the previous policy, and writes with the etag it read (re-reading on a concurrent change). Nothing is written when a broader entry or an ALWAYS_ALLOW default rule already covers a pattern. Teams that manage the policy in Terraform use --print terraform to get the block to add instead.')
  static override examples = [
    '<%= config.bin %> <%= command.id %> --project my-proj --region us-central1',
    '<%= config.bin %> <%= command.id %> --kind function --region us-central1,europe-west1 --yes',
    '<%= config.bin %> <%= command.id %> --docker-repository us-central1-docker.pkg.dev/my-proj/builds --dry-run',
    '<%= config.bin %> <%= command.id %> --pattern us-central1-docker.pkg.dev/my-proj/images/** --yes --json',
    '<%= config.bin %> <%= command.id %> --region us-central1 --print terraform',
  ]
  static override flags = {
    deadline: deadlineFlag,
    'docker-repository': dockerRepositoryFlag,
    'dry-run': policyDryRunFlag,
    kind: kindsFlag('Deploy path(s): run, job, worker-pool, function or all (default: the saved default, else all). job and worker-pool use run\'s cloud-run-source-deploy entry.'),
    pattern: patternFlag,
    print: Flags.option({
      exclusive: ['yes', 'dry-run'],
      options: ['terraform'] as const,
      summary: 'Print the Terraform admission_whitelist_patterns block to add instead of changing the policy.',
    })(),
    project: projectFlag,
    quiet: quietFlag,
    region: regionFlag,
    yes: yesFlag,
  }
  static override summary = "Add this tool's allowlist patterns to the Binary Authorization policy."

  async run(): Promise<PolicyChangeResult | TerraformResult> {
    const {flags} = await this.parse(PolicyAllow)
    this.quiet(flags.quiet, !flags.yes)
    if (flags.print === 'terraform') {
      const result = terraformForAllow(policySelection(flags))
      this.data(result.terraform.replace(/\n$/, ''))
      return result
    }

    return this.changePolicy('allow', flags)
  }
}
