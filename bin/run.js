#!/usr/bin/env node
// Entry point. `npm run build` also builds a fast start into dist/bundle (scripts/fast-start/build.js): the whole
// CLI as one esbuild bundle run by oclif's own execute(), and the root/topic help pre-rendered by oclif's own Help
// class. They are used only while fresh (every file they were built from unchanged); otherwise, or with
// BINAUTHZ_FAST_START=0, in development/test (NODE_ENV) and on Windows, this is oclif's standard run.js.
// BINAUTHZ_START_TRACE=1 prints which path was taken to stderr.
import {readFileSync, statSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

const argv = process.argv.slice(2)
const root = fileURLToPath(new URL('..', import.meta.url)) // ends with a separator
const bundleDir = fileURLToPath(new URL('../dist/bundle/', import.meta.url))
const trace = process.env.BINAUTHZ_START_TRACE === '1' ? path => process.stderr.write(`binauthz start: ${path}\n`) : () => {}

/** The build's meta.json when every input it lists is unchanged (same size and mtime, or same content), else a reason. */
async function freshBuild() {
  if (process.env.BINAUTHZ_FAST_START === '0') return 'BINAUTHZ_FAST_START=0'
  if (process.env.NODE_ENV === 'development' || process.env.NODE_ENV === 'test') return `NODE_ENV=${process.env.NODE_ENV}`
  if (process.platform === 'win32') return 'Windows'
  let meta
  try {
    meta = JSON.parse(readFileSync(`${bundleDir}meta.json`, 'utf8'))
  } catch {
    return 'no dist/bundle (npm run build makes it)'
  }

  if (meta.formatVersion !== 1) return 'dist/bundle from another version of the build'
  let createHash
  for (const [file, size, mtimeMs, sha1] of meta.inputs) {
    let st
    try {
      st = statSync(`${root}${file}`)
    } catch {
      return `${file} is missing`
    }

    if (st.size !== size) return `${file} changed since npm run build`
    if (st.mtimeMs === mtimeMs) continue
    // Touched (tsc rewrites every file; npm pack resets mtimes): compare the content.
    createHash ??= (await import('node:crypto')).createHash
    if (createHash('sha1').update(readFileSync(`${root}${file}`)).digest('hex') !== sha1) return `${file} changed since npm run build`
  }

  return meta
}

const fast = await freshBuild()
if (typeof fast === 'string') {
  trace(`oclif (${fast})`)
  const {execute} = await import('@oclif/core')
  // userPlugins: false — oclif would otherwise load "user"/"link" plugins listed in $BINAUTHZ_DATA_DIR/package.json
  // (our backup directory) and run their hooks: code execution, with the access token in reach, for anyone who can
  // write there or set BINAUTHZ_DATA_DIR. binauthz has no plugins.
  await execute({loadOptions: {root: root.slice(0, -1), userPlugins: false}})
} else {
  let text
  const words = argv.at(-1) === '--help' ? argv.slice(0, -1) : argv
  if (!fast.helpSkipped && fast.helpSubjects.includes(words.join(':'))) {
    try {
      const {prerendered} = await import(new URL('../dist/bundle/help.js', import.meta.url).href)
      text = prerendered(argv, `${bundleDir}help`, fast.pjson)
    } catch {
      // A damaged pre-rendered help only costs the fast path; oclif below prints the same help.
    }
  }

  if (text === undefined) {
    trace('bundle')
    const {run} = await import(new URL('../dist/bundle/binauthz.js', import.meta.url).href)
    await run(argv, root.slice(0, -1), fast.pjson)
  } else {
    trace('pre-rendered help')
    process.stdout.write(text)
  }
}
