import {Flags} from '@oclif/core'

import {BinauthzCommand} from '../../cli/base-command.js'
import {
  deadlineFlag, dockerRepositoryFlag, kindsFlag, projectFlag, regionFlag, yesFlag,
} from '../../flags.js'
import {changePolicy, type PolicyChangeResult} from '../../setup/policy-ops.js'
import {renderChange} from '../../setup/render.js'

export default class PolicyRevoke extends BinauthzCommand {
  static override description = 'Removes exactly the entries asked for (the build repositories of the chosen deploy paths and regions, a --docker-repository, or explicit --pattern values) from the policy\'s admissionWhitelistPatterns; every other entry and field stays as it is. Same diff, confirmation (--yes without a terminal), backup and etag rules as `binauthz policy allow`. Asked-for patterns that are not entries are reported and left alone.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> --project my-proj --region us-central1 --kind run',
    '<%= config.bin %> <%= command.id %> --pattern us-central1-docker.pkg.dev/my-proj/images/** --yes',
    '<%= config.bin %> <%= command.id %> --region europe-west1 --dry-run --json',
  ]
  static override flags = {
    deadline: deadlineFlag,
    'docker-repository': dockerRepositoryFlag,
    'dry-run': Flags.boolean({default: false, summary: 'Show the policy diff and change nothing.'}),
    kind: kindsFlag('Deploy path(s) whose entries to remove: run, function or all (default: the saved default, else all).'),
    pattern: Flags.string({
      helpValue: 'PATTERN',
      multiple: true,
      summary: 'An explicit allowlist pattern (repeatable), e.g. us-central1-docker.pkg.dev/my-proj/repo/**.',
    }),
    project: projectFlag,
    region: regionFlag,
    yes: yesFlag,
  }
  static override summary = "Remove this tool's allowlist patterns from the Binary Authorization policy."

  async run(): Promise<PolicyChangeResult> {
    const {flags} = await this.parse(PolicyRevoke)
    const selection = {
      env: process.env,
      ...(flags.project === undefined ? {} : {project: flags.project}),
      ...(flags.region === undefined ? {} : {regions: flags.region}),
      ...(flags.kind === undefined ? {} : {kind: flags.kind}),
      ...(flags['docker-repository'] === undefined ? {} : {dockerRepository: flags['docker-repository']}),
      ...(flags.pattern === undefined ? {} : {patterns: flags.pattern}),
    }
    const result = await changePolicy({
      ...selection,
      action: 'revoke',
      io: this.jsonEnabled() ? {interactive: false} : {},
      mode: flags['dry-run'] ? 'dry-run' : 'write',
      ui: this.ui(),
      yes: flags.yes,
      ...(flags.deadline === undefined ? {} : {deadline: Date.now() + (flags.deadline * 1000)}),
    })
    for (const line of renderChange(result)) this.say(line)
    return result
  }
}
