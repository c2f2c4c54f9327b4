// binauthz's root plugin (src/cli/root-plugin.ts) stands in for the one oclif's own Plugin class makes of this package
// (which sorts with localeCompare, the ICU collator's start-up cost): it must be the same plugin to oclif, field by
// field, command by command and in the same order. The bundle-versus-unbundled output checks of
// test/perf/start-path.test.ts show the same from the outside (help, --version, usage errors).
import type {Command} from '@oclif/core/command'
import type {PJSON} from '@oclif/core/interfaces'

import {Config, Plugin} from '@oclif/core/config'
import {expect} from 'chai'
import {
  mkdirSync, readFileSync, rmSync, writeFileSync,
} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {rootPlugin} from '../../src/cli/root-plugin.js'
import {tempDir} from '../helpers/tmp.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '')
const pjson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PJSON

/** A stand-in command class per manifest id (the plugin only hands them out). */
function fakeClasses(): Record<string, Command.Class> {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, unknown>}
  return Object.fromEntries(Object.keys(manifest.commands).map(id => [id, {id: '', run: async () => id} as unknown as Command.Class]))
}

/**
 * A plugin as plain data: every field oclif reads, the commands without their load functions. Not `_base`: oclif's
 * Plugin sets it to @oclif/core's own name and version, and reads it only in its own error messages.
 */
function described(plugin: Plugin | ReturnType<typeof rootPlugin>): Record<string, unknown> {
  // Keys in this order: pjson is copied before `topics` is read.
  return {
    alias: plugin.alias,
    commandIDs: plugin.commandIDs,
    commands: plugin.commands.map(({load, ...rest}) => ({...rest, load: typeof load})),
    hasManifest: plugin.hasManifest,
    hooks: plugin.hooks,
    isRoot: plugin.isRoot,
    moduleType: plugin.moduleType,
    name: plugin.name,
    // A copy taken before `topics` is read: oclif's topics getter writes each topic's name into its pjson.
    pjson: structuredClone(plugin.pjson),
    root: plugin.root,
    tag: plugin.tag,
    topics: plugin.topics,
    type: plugin.type,
    valid: plugin.valid,
    version: plugin.version,
  }
}

describe('cli: the root plugin handed to oclif', () => {
  it('is, field by field and in the same command order, the plugin oclif\'s Plugin class makes of this package', async () => {
    const oclifs = new Plugin({isRoot: true, pjson: structuredClone(pjson), root: ROOT})
    await oclifs.load()
    const ours = rootPlugin(ROOT, structuredClone(pjson), fakeClasses())
    expect(described(ours)).to.deep.equal(described(oclifs))
    expect(ours.commands.length).to.be.greaterThan(10)
  })

  it('loads each command from the classes it was given, marked as oclif marks them', async () => {
    const classes = fakeClasses()
    const plugin = rootPlugin(ROOT, pjson, classes)
    const loaded = await plugin.commands.find(c => c.id === 'deploy:run')!.load()
    expect(loaded).to.equal(classes['deploy:run'])
    expect(loaded.id).to.equal('deploy:run')
    expect(loaded.plugin).to.equal(plugin)
  })

  it('answers an id it has no class for as oclif does: not found, an error only when the command must exist', async () => {
    const plugin = rootPlugin(ROOT, pjson, {})
    expect(await plugin.findCommand('deploy:run')).to.equal(undefined)
    let message = ''
    try {
      await plugin.findCommand('deploy:run', {must: true})
    } catch (error) {
      message = (error as Error).message
    }

    expect(message).to.equal('command deploy:run not found')
  })

  it('makes Config.load load no other plugin: a user plugin listed in the data directory is never loaded', async () => {
    // oclif's user plugins: $BINAUTHZ_DATA_DIR/package.json lists them, node_modules beside it holds them.
    const data = tempDir('binauthz-root-plugin-')
    const saved = process.env.BINAUTHZ_DATA_DIR
    try {
      mkdirSync(join(data, 'node_modules', 'planted'), {recursive: true})
      writeFileSync(join(data, 'package.json'), JSON.stringify({
        dependencies: {planted: '1.0.0'}, name: 'data', oclif: {plugins: [{name: 'planted', type: 'user'}]}, private: true,
      }))
      writeFileSync(join(data, 'node_modules', 'planted', 'package.json'), JSON.stringify({name: 'planted', oclif: {commands: './none'}, version: '1.0.0'}))
      process.env.BINAUTHZ_DATA_DIR = data
      // The control: oclif's own loading finds the planted plugin.
      const control = await Config.load({pjson: structuredClone(pjson), root: ROOT})
      expect(control.getPluginsList().map(p => p.name)).to.include('planted')
      const config = await Config.load({pjson, plugins: new Map([[pjson.name, rootPlugin(ROOT, pjson, fakeClasses())]]), root: ROOT})
      expect(config.getPluginsList().map(p => p.name)).to.deep.equal([pjson.name])
      expect(config.commandIDs).to.include('deploy:run')
    } finally {
      if (saved === undefined) delete process.env.BINAUTHZ_DATA_DIR
      else process.env.BINAUTHZ_DATA_DIR = saved
      rmSync(data, {force: true, recursive: true})
    }
  })

  it('refuses a package.json with oclif hooks, which it would not run', () => {
    const hooked = {...pjson, oclif: {...pjson.oclif, hooks: {init: './hook.js'}}} as PJSON
    expect(() => rootPlugin(ROOT, hooked, {})).to.throw(/oclif\.hooks/)
  })
})
