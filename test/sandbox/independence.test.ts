import {expect} from 'chai'
import {readdirSync, readFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

// The sandbox is a judge, not a mirror: nothing under src/sandbox imports the CLI's code (type imports included),
// so a mistake in binauthz's policy logic cannot be repeated by the stand-in that tests it. Lint enforces the same
// (eslint.config.mjs, sandboxOwn); this also catches a dynamic import(). Runs from dist/test/sandbox.
// The one third-party code it loads is the gRPC transport (grpc.ts, Cloud Run v2 for worker pools): packages of
// their own, never binauthz's.
const TRANSPORT_PACKAGES = new Set(['@grpc/grpc-js', '@grpc/proto-loader'])
const SOURCE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../src/sandbox')

describe('sandbox independence', () => {
  const files = readdirSync(SOURCE_DIR, {recursive: true, withFileTypes: true}).filter(e => e.isFile() && e.name.endsWith('.ts'))

  it('finds the modules (and the directory stays flat, as the lint rule assumes)', () => {
    expect(files.map(f => f.name)).to.include.members(['admission.ts', 'binauthz.ts', 'run.ts', 'functions.ts', 'server.ts', 'index.ts'])
    expect(files.every(f => resolve(f.parentPath) === SOURCE_DIR)).to.equal(true)
  })

  for (const file of files) {
    it(`${file.name} imports only sandbox modules, Node built-ins and the gRPC transport`, () => {
      const text = readFileSync(join(SOURCE_DIR, file.name), 'utf8')
      const specifiers = [
        ...[...text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map(m => m[1] ?? ''),
        ...[...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]/g)].map(m => m[1] ?? ''),
      ]
      for (const specifier of specifiers) {
        expect(/^\.\/[\w-]+\.js$/.test(specifier) || specifier.startsWith('node:') || TRANSPORT_PACKAGES.has(specifier), `${file.name} imports ${specifier}`).to.equal(true)
      }
    })
  }
})
