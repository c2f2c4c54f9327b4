#!/usr/bin/env node
// Entry point, the only one: users, tests and `binauthz sandbox serve` (the background server `sandbox start`
// spawns through this same bin) all start here. It runs dist/bundle/binauthz.cjs (scripts/bundle.js, made by
// `npm run build`; an installed package ships it): the CLI and @oclif/core in one esbuild bundle. Its COMMANDS are
// what oclif's `explicit` command discovery names (package.json oclif.commands: `oclif manifest` and `oclif readme`
// read them so); at run time bin/run.js hands them to run() (src/cli/main.ts: oclif's run), in binauthz's root plugin.
//
// First of all, the Node.js version is checked against package.json "engines" (bin/supported-node.js): on one we do
// not support, binauthz stops at once with a message and exit code 2, before the bundle is loaded.
//
// Two caches make a start shorter; both live in $XDG_CACHE_HOME/binauthz or ~/.cache/binauthz, both are off with
// Node's own NODE_DISABLE_COMPILE_CACHE=1, and a cache that cannot be read or written is only a slower start:
// - V8's code cache of the bundle (vm.Script cachedData), keyed by the bundle's SHA-256 (its first line), the Node
//   version, the architecture and the command's words (it holds what the first successful run of that command
//   compiled: a deploy's cache has the deploy's functions, not the help's; at most CODE_CACHES_KEPT per bundle; see
//   loadBundle for runs that fail); V8 itself
//   refuses data made under other flags. Where Node has its module compile
//   cache (≥ 22.1) it is on too, for the vendor files the bundle imports lazily (NODE_COMPILE_CACHE decides its
//   directory when set).
// - oclif's answer to a help request (`binauthz [COMMAND…] --help`, `binauthz help [COMMAND…]`): stored after oclif
//   printed it (exit 0, nothing on stderr), printed from the store the next time the same request comes with the
//   same bundle, manifest, package.json, theme file, Node, environment, terminal width and TTY-ness, without
//   loading the bundle. It is oclif's own output, never rendered here. See helpKey.
//
// A CommonJS script (bin/package.json: "type": "commonjs"): an ES module as the entry point makes Node set up its
// ESM loader before anything runs (~4 ms of CPU on every start, bench/RESULTS.md), and the commands that import no
// vendor file never need it.
'use strict'

const nodeModule = require('node:module')

const {UNSUPPORTED_NODE_EXIT, unsupportedNodeMessage} = require('./supported-node.js')

const {createRequire} = nodeModule
const nodeRequire = require
const {
  closeSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync,
} = nodeRequire('node:fs')
const {homedir} = nodeRequire('node:os')
const {dirname, isAbsolute, join} = nodeRequire('node:path')
const {isatty} = nodeRequire('node:tty')
const {pathToFileURL} = nodeRequire('node:url')

const root = join(__dirname, '..')
const bundle = join(root, 'dist', 'bundle', 'binauthz.cjs')
const argv = process.argv.slice(2)
const caching = !process.env.NODE_DISABLE_COMPILE_CACHE
// The XDG spec says a relative XDG_* value is invalid and must be ignored (src/store's rule for the data and config dirs).
const xdgDir = (name, fallback) => (isAbsolute(process.env[name] ?? '') ? process.env[name] : join(homedir(), fallback))
const cacheDir = join(xdgDir('XDG_CACHE_HOME', '.cache'), 'binauthz')

/** Writes `file` whole or not at all (another binauthz may be reading or writing it); false when it cannot. */
function writeAtomically(file, data) {
  const temporary = `${file}.${process.pid}.tmp`
  try {
    mkdirSync(dirname(file), {recursive: true})
    writeFileSync(temporary, data, {mode: 0o600})
    renameSync(temporary, file)
    return true
  } catch {
    try {
      unlinkSync(temporary)
    } catch {}

    return false
  }
}

/** The bundle's SHA-256 from its first line (scripts/bundle.js writes it); undefined when unbuilt or unreadable. */
function bundleSha() {
  try {
    const fd = openSync(bundle)
    try {
      const head = Buffer.alloc(100)
      const n = readSync(fd, head, 0, head.length, 0)
      return /^\/\/ binauthz-bundle sha256=([\da-f]{64})\n/.exec(head.toString('latin1', 0, n))?.[1]
    } finally {
      closeSync(fd)
    }
  } catch {}
}

// ---------------------------------------------------------------------------------------------------------------
// The help store

const HELP_ANSWERS_KEPT = 32

/** `[COMMAND…] --help` or `help [COMMAND…]`: words only, so nothing but the command's help can be asked. */
function isHelpRequest(args) {
  const words = args.filter(arg => arg !== '--help')
  if (words.some(word => !/^[a-z][\w-]*$/.test(word))) return false
  return (args.at(-1) === '--help' && words.length === args.length - 1) || (args[0] === 'help' && !args.includes('--help'))
}

