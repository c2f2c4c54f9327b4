#!/usr/bin/env node
// `npm run build` step 2 (after tsc): the CLI as ONE esbuild bundle for its one process entry point, bin/run.js
// (`binauthz sandbox serve`, the background server, is started through the same bin, so it is the same entry).
//
//   dist/bundle/binauthz.cjs    our compiled code (dist/src) and @oclif/core, bundled as they are (nothing of a
//                               dependency rewritten), as one CommonJS script: bin/run.js compiles it with V8's code
//                               cache (vm.Script cachedData), which Node 20 has no other way to keep. It exports
//                               COMMANDS, every command class by id (a getter each: only the command oclif looks
//                               up is evaluated, see entrySource): what oclif's `explicit` command-discovery
//                               strategy names (package.json oclif.commands: `oclif manifest`/`readme` load them
//                               so) and what bin/run.js hands to run(argv, {commandClasses, pjson, root}) for binauthz's
//                               root plugin (src/cli/root-plugin.ts),
//                               (src/cli/main.ts: oclif's run and error handling). Its first line names its SHA-256
//                               (the key of that code cache).
//   dist/bundle/vendor/NAME.js  each heavy package our code imports only lazily (VENDOR below), bundled on its own
//                               (ESM) and loaded when that import runs; the main bundle's import('NAME') resolves to
//                               it through __binauthzImport (bin/run.js: an import() relative to this directory).
//
// The list of commands is dist/src/commands/**/*.js named by oclif's own rule (as its `pattern` strategy names
// them: path without extension, `index` for the directory, `:` between words). The build checks the bundler's
// metafile: no VENDOR package may be bundled into binauthz.cjs, and every bare package binauthz.cjs imports at run
// time must be a VENDOR file (or a Node built-in), so an installed package never needs dist/src or node_modules.
import {build} from 'esbuild'
import {createHash} from 'node:crypto'
import {
  copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync,
} from 'node:fs'
import {builtinModules} from 'node:module'
import {
  dirname, join, relative, resolve, sep,
} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const out = join(root, 'dist', 'bundle')
const commandsDir = join(root, 'dist', 'src', 'commands')

/** Imported by our code only through `await import(...)`, each costing 10–70 ms to load: kept out of the start. */
export const VENDOR = ['@grpc/grpc-js', '@grpc/proto-loader', '@inquirer/prompts', 'execa', 'google-auth-library', 'listr2']

const COMMON = {
  bundle: true,
  // oclif reaches these only to run TypeScript sources in development, which the bundle never does.
  external: ['typescript', 'ts-node', 'tsx', 'tsx/*'],
  format: 'esm',
  // Vendor chunks: class and function names stay as written (libraries name their errors after their classes).
  keepNames: true,
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
  minifySyntax: true,
  minifyWhitespace: !process.env.BUNDLE_READABLE,
  platform: 'node',
  target: 'node20',
}

// CommonJS dependencies (google-auth-library ...) call require() for Node built-ins; ESM output has no require of
// its own.
const ESM_BANNER = {js: "import {createRequire as __binauthzCreateRequire} from 'node:module';const require=__binauthzCreateRequire(import.meta.url);"}

// The main bundle is a CommonJS script: import.meta.url becomes the file's URL, and the vendor imports go through
// __binauthzImport, the import() bin/run.js hands in (a vm.Script has no module loader of its own; loaded by plain
// require() instead, it falls back to this module's own import()).
const CJS_BANNER = {
  js: [
    "var __binauthzMetaUrl=require('node:url').pathToFileURL(__filename).href;",
    "var __binauthzImport=typeof __binauthzImport==='function'?__binauthzImport:s=>import(new URL(s,__binauthzMetaUrl).href);",
  ].join(''),
}

const vendorFile = spec => `vendor/${spec.replaceAll('/', '+')}.js`

/** An import of a VENDOR package → its vendor file (from `dir`, relative to dist/bundle), loaded by Node when it runs. */
const vendorPlugin = (dir = '.', self = '') => ({
  name: 'vendor',
  setup(b) {
    b.onResolve({filter: /^[^./]/}, args => (VENDOR.includes(args.path) && args.path !== self
      ? {external: true, path: `./${relative(dir, vendorFile(args.path)).split(sep).join('/')}`}
      : undefined))
  },
})

