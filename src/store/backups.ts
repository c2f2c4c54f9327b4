// Backups of the policy as it was before each write, so `binauthz policy restore` can put it back.
// Layout: <data dir>/backups/<project, ':' -> '_'>/<UTC timestamp>-<etag, sanitized>.json, mode 0600, written
// atomically (temp file in the same directory + rename). Content: {project, etag, savedAt, policy}.
// Data dir: BINAUTHZ_DATA_DIR, else $XDG_DATA_HOME/binauthz, else ~/.local/share/binauthz.

import {
  mkdir, open, readdir, readFile, rm, stat,
} from 'node:fs/promises'
import {homedir} from 'node:os'
import {basename, isAbsolute, join} from 'node:path'

import {ExternalError, UserError} from '../errors.js'
import {parseJsonLossless, stringifyJson} from '../policy/json-text.js'
import {parsePolicy, type Policy} from '../policy/types.js'
import {writePrivateFile} from './private-file.js'

export interface PolicyBackup {
  etag?: string
  policy: Policy
  project: string
  savedAt: string
}

export interface BackupEntry {
  etag?: string
  file: string
  savedAt: string
}

/** The tool's data directory (not created). */
export function dataDir(env: NodeJS.ProcessEnv): string {
  const explicit = env.BINAUTHZ_DATA_DIR
  if (explicit !== undefined && explicit !== '') return explicit
  const xdg = env.XDG_DATA_HOME
  // The XDG spec says relative values are invalid and must be ignored.
  if (xdg !== undefined && xdg !== '' && isAbsolute(xdg)) return join(xdg, 'binauthz')
  return join(env.HOME !== undefined && env.HOME !== '' ? env.HOME : homedir(), '.local', 'share', 'binauthz')
}

/** <data dir>/backups (not created). */
export function backupDir(env: NodeJS.ProcessEnv): string {
  return join(dataDir(env), 'backups')
}

/** Directory name for a project: ':' of domain-scoped ids becomes '_' (which project ids never contain). */
export function projectDirName(project: string): string {
  if (project === '' || /[/\\]/.test(project) || project === '.' || project === '..') {
    throw new UserError(`"${project}" is not a project id that can name a backup directory.`, {
      code: 'INVALID_PROJECT',
      suggestions: ['Pass a valid project id with --project'],
    })
  }

  return project.replaceAll(':', '_')
}

/** <backups>/<project> (not created). */
export function projectBackupDir(env: NodeJS.ProcessEnv, project: string): string {
  return join(backupDir(env), projectDirName(project))
}

function sanitizeEtag(etag: string | undefined): string {
  if (etag === undefined || etag === '') return 'no-etag'
  const safe = etag.replaceAll(/[^\w-]/g, '_').slice(0, 48)
  return safe === '' ? 'no-etag' : safe
}

/** 2026-11-29T14:03:05.123Z -> 20261129T140305.123Z (sortable, no ':' for Windows-safe names). */
function stamp(date: Date): string {
  return date.toISOString().replaceAll('-', '').replaceAll(':', '')
}

function writeFailed(file: string, error: unknown): ExternalError {
  const why = error instanceof Error ? error.message : String(error)
  return new ExternalError(`Could not save a backup of the policy to ${file} (${why}); the policy was not changed.`, {
    cause: error,
    code: 'BACKUP_FAILED',
    suggestions: ['Set BINAUTHZ_DATA_DIR to a writable directory and run the command again'],
  })
}

/** Creates `file` empty if nothing has that name yet (true), false when it already exists. */
async function claim(file: string): Promise<boolean> {
  try {
    const handle = await open(file, 'wx', 0o600)
    await handle.close()
    return true
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  }
}

