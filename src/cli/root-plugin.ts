// binauthz as oclif's root plugin, made from the committed manifest and handed to Config.load (its `plugins` load
// option, Interfaces.LoadOptions), instead of oclif building one with its Plugin class.
//
// Why: Plugin.load sorts the commands with String.prototype.localeCompare, and the first localeCompare of a process
// sets up ICU's collator: ~80 M instructions, ~5 ms and ~4.5 MiB of every start, more than all the Node built-ins a
// deploy loads (bench/RESULTS.md). The manifest is in code-unit order already (scripts/bundle.js, `oclif manifest`);
// this plugin keeps it and sorts with `<`, which is the same order for our command ids (a test compares every field
// with what oclif's Plugin makes of the same package). With ready plugins Config.load also loads no user, dev or core
// plugins (none exist for binauthz: bin/run.js's note on userPlugins).
import type {Command} from '@oclif/core/command'
import type {PJSON, Plugin, Topic} from '@oclif/core/interfaces'

import {error} from '@oclif/core/errors'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

/** Every command class by id, as the bundle exports them for oclif's `explicit` strategy (scripts/bundle.js). */
export type CommandClasses = Readonly<Record<string, Command.Class>>

type Manifest = {commands: Record<string, Command.Cached>; version: string}

/** Code-unit order: ids are ASCII lowercase words joined by ':' and '-', for which it is also ICU's order. */
const byId = (a: {id: string}, b: {id: string}): number => (a.id < b.id ? -1 : (a.id > b.id ? 1 : 0))

/** pjson.oclif.topics as oclif's Plugin lists them (plugin.js topicsToArray): nested topics joined with ':'. */
function topicList(topics: PJSON['oclif']['topics'], base = ''): Topic[] {
  return Object.entries(topics ?? {}).flatMap(([name, topic]) => [
    {...topic, name: `${base}${name}`},
    ...topicList(topic.subtopics, `${base}${name}:`),
  ])
}

/**
 * The root plugin of the package at `root` (package.json already read: `pjson`), whose commands are `classes`. A
 * package.json hook is refused: this plugin would not run it, and binauthz has none.
 */
export function rootPlugin(root: string, pjson: PJSON, classes: CommandClasses): Plugin {
  if (pjson.oclif.hooks && Object.keys(pjson.oclif.hooks).length > 0) throw new Error('package.json oclif.hooks: binauthz\'s root plugin runs no hooks')
  const manifest = JSON.parse(readFileSync(join(root, 'oclif.manifest.json'), 'utf8')) as Manifest
  const {name} = pjson
  // oclif's own warning (plugin.js _manifest): a manifest of another version describes other commands.
  if (manifest.version.split('-')[0] !== pjson.version.split('-')[0]) {
    process.emitWarning(`Mismatched version in ${name} plugin manifest. Expected: ${pjson.version} Received: ${manifest.version}`)
  }

  const plugin: Plugin = {
    _base: `${name}@${pjson.version}`,
    alias: name,
    commandIDs: Object.keys(manifest.commands),
    commands: Object.entries(manifest.commands).map(([id, cached]) => ({
      ...cached, load: async () => plugin.findCommand(id, {must: true}), pluginAlias: name, pluginType: 'core',
    })).sort(byId),
    commandsDir: undefined,
    async findCommand(id: string, opts?: {must: boolean}): Promise<Command.Class> {
      const found = Object.hasOwn(classes, id) ? classes[id] : undefined
      if (found === undefined) {
        // oclif's own error (plugin.js findCommand): src/cli/main.ts answers it as an unknown command.
        if (opts?.must) error(`command ${id} not found`)
        return undefined as never
      }

      // What oclif's findCommand sets on the class it returns.
      found.id = id
      found.plugin = plugin
      return found
    },
    hasManifest: true,
    hooks: {},
    isRoot: true,
    async load() {},
    moduleType: pjson.type === 'module' ? 'module' : 'commonjs',
    name,
    options: {isRoot: true, pjson, root},
    pjson,
    root,
    get topics() {
      return topicList(pjson.oclif.topics)
    },
    type: 'core',
    valid: true,
    version: pjson.version,
  }
  return plugin
}