// In the ESM vendor files, Node built-ins are linked with require() (as the CommonJS main bundle links them), not
// with ESM `import`: Node builds an ESM facade of a built-in by reading every one of its exports, and on Node 24
// that makes `import ... from 'node:http'` load undici through http's lazy fetch/WebSocket getters (~16 ms of every
// start, before any command runs). Each built-in becomes a one-line CommonJS module of the file.
const builtins = new Set(builtinModules.flatMap(name => [name, `node:${name}`]))
const builtinsByRequire = {
  name: 'builtins-by-require',
  setup(b) {
    b.onResolve({filter: /^[a-z_:/]+$/}, args => (builtins.has(args.path) && args.kind === 'import-statement' && args.namespace === 'file'
      ? {namespace: 'builtin', path: args.path}
      : undefined))
    b.onLoad({filter: /.*/, namespace: 'builtin'}, args => ({contents: `module.exports = require(${JSON.stringify(args.path)})`, loader: 'js'}))
  },
}

/** Command id → file, as oclif names a commands directory (plugin.js processCommandIds). */
function commandFiles(dir = commandsDir) {
  return readdirSync(dir, {withFileTypes: true}).flatMap(entry => {
    const file = join(dir, entry.name)
    if (entry.isDirectory()) return commandFiles(file)
    return entry.name.endsWith('.js') ? [file] : []
  })
}

function commandId(file) {
  const words = relative(commandsDir, file).replace(/\.js$/, '').split(sep)
  if (words.at(-1) === 'index') words.pop()
  return words.join(':')
}

/**
 * The bundle's entry: COMMANDS for oclif's explicit strategy, and run(). Each command is a getter that require()s its
 * module: esbuild wraps a module reached by require() (and everything it imports) in a lazy init, so a run
 * evaluates the module graph of the one command oclif looks up (the root plugin's findCommand reads COMMANDS[id]; with
 * the committed manifest nothing else reads COMMANDS), not of all of them.
 */
function entrySource(files) {
  const commands = files.map(file => ({file, id: commandId(file)})).sort((a, b) => a.id.localeCompare(b.id))
  return [
    '// The command class of a module, found as oclif finds it (plugin.js searchForCommandClass).',
    "const pick = m => typeof m.run === 'function' ? m : m.default?.run ? m.default : Object.values(m).find(c => typeof c?.run === 'function')",
    "/** Every command by id: oclif's `explicit` command discovery (package.json oclif.commands) reads this. */",
    'export const COMMANDS = {',
    ...commands.map(({file, id}) => `  get ${JSON.stringify(id)}() { return pick(require(${JSON.stringify(file)})) },`),
    '}',
    '/** Runs the CLI: oclif\'s run with our answer to an unknown command (src/cli/main.ts). */',
    `export {run} from ${JSON.stringify(join(root, 'dist', 'src', 'cli', 'main.js'))}`,
  ].join('\n')
}

async function buildVendor(spec) {
  // The names an ESM import of the package sees (for CommonJS: what Node's cjs-module-lexer finds), re-exported one
  // by one: esbuild cannot `export *` from CommonJS into ESM output.
  const names = Object.keys(await import(spec))
  const contents = [
    `import * as ns from ${JSON.stringify(spec)}`,
    ...names.map((name, i) => `const v${i} = ns[${JSON.stringify(name)}]`),
    `export {${names.map((name, i) => `v${i} as ${JSON.stringify(name)}`).join(', ')}}`,
  ].join('\n')
  const outfile = join(out, vendorFile(spec))
  const result = await build({
    ...COMMON,
    banner: ESM_BANNER,
    outfile,
    plugins: [builtinsByRequire, vendorPlugin('vendor', spec)],
    stdin: {
      contents, loader: 'js', resolveDir: root, sourcefile: `vendor-${spec}.js`,
    },
  })
  // Checked once every vendor file is written (they import each other).
  const check = async () => {
    const built = Object.keys(await import(pathToFileURL(outfile).href)).sort()
    if (built.join(',') !== [...names].sort().join(',')) throw new Error(`${vendorFile(spec)} exports ${built.join(', ')}, the package ${names.join(', ')}`)
  }

  return {check, metafile: result.metafile}
}

