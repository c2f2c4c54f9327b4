#!/usr/bin/env node
// Prints the path of a Node executable of the given major line (e.g. 24), fetching it once into a cache:
//
//   node scripts/node-line.js 24          → /home/me/.cache/binauthz/node-lines/24/v24.x.y/bin/node
//   "$(node scripts/node-line.js 24)" bench/run.js
//
// The executable comes from npm's node-<platform>-<arch> package (the official Node binaries, published by the
// Node project's `node` package family), fetched with `npm pack` into a scratch directory (never this repository),
// extracted with tar. The cache is $BINAUTHZ_NODE_LINES, else $XDG_CACHE_HOME/binauthz/node-lines, else
// ~/.cache/binauthz/node-lines.
//
// Checksums: the sha512 this script computes over the packed tarball must equal both the integrity `npm pack`
// reports and the registry's dist.integrity for that version (`npm view`), else nothing is extracted. Next to each
// extracted line, tarball.json records what was fetched: package, version, the registry's integrity and shasum, the
// tarball's sha256, and the sha256 of the extracted bin/node. A cached line is used again only while its bin/node
// still has that sha256 and reports the recorded version; otherwise it is fetched again.
// The registry is what vouches for the bytes: nodejs.org's SHASUMS256.txt covers its own archives, not this package.
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

const sha = (algorithm, bytes, encoding = 'hex') => createHash(algorithm).update(bytes).digest(encoding)

/** dir/bin/node when it is the one recorded in dir/tarball.json (same sha256) and reports its version; else ''. */
function runs(dir) {
  const bin = join(dir, 'bin', 'node')
  try {
    const record = JSON.parse(readFileSync(join(dir, 'tarball.json'), 'utf8'))
    if (!record.nodeSha256 || sha('sha256', readFileSync(bin)) !== record.nodeSha256) return ''
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
    const bytes = readFileSync(tarball)
    const integrity = `sha512-${sha('sha512', bytes, 'base64')}`
    const registry = JSON.parse(execFileSync('npm', ['view', `${pkg}@${version}`, 'dist', '--json'], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit']}))
    if (packed.version !== version || integrity !== packed.integrity || integrity !== registry.integrity) {
      throw new Error(`node-line: ${packed.filename} has integrity ${integrity}; npm pack reported ${packed.integrity} and the registry lists ${registry.integrity} for ${pkg}@${version}: not extracted`)
    }

    execFileSync('tar', ['-xzf', tarball, '-C', scratch])
    const record = {
      fetchedAt: new Date().toISOString(),
      filename: packed.filename,
      integrity,
      nodeSha256: sha('sha256', readFileSync(join(scratch, 'package', 'bin', 'node'))),
      package: pkg,
      sha256: sha('sha256', bytes),
      shasum: registry.shasum,
      version: packed.version,
    }
    writeFileSync(join(scratch, 'package', 'tarball.json'), `${JSON.stringify(record, null, 2)}\n`)
    rmSync(dir, {force: true, recursive: true})
    renameSync(join(scratch, 'package'), dir)
  } finally {
    rmSync(scratch, {force: true, recursive: true})
  }
}

/** The highest of X.Y.Z versions. */
const newest = versions => versions.toSorted((a, b) => a.localeCompare(b, 'en', {numeric: true})).at(-1)

/** Newest release of the line, as the registry knows it; offline, the newest one already cached. */
function newestVersion() {
  try {
    // npm lists the versions in the registry's order, not by version (20.8.0 after 20.20.2): sorted here.
    return newest([JSON.parse(execFileSync('npm', ['view', `${pkg}@${major}`, 'version', '--json'], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']}))].flat())
  } catch (error) {
    const cached = existsSync(lineDir) ? readdirSync(lineDir).filter(name => runs(join(lineDir, name))) : []
    const found = newest(cached.map(name => name.slice(1)))
    if (found) return found
    throw error
  }
}

const version = newestVersion()
const dir = join(lineDir, `v${version}`)
if (!runs(dir)) fetchLine(version, dir)
const bin = runs(dir)
if (!bin) throw new Error(`node-line: ${dir}/bin/node does not run`)
console.log(bin)
