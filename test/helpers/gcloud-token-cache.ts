// gcloud's access-token cache as the tests write and change it: gcloud 528's table (creds.py AccessTokenCache) and its
// expiry format (Python's str(datetime) of a naive UTC time), through node:sqlite where this Node has it (≥ 22.13).
/* eslint-disable n/no-unsupported-features/node-builtins -- node:sqlite is feature-detected: undefined without it */

/** What the tests use of node:sqlite (its types are not in @types/node 20). */
export interface SqliteDatabase {
  close(): void
  exec(sql: string): void
  prepare(sql: string): {all(...values: (null | string)[]): unknown[]; run(...values: (null | string)[]): unknown}
}

/** node:sqlite, or undefined on a Node without it (Node 20). */
export const nodeSqlite = process.getBuiltinModule('node:sqlite') as undefined | {DatabaseSync: new (path: string) => SqliteDatabase}

/** creds.py AccessTokenCache.__init__: the table gcloud creates. */
export const GCLOUD_TOKEN_TABLE = 'CREATE TABLE IF NOT EXISTS "access_tokens" (account_id TEXT PRIMARY KEY, access_token TEXT, token_expiry TIMESTAMP, rapt_token TEXT, id_token TEXT)'

/** Python's str(datetime.datetime) of the naive UTC time `epochMs`, as gcloud stores token_expiry. */
export function pythonUtcDatetime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace('T', ' ').replace('Z', '000')
}
