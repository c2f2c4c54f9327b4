// gcloud's access-token cache, as gcloud 528 writes it (creds.py AccessTokenCache: the table, Python's str(datetime)
// of a naive UTC expiry), read by binauthz for a service-account key: a token valid beyond gcloud's 300 s refresh
// window is used; anything else (no node:sqlite, no file, an odd row, a locked or damaged file) is "nothing cached".
// The SQLite cases need node:sqlite (Node ≥ 22.13): on Node 20 they are skipped, and CI runs the suite on Node 24 too.
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {
  mkdirSync, readFileSync, rmSync, writeFileSync,
} from 'node:fs'
import {join} from 'node:path'

import {GCLOUD_EXPIRY_WINDOW_MS, gcloudCachedToken, parseGcloudExpiry} from '../../src/auth/gcloud-token-cache.js'
import {Secrets} from '../../src/errors.js'
import {GCLOUD_TOKEN_TABLE, pythonUtcDatetime, nodeSqlite as sqlite} from '../helpers/gcloud-token-cache.js'
import {tempDir} from '../helpers/tmp.js'

const NOW = new Date('2026-12-02T06:00:00Z')
const ACCOUNT = 'ci@p.iam.gserviceaccount.com'
const TOKEN = 'ya29.cached-by-gcloud'

/** token_expiry `ms` after NOW, as gcloud stores it. */
const pythonExpiry = (ms: number): string => pythonUtcDatetime(NOW.getTime() + ms)

