// Which Node.js releases binauthz runs on, checked by bin/run.js before anything else is loaded: the fast start
// (bin/run.js → the bundle) skips oclif's own engines check, and an old Node would otherwise fail later with a
// syntax or missing-API error that names no cause. The range is package.json "engines".node, the lines CI tests
// (.ci/run): `^X.Y.Z` and `>=X.Y.Z` alternatives joined by `||`, the only forms this reads. CommonJS, as bin/run.js
// (bin/package.json), so that it loads on any Node.js that can report its own version.
'use strict'

/** The version as [major, minor, patch] (a pre-release suffix is ignored), or undefined. */
function triple(text) {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(text.trim())
  if (match) return [Number(match[1]), Number(match[2]), Number(match[3])]
}

function atLeast(version, floor) {
  for (let i = 0; i < 3; i++) if (version[i] !== floor[i]) return version[i] > floor[i]
  return true
}

/** The range's alternatives as {op, floor}; undefined when any part is not `^X.Y.Z` or `>=X.Y.Z`. */
function parseRange(range) {
  const parts = String(range).split('||').map(part => /^(\^|>=)\s*(\S+)$/.exec(part.trim()))
  if (parts.some(part => !part || !triple(part[2]))) return
  return parts.map(part => ({floor: triple(part[2]), op: part[1]}))
}

/** Whether `version` (process.versions.node) is in `range`; a range this cannot read admits every version. */
function nodeSupported(version, range) {
  const parts = parseRange(range)
  const v = triple(version)
  if (!parts || !v) return true
  return parts.some(({floor, op}) => atLeast(v, floor) && (op === '>=' || v[0] === floor[0]))
}

/** The message bin/run.js prints when this Node is not supported, else undefined. */
function unsupportedNodeMessage(version, pjson) {
  const range = pjson.engines?.node
  if (!range || nodeSupported(version, range)) return
  return `binauthz: Node.js v${version} is not supported: ${pjson.name} ${pjson.version} runs on Node.js ${range}.\n`
    + 'Nothing was run. Install a supported Node.js, e.g. the active LTS: `nvm install 24` (or your package manager\'s nodejs 24), then run binauthz again.\n'
}

/** Exit code of that refusal: EXIT_CODES.usage of src/errors.ts (a bad environment; test/cli/supported-node.test.ts checks it). */
const UNSUPPORTED_NODE_EXIT = 2

module.exports = {
  nodeSupported, parseRange, UNSUPPORTED_NODE_EXIT, unsupportedNodeMessage,
}
