// gcloud's access-token cache, read (never written) so that a credential file's deploy uses the very token gcloud's
// own deploy will use, without a token exchange of its own while gcloud's is valid. gcloud 528 attaches it to a
// credential-file override "to cache access tokens between invocations" (core/credentials/store.py
// _LoadFromFileOverride → creds.py MaybeAttachAccessTokenCacheStoreGoogleAuth): SQLite, `<config dir>/access_tokens.db`,
// table access_tokens(account_id TEXT PRIMARY KEY, access_token TEXT, token_expiry TIMESTAMP, rapt_token, id_token)
// (creds.py AccessTokenCache), keyed by the service account's email (`email#universe` outside googleapis.com). gcloud
// refreshes a token that expires within 300 s (store.py _CREDENTIALS_EXPIRY_WINDOW, RefreshIfAlmostExpire), so such a
// token is not used here either.
// Node reads SQLite with node:sqlite (unflagged from Node 22.13); without it (Node 20) this finds nothing and the
// caller exchanges its own token. The file is gcloud's and hostile like any input: any doubt (no module, no file, a
// locked or damaged database, an odd row) means "nothing cached", never an error.

import {join} from 'node:path'

import type {Secrets} from '../errors.js'

import {isFile} from '../store/regular-file.js'
import {validateToken} from './access-token.js'

/** store.py _CREDENTIALS_EXPIRY_WINDOW: gcloud refreshes a cached token that expires sooner than this. */
export const GCLOUD_EXPIRY_WINDOW_MS = 300_000

/** What binauthz uses of node:sqlite (its types are not in @types/node 20). */
interface SqliteModule {
  DatabaseSync: new (path: string, options: {readOnly: boolean}) => {
    close(): void
    prepare(sql: string): {get(...values: string[]): unknown}
  }
}

/** node:sqlite when this Node has it; its ExperimentalWarning (Node 22, 23) is not printed. */
function sqliteModule(): SqliteModule | undefined {
  const {emitWarning} = process
  process.emitWarning = ((warning: Error | string, ...rest: unknown[]) => {
    if (String(warning).includes('SQLite')) return
    (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest)
  }) as typeof process.emitWarning
  try {
    // Feature-detected: undefined where Node has no node:sqlite (Node 20), and then nothing is cached.
    // eslint-disable-next-line n/no-unsupported-features/node-builtins
    return process.getBuiltinModule('node:sqlite') as SqliteModule | undefined
  } catch {
    return undefined
  } finally {
    process.emitWarning = emitWarning
  }
}

/** PURE: Python's str(datetime) of a naive UTC time ("2026-12-02 07:23:41.714552"), as epoch ms; undefined if not one. */
export function parseGcloudExpiry(value: unknown): number | undefined {
  const match = typeof value === 'string' ? /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/.exec(value) : null
  if (!match) return undefined
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number]
  const ms = Date.UTC(year, month - 1, day, hour, minute, second, Math.floor(Number(`0.${match[7] ?? '0'}`) * 1000))
  return Number.isFinite(ms) ? ms : undefined
}

/**
 * The token gcloud has cached for `accountId` in `configDir`, if it is valid for more than gcloud's refresh window at
 * `now`; registered as a secret. Undefined when there is none, or anything about it is in doubt.
 */
export function gcloudCachedToken(configDir: string, accountId: string, now: Date, secrets: Secrets): string | undefined {
  const file = join(configDir, 'access_tokens.db')
  // A FIFO or device would block SQLite's open: only a regular file is opened.
  const sqlite = isFile(file) ? sqliteModule() : undefined
  if (sqlite === undefined) return undefined
  let db: InstanceType<SqliteModule['DatabaseSync']> | undefined
  try {
    db = new sqlite.DatabaseSync(file, {readOnly: true})
    const row = db.prepare('SELECT access_token, token_expiry FROM access_tokens WHERE account_id = ?').get(accountId) as
      undefined | {access_token?: unknown; token_expiry?: unknown}
    const expiry = parseGcloudExpiry(row?.token_expiry)
    if (typeof row?.access_token !== 'string' || expiry === undefined || expiry - now.getTime() <= GCLOUD_EXPIRY_WINDOW_MS) return undefined
    return validateToken(row.access_token, "gcloud's access-token cache", secrets)
  } catch {
    return undefined
  } finally {
    try {
      db?.close()
    } catch {}
  }
}
