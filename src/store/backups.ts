// Backups of the policy as it was before each write, so `binauthz policy restore` can put it back.
// Layout: <data dir>/backups/<project, ':' -> '_'>/<UTC timestamp>-<etag, sanitized>[-N].json, mode 0600, published
// exclusively (a synced temp file linked to a name nobody has). Content: {project, etag, savedAt, policy}. The newest
// BACKUPS_KEPT per project are kept; "newest" is the order of the names binauthz gave, never a date in the content.
// Data dir: BINAUTHZ_DATA_DIR, else $XDG_DATA_HOME/binauthz, else ~/.local/share/binauthz.

import {randomBytes} from 'node:crypto'
import {
  link, lstat, mkdir, readdir, rm,
} from 'node:fs/promises'
import {join} from 'node:path'

import {xdgBaseDir} from '../auth/gcloud-config.js'
import {ExternalError, UserError} from '../errors.js'
import {DEFAULT_LIMITS} from '../google/http-transport.js'
import {parseJsonLossless, stringifyJson} from '../policy/json-text.js'
import {parsePolicy, type Policy} from '../policy/types.js'
import {writeNewPrivateFile} from './private-file.js'
import {readRegularFile} from './regular-file.js'

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
  return join(xdgBaseDir(env, 'XDG_DATA_HOME', join('.local', 'share')), 'binauthz')
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

/** What binauthz names a backup: <stamp>-<etag>[-N].json; N counts backups of the same millisecond and etag. */
const BACKUP_NAME = /^(\d{8}T\d{6}\.\d{3}Z)-([\w-]{1,48}?)(?:-(\d{1,6}))?\.json$/
/** Temp files of a backup being written: .backup-<pid>-<random>.tmp (hidden, never listed). */
const TEMP_NAME = /^\.backup-(\d{1,10})-[\da-f]{8}\.tmp$/
/** Backups kept per project: after each save the oldest beyond this are removed (README "Nothing is lost"). */
export const BACKUPS_KEPT = 50
/** A temp file older than this is stale whatever its pid says (pids are reused). */
const STALE_TEMP_MS = 10 * 60 * 1000
/** Largest backup file read: twice the largest policy the API client accepts (the backup is indented JSON). */
export const MAX_BACKUP_BYTES = 2 * DEFAULT_LIMITS.maxResponseBytes

/** The order binauthz gives its own backups: the time it wrote in the name, then the collision number. */
function orderKey(name: string): [string, number] | undefined {
  const match = BACKUP_NAME.exec(name)
  return match ? [match[1]!, Number(match[3] ?? 1)] : undefined
}

/** Newest first, by the names binauthz gave (never by a date inside the file, which anyone could write). */
function newestFirst(a: string, b: string): number {
  const [ta, na] = orderKey(a) ?? ['', 0]
  const [tb, nb] = orderKey(b) ?? ['', 0]
  return ta === tb ? nb - na : (ta < tb ? 1 : -1)
}

function writeFailed(file: string, error: unknown): ExternalError {
  const why = error instanceof Error ? error.message : String(error)
  return new ExternalError(`Could not save a backup of the policy to ${file} (${why}); the policy was not changed.`, {
    cause: error,
    code: 'BACKUP_FAILED',
    suggestions: ['Set BINAUTHZ_DATA_DIR to a writable directory and run the command again'],
  })
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error: unknown) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Removes temp files a killed binauthz left behind (its pid is gone, or the file is old). Best effort. */
async function removeStaleTemps(dir: string, names: readonly string[]): Promise<void> {
  await Promise.all(names.map(async name => {
    const match = TEMP_NAME.exec(name)
    if (!match) return
    const pid = Number(match[1])
    const file = join(dir, name)
    try {
      const {mtimeMs} = await lstat(file)
      if ((pid !== process.pid && !alive(pid)) || Date.now() - mtimeMs > STALE_TEMP_MS) await rm(file, {force: true})
    } catch {
      // already gone
    }
  }))
}

