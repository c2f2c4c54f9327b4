import * as Flags from '@oclif/core/flags'

import {policyStatus, type PolicyStatusResult} from '../../app/policy-status.js'
import {BinauthzCommand} from '../../cli/base-command.js'
import {withExitCodes} from '../../cli/error-docs.js'
import {
  deadlineFrom, dockerRepositoryFlag, kindsFlag, projectFlag, quietFlag, readDeadlineFlag, regionFlag,
} from '../../cli/flags.js'
import {renderStatus} from '../../cli/policy-presenter.js'

export default class PolicyStatus extends BinauthzCommand {
  static override description = withExitCodes('Reads the project\'s Binary Authorization policy once (read-only) and reports, for each region and deploy path (Cloud Run services, functions, jobs and worker pools → cloud-run-source-deploy, Cloud Functions 2nd gen → gcf-artifacts, and a custom --docker-repository), whether the required allowlist pattern is present or covered by a broader entry or an ALWAYS_ALLOW default rule. With --image it tells which rule admits or blocks that image, and why.')
  static override examples = [
    '<%= config.bin %> <%= command.id %> --project my-proj --region us-central1',
    '<%= config.bin %> <%= command.id %> --region us-central1,europe-west1 --kind run',
    '<%= config.bin %> <%= command.id %> --image us-central1-docker.pkg.dev/my-proj/cloud-run-source-deploy/svc@sha256:0123…',
    '<%= config.bin %> <%= command.id %> --json',
  ]
  static override flags = {
    deadline: readDeadlineFlag,
    'docker-repository': dockerRepositoryFlag,
    image: Flags.string({
      helpValue: 'IMAGE',
      summary: 'Also tell whether this image would be admitted, and by which rule.',
    }),
    kind: kindsFlag('Deploy path(s) to check: run, job, worker-pool, function or all (default: the saved default, else all). job and worker-pool use run\'s cloud-run-source-deploy entry.'),
    project: projectFlag,
    quiet: quietFlag,
    region: regionFlag,
  }
  static override summary = "Show which of this tool's allowlist patterns the policy has, per region and deploy path."

  async run(): Promise<PolicyStatusResult> {
    const {flags} = await this.parse(PolicyStatus)
    this.quiet(flags.quiet)
    const runtime = this.runtime()
    const result = await policyStatus({
      ...runtime,
      ...(flags.project === undefined ? {} : {project: flags.project}),
      ...(flags.region === undefined ? {} : {regions: flags.region}),
      ...(flags.kind === undefined ? {} : {kind: flags.kind}),
      ...(flags['docker-repository'] === undefined ? {} : {dockerRepository: flags['docker-repository']}),
      ...(flags.image === undefined ? {} : {image: flags.image}),
      ...deadlineFrom(flags.deadline, runtime.clock),
    })
    for (const line of renderStatus(result)) this.say(line)
    return result
  }
}