// Variables that change between shells of one user without any bearing on help; every other variable is part of
// the key (over-inclusion only costs a store miss: oclif's colour and width rules read FORCE_COLOR, NO_COLOR, TERM,
// COLORTERM, CI and its vendors' variables, OCLIF_COLUMNS, BINAUTHZ_* ...).
const VOLATILE = new Set(['_', 'OLDPWD', 'PWD', 'SHLVL', 'SSH_CLIENT', 'SSH_CONNECTION', 'SSH_TTY', 'TERM_SESSION_ID', 'WINDOWID', 'XDG_SESSION_ID'])

function fileStamp(file) {
  try {
    const s = statSync(file)
    return `${s.size}:${s.mtimeMs}:${s.ino}`
  } catch {
    return 'none'
  }
}

/** Everything oclif's help output depends on, as one line; a different value of any of them is a different entry. */
function helpKey(sha) {
  const env = Object.entries(process.env).filter(([name]) => !VOLATILE.has(name)).sort(([a], [b]) => (a < b ? -1 : (a > b ? 1 : 0)))
  const configDir = process.env.BINAUTHZ_CONFIG_DIR || join(xdgDir('XDG_CONFIG_HOME', '.config'), 'binauthz')
  const tty = [0, 1, 2].map(fd => isatty(fd))
  const key = JSON.stringify({
    arch: process.arch,
    argv,
    bundle: sha,
    // oclif takes the width from the terminal when stdout is one.
    columns: tty[1] ? process.stdout.columns : undefined,
    env,
    files: [join(root, 'oclif.manifest.json'), join(root, 'package.json'), join(configDir, 'theme.json')].map(f => fileStamp(f)),
    node: process.version,
    tty,
  })
  return key
}

/**
 * The help store's file name for a key: its SHA-256 (the key holds the environment, so it is never written itself),
 * by bin/sha256.js, loaded only for help requests (node:crypto would start OpenSSL first).
 */
function helpFileName(key) {
  return `${nodeRequire('./sha256.js').sha256Hex(key)}.txt`
}

/** Prints a stored answer; false when there is none (or stdout would not take any of it). */
function printStoredHelp(file) {
  let text
  try {
    text = readFileSync(file)
  } catch {
    return false
  }

  let written = 0
  try {
    while (written < text.length) written += writeSync(1, text, written)
  } catch (error) {
    // A reader that went away (`| head`): done, as a stream would be. A non-blocking stdout that is full: the rest
    // through the stream, which waits for it.
    if (error?.code === 'EPIPE') return true
    if (error?.code === 'EAGAIN') process.stdout.write(text.subarray(written))
    else if (written > 0) throw error
    else return false
  }

  return true
}