/** Saves `policy` (as read, before a write) and returns the file path. */
export async function savePolicyBackup(
  env: NodeJS.ProcessEnv,
  project: string,
  policy: Policy,
  options: {now?: Date} = {},
): Promise<string> {
  const dir = projectBackupDir(env, project)
  const savedAt = options.now ?? new Date()
  const etag = typeof policy.etag === 'string' ? policy.etag : undefined
  const text = `${stringifyJson({
    etag, policy, project, savedAt: savedAt.toISOString(),
  }, 2)}\n`
  const name = `${stamp(savedAt)}-${sanitizeEtag(etag)}`
  let file = join(dir, `${name}.json`)
  try {
    await mkdir(dir, {mode: 0o700, recursive: true})
    // Never replace an earlier backup (same millisecond and etag), also one another binauthz process is saving at
    // this moment: claim the name with an exclusive create (O_EXCL), then write it atomically over the claim.
    const existing = new Set(await readdir(dir))
    for (let n = 2; existing.has(basename(file)) || !(await claim(file)); n++) file = join(dir, `${name}-${n}.json`)
  } catch (error: unknown) {
    throw writeFailed(file, error)
  }

  try {
    await writePrivateFile(file, text)
  } catch (error: unknown) {
    await rm(file, {force: true}) // the empty claim
    throw writeFailed(file, error)
  }

  return file
}

function invalid(file: string, why: string, cause?: unknown): UserError {
  return new UserError(`${file} is not a binauthz policy backup: ${why}.`, {
    cause,
    code: 'BACKUP_INVALID',
    suggestions: ['List the backups with: binauthz policy restore --list'],
  })
}

async function readBackupRecord(file: string): Promise<PolicyBackup> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error: unknown) {
    const {code} = (error as NodeJS.ErrnoException)
    throw invalid(file, code === 'ENOENT' ? 'it does not exist' : `it cannot be read (${code ?? 'error'})`, error)
  }

  let value: unknown
  try {
    value = parseJsonLossless(text)
  } catch (error: unknown) {
    throw invalid(file, 'it is not JSON', error)
  }

  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(file, 'expected a JSON object')
  const record = value as Record<string, unknown>
  if (typeof record.project !== 'string' || record.project === '') throw invalid(file, 'it has no "project"')
  if (typeof record.savedAt !== 'string' || Number.isNaN(Date.parse(record.savedAt))) throw invalid(file, 'it has no valid "savedAt"')
  if (record.etag !== undefined && typeof record.etag !== 'string') throw invalid(file, '"etag" is not a string')
  let policy: Policy
  try {
    policy = parsePolicy(record.policy, record.project)
  } catch (error: unknown) {
    throw invalid(file, `its policy is not valid (${error instanceof Error ? error.message : String(error)})`, error)
  }

  const out: PolicyBackup = {policy, project: record.project, savedAt: record.savedAt}
  if (typeof record.etag === 'string') out.etag = record.etag
  return out
}

/** The project's backups, newest first; unreadable or foreign files in the directory are skipped. */
export async function listPolicyBackups(env: NodeJS.ProcessEnv, project: string): Promise<BackupEntry[]> {
  const dir = projectBackupDir(env, project)
  let names: string[]
  try {
    names = await readdir(dir)
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw new ExternalError(`Could not list the policy backups in ${dir}.`, {
      cause: error,
      code: 'BACKUP_LIST_FAILED',
      suggestions: ['Check the permissions of that directory, or set BINAUTHZ_DATA_DIR'],
    })
  }

  const entries: (BackupEntry & {written: bigint})[] = []
  for (const name of names) {
    if (!name.endsWith('.json') || name.startsWith('.')) continue
    const file = join(dir, name)
    try {
      const record = await readBackupRecord(file)
      if (record.project !== project) continue
      // Two backups saved in the same millisecond are ordered by the file's own (nanosecond) mtime.
      const {mtimeNs} = await stat(file, {bigint: true})
      const entry: BackupEntry & {written: bigint} = {file, savedAt: record.savedAt, written: mtimeNs}
      if (record.etag !== undefined) entry.etag = record.etag
      entries.push(entry)
    } catch {
      // not one of ours (or damaged): leave it out of the list
    }
  }

  entries.sort((a, b) => Date.parse(b.savedAt) - Date.parse(a.savedAt) || (b.written > a.written ? 1 : (b.written < a.written ? -1 : 0)))
  return entries.map(({written: _written, ...entry}) => entry)
}

/** Reads and validates a backup file; returns the whole record (project, etag, savedAt, policy). */
export async function readPolicyBackupRecord(file: string): Promise<PolicyBackup> {
  return readBackupRecord(file)
}
