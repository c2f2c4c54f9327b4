// The committed oclif.manifest.json must match the commands as built (regenerate with `npx oclif manifest`).
import {expect} from 'chai'
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {join, relative, sep} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const COMMANDS = join(ROOT, 'dist', 'src', 'commands')

interface ManifestCommand {
  args: Record<string, unknown>
  enableJsonFlag?: boolean
  flags: Record<string, {char?: string; multiple?: boolean; name: string; type: string;}>
  strict?: boolean
  summary?: string
}

function commandFiles(dir: string): string[] {
  return readdirSync(dir).flatMap(entry => {
    const path = join(dir, entry)
    if (statSync(path).isDirectory()) return commandFiles(path)
    return entry.endsWith('.js') ? [path] : []
  })
}

describe('oclif.manifest.json', () => {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, ManifestCommand>}
  const files = commandFiles(COMMANDS)
  const ids = files.map(file => relative(COMMANDS, file).replace(/\.js$/, '').split(sep).join(':')).filter(id => !id.endsWith(':index') && id !== 'index')

  it('lists exactly the built commands', () => {
    expect(Object.keys(manifest.commands).sort()).to.deep.equal([...ids].sort())
  })

  for (const id of ['deploy:run', 'deploy:function']) {
    it(`${id}: flags, args, summary and json support match the built command`, async () => {
      const file = join(COMMANDS, ...id.split(':')) + '.js'
      const {default: command} = (await import(pathToFileURL(file).href)) as {
        default: {args: Record<string, unknown>; enableJsonFlag: boolean; flags: Record<string, unknown>; strict: boolean; summary?: string;}
      }
      const entry = manifest.commands[id]
      expect(entry, `${id} missing from the manifest: run npx oclif manifest`).to.not.equal(undefined)
      expect(Object.keys(entry?.flags ?? {}).sort()).to.deep.equal([...Object.keys(command.flags), 'json'].sort())
      expect(Object.keys(entry?.args ?? {})).to.deep.equal(Object.keys(command.args))
      expect(entry?.summary).to.equal(command.summary)
      expect(entry?.enableJsonFlag).to.equal(true)
      // strict: one NAME (help shows `NAME`, not `NAME...`); the arguments after `--` are split off before parsing.
      expect(entry?.strict).to.equal(true)
      expect(entry?.flags.region).to.deep.include({multiple: true, type: 'option'})
      expect(entry?.flags.yes).to.deep.include({char: 'y', type: 'boolean'})
    })
  }
})
