#!/usr/bin/env node
// The fast start, built by `npm run build` after tsc (plain Node ESM, no TypeScript; `npm run build:fast-start` alone):
//
//   dist/bundle/binauthz.js     every command, our code and @oclif/core in ONE esbuild bundle (one file to read and
//                               compile: ~35 chunk files cost more), run through oclif's own execute() with
//                               package.json's "commands" switched to {strategy: explicit, target: the bundle};
//                               commands and oclif's modules are evaluated on first use.
//   dist/bundle/vendor/NAME.js  each package our code imports lazily (execa, listr2, @inquirer/prompts,
//                               google-auth-library ...) bundled on its own, loaded only when that import runs.
//   dist/bundle/help/           `binauthz --help` and each topic's help pre-rendered by oclif's own Config and Help
//                               class (scripts/fast-start/render-help.js), for every width 40..300, with and without colour.
//   dist/bundle/help.js         picks the pre-rendered text at run time (scripts/fast-start/help-runtime.js), with
//                               the very modules oclif consults to decide colour and platform.
//   dist/bundle/meta.json       written last: the inputs (path, size, mtime, sha1) all this was built from. bin/run.js
//                               uses the fast start only while every input is unchanged, so an `npx tsc` that changes
//                               a command falls back to plain oclif until the next build.
//
// If the fast start cannot be built, this says why and exits 0 without meta.json: bin/run.js then runs plain oclif
// (correct, only slower), and the build of the CLI itself does not fail over a performance feature.
import {build} from 'esbuild'
import {spawn} from 'node:child_process'
import {createHash} from 'node:crypto'
import {
  mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync,
} from 'node:fs'
import {createRequire} from 'node:module'
import {tmpdir} from 'node:os'
import {
  dirname, join, relative, resolve, sep,
} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, '..', '..')
const out = join(root, 'dist', 'bundle')
const MIN_WIDTH = 40
const MAX_WIDTH = 300
const FORMAT_VERSION = 1

const BANNER = {
  // CommonJS dependencies call require() for Node built-ins; ESM output has no require of its own.
  js: "import {createRequire as __binauthzCreateRequire} from 'node:module';const require=__binauthzCreateRequire(import.meta.url);",
}
const COMMON = {
  banner: BANNER,
  bundle: true,
  // oclif reaches these only to run TypeScript sources in development, which the bundle never does.
  external: ['typescript', 'ts-node', 'tsx', 'tsx/*'],
  format: 'esm',
  // Class and function names stay as written (errors use new.target.name). Identifiers are not mangled: a full
  // minify measured no faster to start.
  keepNames: true,
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
  minifySyntax: true,
  minifyWhitespace: true,
  platform: 'node',
  target: 'node20',
}

// ---------------------------------------------------------------------------------------------------------------
// 1. The bundle

/** The generated entry: lazily evaluated commands, COMMANDS for oclif's "explicit" strategy, run(). */
function entrySource(commands) {
  const aliases = {}
  for (const command of commands) for (const alias of command.aliases ?? []) aliases[alias] = command.id
  const loaders = commands.map(command => `${JSON.stringify(command.id)}: () => import(${JSON.stringify(`./${command.relativePath.join('/')}`)})`)
  return [
    "import {fileURLToPath} from 'node:url'",
    "import {execute} from '@oclif/core'",
    `const loaders = {${loaders.join(', ')}}`,
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
    "/** Runs the CLI: oclif's own execute(), with the commands taken from this very module. */",
    'export async function run(argv, root, pjson) {',
    '  await Promise.all(reachable(argv).map(async (id) => { COMMANDS[id] = pick(await loaders[id]()) }))',
    "  const commands = {strategy: 'explicit', target: fileURLToPath(import.meta.url), identifier: 'COMMANDS'}",
    '  // userPlugins: false: never load plugins named by $BINAUTHZ_DATA_DIR/package.json (see bin/run.js)',
    '  return execute({args: argv, loadOptions: {root, userPlugins: false, pjson: {...pjson, oclif: {...pjson.oclif, commands}}}})',
    '}',
  ].join('\n')
}

