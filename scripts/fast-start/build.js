#!/usr/bin/env node
// The fast start, built by `npm run build` after tsc and `oclif manifest` (plain Node ESM, no TypeScript):
//
//   dist/bundle/binauthz.js              every command, our code and @oclif/core in ONE esbuild bundle (one file to
//                                        read and compile; ~35 chunk files cost more), run through oclif's own
//                                        execute() with package.json's "commands" switched to {strategy: explicit,
//                                        target: the bundle}; commands and oclif's modules are evaluated on first use.
//   dist/bundle/vendor/NAME.js           each package our code imports lazily (execa, listr2, @inquirer/prompts,
//                                        google-auth-library ...) bundled on its own, loaded only when that import runs.
//   dist/bundle/help/                    `binauthz --help` (and each topic's help) pre-rendered by oclif's own Help
//                                        class, for every terminal width 40..300, with and without colour.
//   dist/bundle/help.js                  the few lines that pick the right pre-rendered text at run time (with the very
//                                        modules oclif uses to decide colour and platform).
//   dist/bundle/meta.json                written last: the inputs (path, size, mtime, sha1) the products were built from.
//                                        bin/run.js uses the fast start only while every input is unchanged, so an
//                                        `npx tsc` that changes a command falls back to plain oclif until the next build.
import {spawn} from 'node:child_process'
import {createHash} from 'node:crypto'
import {mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {tmpdir} from 'node:os'
import {dirname, join, relative, resolve, sep} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

import {build} from 'esbuild'

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, '..', '..')
const out = join(root, 'dist', 'bundle')
const MIN_WIDTH = 40
const MAX_WIDTH = 300
const FORMAT_VERSION = 1

const pjson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const manifestFile = join(root, 'oclif.manifest.json')
let manifest
try {
  manifest = JSON.parse(readFileSync(manifestFile, 'utf8'))
} catch (error) {
  console.error(`fast-start: cannot read ${relative(root, manifestFile)} (${error.message}); run \`oclif manifest\` first.`)
  process.exit(1)
}

rmSync(out, {recursive: true, force: true})
mkdirSync(out, {recursive: true})

// ---------------------------------------------------------------------------------------------------------------
// 1. The bundle

const commands = Object.values(manifest.commands)
for (const command of commands) {
  if (!Array.isArray(command.relativePath)) {
    console.error(`fast-start: the manifest has no relativePath for ${command.id}; regenerate it with \`oclif manifest\`.`)
    process.exit(1)
  }
}

// Commands are evaluated on demand (esbuild wraps each dynamically imported module in an init function): run()
// imports the one argv names before execute(), so starting `deploy run` does not evaluate the setup wizard or the sandbox.
const aliases = {}
for (const command of commands) for (const alias of command.aliases ?? []) aliases[alias] = command.id
const entry = [
  "import {fileURLToPath} from 'node:url'",
  "import {execute} from '@oclif/core'",
  `const loaders = {${commands.map((command) => `${JSON.stringify(command.id)}: () => import(${JSON.stringify(`./${command.relativePath.join('/')}`)})`).join(', ')}}`,
  `const aliases = ${JSON.stringify(aliases)}`,
  '// The command class of a module, found as oclif finds it for the "pattern" strategy (plugin.js searchForCommandClass).',
  'const pick = (m) => typeof m.run === "function" ? m : m.default && m.default.run ? m.default : Object.values(m).find((c) => typeof c?.run === "function")',
  '/** oclif reads the commands from here ("explicit" strategy); run() fills in the ones argv can reach. */',
  'export const COMMANDS = {}',
  '/** The commands oclif may load for argv: the one its leading words name, none for flags only, else all. */',
  'function reachable(argv) {',
  '  const words = []',
  '  for (const arg of argv) { if (arg.startsWith("-")) break; words.push(arg) }',
  '  for (let n = words.length; n > 0; n--) {',
  '    const id = words.slice(0, n).join(":")',
  '    if (id in loaders) return [id]',
  '    if (id in aliases) return [aliases[id]]',
  '  }',
  '  return argv.every((arg) => arg.startsWith("-")) ? [] : Object.keys(loaders)',
  '}',
  '/** Runs the CLI: oclif\'s own execute(), with the commands taken from this very module. */',
  'export async function run(argv, root, pjson) {',
  '  await Promise.all(reachable(argv).map(async (id) => { COMMANDS[id] = pick(await loaders[id]()) }))',
  "  const commands = {strategy: 'explicit', target: fileURLToPath(import.meta.url), identifier: 'COMMANDS'}",
  '  // userPlugins: false: never load plugins named by $BINAUTHZ_DATA_DIR/package.json (see bin/run.js)',
  '  return execute({args: argv, loadOptions: {root, userPlugins: false, pjson: {...pjson, oclif: {...pjson.oclif, commands}}}})',
  '}',
].join('\n')

