// The JSON Schemas in schemas/: one per command (by the manifest), draft 2020-12, shipped in the package, using only
// the keywords test/helpers/json-schema.ts checks; and that checker rejects what it should.
import {expect} from 'chai'
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import {JSON_SCHEMA_VERSION, jsonEnvelope} from '../../src/cli/base-command.js'
import {
  assertValidResult, KNOWN_KEYWORDS, schemaFileOf, schemaFiles,
} from '../helpers/json-schema.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

function keywordsOf(node: unknown, into: Set<string>, parentKey = ''): Set<string> {
  if (Array.isArray(node)) for (const item of node) keywordsOf(item, into)
  else if (typeof node === 'object' && node !== null) {
    for (const [key, value] of Object.entries(node)) {
      // Names under properties / $defs are data, not keywords.
      if (parentKey !== 'properties' && parentKey !== '$defs') into.add(key)
      keywordsOf(value, into, parentKey === 'properties' || parentKey === '$defs' ? '' : key)
    }
  }

  return into
}

describe('schemas/ (the --json contract)', () => {
  const manifest = JSON.parse(readFileSync(`${ROOT}oclif.manifest.json`, 'utf8')) as {commands: Record<string, {enableJsonFlag?: boolean}>}

  it('has a schema for every command with --json, and nothing else but common.schema.json', () => {
    const withJson = Object.entries(manifest.commands).filter(([, command]) => command.enableJsonFlag === true).map(([id]) => id)
    const expected = withJson.map(id => schemaFileOf(id.replaceAll(':', ' '))).sort()
    expect([...schemaFiles().keys()].sort()).to.deep.equal(['common.schema.json', ...expected].sort())
  })

  it('are draft 2020-12 schemas with an $id, using only the keywords the checker knows', () => {
    for (const [file, schema] of schemaFiles()) {
      expect(schema, file).to.include({$schema: 'https://json-schema.org/draft/2020-12/schema'})
      expect((schema as {$id: string}).$id, file).to.match(new RegExp(`/schemas/${file.replaceAll('.', String.raw`\.`)}$`))
      const unknown = [...keywordsOf(schema, new Set())].filter(k => !KNOWN_KEYWORDS.has(k))
      expect(unknown, file).to.deep.equal([])
    }
  })

  it('ships in the package', () => {
    const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as {files: string[]}
    expect(pkg.files).to.include('schemas')
  })

  it('every result carries schemaVersion and its command', () => {
    expect(jsonEnvelope('policy:status', {project: 'p'})).to.deep.equal({command: 'policy status', project: 'p', schemaVersion: JSON_SCHEMA_VERSION})
  })

  it('the checker accepts a valid result and rejects a missing field, a wrong type and a wrong schemaVersion', () => {
    const ok = {
      allowlist: [], command: 'policy status', defaultRule: {enforced: false}, missing: [], paths: [], project: 'p', projectSource: 'flag', regions: [], schemaVersion: 1,
    }
    expect(() => assertValidResult(ok)).not.to.throw()
    expect(() => assertValidResult({...ok, allowlist: undefined})).to.throw(/allowlist/)
    expect(() => assertValidResult({...ok, paths: 'none'})).to.throw(/paths/)
    expect(() => assertValidResult({...ok, schemaVersion: 2})).to.throw(/schemaVersion/)
    expect(() => assertValidResult({command: 'policy status', error: {code: 'X'}, schemaVersion: 1})).to.throw(/error/)
  })
})
