import * as Flags from '@oclif/core/flags'

import {
  defaultStateDir, type EnvUndo, envUndo, runningServer, shellEnvFor, undoLines,
} from '../../app/sandbox-control.js'
import {BinauthzCommand} from '../../cli/base-command.js'
import {withExitCodes} from '../../cli/error-docs.js'
import {stateDirFlag} from '../../cli/flags.js'
import {UserError} from '../../errors.js'
import {formatCommand} from '../../policy/shell.js'
import {exportLines} from '../../sandbox/index.js'

export default class SandboxEnv extends BinauthzCommand {
  static override description = withExitCodes(`Prints \`export NAME=value\` lines (shell-quoted) for a private gcloud configuration (CLOUDSDK_CONFIG), the
sandbox access token file, the API endpoint overrides, gcloud's proxy settings (Cloud Run's regional hosts only
resolve through it), NO_PROXY for the loopback address, no_grpc_proxy (empty) and the sandbox CA
(CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE) for gcloud's gRPC calls to Cloud Run v2 (worker pools), and BINAUTHZ_SANDBOX_DIR. Evaluate them in your shell;
--json prints them as the object "env" (as sandbox start --json does). --unset prints the lines that undo them (NO_PROXY keeps its other
entries), and works whether or not the sandbox runs.`)
  static override examples = [
    'eval "$(<%= config.bin %> <%= command.id %>)"',
    '<%= config.bin %> <%= command.id %> --json',
    'eval "$(<%= config.bin %> <%= command.id %> --unset)"',
  ]
  static override flags = {
    'state-dir': stateDirFlag,
    unset: Flags.boolean({default: false, summary: 'Print the lines that undo `sandbox env` (unset the variables it sets).'}),
  }
  static override summary = 'Print the environment that points gcloud and binauthz at the running sandbox.'

  async run(): Promise<EnvUndo | {env: Record<string, string>}> {
    const {flags} = await this.parse(SandboxEnv)
    if (flags.unset) {
      const undo = envUndo(process.env)
      this.say(undoLines(undo))
      return undo
    }

    const stateDir = flags['state-dir'] ?? defaultStateDir(process.env)
    const info = await runningServer(stateDir)
    if (!info) {
      throw new UserError(`No sandbox is running for ${stateDir}.`, {
        code: 'SANDBOX_NOT_RUNNING',
        suggestions: [`Start one: ${formatCommand([this.config.bin, 'sandbox', 'start', ...(flags['state-dir'] === undefined ? [] : ['--state-dir', flags['state-dir']])])}`],
      })
    }

    const env = shellEnvFor(stateDir, info.port)
    this.say(exportLines(env))
    return {env}
  }
}
