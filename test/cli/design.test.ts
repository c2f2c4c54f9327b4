// DESIGN.md stays true to the tree: every folder under src/ (and every file directly in src/) is named in its layout.
import {expect} from 'chai'
import {readdirSync, readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const design = readFileSync(`${root}DESIGN.md`, 'utf8')

describe('DESIGN.md', () => {
  const entries = readdirSync(`${root}src`, {withFileTypes: true})

  it('finds the source tree', () => {
    expect(entries.map(e => e.name)).to.include.members(['app', 'cli', 'commands', 'policy', 'sandbox'])
  })

  for (const entry of entries) {
    const name = entry.isDirectory() ? `src/${entry.name}/` : `src/${entry.name}`
    if (!entry.isDirectory() && !entry.name.endsWith('.ts')) continue
    it(`names ${name}`, () => {
      expect(design, `${name} is missing from DESIGN.md's layout`).to.include(name)
    })
  }
})