describe('gcloud-token-cache', () => {
  describe('parseGcloudExpiry', () => {
    it('reads Python\'s str(datetime) of a naive UTC time, with or without microseconds', () => {
      expect(parseGcloudExpiry('2026-12-02 07:23:41.714552')).to.equal(Date.UTC(2026, 11, 2, 7, 23, 41, 714))
      expect(parseGcloudExpiry('2026-12-02 07:23:41')).to.equal(Date.UTC(2026, 11, 2, 7, 23, 41))
      expect(parseGcloudExpiry('2026-12-02T07:23:41.5')).to.equal(Date.UTC(2026, 11, 2, 7, 23, 41, 500))
    })

    it('refuses anything else', () => {
      for (const value of ['', '2026-12-02', '2026-12-02 07:23:41+00:00', 'tomorrow', 1_796_190_000, null, undefined]) {
        expect(parseGcloudExpiry(value), String(value)).to.equal(undefined)
      }
    })
  })

  describe('gcloudCachedToken', () => {
    let dir: string

    beforeEach(() => {
      dir = tempDir('binauthz-token-cache-')
    })

    afterEach(() => rmSync(dir, {force: true, recursive: true}))

    /** gcloud's table (creds.py AccessTokenCache.__init__) with `rows` of [account_id, access_token, token_expiry]. */
    function gcloudCache(rows: [string, null | string, null | string][]): string {
      const db = new sqlite!.DatabaseSync(join(dir, 'access_tokens.db'))
      db.exec(GCLOUD_TOKEN_TABLE)
      for (const [account, token, expiry] of rows) db.prepare('REPLACE INTO "access_tokens" (account_id, access_token, token_expiry, rapt_token, id_token) VALUES (?,?,?,?,?)').run(account, token, expiry, null, null)
      db.close()
      return join(dir, 'access_tokens.db')
    }

    it('finds nothing where there is no cache file (or it is a directory)', () => {
      expect(gcloudCachedToken(dir, ACCOUNT, NOW, new Secrets())).to.equal(undefined)
      mkdirSync(join(dir, 'access_tokens.db'))
      expect(gcloudCachedToken(dir, ACCOUNT, NOW, new Secrets())).to.equal(undefined)
    })

    it('does not open a FIFO in its place (SQLite\'s open would wait for a writer)', function () {
      const made = spawnSync('mkfifo', [join(dir, 'access_tokens.db')])
      if (made.status !== 0) this.skip() // no mkfifo here
      expect(gcloudCachedToken(dir, ACCOUNT, NOW, new Secrets())).to.equal(undefined)
    })

    it('finds nothing in a file that is not SQLite', () => {
      writeFileSync(join(dir, 'access_tokens.db'), 'not a database\n')
      expect(gcloudCachedToken(dir, ACCOUNT, NOW, new Secrets())).to.equal(undefined)
    })

    it(`uses the account's token while it is valid beyond gcloud's refresh window, and registers it as a secret${sqlite ? '' : ' (skipped: needs node:sqlite)'}`, function () {
      if (!sqlite) this.skip() // node:sqlite: Node ≥ 22.13
      const file = gcloudCache([[ACCOUNT, TOKEN, pythonExpiry(GCLOUD_EXPIRY_WINDOW_MS + 1000)], ['other@p.iam.gserviceaccount.com', 'ya29.other', pythonExpiry(3_000_000)]])
      const before = readFileSync(file)
      const secrets = new Secrets()
      expect(gcloudCachedToken(dir, ACCOUNT, NOW, secrets)).to.equal(TOKEN)
      expect(secrets.safeText(`token ${TOKEN}`)).to.equal('token [REDACTED]')
      expect(readFileSync(file).equals(before), 'the cache is only read').to.equal(true)
    })

    it(`finds nothing within gcloud's refresh window, for another account, or in an odd row${sqlite ? '' : ' (skipped: needs node:sqlite)'}`, function () {
      if (!sqlite) this.skip() // node:sqlite: Node ≥ 22.13
      gcloudCache([
        [ACCOUNT, TOKEN, pythonExpiry(GCLOUD_EXPIRY_WINDOW_MS - 1000)],
        ['no-expiry@p.iam.gserviceaccount.com', TOKEN, null],
        ['odd-expiry@p.iam.gserviceaccount.com', TOKEN, 'next week'],
        ['no-token@p.iam.gserviceaccount.com', null, pythonExpiry(3_000_000)],
        ['control@p.iam.gserviceaccount.com', 'ya29.a\u001B[2Jb', pythonExpiry(3_000_000)],
      ])
      for (const account of [ACCOUNT, 'absent@p.iam.gserviceaccount.com', 'no-expiry@p.iam.gserviceaccount.com', 'odd-expiry@p.iam.gserviceaccount.com', 'no-token@p.iam.gserviceaccount.com', 'control@p.iam.gserviceaccount.com']) {
        expect(gcloudCachedToken(dir, account, NOW, new Secrets()), account).to.equal(undefined)
      }
    })

    it(`finds nothing in a cache without gcloud's table${sqlite ? '' : ' (skipped: needs node:sqlite)'}`, function () {
      if (!sqlite) this.skip() // node:sqlite: Node ≥ 22.13
      const db = new sqlite.DatabaseSync(join(dir, 'access_tokens.db'))
      db.exec('CREATE TABLE something_else (x TEXT)')
      db.close()
      expect(gcloudCachedToken(dir, ACCOUNT, NOW, new Secrets())).to.equal(undefined)
    })

    it(`on a Node without node:sqlite, finds nothing even beside a valid cache${sqlite ? ' (skipped: this Node has node:sqlite)' : ''}`, function () {
      if (sqlite) this.skip() // the Node 20 path: checked where node:sqlite is absent
      // The cache written as gcloud writes it, by Python's sqlite3 (gcloud's own runtime).
      const made = spawnSync('python3', ['-c', [
        'import sqlite3, sys',
        'db = sqlite3.connect(sys.argv[1])',
        'db.execute(sys.argv[2])',
        'db.execute(\'REPLACE INTO "access_tokens" VALUES (?,?,?,?,?)\', (sys.argv[3], sys.argv[4], sys.argv[5], None, None))',
        'db.commit()',
      ].join('\n'), join(dir, 'access_tokens.db'), GCLOUD_TOKEN_TABLE, ACCOUNT, TOKEN, pythonExpiry(3_000_000)], {encoding: 'utf8'})
      if (made.status !== 0) this.skip() // no python3 with sqlite3 to write the cache
      expect(gcloudCachedToken(dir, ACCOUNT, NOW, new Secrets())).to.equal(undefined)
    })
  })
})
