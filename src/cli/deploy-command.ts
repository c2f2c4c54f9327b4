// What `deploy run`, `deploy job`, `deploy worker-pool` and `deploy function` share: split off the gcloud passthrough,
// parse our own flags strictly, pick the progress renderer, call the pipeline, hand its events and result to the
// presenter (src/cli/deploy-presenter.ts; the returned object is the --json output).
import * as Args from '@oclif/core/args'

import type {StepReporter} from '../app/progress.js'
import type {DeployKind} from '../policy/repository.js'

import {type DeployResult, runDeploy} from '../app/deploy.js'
import {BinauthzCommand} from './base-command.js'
import {deployReport, deploySummary} from './deploy-presenter.js'
import {deployFlags} from './flags.js'
import {
  chooseRenderer, isCiValue, listrReporter, plainReporter, silentReporter,
} from './renderer.js'

/** The end of both deploy commands' help: the --json result and the exit codes (the contract run() keeps). */
export const DEPLOY_OUTPUT_HELP = `With --json, stdout holds only the result object (schemas/deploy-run.schema.json, deploy-function.schema.json) — {schemaVersion, command, name, project, projectSource, regions, regionSource, patterns: {required, added, alreadyCovered: [{pattern, by, coveredBy}]}, image?, policy: {etagBefore, etagAfter, written, backupFile, diff}, deploys: [{region, argv, exitCode, url?, denial?}], dryRun, durationMs} (plus an "error" object when it fails) — and progress and gcloud's own output go to stderr. Without a terminal, or with CI set, nothing is asked: changing the policy needs --yes.

When gcloud fails in one region its own exit code is passed through (1 when several regions fail); an interrupted policy write says whether it may have landed and names the backup.`

/** Splits argv at the first `--`: our own arguments, and everything after it for gcloud (verbatim, never parsed by oclif). */
export function splitPassthrough(argv: readonly string[]): {own: string[]; passthrough: string[]} {
  const index = argv.indexOf('--')
  return index === -1 ? {own: [...argv], passthrough: []} : {own: argv.slice(0, index), passthrough: argv.slice(index + 1)}
}

export abstract class DeployCommand extends BinauthzCommand {
  static override args = {
    name: Args.string({description: 'Name of the Cloud Run service / job / worker pool or function to deploy.', required: true}),
  }
  static override flags = {...deployFlags}
  /** Arguments after `--` go to gcloud: a usage error shows the command with gcloud's flags moved there. */
  static passthroughToGcloud = true

  protected abstract readonly kind: DeployKind

  async run(): Promise<DeployResult> {
    const {own, passthrough} = splitPassthrough(this.argv)
    const ctor = this.ctor as typeof DeployCommand
    const {args, flags} = await this.parse(
      {
        args: ctor.args, baseFlags: ctor.baseFlags, enableJsonFlag: ctor.enableJsonFlag, flags: ctor.flags, strict: true,
      },
      own,
    )
    const json = this.jsonEnabled()
    this.quiet(flags.quiet, !flags.yes)
    const reporter = await this.reporter(json, flags.quiet, flags.verbose)
    try {
      const result = await runDeploy({
        kind: this.kind,
        name: args.name,
        ...(flags.project === undefined ? {} : {project: flags.project}),
        ...(flags.region === undefined ? {} : {regions: flags.region}),
        dryRun: flags['dry-run'],
        noPatch: flags['no-patch'],
        passthrough,
        quiet: flags.quiet,
        yes: flags.yes,
        ...(flags.deadline === undefined ? {} : {deadlineSeconds: flags.deadline}),
        ...this.runtime(),
        // A deploy's own: the command as typed keeps gcloud's arguments after `--` (for the re-run with --yes), and
        // every line the pipeline shows, warnings too, is human output (stdout; silent under --json and --quiet).
        invocation: [...this.commandWords(), ...own, ...(passthrough.length > 0 ? ['--', ...passthrough] : [])],
        json,
        report: deployReport(reporter, text => this.say(text), text => this.say(this.coloured(text))),
        ui: {diff: text => this.say(this.coloured(text)), info: line => this.say(line), warn: line => this.say(line)},
      })
      await reporter.close()
      const summary = deploySummary(result)
      if (summary !== undefined) this.say(summary)
      return result
    } catch (error) {
      await reporter.close()
      throw error
    }
  }

  /** --quiet: no progress at all; --json: plain lines on stderr. */
  private async reporter(json: boolean, quiet: boolean, verbose: boolean): Promise<StepReporter> {
    const choice = chooseRenderer({
      ci: isCiValue(process.env.CI),
      isTTY: Boolean(process.stdout.isTTY && process.stderr.isTTY),
      json,
      quiet,
      verbose,
    })
    if (choice === 'silent') return silentReporter()
    if (choice === 'default') return listrReporter('default', line => this.note(line))
    return plainReporter(line => this.note(line), choice === 'verbose')
  }
}
