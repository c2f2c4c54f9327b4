#!/usr/bin/env node
// Entry point, the only one: users, tests and `binauthz sandbox serve` (the background server `sandbox start`
// spawns through this same bin) all start here. It runs dist/bundle/binauthz.js (scripts/bundle.js, made by
// `npm run build`; an installed package ships it): the CLI and @oclif/core in one esbuild bundle, whose COMMANDS
// oclif loads by its `explicit` command discovery (package.json oclif.commands) and whose run() is oclif's execute().
//
// Where Node has it (≥ 22.1), the module compile cache keeps V8's compiled code of the bundle between runs, in
// $XDG_CACHE_HOME/binauthz or ~/.cache/binauthz (NODE_COMPILE_CACHE, when set, decides instead; Node's own
// NODE_DISABLE_COMPILE_CACHE=1 turns it off). A cache that cannot be written is only a slower start.
import module from 'node:module'
import {homedir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

if (typeof module.enableCompileCache === 'function' && !process.env.NODE_COMPILE_CACHE) {
  try {
    module.enableCompileCache(join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'binauthz'))
  } catch {
    // Unwritable or unusable cache directory: start without it.
  }
}

const root = fileURLToPath(new URL('..', import.meta.url))
const bundle = fileURLToPath(new URL('../dist/bundle/binauthz.js', import.meta.url))
let cli
try {
  cli = await import(new URL('../dist/bundle/binauthz.js', import.meta.url).href)
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes(bundle)) throw error
  // A checkout that was never built: the same message for users and tests, and no other way to start.
  process.stderr.write(`binauthz: ${bundle} is missing: run \`npm run build\` in ${root}\n`)
  process.exitCode = 1
}

// A reader that goes away before the end (`binauthz … --json | head -c 100`: EPIPE; a terminal that hung up: EIO):
// what is left to print is lost, the run is not, and no stack trace is printed. Any other write error is a crash.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', error => {
    if (error?.code !== 'EPIPE' && error?.code !== 'EIO') throw error
  })
}

// userPlugins: false (in run()): oclif would otherwise load "user"/"link" plugins listed in
// $BINAUTHZ_DATA_DIR/package.json (our backup directory) and run their hooks: code execution, with the access token
// in reach, for anyone who can write there or set BINAUTHZ_DATA_DIR. binauthz has no plugins.
if (cli) await cli.run(process.argv.slice(2), root)
