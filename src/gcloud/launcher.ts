// Whether the gcloud found on PATH can start, decided without starting it: an executable script whose interpreter is
// missing fails only when it runs (after the policy would have been written). Reads at most a few KiB of the file.
//
// Two layers are checked:
// 1. The kernel's: a `#!` line names an interpreter (optionally through /usr/bin/env NAME, looked up on PATH), which
//    must be an executable file.
// 2. The Cloud SDK launcher's (google-cloud-sdk/bin/gcloud, a /bin/sh script, read from gcloud 528): it runs
//    `exec "$CLOUDSDK_PYTHON" … "$CLOUDSDK_ROOT_DIR/lib/gcloud.py"`, with CLOUDSDK_PYTHON as set, else the bundled
//    $CLOUDSDK_ROOT_DIR/platform/bundledpythonunix/bin/python3 (x86_64 only), else the first of python3, python3.12,
//    python3.13, python3.11 … python3.8, python on PATH (setup_cloudsdk_python, order_python). One of them must exist,
//    and lib/gcloud.py beside bin/ too.

import {
  accessSync, closeSync, constants, openSync, readSync, realpathSync, statSync,
} from 'node:fs'
import {arch} from 'node:os'
import {
  delimiter, dirname, isAbsolute, join,
} from 'node:path'

import {UserError} from '../errors.js'

/** Enough for the launcher's python selection (gcloud 528's bin/gcloud is about 6 KiB). */
const HEAD_BYTES = 16 * 1024

/** The pythons the launcher tries, in its order (bin/gcloud setup_cloudsdk_python). */
export const LAUNCHER_PYTHONS: readonly string[] = ['python3', 'python3.12', 'python3.13', 'python3.11', 'python3.10', 'python3.9', 'python3.8', 'python']

/** An executable regular file (what a PATH lookup or a #! line may name). */
export function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return statSync(path).isFile()
  } catch {
    return false
  }
}

function readHead(path: string): string {
  let fd: number | undefined
  try {
    fd = openSync(path, 'r')
    const buffer = Buffer.alloc(HEAD_BYTES)
    const n = readSync(fd, buffer, 0, HEAD_BYTES, 0)
    return buffer.subarray(0, n).toString('latin1')
  } catch {
    return ''
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/** `name` looked up on the child's PATH the way a shell does (a name with a "/" is a path). */
export function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  if (name.includes('/')) return isExecutableFile(name) ? name : undefined
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name)
    if (isExecutableFile(candidate)) return candidate
  }

  return undefined
}

function cannotStart(executable: string, why: string, fix: string): UserError {
  return new UserError(`gcloud at "${executable}" cannot start: ${why}. Nothing was changed.`, {
    code: 'GCLOUD_CANNOT_START',
    suggestions: [fix, 'Check it with: gcloud version'],
  })
}

/** The interpreter a `#!` line names (kernel rules: first word is the path, the rest one argument). */
export function shebangOf(head: string): undefined | {argument?: string; interpreter: string} {
  if (!head.startsWith('#!')) return undefined
  const line = head.slice(2).split('\n', 1)[0]?.trim() ?? ''
  const space = line.search(/[ \t]/)
  if (space === -1) return {interpreter: line}
  return {argument: line.slice(space).trim(), interpreter: line.slice(0, space)}
}

/** The python the Cloud SDK launcher would pick, or undefined when it would find none. */
function launcherPython(root: string, env: NodeJS.ProcessEnv): string | undefined {
  const configured = env.CLOUDSDK_PYTHON
  if (configured !== undefined && configured !== '') return onPath(configured, env)
  const bundled = join(root, 'platform', 'bundledpythonunix', 'bin', 'python3')
  if (arch() === 'x64' && isExecutableFile(bundled)) return bundled
  for (const name of LAUNCHER_PYTHONS) {
    const found = onPath(name, env)
    if (found !== undefined) return found
  }

  return undefined
}

/** Throws GCLOUD_CANNOT_START when the executable `path` (found by locateGcloud) could not start; returns otherwise. */
export function assertStartable(path: string, env: NodeJS.ProcessEnv): void {
  const head = readHead(path)
  const shebang = shebangOf(head)
  if (shebang !== undefined) {
    const {argument, interpreter} = shebang
    if (!isAbsolute(interpreter) || !isExecutableFile(interpreter)) {
      throw cannotStart(path, `its interpreter "${interpreter}" (from its #! line) does not exist or is not executable`, 'Reinstall the Google Cloud CLI, or point BINAUTHZ_GCLOUD at a working gcloud')
    }

    if (/\/env$/.test(interpreter) && argument !== undefined && !argument.startsWith('-') && onPath(argument, env) === undefined) {
      throw cannotStart(path, `its #! line runs "${argument}" through env, and "${argument}" is not on PATH`, `Install ${argument} or add it to PATH`)
    }
  }

  if (!head.includes('CLOUDSDK_PYTHON') || !head.includes('lib/gcloud.py')) return
  // The Cloud SDK launcher: resolve its root as it does (symlinks followed; bin/ stripped).
  let real = path
  try {
    real = realpathSync(path)
  } catch {
    // keep the path as found
  }

  const root = dirname(dirname(real))
  if (!statSafe(join(root, 'lib', 'gcloud.py'))) {
    throw cannotStart(path, `the Cloud SDK it belongs to has no ${join(root, 'lib', 'gcloud.py')}`, 'Reinstall the Google Cloud CLI: https://cloud.google.com/sdk/docs/install')
  }

  if (launcherPython(root, env) === undefined) {
    const configured = env.CLOUDSDK_PYTHON
    throw configured !== undefined && configured !== ''
      ? cannotStart(path, `CLOUDSDK_PYTHON names "${configured}", which is not an executable file (or not on PATH)`, 'Point CLOUDSDK_PYTHON at a Python 3.8-3.13 interpreter, or unset it')
      : cannotStart(path, `it needs Python, and neither its bundled Python nor any of ${LAUNCHER_PYTHONS.join(', ')} is on PATH`, 'Install Python 3 (3.8-3.13), or set CLOUDSDK_PYTHON=/path/to/python3')
  }
}

function statSafe(path: string): boolean {
  try {
    return statSync(path).isFile()
  } catch {
    return false
  }
}