// @oclif/core is CommonJS compiled from TypeScript: every module require()s all it might use at the top, and the
// index pulls in everything (help, ux, parser, globbing, semver ...). Bundled, those requires become init calls;
// this makes each `const x_1 = require("...")` (and the index's `exports.X = __importStar(require(...))`) run the
// required module on first use instead, which is all the compiled code ever does with it (`x_1.name`).
const LAZY_PRELUDE =
  'var __binauthzLazy = (load) => { let m; const get = () => (m ??= load()); return new Proxy({}, {get: (_, k) => get()[k], has: (_, k) => k in get(), set: (_, k, v) => { get()[k] = v; return true } }) };\n'
function lazify(source) {
  const contents = source
    .replaceAll(
      /^(const|var) (\w+) = ((?:__importDefault|__importStar)\()?require\(("[^"]+")\)(\))?;$/gm,
      (_, kind, name, wrap = '', spec, close = '') => `${kind} ${name} = __binauthzLazy(() => ${wrap}require(${spec})${close});`,
    )
    .replaceAll(
      /^exports\.(\w+) = (__importStar\(require\("[^"]+"\)\));$/gm,
      (_, name, value) => `{ let v; Object.defineProperty(exports, ${JSON.stringify(name)}, {enumerable: true, get: () => (v ??= ${value})}); }`,
    )
  return contents === source ? source : LAZY_PRELUDE + contents
}

const lazyOclifRequires = {
  name: 'lazy-oclif-requires',
  setup(b) {
    // lib/index.js also warns when Node does not satisfy @oclif/core's own engines.node, loading semver (~15 ms) to
    // check. Bundled, that check can never warn: it then reads package.json next to __dirname, which ESM lacks, and
    // ends in its catch. So the bundle leaves the call out (same output; our engines.node is stricter anyway).
    b.onLoad({filter: /[\\/]@oclif[\\/]core[\\/]lib[\\/]index\.js$/}, (args) => {
      const source = readFileSync(args.path, 'utf8')
      if (!/^checkNodeVersion\(\);$/m.test(source)) throw new Error('fast-start: @oclif/core lib/index.js changed; review scripts/fast-start/build.js')
      return {contents: lazify(source).replace(/^checkNodeVersion\(\);$/m, '// checkNodeVersion(): left out, see scripts/fast-start/build.js'), loader: 'js'}
    })
    b.onLoad({filter: /[\\/]@oclif[\\/]core[\\/]lib[\\/].*\.js$/}, (args) => ({contents: lazify(readFileSync(args.path, 'utf8')), loader: 'js'}))
  },
}

const BANNER = {
  // CommonJS dependencies call require() for Node built-ins; ESM output has no require of its own.
  js: "import {createRequire as __binauthzCreateRequire} from 'node:module';const require=__binauthzCreateRequire(import.meta.url);",
}
const COMMON = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Class and function names stay as written (errors use new.target.name).
  keepNames: true,
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  banner: BANNER,
  // oclif reaches these only to run TypeScript sources in development, which the bundle never does.
  external: ['typescript', 'ts-node', 'tsx', 'tsx/*'],
  logLevel: 'warning',
  metafile: true,
}

// The packages our compiled code imports lazily (`await import('execa')`): each becomes vendor/NAME.js.
const vendor = new Set()
function scanDynamicImports(dir) {
  for (const entry of readdirSync(dir, {withFileTypes: true})) {
    const file = join(dir, entry.name)
    if (entry.isDirectory()) scanDynamicImports(file)
    else if (file.endsWith('.js')) {
      for (const match of readFileSync(file, 'utf8').matchAll(/\bimport\((['"])([^'"./][^'"]*)\1\)/g)) {
        if (!match[2].startsWith('node:')) vendor.add(match[2])
      }
    }
  }
}

scanDynamicImports(join(root, 'dist', 'src'))
const vendorFile = (spec) => `vendor/${spec.replaceAll('/', '+')}.js`
const vendorPlugin = {
  name: 'vendor',
  setup(b) {
    b.onResolve({filter: /^[^./]/}, (args) =>
      args.kind === 'dynamic-import' && vendor.has(args.path) ? {path: `./${vendorFile(args.path)}`, external: true} : undefined,
    )
  },
}

const inputs = new Set(['package.json', 'oclif.manifest.json'])
function addInputs(metafile) {
  for (const file of Object.keys(metafile.inputs)) {
    const rel = relative(root, resolve(root, file))
    // Our compiled sources; not node_modules (the bundle carries its own copy) nor the generated entries.
    if (rel.startsWith(`dist${sep}`) && !rel.split(sep).includes('node_modules')) inputs.add(rel.split(sep).join('/'))
  }
}

let bytes = 0
for (const spec of [...vendor].sort()) {
  // The names an ESM import of the package sees (for CommonJS, what Node's cjs-module-lexer finds), re-exported
  // one by one: esbuild cannot `export *` from CommonJS in ESM output.
  // eslint-disable-next-line no-await-in-loop
  // (Resolved from scripts/fast-start/, i.e. the same node_modules as dist/src.)
  const names = Object.keys(await import(spec))
  const contents = [
    `import * as ns from ${JSON.stringify(spec)}`,
    ...names.map((name, i) => `const v${i} = ns[${JSON.stringify(name)}]`),
    `export {${names.map((name, i) => `v${i} as ${JSON.stringify(name)}`).join(', ')}}`,
  ].join('\n')
  const outfile = join(out, vendorFile(spec))
  // eslint-disable-next-line no-await-in-loop
  const result = await build({...COMMON, stdin: {contents, resolveDir: root, sourcefile: `vendor-${spec}.js`, loader: 'js'}, outfile, plugins: [vendorPlugin]})
  bytes += Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0)
  // eslint-disable-next-line no-await-in-loop
  const built = Object.keys(await import(pathToFileURL(outfile).href)).sort()
  if (built.join() !== [...names].sort().join()) {
    throw new Error(`fast-start: vendor/${spec}: exports ${built.join(', ')} differ from the package's ${names.join(', ')}`)
  }
}

const bundled = await build({
  ...COMMON,
  stdin: {contents: entry, resolveDir: root, sourcefile: 'fast-start-entry.js', loader: 'js'},
  outfile: join(out, 'binauthz.js'),
  plugins: [lazyOclifRequires, vendorPlugin],
})
addInputs(bundled.metafile)
bytes += Object.values(bundled.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0)

// ---------------------------------------------------------------------------------------------------------------
// 2. Pre-rendered help (skipped when a custom Help class could print anything)

const help = {formatVersion: FORMAT_VERSION, minWidth: MIN_WIDTH, maxWidth: MAX_WIDTH, subjects: {}}
const helpDir = join(out, 'help')
mkdirSync(helpDir)
let helpSkipped
if (pjson.oclif?.helpClass) helpSkipped = 'package.json names a custom helpClass'
// oclif warns (on stderr) when the manifest's version differs; the pre-rendered path would not.
else if (manifest.version !== pjson.version) helpSkipped = `oclif.manifest.json is for version ${manifest.version}, not ${pjson.version}`

function renderHelp(forceColor, file) {
  return new Promise((resolveRender, reject) => {
    const env = {...process.env, FORCE_COLOR: forceColor}
    for (const key of Object.keys(env)) if (key.startsWith('OCLIF_') || key === 'DEBUG' || key === 'NODE_ENV') delete env[key]
    const child = spawn(process.execPath, [join(here, 'render-help.js'), root, file, String(MIN_WIDTH), String(MAX_WIDTH)], {
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
    })
    child.on('error', reject)
    child.on('exit', (code) => (code === 0 ? resolveRender(JSON.parse(readFileSync(file, 'utf8'))) : reject(new Error(`render-help exited ${code}`))))
  })
}

if (!helpSkipped) {
  const scratch = mkdtempSync(join(tmpdir(), 'binauthz-help-'))
  try {
    const [plain, color] = await Promise.all([renderHelp('0', join(scratch, 'plain.json')), renderHelp('3', join(scratch, 'color.json'))])
    help.userAgent = plain.userAgent
    const files = new Map()
    const fileFor = (text) => {
      if (!files.has(text)) {
        const name = `${files.size}.txt`
        writeFileSync(join(helpDir, name), text)
        files.set(text, name)
      }

      return files.get(text)
    }

    for (const [variant, rendered] of [['plain', plain], ['color', color]]) {
      for (const subject of rendered.subjects) {
        const entry = (help.subjects[subject.key] ??= {})
        // Runs of widths with the same text: [[fromWidth, toWidth, file], ...]
        const ranges = []
        for (let width = MIN_WIDTH; width <= MAX_WIDTH; width++) {
          const file = fileFor(subject.texts[width])
          const last = ranges.at(-1)
          if (last && last[2] === file && last[1] === width - 1) last[1] = width
          else ranges.push([width, width, file])
        }

        entry[variant] = ranges
        // Widths at which the user agent (VERSION section) is a line of its own, so another Node version or
        // platform can be put in its place without changing anything else.
        if (subject.key === '') {
          let from = Math.max(MIN_WIDTH, rendered.userAgent.length + 2)
          for (let width = from; width <= MAX_WIDTH; width++) {
            if (subject.texts[width].split(`\n  ${rendered.userAgent}\n`).length !== 2) from = width + 1
          }

          entry.userAgentFrom = Math.max(entry.userAgentFrom ?? MIN_WIDTH, from)
        }
      }
    }
  } finally {
    rmSync(scratch, {recursive: true, force: true})
  }
}

writeFileSync(join(helpDir, 'index.json'), JSON.stringify(help))

// The run-time picker, bundled with the modules oclif itself consults (resolved from @oclif/core, so the same copies).
const oclifRequire = createRequire(createRequire(join(root, 'package.json')).resolve('@oclif/core'))
await build({
  entryPoints: [join(here, 'help-runtime.js')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile: join(out, 'help.js'),
  alias: {
    'supports-color': oclifRequire.resolve('supports-color'),
    ansis: oclifRequire.resolve('ansis'),
    'is-wsl': createRequire(oclifRequire.resolve('wsl-utils')).resolve('is-wsl'),
  },
  minifyWhitespace: true,
  legalComments: 'none',
  banner: BANNER,
  logLevel: 'warning',
})

// ---------------------------------------------------------------------------------------------------------------
// 3. meta.json: what bin/run.js checks before using any of this

const meta = {
  formatVersion: FORMAT_VERSION,
  builtAt: new Date().toISOString(),
  node: process.version,
  // bin/run.js passes this to the bundle instead of reading package.json again (package.json is an input).
  pjson,
  helpSkipped: helpSkipped ?? null,
  // argv (words joined by ':', '' for none) that dist/bundle/help.js may answer, so other commands skip loading it.
  helpSubjects: Object.keys(help.subjects),
  inputs: [...inputs].sort().map((rel) => {
    const file = join(root, rel)
    const content = readFileSync(file)
    const st = statSync(file)
    return [rel, st.size, st.mtimeMs, createHash('sha1').update(content).digest('hex')]
  }),
}
writeFileSync(join(out, 'meta.json'), JSON.stringify(meta))

console.error(
  `fast-start: dist/bundle: ${commands.length} commands in binauthz.js, ${vendor.size} vendor files (${[...vendor].join(', ')}), ${(bytes / 1024).toFixed(0)} KiB, ` +
    `${helpSkipped ? `help not pre-rendered (${helpSkipped})` : `help pre-rendered for ${Object.keys(help.subjects).length} subjects`}, ${meta.inputs.length} inputs checked at start`,
)
