// binauthz's own saved defaults (written by `binauthz setup`): a small JSON file, read sync, written atomically.

import {mkdir} from 'node:fs/promises'
import {join, resolve} from 'node:path'

import type {DeployKind} from '../policy/repository.js'

import {xdgBaseDir} from '../auth/gcloud-config.js'
import {UserError} from '../errors.js'
import {parseJsonObject} from '../policy/json-text.js'
import {writePrivateFile} from './private-file.js'
import {readRegularFileText} from './regular-file.js'

export interface SavedDefaults {
  dockerRepository?: string
  kind?: DeployKind
  project?: string
  regions?: string[]
}

export const DEFAULTS_FILE_NAME = 'defaults.json'
const MAX_DEFAULTS_BYTES = 64 * 1024
const MAX_REGIONS = 50

/** $BINAUTHZ_CONFIG_DIR, else $XDG_CONFIG_HOME/binauthz, else ~/.config/binauthz. */
export function configDir(env: NodeJS.ProcessEnv): string {
  if (env.BINAUTHZ_CONFIG_DIR) return resolve(env.BINAUTHZ_CONFIG_DIR)
  return join(xdgBaseDir(env, 'XDG_CONFIG_HOME', '.config'), 'binauthz')
}

/** Where the defaults live. */
export function defaultsFile(env: NodeJS.ProcessEnv): string {
  return join(configDir(env), DEFAULTS_FILE_NAME)
}

/**
 * Reads the saved defaults (sync, bounded). A missing file means no defaults; fields of the wrong type are
 * ignored. Throws UserError DEFAULTS_INVALID when the file is not a JSON object.
 * Values are NOT validated here: resolveContext validates them, naming the file.
 */
export function loadDefaults(env: NodeJS.ProcessEnv): SavedDefaults {
  const file = defaultsFile(env)
  const text = readRegularFileText(file, {maxBytes: MAX_DEFAULTS_BYTES, what: 'The binauthz defaults file'})
  if (text === undefined || text.trim() === '') return {}
  const json = parseJsonObject(text)
  if (json === undefined) {
    throw new UserError(`The binauthz defaults file ${file} is not valid JSON.`, {
      code: 'DEFAULTS_INVALID',
      suggestions: ['Recreate it with `binauthz setup`', `Or remove it: \`rm ${file}\``],
    })
  }

  const record = json
  const out: SavedDefaults = {}
  if (typeof record.project === 'string' && record.project !== '') out.project = record.project
  if (Array.isArray(record.regions)) {
    const regions = record.regions.filter((r): r is string => typeof r === 'string' && r !== '').slice(0, MAX_REGIONS)
    if (regions.length > 0) out.regions = [...new Set(regions)]
  } else if (typeof record.region === 'string' && record.region !== '') {
    out.regions = [record.region]
  }

  if (record.kind === 'run' || record.kind === 'function' || record.kind === 'job' || record.kind === 'worker-pool') out.kind = record.kind
  if (typeof record.dockerRepository === 'string' && record.dockerRepository !== '') out.dockerRepository = record.dockerRepository
  return out
}

/** Writes the defaults atomically (temp file + rename) with mode 0600 in a 0700 directory; returns the file. */
export async function saveDefaults(env: NodeJS.ProcessEnv, d: SavedDefaults): Promise<string> {
  const dir = configDir(env)
  const file = join(dir, DEFAULTS_FILE_NAME)
  const content: Record<string, unknown> = {}
  if (d.project !== undefined) content.project = d.project
  if (d.regions !== undefined) content.regions = [...d.regions]
  if (d.kind !== undefined) content.kind = d.kind
  if (d.dockerRepository !== undefined) content.dockerRepository = d.dockerRepository
  const text = `${JSON.stringify(content, null, 2)}\n`

  try {
    await mkdir(dir, {mode: 0o700, recursive: true})
  } catch (error: unknown) {
    throw new UserError(`Cannot create the binauthz config directory ${dir}: ${(error as Error).message}`, {
      code: 'DEFAULTS_UNWRITABLE',
      suggestions: ['Set BINAUTHZ_CONFIG_DIR to a writable directory'],
    })
  }

  try {
    await writePrivateFile(file, text)
  } catch (error: unknown) {
    throw new UserError(`Cannot write the binauthz defaults file ${file}: ${(error as Error).message}`, {
      code: 'DEFAULTS_UNWRITABLE',
      suggestions: ['Set BINAUTHZ_CONFIG_DIR to a writable directory'],
    })
  }

  return file
}
