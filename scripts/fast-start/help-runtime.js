// Bundled by scripts/fast-start/build.js into dist/bundle/help.js, together with the very modules @oclif/core
// consults (supports-color, ansis, is-wsl: passed in as `deps`, resolved from @oclif/core's own dependencies).
// bin/run.js calls prerendered() when the fast start is fresh. It returns the text oclif would print for `binauthz`,
// `binauthz --help`, `binauthz TOPIC [--help]`, or undefined whenever anything could make oclif print something
// else — then the caller runs oclif.
//
// What oclif's output depends on, and how this mirrors it:
// - the width: OCLIF_COLUMNS, else the terminal's columns (at least 40), else 80 — as @oclif/core lib/screen.js;
// - colour: oclif bolds headers when supports-color says stdout and stderr support colour and ansis emits styles;
// - a theme (BINAUTHZ_DISABLE_THEME, <config dir>/theme.json, package.json oclif.theme): any theme → undefined;
// - the user agent in the VERSION section (Node version, platform): substituted when it stays on one line;
// - debugging output (DEBUG, BINAUTHZ_DEBUG) or settings a wrapper put on globalThis.oclif → undefined.
import {existsSync, readFileSync} from 'node:fs'
import {
  arch, homedir, platform, tmpdir,
} from 'node:os'
import {join} from 'node:path'

function envKey(bin, key) {
  return [bin.replaceAll('@', '').replaceAll(/[/-]/g, '_'), key].join('_').toUpperCase()
}

/** oclif's Config#scopedEnvVar: BINAUTHZ_<KEY> (or a bin alias's). */
function scopedEnv(pjson, key) {
  const bins = [pjson.oclif?.bin ?? pjson.name, ...(pjson.oclif?.binAliases ?? [])].filter(Boolean)
  const found = bins.map(bin => envKey(bin, key)).find(k => process.env[k])
  return found === undefined ? undefined : process.env[found]
}

// As @oclif/core's lib/screen.js.
function terminalWidth(stream) {
  if (!stream.isTTY) return 80
  const width = stream.getWindowSize()[0]
  if (width < 1) return 80
  if (width < 40) return 40
  return width
}

/** Whether oclif would apply a theme (Config#loadTheme): then only oclif knows the output. */
function themed(pjson) {
  if (pjson.oclif?.theme) return true
  const disabled = scopedEnv(pjson, 'DISABLE_THEME')
  if (disabled === '1' || disabled === 'true') return false
  const home = process.env.HOME || homedir() || tmpdir()
  const configDir = scopedEnv(pjson, 'CONFIG_DIR') || join(process.env.XDG_CONFIG_HOME || join(home, '.config'), pjson.oclif?.dirname || pjson.name)
  return existsSync(join(configDir, 'theme.json'))
}

/** The pre-rendered text for this terminal (width, colour), or undefined. */
function pick(subject, helpDir, pjson, {ansis, supportsColor}) {
  const width = Number.parseInt(process.env.OCLIF_COLUMNS, 10) || terminalWidth(process.stdout)
  const color = Boolean(supportsColor.stdout) && Boolean(supportsColor.stderr) && ansis.bold('x') !== 'x'
  if (color && themed(pjson)) return
  const range = subject[color ? 'color' : 'plain']?.find(([from, to]) => width >= from && width <= to)
  return range ? {text: readFileSync(join(helpDir, range[2]), 'utf8'), width} : undefined
}

/**
 * @param {object} deps supportsColor ({stdout, stderr}), ansis and isWsl, as @oclif/core uses them
 * @returns {Function} prerendered(argv, helpDir, pjson): the text oclif would print, or undefined
 */
export function makePrerendered(deps) {
  // @oclif/core lib/util/os.js getPlatform() and Config#arch
  const userAgentOf = pjson => `${pjson.name}/${pjson.version} ${deps.isWsl ? 'wsl' : platform()}-${arch() === 'ia32' ? 'x86' : arch()} node-${process.version}`

  return (argv, helpDir, pjson) => {
    const words = argv.at(-1) === '--help' ? argv.slice(0, -1) : argv
    if (words.some(word => word.startsWith('-'))) return
    if (process.env.DEBUG || scopedEnv(pjson, 'DEBUG')) return
    if (globalThis.oclif && Object.keys(globalThis.oclif).length > 0) return

    const index = JSON.parse(readFileSync(join(helpDir, 'index.json'), 'utf8'))
    const subject = index.subjects?.[words.join(':')]
    const found = subject && pick(subject, helpDir, pjson, deps)
    if (!found) return
    if (words.length > 0) return found.text

    // The root help's VERSION section.
    const userAgent = userAgentOf(pjson)
    if (userAgent === index.userAgent) return found.text
    if (found.width < subject.userAgentFrom || userAgent.length + 2 > found.width) return
    const parts = found.text.split(`\n  ${index.userAgent}\n`)
    return parts.length === 2 ? parts.join(`\n  ${userAgent}\n`) : undefined
  }
}
