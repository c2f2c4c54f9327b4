#!/usr/bin/env node
// Prints the path of a Node executable of the given major line (e.g. 24), fetching it once into a cache:
//
//   node scripts/node-line.js 24          → /home/me/.cache/binauthz/node-lines/24/v24.x.y/bin/node
//   "$(node scripts/node-line.js 24)" bench/run.js
//
// The executable comes from npm's node-<platform>-<arch> package (the official Node binaries, published by the
// Node project's `node` package family), fetched with `npm pack` into a scratch directory (never this repository),
// extracted with tar. The cache is $BINAUTHZ_NODE_LINES, else $XDG_CACHE_HOME/binauthz/node-lines, else
// ~/.cache/binauthz/node-lines. Next to each extracted line, tarball.json records what was fetched: the package
// spec and version, npm's sha1 shasum and sha512 integrity, and the sha256 this script computed over the tarball.
// A cached line is used again only while its bin/node runs and reports the same version.
import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {
  existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync,
} from 'node:fs'
import {homedir, tmpdir} from 'node:os'
import {join} from 'node:path'

const major = process.argv[2]
if (!/^\d+$/.test(major ?? '')) throw new Error('usage: node scripts/node-line.js MAJOR   (e.g. 24)')

const cache = process.env.BINAUTHZ_NODE_LINES || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'binauthz', 'node-lines')
const lineDir = join(cache, major)
const pkg = `node-${process.platform}-${process.arch === 'ia32' ? 'x86' : process.arch}`

function runs(dir) {
  const bin = join(dir, 'bin', 'node')
  try {
    const record = JSON.parse(readFileSync(join(dir, 'tarball.json'), 'utf8'))
    return execFileSync(bin, ['--version'], {encoding: 'utf8'}).trim() === `v${record.version}` ? bin : ''
  } catch {
    return ''
  }
}

/** Extracts PKG@version into dir, with tarball.json. */
function fetchLine(version, dir) {
  mkdirSync(lineDir, {recursive: true})
  const scratch = mkdtempSync(join(tmpdir(), 'binauthz-node-line-'))
  try {
    const [packed] = JSON.parse(execFileSync('npm', ['pack', `${pkg}@${version}`, '--json', '--pack-destination', scratch], {
      cwd: scratch, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'],
    }))
    const tarball = join(scratch, packed.filename)
    const sha256 = createHash('sha256').update(readFileSync(tarball)).digest('hex')
    execFileSync('tar', ['-xzf', tarball, '-C', scratch])
    const record = {
      fetchedAt: new Date().toISOString(),
      filename: packed.filename,
      integrity: packed.integrity,
      package: pkg,
      sha256,
      shasum: packed.shasum,
      version: packed.version,
    }
    writeFileSync(join(scratch, 'package', 'tarball.json'), `${JSON.stringify(record, null, 2)}\n`)
    rmSync(dir, {force: true, recursive: true})
    renameSync(join(scratch, 'package'), dir)
  } finally {
    rmSync(scratch, {force: true, recursive: true})
  }
}

/** Newest release of the line, as the registry knows it; offline, the newest one already cached. */
function newestVersion() {
  try {
    return [JSON.parse(execFileSync('npm', ['view', `${pkg}@${major}`, 'version', '--json'], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']}))].flat().at(-1)
  } catch (error) {
    const cached = existsSync(lineDir) ? readdirSync(lineDir).filter(name => runs(join(lineDir, name))) : []
    const newest = cached.map(name => name.slice(1)).sort((a, b) => a.localeCompare(b, 'en', {numeric: true})).at(-1)
    if (newest) return newest
    throw error
  }
}

const version = newestVersion()
const dir = join(lineDir, `v${version}`)
if (!runs(dir)) fetchLine(version, dir)
const bin = runs(dir)
if (!bin) throw new Error(`node-line: ${dir}/bin/node does not run`)
console.log(bin)
