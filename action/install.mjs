// The action's install step: where the binauthz to run is, written to GITHUB_OUTPUT as `bin`.
// INPUT_VERSION empty: this action's own checkout (GITHUB_ACTION_PATH), built with `npm ci` and `npm run build` when
// it has no built bundle. Otherwise an npm install spec (a version such as 0.2.0 means binauthz-deploy@0.2.0; a .tgz
// path or URL, or a git URL, is passed as it is), installed under RUNNER_TEMP. npm runs without a shell line.
import {spawnSync} from 'node:child_process'
import {appendFileSync, existsSync, mkdirSync} from 'node:fs'
import {join} from 'node:path'

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

/** Runs npm with an argv array; true when it succeeded. */
function npmOk(args, cwd) {
  process.stderr.write(`npm ${args.join(' ')}\n`)
  const done = spawnSync(npm, args, {cwd, stdio: ['ignore', 2, 2]})
  if (done.status === 0) return true
  process.stderr.write(`::error::npm ${args.join(' ')} failed (exit ${done.status ?? done.signal}).\n`)
  return false
}

/** The path of binauthz's bin/run.js, or undefined after an error annotation. */
function install() {
  const actionPath = process.env.GITHUB_ACTION_PATH ?? ''
  const version = (process.env.INPUT_VERSION ?? '').trim()
  if (version === '') {
    if (actionPath === '') {
      process.stderr.write('::error::GITHUB_ACTION_PATH is not set: run this script as a step of action.yml.\n')
      return
    }

    const built = existsSync(join(actionPath, 'dist', 'bundle', 'binauthz.cjs'))
    if (!built && !(npmOk(['ci', '--no-audit', '--no-fund'], actionPath) && npmOk(['run', 'build'], actionPath))) return
    return join(actionPath, 'bin', 'run.js')
  }

  const spec = /^\d+\.\d+\.\d+(?:-[\w.]+)?$/.test(version) ? `binauthz-deploy@${version}` : version
  const prefix = join(process.env.RUNNER_TEMP ?? actionPath, 'binauthz-deploy')
  mkdirSync(prefix, {recursive: true})
  if (!npmOk(['install', '--no-audit', '--no-fund', '--prefix', prefix, spec], prefix)) return
  return join(prefix, 'node_modules', 'binauthz-deploy', 'bin', 'run.js')
}

const bin = install()
if (bin === undefined) {
  process.exitCode = 1
} else {
  process.stderr.write(`binauthz: ${bin}\n`)
  if (process.env.GITHUB_OUTPUT) appendFileSync(process.env.GITHUB_OUTPUT, `bin=${bin}\n`)
}
