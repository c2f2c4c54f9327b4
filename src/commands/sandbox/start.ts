import * as Flags from '@oclif/core/flags'
import {resolve} from 'node:path'

import {
  defaultStateDir, readPolicyFile, shellEnvFor, startBackground,
} from '../../app/sandbox-control.js'
import {BinauthzCommand} from '../../cli/base-command.js'
import {withExitCodes} from '../../cli/error-docs.js'
import {stateDirFlag} from '../../cli/flags.js'
import {formatCommand} from '../../policy/shell.js'
import {type PolicySeed} from '../../sandbox/index.js'

export interface SandboxStartResult {
  alreadyRunning: boolean
  env: Record<string, string>
  pid: number
  port: number
  project: string
  stateDir: string
  url: string
}

export default class SandboxStart extends BinauthzCommand {
  static override description = withExitCodes(`Starts a loopback HTTP server (127.0.0.1) that stands in for the Google APIs a Binary Authorization deploy
touches: the Binary Authorization policy, Cloud Run, Cloud Functions (2nd gen), Cloud Build, Artifact Registry and
Cloud Storage. The real gcloud deploys against it through a private gcloud configuration (your own gcloud setup is
never read or changed), and deploys with --binary-authorization default are admitted or refused by the stored
policy, as Google would. State (policy.json, services, functions, a request log, fault knobs) lives in --state-dir.
Then point your shell at it with \`eval "$(<%= config.bin %> sandbox env)"\`.`)
  static override examples = [
    '<%= config.bin %> <%= command.id %> --policy block-all',
    '<%= config.bin %> <%= command.id %> --state-dir ./sandbox --port 8765 --policy ./policy.json',
  ]
  static override flags = {
    policy: Flags.string({
      helpValue: 'block-all|allow-all|FILE',
      summary: 'Replace the stored policy: block-all (ALWAYS_DENY), allow-all (ALWAYS_ALLOW), or a JSON policy file.',
    }),
    port: Flags.integer({max: 65_535, min: 1, summary: 'Port on 127.0.0.1 to listen on (default: any free port).'}),
    project: Flags.string({helpValue: 'PROJECT_ID', summary: 'Project ID the sandbox serves (default: sandbox-project, or the one already in the state dir).'}),
    'state-dir': stateDirFlag,
  }
  static override summary = 'Start the local Google Cloud stand-in in the background.'

  async run(): Promise<SandboxStartResult> {
    const {flags} = await this.parse(SandboxStart)
    const stateDir = flags['state-dir'] ?? defaultStateDir(process.env)
    const policy: PolicySeed | undefined
      = flags.policy === undefined || flags.policy === 'block-all' || flags.policy === 'allow-all' ? flags.policy : readPolicyFile(flags.policy)
    const info = await startBackground({
      bin: this.binPath(), policy, port: flags.port, project: flags.project, stateDir,
    })
    const result = {
      alreadyRunning: info.alreadyRunning,
      env: shellEnvFor(stateDir, info.port),
      pid: info.pid,
      port: info.port,
      project: info.project,
      stateDir,
      url: info.url,
    }
    const stateFlag = flags['state-dir'] === undefined ? [] : ['--state-dir', flags['state-dir']]
    this.say(`${info.alreadyRunning ? 'Sandbox already running' : 'Sandbox started'} at ${info.url} (pid ${info.pid}, project ${info.project}).`)
    this.say(`State: ${stateDir}`)
    this.say(`Point gcloud and binauthz at it:  eval "$(${formatCommand([this.config.bin, 'sandbox', 'env', ...stateFlag])})"`)
    this.say(`Stop it:                          ${formatCommand([this.config.bin, 'sandbox', 'stop', ...stateFlag])}`)
    return result
  }

  /** This CLI's own entry point, from package.json "bin" (the same file the user ran, bundled or not). */
  private binPath(): string {
    const {bin} = this.config.pjson as {bin?: Record<string, string> | string}
    const file = typeof bin === 'string' ? bin : bin?.[this.config.bin]
    return resolve(this.config.root, file ?? 'bin/run.js')
  }
}
