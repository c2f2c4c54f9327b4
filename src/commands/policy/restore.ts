import * as Flags from '@oclif/core/flags'

import {
  type BackupListResult, listBackups, type PolicyRestoreResult, restorePolicy,
} from '../../app/policy-restore.js'
import {BinauthzCommand} from '../../cli/base-command.js'
import {withExitCodes} from '../../cli/error-docs.js'
import {
  deadlineFlag, deadlineFrom, policyDryRunFlag, projectFlag, quietFlag, yesFlag,
} from '../../cli/flags.js'
import {renderRestore} from '../../cli/policy-presenter.js'

export default class PolicyRestore extends BinauthzCommand {
  static override description = withExitCodes('binauthz saves the previous policy (under BINAUTHZ_DATA_DIR, named with project and etag) before every policy write. This command writes such a backup\'s content back, with the etag of the CURRENT policy, after showing the diff against the current policy and asking for confirmation (--yes without a terminal). If someone changes the policy in between, the write is refused by its etag and re-planned. A backup of another project is refused. The policy as it was before the restore is itself backed up, so a restore can be undone.')
  static override examples = [
    '<%= config.bin %> <%= command.id %> --list',
    '<%= config.bin %> <%= command.id %> --latest',
    '<%= config.bin %> <%= command.id %> --file ~/.local/share/binauthz/backups/my-proj/….json --yes',
    '<%= config.bin %> <%= command.id %> --latest --dry-run --json',
  ]
  static override flags = {
    deadline: deadlineFlag,
    'dry-run': policyDryRunFlag,
    file: Flags.string({
      exclusive: ['latest'],
      helpValue: 'FILE',
      summary: 'The backup file to restore.',
    }),
    latest: Flags.boolean({
      default: false,
      exclusive: ['file'],
      summary: "Restore the newest backup of the project's policy.",
    }),
    list: Flags.boolean({
      default: false,
      exclusive: ['file', 'latest', 'yes', 'dry-run'],
      summary: "List the saved backups of the project's policy (newest first) and change nothing.",
    }),
    project: projectFlag,
    quiet: quietFlag,
    yes: yesFlag,
  }
  static override summary = 'Put back a policy saved before one of our writes.'

  async run(): Promise<BackupListResult | PolicyRestoreResult> {
    const {flags} = await this.parse(PolicyRestore)
    this.quiet(flags.quiet, !flags.yes)
    if (flags.list) {
      const listed = await listBackups({env: process.env, ...(flags.project === undefined ? {} : {project: flags.project})})
      if (listed.backups.length === 0) this.data(`No backups of the policy of ${listed.project}.`)
      for (const b of listed.backups) this.data(`${b.savedAt}  ${b.etag ?? '(no etag)'}  ${b.file}`)
      return listed
    }

    const runtime = this.runtime()
    const result = await restorePolicy({
      ...runtime,
      ...(flags.project === undefined ? {} : {project: flags.project}),
      ...(flags.file === undefined ? {} : {file: flags.file}),
      latest: flags.latest,
      mode: flags['dry-run'] ? 'dry-run' : 'write',
      yes: flags.yes,
      ...deadlineFrom(flags.deadline, runtime.clock),
    })
    for (const line of renderRestore(result, diff => this.coloured(diff))) this.say(line)
    return result
  }
}