/** Keeps the newest BACKUPS_KEPT backups binauthz named; removes older ones (only files with our names). Best effort. */
async function prune(dir: string, names: readonly string[], keep: number): Promise<void> {
  const ours = names.filter(name => BACKUP_NAME.test(name)).sort(newestFirst)
  await Promise.all(ours.slice(keep).map(name => rm(join(dir, name), {force: true}).catch(() => {})))
}

/**
 * Saves `policy` (as read, before a write) and returns the file path. The content goes to a temp file first (synced,
 * 0600), which is then published under its name with link(2): the name is taken only if nobody has it (EEXIST →
 * the next name), so a backup is never overwritten, never seen half-written, and a kill leaves at most a temp file,
 * which the next save removes. Afterwards only the newest `keep` (default BACKUPS_KEPT) backups of the project stay.
 */
export async function savePolicyBackup(
  env: NodeJS.ProcessEnv,
  project: string,
  policy: Policy,
  options: {keep?: number; now?: Date} = {},
): Promise<string> {
  const dir = projectBackupDir(env, project)
  const savedAt = options.now ?? new Date()
  const etag = typeof policy.etag === 'string' ? policy.etag : undefined
  const text = `${stringifyJson({
    etag, policy, project, savedAt: savedAt.toISOString(),
  }, 2)}\n`
  const name = `${stamp(savedAt)}-${sanitizeEtag(etag)}`
  const temp = join(dir, `.backup-${process.pid}-${randomBytes(4).toString('hex')}.tmp`)
  let file = join(dir, `${name}.json`)
  try {
    await mkdir(dir, {mode: 0o700, recursive: true})
    await removeStaleTemps(dir, await readdir(dir))
    await writeNewPrivateFile(temp, text)
    for (let n = 2; !(await publish(temp, file)); n++) file = join(dir, `${name}-${n}.json`)
  } catch (error: unknown) {
    throw writeFailed(file, error)
  } finally {
    await rm(temp, {force: true}).catch(() => {})
  }

  await prune(dir, await readdir(dir).catch(() => []), Math.max(1, options.keep ?? BACKUPS_KEPT))
  return file
}

/** Gives `temp`'s content the name `file` unless that name is taken (false). */
async function publish(temp: string, file: string): Promise<boolean> {
  try {
    await link(temp, file)
    return true
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  }
}

function invalid(file: string, why: string, cause?: unknown): UserError {
  return new UserError(`${file} is not a binauthz policy backup: ${why}.`, {
    cause,
    code: 'BACKUP_INVALID',
    suggestions: ['List the backups with: binauthz policy restore --list'],
  })
}

async function readBackupRecord(file: string): Promise<PolicyBackup> {
  const read = readRegularFile(file, {maxBytes: MAX_BACKUP_BYTES, what: 'The policy backup'})
  if (read.kind !== 'text') throw invalid(file, read.kind === 'missing' ? 'it does not exist' : `it cannot be read (${read.code})`)
  const {text} = read

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

/** Clock skew tolerated between binauthz processes naming backups. */
const FUTURE_SLACK_MS = 5 * 60 * 1000

/**
 * The project's backups, newest first by the names binauthz gave them (time written, then collision number); files
 * with other names, unreadable or foreign files, and names stamped in the future are skipped.
 */
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

  const entries: BackupEntry[] = []
  const latestAllowed = stamp(new Date(Date.now() + FUTURE_SLACK_MS))
  for (const name of names.filter(n => BACKUP_NAME.test(n)).sort(newestFirst)) {
    // A name stamped in the future was not written by binauthz on this clock: it never becomes the "latest".
    if ((orderKey(name)?.[0] ?? '') > latestAllowed) continue
    const file = join(dir, name)
    try {
      const record = await readBackupRecord(file)
      if (record.project !== project) continue
      const entry: BackupEntry = {file, savedAt: record.savedAt}
      if (record.etag !== undefined) entry.etag = record.etag
      entries.push(entry)
    } catch {
      // not one of ours (or damaged): leave it out of the list
    }
  }

  return entries
}

/** Reads and validates a backup file; returns the whole record (project, etag, savedAt, policy). */
export async function readPolicyBackupRecord(file: string): Promise<PolicyBackup> {
  return readBackupRecord(file)
}