/** Keeps what oclif prints for a help request, to store it when the run ended well. */
function recordStdout() {
  const chunks = []
  let stderrUsed = false
  const out = process.stdout.write
  const err = process.stderr.write
  process.stdout.write = function (chunk, ...rest) {
    chunks.push(Buffer.from(chunk))
    return out.call(this, chunk, ...rest)
  }

  process.stderr.write = function (...args) {
    stderrUsed = true
    return err.apply(this, args)
  }

  return () => {
    process.stdout.write = out
    process.stderr.write = err
    return stderrUsed || chunks.length === 0 ? undefined : Buffer.concat(chunks)
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The bundle, compiled with V8's code cache

const CODE_CACHES_KEPT = 8

/** Removes all but the `count` newest files ending in `ext` from `dir` (best effort). */
function keepNewest(dir, ext, count) {
  try {
    const files = readdirSync(dir).filter(name => name.endsWith(ext)).map(name => join(dir, name))
    const byAge = files.map(file => ({file, mtime: statSync(file).mtimeMs})).sort((a, b) => b.mtime - a.mtime)
    for (const {file} of byAge.slice(count)) unlinkSync(file)
  } catch {}
}

/** The command's words (`deploy-run`, `policy-status`; `root` for none), naming its code cache. */
function commandWords(args) {
  const words = []
  for (const arg of args.slice(0, 2)) {
    if (!/^[a-z][a-z-]{0,30}$/.test(arg)) break
    words.push(arg)
  }

  return words.join('-') || 'root'
}

/**
 * Runs the bundle as Node would run a CommonJS file. Returns its exports and a function, for the process's exit, that
 * stores V8's code cache once the run has compiled what it needed: when there was no usable one, or when the one
 * used came from a run that failed. A run that fails (a usage error, say) compiled only part of what the command's
 * runs need, so its cache is kept apart (`.failed.v8`), used until a run of the command succeeds, and then replaced.
 */
function loadBundle(source, sha) {
  const prefix = `bundle-${sha?.slice(0, 24)}-`
  const base = caching && sha ? join(cacheDir, `${prefix}${process.version}-${process.arch}-${commandWords(argv)}`) : undefined
  let cachedData
  let fromFailedRun = false
  if (base) {
    try {
      cachedData = readFileSync(`${base}.v8`)
    } catch {
      try {
        cachedData = readFileSync(`${base}.failed.v8`)
        fromFailedRun = true
      } catch {}
    }
  }

  // The file as it is: its value is a function of CommonJS's parameters and the import() below (scripts/bundle.js
  // WRAPPER_START), so no wrapped copy of the source is made.
  const script = new (nodeRequire('node:vm').Script)(source, {cachedData, filename: bundle})
  const mod = new nodeModule.Module(bundle)
  mod.filename = bundle
  mod.paths = nodeModule._nodeModulePaths(dirname(bundle))
  const require = createRequire(bundle)
  const bundleUrl = pathToFileURL(bundle)
  script.runInThisContext()(mod.exports, require, mod, bundle, dirname(bundle), spec => import(new URL(spec, bundleUrl).href))
  mod.loaded = true
  const storeCodeCache = exitCode => {
    const usable = cachedData !== undefined && !script.cachedDataRejected
    if (!base || (usable && (!fromFailedRun || exitCode !== 0))) return
    if (!writeAtomically(`${base}${exitCode === 0 ? '.v8' : '.failed.v8'}`, script.createCachedData())) return
    if (exitCode === 0) {
      try {
        unlinkSync(`${base}.failed.v8`)
      } catch {}
    }

    // Older bundles' entries (another version of binauthz) removed; of the current one's, the newest kept.
    try {
      for (const name of readdirSync(cacheDir)) if (name.startsWith('bundle-') && name.endsWith('.v8') && !name.startsWith(prefix)) unlinkSync(join(cacheDir, name))
    } catch {}

    keepNewest(cacheDir, '.v8', CODE_CACHES_KEPT)
  }

  return {cli: mod.exports, storeCodeCache}
}

// ---------------------------------------------------------------------------------------------------------------

// Read once: the Node check, then oclif's Config.load (its `pjson` option).
const pjson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const refusal = unsupportedNodeMessage(process.versions.node, pjson)
if (refusal) {
  process.stderr.write(refusal)
  process.exitCode = UNSUPPORTED_NODE_EXIT
} else {
  // A failure outside oclif's own handling (a bug) is an unhandled rejection: Node prints it, exit 1.
  start()
}

/**
 * A reader that goes away before the end (`binauthz … --json | head -c 100`: EPIPE; a terminal that hung up: EIO):
 * what is left to print is lost, the run is not, and no stack trace is printed. Other write errors crash.
 */
function ignoreClosedOutput() {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', error => {
      if (error?.code !== 'EPIPE' && error?.code !== 'EIO') throw error
    })
  }
}

/** The CLI itself: everything after the version check. */
async function start() {
  const sha = bundleSha()
  const helpRequest = caching && sha && isHelpRequest(argv) ? helpKey(sha) : undefined
  const helpFile = helpRequest === undefined ? undefined : join(cacheDir, 'help', helpFileName(helpRequest))
  if (!(helpFile && printStoredHelp(helpFile))) {
    let source
    try {
      // ASCII (scripts/bundle.js asciiSource): read as latin1, the same text without UTF-8 decoding.
      source = readFileSync(bundle, 'latin1')
    } catch (error) {
      if (error?.code !== 'ENOENT') throw error
      // A checkout that was never built: the same message for users and tests, and no other way to start.
      process.stderr.write(`binauthz: ${bundle} is missing: run \`npm run build\` in ${root}\n`)
      process.exitCode = 1
    }

    if (source !== undefined) {
      // Node's module compile cache, for the vendor files the bundle may import: not needed by a stored help answer.
      if (caching && typeof nodeModule.enableCompileCache === 'function' && !process.env.NODE_COMPILE_CACHE) {
        try {
          nodeModule.enableCompileCache(cacheDir)
        } catch {
          // Unwritable or unusable cache directory: start without it.
        }
      }

      ignoreClosedOutput()
      const {cli, storeCodeCache} = loadBundle(source, sha)
      // At exit, also when oclif ends a failed command with process.exit: what the run compiled is kept either way
      // (a failed run's apart: loadBundle).
      process.once('exit', storeCodeCache)
      const recorded = helpFile ? recordStdout() : undefined
      try {
        // oclif gets binauthz's root plugin ready-made (src/cli/root-plugin.ts), so it loads no other: it would
        // otherwise load "user"/"link" plugins listed in $BINAUTHZ_DATA_DIR/package.json (our backup directory) and
        // run their hooks: code execution, with the access token in reach, for anyone who can write there or set
        // BINAUTHZ_DATA_DIR. binauthz has no plugins.
        await cli.run(argv, {commandClasses: cli.COMMANDS, pjson, root})
      } finally {
        const output = recorded?.()
        if (output && !process.exitCode && writeAtomically(helpFile, output)) keepNewest(dirname(helpFile), '.txt', HELP_ANSWERS_KEPT)
      }
    }
  }
}
