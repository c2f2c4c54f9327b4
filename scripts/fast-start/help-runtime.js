// Bundled by scripts/fast-start/build.js into dist/bundle/help.js; bin/run.js calls prerendered() when the fast start
// is fresh. It returns the text oclif would print for `binauthz`, `binauthz --help`, `binauthz TOPIC [--help]`, or
// undefined whenever anything could make oclif print something else — then the caller runs oclif.
//
// What oclif's output depends on, and how this mirrors it:
// - the width: OCLIF_COLUMNS, else the terminal's columns (at least 40), else 80 — as @oclif/core lib/screen.js;
// - colour: oclif bolds headers when supports-color says stdout and stderr support colour and ansis emits styles —
//   decided here by those same two modules (bundled from @oclif/core's own dependencies);
// - a theme (BINAUTHZ_DISABLE_THEME, <config dir>/theme.json, package.json oclif.theme): any theme → undefined;
// - the user agent in the VERSION section (Node version, platform): substituted when it stays on one line;
// - debugging output (DEBUG, BINAUTHZ_DEBUG) or settings a wrapper may have put on globalThis.oclif → undefined.
import {existsSync, readFileSync} from 'node:fs'
import {arch, homedir, platform, tmpdir} from 'node:os'
import {join} from 'node:path'

import ansis from 'ansis'
import isWsl from 'is-wsl'
import supportsColor from 'supports-color'

function envKey(bin, key) {
  return [bin.replaceAll('@', '').replaceAll(/[/-]/g, '_'), key].join('_').toUpperCase()
}

function scopedEnv(pjson, key) {
  const bins = [pjson.oclif?.bin ?? pjson.name, ...(pjson.oclif?.binAliases ?? [])].filter(Boolean)
  const found = bins.map((bin) => envKey(bin, key)).find((k) => process.env[k])
  return found === undefined ? undefined : process.env[found]
}

function terminalWidth(stream) {
  if (!stream.isTTY) return 80
  const width = stream.getWindowSize()[0]
  if (width < 1) return 80
  if (width < 40) return 40
  return width
}

/**
 * @param {string[]} argv the arguments after the program name
 * @param {string} helpDir dist/bundle/help
 * @param {object} pjson package.json as built
 * @returns {string | undefined} exactly what oclif would write to stdout, or undefined
 */
export function prerendered(argv, helpDir, pjson) {
  let words = argv
  if (words.at(-1) === '--help') words = words.slice(0, -1)
  if (words.some((word) => word.startsWith('-'))) return undefined
  if (process.env.DEBUG || scopedEnv(pjson, 'DEBUG')) return undefined
  const settings = globalThis.oclif
  if (settings && Object.keys(settings).length > 0) return undefined

  const index = JSON.parse(readFileSync(join(helpDir, 'index.json'), 'utf8'))
  const subject = index.subjects?.[words.join(':')]
  if (!subject) return undefined

  const columns = Number.parseInt(process.env.OCLIF_COLUMNS, 10)
  const width = columns || terminalWidth(process.stdout)
  const color = Boolean(supportsColor.stdout) && Boolean(supportsColor.stderr) && ansis.bold('x') !== 'x'
  if (color) {
    const disabled = scopedEnv(pjson, 'DISABLE_THEME')
    if (pjson.oclif?.theme) return undefined
    if (disabled !== '1' && disabled !== 'true') {
      const home = process.env.HOME || homedir() || tmpdir()
      const configDir =
        scopedEnv(pjson, 'CONFIG_DIR') || join(process.env.XDG_CONFIG_HOME || join(home, '.config'), pjson.oclif?.dirname || pjson.name)
      if (existsSync(join(configDir, 'theme.json'))) return undefined
    }
  }

  const range = subject[color ? 'color' : 'plain']?.find(([from, to]) => width >= from && width <= to)
  if (!range) return undefined
  let text = readFileSync(join(helpDir, range[2]), 'utf8')

  if (words.length === 0) {
    const userAgent = `${pjson.name}/${pjson.version} ${platformName()}-${arch() === 'ia32' ? 'x86' : arch()} node-${process.version}`
    if (userAgent !== index.userAgent) {
      if (width < subject.userAgentFrom || userAgent.length + 2 > width) return undefined
      const parts = text.split(`\n  ${index.userAgent}\n`)
      if (parts.length !== 2) return undefined
      text = parts.join(`\n  ${userAgent}\n`)
    }
  }

  return text
}

// As @oclif/core lib/util/os.js getPlatform(): "wsl" under WSL (wsl-utils' isWsl, from is-wsl), else os.platform().
function platformName() {
  return isWsl ? 'wsl' : platform()
}
