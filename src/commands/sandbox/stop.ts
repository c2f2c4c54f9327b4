import {defaultStateDir, stopBackground} from '../../app/sandbox-control.js'
import {BinauthzCommand} from '../../cli/base-command.js'
import {withExitCodes} from '../../cli/error-docs.js'
import {stateDirFlag} from '../../cli/flags.js'

export interface SandboxStopResult {
  pid?: number
  stateDir: string
  stopped: boolean
}

export default class SandboxStop extends BinauthzCommand {
  static override description = withExitCodes('Stops the sandbox server started by `sandbox start` for the state directory. The state (policy, services, request log) is kept; delete the directory to start from scratch.')
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --state-dir ./sandbox']
  static override flags = {
    'state-dir': stateDirFlag,
  }
  static override summary = 'Stop the background sandbox.'

  async run(): Promise<SandboxStopResult> {
    const {flags} = await this.parse(SandboxStop)
    const stateDir = flags['state-dir'] ?? defaultStateDir(process.env)
    const result = await stopBackground(stateDir)
    this.say(result.stopped ? `Sandbox stopped (pid ${result.pid}).` : `No sandbox was running for ${stateDir}.`)
    return {stateDir, ...result}
  }
}
