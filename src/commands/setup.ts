import * as Flags from '@oclif/core/flags'

import {runSetup, SetupNotReadyError, type SetupResult} from '../app/setup-wizard.js'
import {BinauthzCommand} from '../cli/base-command.js'
import {withExitCodes} from '../cli/error-docs.js'
import {
  dockerRepositoryFlag, kindsFlag, projectFlag, regionFlag, yesFlag,
} from '../cli/flags.js'

export default class Setup extends BinauthzCommand {
  static override description = withExitCodes(`A first-time wizard: checks that gcloud is installed and recent enough and which credentials and account are used; asks for the project, deploy path and region(s) (defaults from gcloud config); checks that the Binary Authorization API is enabled and whether it is enforced; shows which deploy paths are already allowlisted; offers the missing entries as a diff to apply (or prints what a policy admin must add); and saves the answers as defaults so later \`binauthz deploy\` commands need no flags.

Every question has a flag. Without a terminal (or with CI set) the answers come from flags and detected defaults, and writing the policy needs --yes (or --no-apply). Ctrl-C at any prompt changes nothing. When something a deploy needs is still missing it ends "Not ready yet." and exits 6 (SETUP_NOT_READY), with the commands to run on its Next: line (and as the error's suggestions).`)
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --project my-proj --region us-central1 --kind run --yes',
    '<%= config.bin %> <%= command.id %> --project my-proj --region us-central1,europe-west1 --no-apply --json',
  ]
  static override flags = {
    apply: Flags.boolean({
      allowNo: true,
      default: true,
      summary: 'Offer to add the missing allowlist entries (--no-apply: never write, print the admin hand-off).',
    }),
    'docker-repository': dockerRepositoryFlag,
    kind: kindsFlag('Deploy path(s) to prepare: run (gcloud run deploy --source), job (gcloud run jobs deploy --source), worker-pool (gcloud beta run worker-pools deploy --source), function (gcloud functions deploy) or all. job and worker-pool need run\'s cloud-run-source-deploy entry.'),
    project: projectFlag,
    region: regionFlag,
    save: Flags.boolean({
      allowNo: true,
      summary: 'Save project, regions and deploy path as defaults for later commands (--no-save: do not). Asked in a terminal; saved otherwise.',
    }),
    yes: yesFlag,
  }
  static override summary = 'Check everything a Binary Authorization deploy needs, allowlist the build repositories, save defaults.'

  async run(): Promise<SetupResult> {
    const {flags} = await this.parse(Setup)
    const result = await runSetup(
      {
        ...(flags.project === undefined ? {} : {project: flags.project}),
        ...(flags.region === undefined ? {} : {regions: flags.region}),
        ...(flags.kind === undefined ? {} : {kind: flags.kind}),
        ...(flags['docker-repository'] === undefined ? {} : {dockerRepository: flags['docker-repository']}),
        apply: flags.apply,
        ...(flags.save === undefined ? {} : {save: flags.save}),
        yes: flags.yes,
      },
      this.runtime(),
    )
    // "Not ready yet." is not a success: exit 6 (SETUP_NOT_READY), the result still printed under --json.
    if (!result.ready) throw new SetupNotReadyError(result)
    return result
  }
}
