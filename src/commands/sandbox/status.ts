import {defaultStateDir, type SandboxStatus, sandboxStatus} from '../../app/sandbox-control.js'
import {BinauthzCommand} from '../../cli/base-command.js'
import {withExitCodes} from '../../cli/error-docs.js'
import {stateDirFlag} from '../../cli/flags.js'

export default class SandboxStatusCommand extends BinauthzCommand {
  static override description = withExitCodes('Prints the sandbox address, its project, the stored policy (allowlist patterns and default rule), the deployed services, jobs, worker pools and functions — each ready, or FAILED with the reason gcloud printed (e.g. a Binary Authorization denial) — and how many requests it has served.')
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']
  static override flags = {
    'state-dir': stateDirFlag,
  }
  static override summary = 'Show whether the sandbox runs, and what it holds.'

  async run(): Promise<SandboxStatus> {
    const {flags} = await this.parse(SandboxStatusCommand)
    const status = await sandboxStatus(flags['state-dir'] ?? defaultStateDir(process.env))
    this.say(status.running ? `Sandbox running at ${status.url} (pid ${status.pid}).` : 'Sandbox not running.')
    this.say(`State dir:  ${status.stateDir}`)
    this.say(`Project:    ${status.project}`)
    this.say(`Policy:     default rule ${status.policy.defaultRule ?? '(none)'}; ${status.policy.patterns.length} allowlist pattern(s)`)
    for (const pattern of status.policy.patterns) this.say(`              ${pattern}`)
    const headings = {
      function: 'Functions: ', job: 'Jobs:      ', service: 'Services:  ', 'worker-pool': 'Worker pools:',
    } as const
    for (const kind of ['service', 'job', 'worker-pool', 'function'] as const) {
      const entries = status.inventory.filter(entry => entry.kind === kind)
      // Worker pools only when there are some (most sandboxes hold none).
      if (entries.length === 0 && kind === 'worker-pool') continue
      this.say(`${headings[kind]} ${entries.length === 0 ? '(none)' : ''}`.trimEnd())
      for (const entry of entries) {
        this.say(`  ${entry.ready ? 'ready ' : 'FAILED'}  ${entry.region}/${entry.name}${entry.ready ? '' : `: ${entry.message ?? 'not ready'}`}`)
      }
    }

    this.say(`Requests:   ${status.requests}`)
    return status
  }
}
