#!/usr/bin/env node
// Where a start's time goes, step by step (bench/RESULTS.md "Breakdown"): medians of N runs of programs that each
// do one step more than the one before, so each difference is the cost of one step:
//
//   floor          node -e 0
//   + load bundle  dist/bundle/binauthz.cjs as bin/run.js loads it: read, compile (V8 code cache) and evaluate it
//   + oclif config binauthz --version: oclif's Config.load (package.json, manifest, root plugin), then print
//   + help         binauthz --help, rendered by oclif (a new environment each run, so never from the help store)
//
// and one --cpu-prof of the bundle load, split into V8 compile (Node's module compile step) and module evaluation.
// The deploy rows (our code, HTTP, spawning gcloud) come from bench/run.js, whose sandbox they need.
// Usage: node bench/breakdown.js [--node PATH] [--runs N] [--compile-cache on|off]   (run `npm run build` first)
import {spawnSync} from 'node:child_process'
import {
  mkdtempSync, readdirSync, readFileSync, rmSync,
} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const {values: opts} = parseArgs({
  options: {
    'compile-cache': {default: 'on', type: 'string'},
    node: {default: process.execPath, type: 'string'},
    runs: {default: '20', type: 'string'},
  },
})
const runs = Math.max(3, Number.parseInt(opts.runs, 10) || 20)
const tmp = mkdtempSync(join(tmpdir(), 'binauthz-breakdown-'))
const env = {...process.env, HOME: tmp, XDG_CACHE_HOME: join(tmp, 'cache')}
for (const key of ['NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS', 'NODE_COMPILE_CACHE', 'NODE_DISABLE_COMPILE_CACHE']) delete env[key]
for (const key of Object.keys(env)) if (key.startsWith('BINAUTHZ_') || key.startsWith('OCLIF_')) delete env[key]
if (opts['compile-cache'] === 'off') env.NODE_DISABLE_COMPILE_CACHE = '1'

const bin = join(root, 'bin', 'run.js')
const bundle = join(root, 'dist', 'bundle', 'binauthz.cjs')
// The bundle loaded as bin/run.js loads it (vm.Script with the V8 code cache bin/run.js keeps, warmed by the
// --version runs; Node's compile cache on where it exists), without running a command.
const loadOnly = `
const m = await import('node:module'); const {join, dirname} = await import('node:path'); const fs = await import('node:fs'); const vm = await import('node:vm')
const dir = join(process.env.XDG_CACHE_HOME, 'binauthz'), caching = !process.env.NODE_DISABLE_COMPILE_CACHE
if (caching && typeof m.enableCompileCache === 'function') m.enableCompileCache(dir)
const file = ${JSON.stringify(bundle)}, source = fs.readFileSync(file, 'utf8'), sha = source.slice(source.indexOf('sha256=') + 7).slice(0, 64)
let cachedData; try { if (caching) cachedData = fs.readFileSync(join(dir, 'bundle-' + sha.slice(0, 24) + '-' + process.version + '-' + process.arch + '-root.v8')) } catch {}
const script = new vm.Script('(function (exports, require, module, __filename, __dirname, __binauthzImport) {' + source + '\\n})', {cachedData, filename: file})
const mod = new m.Module(file); mod.filename = file; mod.paths = m._nodeModulePaths(dirname(file))
script.runInThisContext()(mod.exports, m.createRequire(file), mod, file, dirname(file), s => import(s))
`
let nonce = 0
const steps = [
  ['floor', ['-e', '0']],
  ['+ load bundle', ['--input-type=module', '-e', loadOnly]],
  ['+ oclif config (--version)', [bin, '--version']],
  // A new environment each run: never in bin/run.js's help store, so oclif renders it.
  ['+ help rendered by oclif (--help, not in the help store)', [bin, '--help'], () => ({BREAKDOWN_NONCE: String(nonce++)})],
]

const median = values => {
  const s = [...values].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[(s.length / 2) - 1] + s[s.length / 2]) / 2
}

const times = steps.map(() => [])
for (let i = 0; i < runs + 2; i++) {
  for (const [n, [, args, extra]] of steps.entries()) {
    const stepEnv = extra ? {...env, ...extra()} : env
    const start = process.hrtime.bigint()
    spawnSync(opts.node, args, {env: stepEnv, stdio: 'ignore'})
    if (i >= 2) times[n].push(Number(process.hrtime.bigint() - start) / 1e6)
  }
}

// One profile of the bundle load: compile (vm.Script: V8's code-cache deserialization, or the compile) vs evaluation.
const profDir = join(tmp, 'prof')
spawnSync(opts.node, ['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-interval', '100', '--input-type=module', '-e', loadOnly], {env, stdio: 'ignore'})
const profile = JSON.parse(readFileSync(join(profDir, readdirSync(profDir)[0]), 'utf8'))
const selfMs = new Map()
for (const [i, id] of profile.samples.entries()) selfMs.set(id, (selfMs.get(id) ?? 0) + (profile.timeDeltas[i] / 1000))
const split = {compile: 0, evaluation: 0, other: 0}
for (const node of profile.nodes) {
  const ms = selfMs.get(node.id) ?? 0
  const {url} = node.callFrame
  if (url.endsWith('/binauthz.cjs')) split.evaluation += ms
  else if (url === 'node:vm' && node.callFrame.functionName === 'Script') split.compile += ms
  else split.other += ms
}

const version = spawnSync(opts.node, ['--version'], {encoding: 'utf8'}).stdout.trim()
const hasCache = spawnSync(opts.node, ['-p', "typeof require('node:module').enableCompileCache"], {encoding: 'utf8'}).stdout.trim() === 'function'
const lines = [
  `Node ${version}, compile cache ${hasCache ? opts['compile-cache'] : 'n/a (Node < 22.1)'}, ${runs} runs each (medians):`,
  '',
  '| step | median ms | this step ms |',
  '|---|---:|---:|',
]
for (const [n, [name]] of steps.entries()) {
  const m = median(times[n])
  lines.push(`| ${name} | ${m.toFixed(1)} | ${n === 0 ? '' : (m - median(times[n - 1])).toFixed(1)} |`)
}

lines.push('', `Bundle load, one --cpu-prof (self time): V8 compile ${split.compile.toFixed(1)} ms, module evaluation ${split.evaluation.toFixed(1)} ms, other (Node's bootstrap and loader, file reads, GC; inflated by the profiler) ${split.other.toFixed(1)} ms.`)
console.log(lines.join('\n'))
rmSync(tmp, {force: true, recursive: true})
