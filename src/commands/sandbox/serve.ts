import * as Flags from '@oclif/core/flags'

import {defaultStateDir} from '../../app/sandbox-control.js'
import {BinauthzCommand} from '../../cli/base-command.js'
import {withExitCodes} from '../../cli/error-docs.js'
import {stateDirFlag} from '../../cli/flags.js'
import {startSandbox} from '../../sandbox/index.js'

/**
 * The background server itself: `sandbox start` runs `node <bin> sandbox serve --state-dir DIR [--port N]` detached,
 * with its output going to DIR/server.log, and waits until server.json names it and it answers. Serves until
 * SIGTERM or SIGINT, then closes the server and returns (the process ends once nothing is left to run).
 */
export default class SandboxServe extends BinauthzCommand {
  static override description = withExitCodes('Runs the sandbox server in the foreground until SIGTERM or SIGINT. `sandbox start` runs this in the background; run it yourself to watch the server log in a terminal.')
  static override examples = ['<%= config.bin %> <%= command.id %> --state-dir ./sandbox --port 8765']
  static override flags = {
    port: Flags.integer({max: 65_535, min: 0, summary: 'Port on 127.0.0.1 to listen on (0 or absent: any free port).'}),
    'state-dir': stateDirFlag,
  }
  static override hidden = true
  static override summary = 'Serve the sandbox in the foreground (started by `sandbox start`).'

  async run(): Promise<{port: number; stateDir: string; url: string}> {
    const {flags} = await this.parse(SandboxServe)
    const sandbox = await startSandbox({port: flags.port ?? 0, stateDir: flags['state-dir'] ?? defaultStateDir(process.env)})
    this.say(`${new Date().toISOString()} sandbox listening on ${sandbox.url} (pid ${process.pid})`)
    const signal = await new Promise<NodeJS.Signals>(resolve => {
      process.once('SIGTERM', () => resolve('SIGTERM'))
      process.once('SIGINT', () => resolve('SIGINT'))
    })
    await sandbox.stop()
    this.say(`${new Date().toISOString()} sandbox stopped (${signal})`)
    return {port: sandbox.port, stateDir: sandbox.stateDir, url: sandbox.url}
  }
}
