import {exportPolicy, type PolicyExportResult} from '../../app/policy-export.js'
import {BinauthzCommand} from '../../cli/base-command.js'
import {withExitCodes} from '../../cli/error-docs.js'
import {
  deadlineFrom, projectFlag, quietFlag, readDeadlineFlag,
} from '../../cli/flags.js'

export default class PolicyExport extends BinauthzCommand {
  static override description = withExitCodes('Prints the project\'s policy exactly as `gcloud container binauthz policy export` would, so it can be reviewed or kept in version control. Only the YAML goes to stdout. With --json the result object carries the YAML, the etag and the policy itself.')
  static override examples = [
    '<%= config.bin %> <%= command.id %> --project my-proj',
    '<%= config.bin %> <%= command.id %> > policy.yaml',
  ]
  static override flags = {
    deadline: readDeadlineFlag,
    project: projectFlag,
    quiet: quietFlag,
  }
  static override summary = 'Print the Binary Authorization policy as YAML, in the format gcloud uses.'

  async run(): Promise<PolicyExportResult> {
    const {flags} = await this.parse(PolicyExport)
    this.quiet(flags.quiet)
    const runtime = this.runtime()
    const result = await exportPolicy({
      ...runtime,
      ...(flags.project === undefined ? {} : {project: flags.project}),
      ...deadlineFrom(flags.deadline, runtime.clock),
    })
    this.data(result.yaml.replace(/\n$/, ''))
    return result
  }
}