/** The bundler's own account of binauthz.cjs: what went in, what it imports at run time. */
function checkMetafile(metafile) {
  const problems = []
  const inputs = Object.keys(metafile.inputs)
  for (const spec of VENDOR) {
    const dir = `node_modules/${spec}/`
    if (inputs.some(input => input.startsWith(dir) || input.includes(`/${dir}`))) problems.push(`${spec} is bundled into binauthz.cjs (a static import reaches it)`)
  }

  for (const output of Object.values(metafile.outputs)) {
    for (const imported of output.imports) {
      if (!imported.external || builtins.has(imported.path) || imported.path.startsWith('./vendor/')) continue
      // fdir (through tinyglobby, oclif's) probes `require.resolve('picomatch')` in a try and uses its bundled copy.
      if (imported.kind === 'require-resolve') continue
      if (['typescript', 'ts-node', 'tsx'].some(name => imported.path === name || imported.path.startsWith(`${name}/`))) continue
      problems.push(`binauthz.cjs imports ${imported.path} at run time (${imported.kind}): add it to VENDOR or bundle it`)
    }
  }

  if (problems.length > 0) throw new Error(`bundle: ${problems.join('; ')}`)
}

/**
 * The source as ASCII. esbuild escapes non-ASCII characters (its default charset) except in regular-expression
 * literals, and ansis (oclif's colours) writes its ANSI-stripping class with a raw U+009B (`/[\x1b\x9b]…/` after
 * minification). One such character makes V8 hold the whole bundle as a two-byte string and scan it so: ~6 % more
 * instructions for every start (bench/RESULTS.md). As an escape the character means the same in a regular
 * expression; any other non-ASCII character fails the build, to be looked at (BUNDLE_READABLE's builds, for
 * reading and profiling, keep comments, which may have some).
 */
function asciiSource(text) {
  const escaped = text.replaceAll('/[\u001B\u009B]', String.raw`/[\x1B\x9b]`)
  const other = /[^\0-\u007F]/.exec(escaped)
  if (other && !process.env.BUNDLE_READABLE) throw new Error(`bundle: U+${other[0].codePointAt(0).toString(16).toUpperCase().padStart(4, '0')} in binauthz.cjs at ${JSON.stringify(escaped.slice(other.index - 40, other.index + 10))}: escape it like ansis's (asciiSource)`)
  return escaped
}

// The bundle's code inside a function of CommonJS's parameters and __binauthzImport, in the file itself: bin/run.js
// compiles the file as it is (vm.Script: its value is the function, called with bin/run.js's module, require and
// import()), with no wrapped copy of 900 KiB made at every start; a plain require() (`oclif manifest`, `oclif readme`)
// runs it at once with Node's own (`module` is defined there, not in a vm.Script's global scope).
const WRAPPER_START = "(typeof module === 'undefined' ? f => f : f => f(exports, require, module, __filename, __dirname))(function (exports, require, module, __filename, __dirname, __binauthzImport) {"
const WRAPPER_END = '\n})\n'

/**
 * The bundle's import('./vendor/NAME.js') calls → __binauthzImport(...) (see CJS_BANNER): one per dynamic import
 * of a VENDOR package the metafile lists; the source made ASCII and wrapped (WRAPPER_START); then the first line,
 * the bundle's SHA-256.
 */