// @oclif/core is CommonJS compiled from TypeScript: every module require()s all it might use at the top, and the
// index pulls in everything (help, ux, parser, globbing, semver ...). Bundled, those requires become init calls;
// this makes each `const x_1 = require("...")` (and the index's `exports.X = __importStar(require(...))`) run the
// required module on first use instead, which is all the compiled code ever does with it (`x_1.name`).
const LAZY_PRELUDE = [
  'var __binauthzLazy = (load) => { let m; const get = () => (m ??= load());',
  'return new Proxy({}, {get: (_, k) => get()[k], has: (_, k) => k in get(), set: (_, k, v) => { get()[k] = v; return true }}) };\n',
].join(' ')

function lazify(source) {
  const contents = source
  .replaceAll(
    /^(const|var) (\w+) = ((?:__importDefault|__importStar)\()?require\(("[^"]+")\)(\))?;$/gm,
    (...m) => `${m[1]} ${m[2]} = __binauthzLazy(() => ${m[3] ?? ''}require(${m[4]})${m[5] ?? ''});`,
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
    b.onLoad({filter: /[/\\]@oclif[/\\]core[/\\]lib[/\\]index\.js$/}, args => {
      const source = readFileSync(args.path, 'utf8')
      if (!/^checkNodeVersion\(\);$/m.test(source)) throw new Error('@oclif/core lib/index.js changed; review scripts/fast-start/build.js')
      return {contents: lazify(source).replace(/^checkNodeVersion\(\);$/m, '// checkNodeVersion(): left out, see scripts/fast-start/build.js'), loader: 'js'}
    })
    b.onLoad({filter: /[/\\]@oclif[/\\]core[/\\]lib[/\\].*\.js$/}, args => ({contents: lazify(readFileSync(args.path, 'utf8')), loader: 'js'}))
  },
}

/** The packages our compiled code imports lazily (`await import('execa')`): each becomes vendor/NAME.js. */
function dynamicImports(dir, found = new Set()) {
  for (const entry of readdirSync(dir, {withFileTypes: true})) {
    const file = join(dir, entry.name)
    if (entry.isDirectory()) dynamicImports(file, found)
    else if (file.endsWith('.js')) {
      const specs = [...readFileSync(file, 'utf8').matchAll(/\bimport\((["'])([^"'./][^"']*)\1\)/g)].map(m => m[2])
      for (const spec of specs) if (!spec.startsWith('node:')) found.add(spec)
    }
  }

  return found
}

const vendorFile = spec => `vendor/${spec.replaceAll('/', '+')}.js`
const vendorPlugin = vendor => ({
  name: 'vendor',
  setup(b) {
    b.onResolve({filter: /^[^./]/}, args => (args.kind === 'dynamic-import' && vendor.has(args.path)
      ? {external: true, path: `./${vendorFile(args.path)}`}
      : undefined))
  },
})

const outputBytes = result => Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0)

async function buildVendor(spec, plugin) {
  // The names an ESM import of the package sees (for CommonJS, what Node's cjs-module-lexer finds), re-exported one
  // by one: esbuild cannot `export *` from CommonJS in ESM output. Resolved from here: the node_modules of dist/src.
  const names = Object.keys(await import(spec))
  const contents = [
    `import * as ns from ${JSON.stringify(spec)}`,
    ...names.map((name, i) => `const v${i} = ns[${JSON.stringify(name)}]`),
    `export {${names.map((name, i) => `v${i} as ${JSON.stringify(name)}`).join(', ')}}`,
  ].join('\n')
  const outfile = join(out, vendorFile(spec))
  const result = await build({
    ...COMMON,
    outfile,
    plugins: [plugin],
    stdin: {
      contents, loader: 'js', resolveDir: root, sourcefile: `vendor-${spec}.js`,
    },
  })
  const built = Object.keys(await import(pathToFileURL(outfile).href)).sort()
  if (built.join(',') !== [...names].sort().join(',')) {
    throw new Error(`vendor/${spec}: exports ${built.join(', ')} differ from the package's ${names.join(', ')}`)
  }

  return outputBytes(result)
}

// ---------------------------------------------------------------------------------------------------------------
// 2. Pre-rendered help

function renderHelp(forceColor, file) {
  return new Promise((resolveRender, reject) => {
    const env = {...process.env, FORCE_COLOR: forceColor}
    for (const key of Object.keys(env)) if (key.startsWith('OCLIF_') || key === 'DEBUG' || key === 'NODE_ENV') delete env[key]
    const child = spawn(process.execPath, [join(here, 'render-help.js'), root, file, String(MIN_WIDTH), String(MAX_WIDTH)], {
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
    })
    child.on('error', reject)
    child.on('exit', code => {
      if (code === 0) resolveRender(JSON.parse(readFileSync(file, 'utf8')))
      else reject(new Error(`render-help exited ${code}`))
    })
  })
}

/** Runs of widths with the same text, [[fromWidth, toWidth, file], ...]; texts written once each. */
function widthRanges(texts, fileFor) {
  const ranges = []
  for (let width = MIN_WIDTH; width <= MAX_WIDTH; width++) {
    const file = fileFor(texts[width])
    const last = ranges.at(-1)
    if (last && last[2] === file && last[1] === width - 1) last[1] = width
    else ranges.push([width, width, file])
  }

  return ranges
}

/** The narrowest width from which the user agent (VERSION section) is a line of its own at every width. */
function userAgentFrom(texts, userAgent) {
  let from = Math.max(MIN_WIDTH, userAgent.length + 2)
  for (let width = from; width <= MAX_WIDTH; width++) {
    if (texts[width].split(`\n  ${userAgent}\n`).length !== 2) from = width + 1
  }

  return from
}

async function prerenderHelp(helpDir) {
  const help = {
    formatVersion: FORMAT_VERSION, maxWidth: MAX_WIDTH, minWidth: MIN_WIDTH, subjects: {},
  }
  const scratch = mkdtempSync(join(tmpdir(), 'binauthz-help-'))
  try {
    const [plain, color] = await Promise.all([renderHelp('0', join(scratch, 'plain.json')), renderHelp('3', join(scratch, 'color.json'))])
    help.userAgent = plain.userAgent
    const files = new Map()
    const fileFor = text => {
      if (!files.has(text)) {
        files.set(text, `${files.size}.txt`)
        writeFileSync(join(helpDir, files.get(text)), text)
      }

      return files.get(text)
    }

    for (const [variant, rendered] of [['plain', plain], ['color', color]]) {
      for (const subject of rendered.subjects) {
        help.subjects[subject.key] ??= {}
        const entry = help.subjects[subject.key]
        entry[variant] = widthRanges(subject.texts, fileFor)
        if (subject.key === '') entry.userAgentFrom = Math.max(entry.userAgentFrom ?? MIN_WIDTH, userAgentFrom(subject.texts, rendered.userAgent))
      }
    }
  } finally {
    rmSync(scratch, {force: true, recursive: true})
  }

  writeFileSync(join(helpDir, 'index.json'), JSON.stringify(help))
  return help
}

async function buildHelpRuntime() {
  // supports-color, ansis and is-wsl as @oclif/core resolves them (the same copies it consults), passed to
  // help-runtime.js by a generated entry.
  const oclifRequire = createRequire(createRequire(join(root, 'package.json')).resolve('@oclif/core'))
  const deps = {
    ansis: oclifRequire.resolve('ansis'),
    isWsl: createRequire(oclifRequire.resolve('wsl-utils')).resolve('is-wsl'),
    supportsColor: oclifRequire.resolve('supports-color'),
  }
  const contents = [
    ...Object.entries(deps).map(([name, file]) => `import ${name} from ${JSON.stringify(file)}`),
    `import {makePrerendered} from ${JSON.stringify(join(here, 'help-runtime.js'))}`,
    `export const prerendered = makePrerendered({${Object.keys(deps).join(', ')}})`,
  ].join('\n')
  await build({
    ...COMMON,
    metafile: false,
    outfile: join(out, 'help.js'),
    stdin: {
      contents, loader: 'js', resolveDir: here, sourcefile: 'help-entry.js',
    },
  })
}

// ---------------------------------------------------------------------------------------------------------------
// 3. Everything, and meta.json last

async function main() {
  const pjson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  const manifest = JSON.parse(readFileSync(join(root, 'oclif.manifest.json'), 'utf8'))
  const commands = Object.values(manifest.commands)
  const noPath = commands.find(command => !Array.isArray(command.relativePath))
  if (noPath) throw new Error(`oclif.manifest.json has no relativePath for ${noPath.id}; regenerate it with \`oclif manifest\``)

  rmSync(out, {force: true, recursive: true})
  mkdirSync(join(out, 'help'), {recursive: true})

  const vendor = dynamicImports(join(root, 'dist', 'src'))
  const plugin = vendorPlugin(vendor)
  let bytes = 0
  for (const spec of [...vendor].sort()) bytes += await buildVendor(spec, plugin)

  const bundled = await build({
    ...COMMON,
    outfile: join(out, 'binauthz.js'),
    plugins: [lazyOclifRequires, plugin],
    stdin: {
      contents: entrySource(commands), loader: 'js', resolveDir: root, sourcefile: 'fast-start-entry.js',
    },
  })
  bytes += outputBytes(bundled)

  // Pre-rendered help, unless something only oclif can know decides the output.
  let helpSkipped = null
  if (pjson.oclif?.helpClass) helpSkipped = 'package.json names a custom helpClass'
  // oclif warns (on stderr) when the manifest's version differs; the pre-rendered path would not.
  else if (manifest.version !== pjson.version) helpSkipped = `oclif.manifest.json is for version ${manifest.version}, not ${pjson.version}`
  const help = helpSkipped ? {subjects: {}} : await prerenderHelp(join(out, 'help'))
  await buildHelpRuntime()

  // Our compiled sources the bundle was made of (not node_modules: the bundle carries its own copy), package.json
  // and the manifest.
  const inputs = new Set(['oclif.manifest.json', 'package.json'])
  for (const file of Object.keys(bundled.metafile.inputs)) {
    const rel = relative(root, resolve(root, file))
    if (rel.startsWith(`dist${sep}`) && !rel.split(sep).includes('node_modules')) inputs.add(rel.split(sep).join('/'))
  }

  const meta = {
    builtAt: new Date().toISOString(),
    formatVersion: FORMAT_VERSION,
    helpSkipped,
    // argv (words joined by ':', '' for none) that dist/bundle/help.js may answer, so other commands skip loading it.
    helpSubjects: Object.keys(help.subjects),
    inputs: [...inputs].sort().map(rel => {
      const file = join(root, rel)
      const st = statSync(file)
      return [rel, st.size, st.mtimeMs, createHash('sha1').update(readFileSync(file)).digest('hex')]
    }),
    node: process.version,
    // bin/run.js passes this to the bundle instead of reading package.json again (package.json is an input).
    pjson,
  }
  writeFileSync(join(out, 'meta.json'), JSON.stringify(meta))
  const helpNote = helpSkipped ? `help not pre-rendered (${helpSkipped})` : `help pre-rendered for ${meta.helpSubjects.length} subjects`
  console.error([
    `fast-start: dist/bundle: ${commands.length} commands in binauthz.js, vendor: ${[...vendor].join(', ') || 'none'}`,
    `${(bytes / 1024).toFixed(0)} KiB`,
    helpNote,
    `${meta.inputs.length} inputs checked at start`,
  ].join('; '))
}

try {
  await main()
} catch (error) {
  rmSync(join(out, 'meta.json'), {force: true})
  console.error(`fast-start: NOT built (${error instanceof Error ? error.message : error}); bin/run.js will run plain oclif, correct but slower.`)
}
