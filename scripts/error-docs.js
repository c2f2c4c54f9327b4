#!/usr/bin/env node
// Writes the README's exit-code and error-code tables from the one registry, and its permissions table from the hand-off's roles (src/errors.ts, through the built
// dist/src/cli/error-docs.js). Run by `npm run readme` after oclif's command reference; test/errors.test.ts fails when
// the README differs from what this would write.
import {readFileSync, writeFileSync} from 'node:fs'

const {errorCodeTable, exitCodeTable, permissionTable} = await import(new URL('../dist/src/cli/error-docs.js', import.meta.url).href)
const file = new URL('../README.md', import.meta.url)
let readme = readFileSync(file, 'utf8')
for (const [name, table] of [['exit-codes', exitCodeTable()], ['error-codes', errorCodeTable()], ['permissions', permissionTable()]]) {
  const start = `<!-- ${name}:start -->`
  const end = `<!-- ${name}:end -->`
  const from = readme.indexOf(start)
  const to = readme.indexOf(end)
  if (from === -1 || to < from) throw new Error(`README.md lacks the ${start} … ${end} markers`)
  readme = `${readme.slice(0, from + start.length)}\n${table}\n${readme.slice(to)}`
}

writeFileSync(file, readme)