function linkVendorImports(file, metafile) {
  const expected = Object.values(metafile.outputs).flatMap(o => o.imports).filter(i => i.kind === 'dynamic-import' && i.path.startsWith('./vendor/')).length
  let found = 0
  let text = readFileSync(file, 'utf8').replaceAll(/\bimport\((["'])\.\/vendor\//g, (_, quote) => {
    found++
    return `__binauthzImport(${quote}./vendor/`
  })
  if (found !== expected) throw new Error(`bundle: ${found} import() calls of vendor files in binauthz.cjs, the metafile lists ${expected}`)
  // bin/run.js runs the bundle as a vm.Script, whose import() has no callback: an import() of anything else would fail
  // at run time ("A dynamic import callback was not specified"). Built-ins: process.getBuiltinModule.
  const literal = /(?<![\w$])import\((["'])([^"']+)\1\)/.exec(text)
  if (literal) throw new Error(`bundle: binauthz.cjs calls import(${literal[1]}${literal[2]}${literal[1]}), which fails in bin/run.js's vm.Script: use process.getBuiltinModule for a built-in, or add it to VENDOR`)
  text = `${WRAPPER_START}${asciiSource(text)}${WRAPPER_END}`
  const sha = createHash('sha256').update(text).digest('hex')
  writeFileSync(file, `// binauthz-bundle sha256=${sha}\n${text}`)
}

/**
 * binauthz.cjs is built without keepNames: code that reads a class's or function's name at run time (an error named
 * `new.target.name`, `this.constructor.name`) would see esbuild's renamed binding. Fails the build on one, but for
 * oclif's Command.run (a command's id from its class name: binauthz never starts a command that way).
 */
function readsOfNames(file) {
  const text = readFileSync(file, 'utf8')
  const known = new Set(['cmd.constructor.name.toLowerCase()'])
  const reads = [...text.matchAll(/[\w.$]*(?:new\.target|constructor)\.name\b[\w.()]*/g)].map(m => m[0]).filter(read => !known.has(read))
  if (reads.length > 0) throw new Error(`bundle: binauthz.cjs reads class or function names (${[...new Set(reads)].join(', ')}), which it is built without (keepNames: false): write the name out`)
}

const kib = metafile => `${(Object.values(metafile.outputs).reduce((sum, o) => sum + o.bytes, 0) / 1024).toFixed(0)} KiB`

rmSync(out, {force: true, recursive: true})
mkdirSync(out, {recursive: true})
const files = commandFiles()
const mainFile = join(out, 'binauthz.cjs')
const main = await build({
  ...COMMON,
  banner: CJS_BANNER,
  define: {'import.meta.url': '__binauthzMetaUrl'},
  format: 'cjs',
  // No __name() for the ~1,500 functions and classes: they cost ~4 M instructions and 300 KiB of young-generation
  // allocation on every start (bench/RESULTS.md). A function or class esbuild renames to avoid a clash (oclif's
  // CLIError becomes CLIError3) then has that name as its .name; nothing on binauthz.cjs's paths reads one
  // (readsOfNames: a build check), and error names are written out.
  keepNames: false,
  outfile: mainFile,
  plugins: [vendorPlugin()],
  stdin: {
    contents: entrySource(files), loader: 'js', resolveDir: root, sourcefile: 'binauthz-entry.js',
  },
})
checkMetafile(main.metafile)
readsOfNames(mainFile)
linkVendorImports(mainFile, main.metafile)
// BUNDLE_METAFILE=FILE: esbuild's account of binauthz.cjs, for a look at what it is made of (esbuild's analyzer).
if (process.env.BUNDLE_METAFILE) writeFileSync(process.env.BUNDLE_METAFILE, JSON.stringify(main.metafile))
const vendor = []
const checks = []
for (const spec of VENDOR) {
  const {check, metafile} = await buildVendor(spec)
  vendor.push(`${spec} ${kib(metafile)}`)
  checks.push(check)
}

for (const check of checks) await check()
// The sandbox's vendored Cloud Run v2 protos (src/sandbox/grpc.ts reads them beside the module that loads them):
// beside the tsc output for in-process sandboxes (tests) and beside the bundle for `binauthz sandbox serve`.
const copyTree = (from, to) => {
  mkdirSync(to, {recursive: true})
  for (const entry of readdirSync(from, {withFileTypes: true})) {
    if (entry.isDirectory()) copyTree(join(from, entry.name), join(to, entry.name))
    else copyFileSync(join(from, entry.name), join(to, entry.name))
  }
}

for (const dir of [join(root, 'dist', 'src', 'sandbox', 'protos'), join(out, 'protos')]) copyTree(join(root, 'src', 'sandbox', 'protos'), dir)
console.error(`bundle: dist/bundle/binauthz.cjs (${files.length} commands, ${kib(main.metafile)}); vendor: ${vendor.join(', ')}`)
