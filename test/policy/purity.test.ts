import {expect} from 'chai'
import {readdirSync, readFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

// The policy core is pure: it may import only its siblings and the error types (type-only imports of Node
// types are allowed). Runs from dist/test/policy, so the sources are three levels up.
const SOURCE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../src/policy')

describe('policy core purity', () => {
  const files = readdirSync(SOURCE_DIR).filter(name => name.endsWith('.ts'))

  it('finds the modules', () => {
    expect(files).to.include.members(['names.ts', 'pattern.ts', 'repository.ts', 'coverage.ts', 'plan.ts', 'diff.ts', 'yaml.ts', 'terraform.ts', 'handoff.ts', 'types.ts'])
  })

  for (const file of files) {
    it(`${file} imports only policy modules and errors.ts, and does no I/O`, () => {
      const text = readFileSync(join(SOURCE_DIR, file), 'utf8')
      const specifiers = [...text.matchAll(/^\s*(import|export)\s+(type\s+)?[^'"]*?from\s+['"]([^'"]+)['"]/gm)]
      .filter(match => match[2] === undefined)
      .map(match => match[3] ?? '')
      for (const specifier of specifiers) {
        expect(/^\.\/[\w-]+\.js$/.test(specifier) || specifier === '../errors.js', `${file} imports ${specifier}`).to.equal(true)
      }

      expect(text).to.not.match(/\bimport\(/)
      expect(text).to.not.match(/\b(process\.|console\.|require\(|fetch\(|setTimeout\(|Date\.now\(|Math\.random\()/)
    })
  }
})
