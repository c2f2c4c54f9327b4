// The CLI's run (the bundle's `run`, started by bin/run.js): oclif's own run and error handling, except that an
// unknown command is answered the way our other usage errors are — the nearest command, one pointer to --help, no
// `›` prefix — instead of oclif's bare "command X not found" (no plugin loaded for it: it costs start time).
// oclif's own entry points (package.json "exports"), not its index: the index also loads what no command of ours
// uses (semver for a Node check bin/run.js already made, constraints, execute ...).
import type {LoadOptions, PJSON} from '@oclif/core/interfaces'

import {Config} from '@oclif/core/config'
import * as Errors from '@oclif/core/errors'
import {handle} from '@oclif/core/handle'
import {loadHelpClass} from '@oclif/core/help'
import {run as oclifRun} from '@oclif/core/run'

import {EXIT_CODES} from '../errors.js'
import {formatCommand} from '../policy/shell.js'
import {drained, stderrColumns} from './base-command.js'
import {renderError} from './error-output.js'
import {type CommandClasses, rootPlugin} from './root-plugin.js'
import {editDistance, nearest} from './usage-hints.js'

const NOT_FOUND = /^command (\S+) not found$/

/**
 * The usage error for an unknown command, with the command line corrected to the nearest visible command
 * (`binauthz polcy status --region r` → `binauthz policy status --region r`). `rest`: the arguments after the id;
 * `via`: words before it (`help`).
 */
export function unknownCommandText(bin: string, typed: string, commandIds: readonly string[], around: {rest?: readonly string[]; via?: readonly string[]} = {}): string {
  const {rest = [], via = []} = around
  const words = typed.split(':')
  const spaced = commandIds.map(id => id.replaceAll(':', ' '))
  // Compare as many words as each command has: `deploy rn fn` is `deploy rn` mistyped, plus an argument.
  const candidates = spaced.map(id => ({id, typed: words.slice(0, id.split(' ').length).join(' ')}))
  // The command matching most words (`deploy rn` → `deploy run`, not the `deploy` topic); of those, the nearest.
  let best: undefined | {distance: number; id: string; words: number}
  for (const {id, typed: prefix} of candidates) {
    if (nearest(prefix, [id]) === undefined) continue
    const here = {distance: editDistance(prefix, id), id, words: id.split(' ').length}
    if (best === undefined || here.words > best.words || (here.words === best.words && here.distance < best.distance)) best = here
  }

  const lines = [`Unknown command: ${[bin, ...via, ...words].join(' ')}`]
  if (best !== undefined) lines.push(`Did you mean ${formatCommand([bin, ...via, ...best.id.split(' '), ...words.slice(best.words), ...rest])}?`)
  lines.push(`See: ${bin} --help`)
  return renderError({code: 'USAGE', message: lines.join('\n'), suggestions: []}, {columns: stderrColumns()})
}

/** The bundle's start (bin/run.js): the package at `root`, its package.json, its command classes by id. */
export type Start = {commandClasses: CommandClasses; pjson: PJSON; root: string}

/**
 * `load`: the package (bin/run.js: oclif gets binauthz's root plugin ready-made, src/cli/root-plugin.ts), or oclif's
 * own load options (tests: the unbundled commands, found by oclif's Plugin).
 */
export async function run(args: readonly string[], load: LoadOptions & object | Start): Promise<unknown> {
  const config = await Config.load('commandClasses' in load
    ? {pjson: load.pjson, plugins: new Map([[load.pjson.name, rootPlugin(load.root, load.pjson, load.commandClasses)]]), root: load.root}
    : load)
  try {
    // `help --help`: oclif's help flag would skip the word "help" and show the root help instead of the command's.
    const helpCommand = config.findCommand('help')
    if (args[0] === 'help' && args.includes('--help') && helpCommand !== undefined) {
      const Help = await loadHelpClass(config)
      await new Help(config, config.pjson.oclif.helpOptions ?? config.pjson.helpOptions).showCommandHelp(helpCommand, config.topics)
      return undefined
    }

    const result = await oclifRun([...args], config)
    // Not oclif's flush(): it waits for 'drain' behind an unref'd timer, so on a stdout whose reader left (EPIPE) the
    // process would end inside that wait (Node's exit 13, an unsettled top-level await) instead of with its code.
    await drained(process.stdout)
    return result
  } catch (error) {
    const typed = error instanceof Errors.CLIError ? NOT_FOUND.exec(error.message)?.[1] : undefined
    if (typed === undefined) return handle(error as Error)
    const visible = [...config.commands.filter(c => !c.hidden).map(c => c.id), ...config.topics.filter(t => !t.hidden).map(t => t.name)]
    process.stderr.write(unknownCommandText(config.bin, typed, visible, {rest: args.slice(typed.split(':').length)}))
    const silent = new Errors.CLIError(error instanceof Error ? error.message : String(error), {exit: EXIT_CODES.usage})
    silent.skipOclifErrorHandling = true
    return handle(silent)
  }
}
