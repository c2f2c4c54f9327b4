import {BinauthzCommand} from '../../cli/base-command.js'
import {UserError} from '../../errors.js'
import {stateDirFlag} from '../../flags.js'
import {defaultStateDir, runningServer} from '../../sandbox/daemon.js'
import {envFor, exportLines} from '../../sandbox/index.js'

export default class SandboxEnv extends BinauthzCommand {
  static override description = `Prints \`export NAME=value\` lines (shell-quoted) for a private gcloud configuration (CLOUDSDK_CONFIG), the
sandbox access token file, the API endpoint overrides, gcloud's proxy settings (Cloud Run's regional hosts only
resolve through it) and NO_PROXY for the loopback address. Evaluate them in your shell; --json prints the same
variables as an object.`
  static override examples = ['eval "$(<%= config.bin %> <%= command.id %>)"', '<%= config.bin %> <%= command.id %> --json']
  static override flags = {
    'state-dir': stateDirFlag,
  }
  static override summary = 'Print the environment that points gcloud and binauthz at the running sandbox.'

  async run(): Promise<Record<string, string>> {
    const {flags} = await this.parse(SandboxEnv)
    const stateDir = flags['state-dir'] ?? defaultStateDir(process.env)
    const info = await runningServer(stateDir)
    if (!info) {
      throw new UserError(`No sandbox is running for ${stateDir}.`, {
        code: 'SANDBOX_NOT_RUNNING',
        suggestions: [`Start one: ${this.config.bin} sandbox start${flags['state-dir'] === undefined ? '' : ` --state-dir ${flags['state-dir']}`}`],
      })
    }

    const env = envFor(stateDir, info.port)
    this.say(exportLines(env))
    return env
  }
}
