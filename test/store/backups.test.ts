import {expect} from 'chai'
import {
  mkdirSync, readdirSync, rmSync, statSync, writeFileSync,
} from 'node:fs'
import {join} from 'node:path'

import type {Policy} from '../../src/policy/types.js'

import {UserError} from '../../src/errors.js'
import {
  backupDir,
  BACKUPS_KEPT,
  dataDir,
  listPolicyBackups,
  projectBackupDir,
  readPolicyBackupRecord,
  savePolicyBackup,
} from '../../src/store/backups.js'
import {rejectionOf} from '../helpers/assert.js'
import {tempDir} from '../helpers/tmp.js'

const PROJECT = 'example.com:my-proj'

function policy(etag: string | undefined, pattern: string): Policy {
  const p: Policy = {
    admissionWhitelistPatterns: [{futureField: {kept: true}, namePattern: pattern}],
    defaultAdmissionRule: {enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG', evaluationMode: 'ALWAYS_DENY'},
    name: `projects/${PROJECT}/policy`,
    someNewField: [1, {x: null}],
  }
  if (etag !== undefined) p.etag = etag
  return p
}

describe('binauthz backups', () => {
  let root: string
  let env: NodeJS.ProcessEnv

  beforeEach(() => {
    root = tempDir('binauthz-backup-')
    env = {BINAUTHZ_DATA_DIR: join(root, 'data')}
  })

  afterEach(() => {
    rmSync(root, {force: true, recursive: true})
  })

  it('resolves the data directory like the design says', () => {
    expect(dataDir({BINAUTHZ_DATA_DIR: '/d', HOME: '/h', XDG_DATA_HOME: '/x'})).to.equal('/d')
    expect(dataDir({HOME: '/h', XDG_DATA_HOME: '/x'})).to.equal('/x/binauthz')
    expect(dataDir({HOME: '/h', XDG_DATA_HOME: 'relative'})).to.equal('/h/.local/share/binauthz')
    expect(dataDir({HOME: '/h'})).to.equal('/h/.local/share/binauthz')
    expect(backupDir({BINAUTHZ_DATA_DIR: '/d'})).to.equal('/d/backups')
    expect(projectBackupDir({BINAUTHZ_DATA_DIR: '/d'}, PROJECT)).to.equal('/d/backups/example.com_my-proj')
  })

  it('saves, lists and reads back a policy byte-for-byte, mode 0600, no temp files left', async () => {
    const original = policy('BwYz+/=A', 'us-docker.pkg.dev/p/r/**')
    const file = await savePolicyBackup(env, PROJECT, original)
    expect(file.startsWith(join(root, 'data', 'backups', 'example.com_my-proj'))).to.equal(true)
    expect(file).to.match(/\/\d{8}T\d{6}\.\d{3}Z-BwYz___A\.json$/)
    expect(statSync(file).mode % 0o1000).to.equal(0o600)
    expect(readdirSync(join(root, 'data', 'backups', 'example.com_my-proj'))).to.deep.equal([file.split('/').pop()])

    const read = (await readPolicyBackupRecord(file)).policy
    expect(JSON.stringify(read)).to.equal(JSON.stringify(original))
    const record = await readPolicyBackupRecord(file)
    expect(record.project).to.equal(PROJECT)
    expect(record.etag).to.equal('BwYz+/=A')

    const list = await listPolicyBackups(env, PROJECT)
    expect(list).to.have.length(1)
    expect(list[0]).to.deep.equal({etag: 'BwYz+/=A', file, savedAt: record.savedAt})
  })

  it('lists newest first, never overwrites an earlier backup, and handles a missing etag', async () => {
    const t1 = new Date('2026-01-01T00:00:00.000Z')
    const t2 = new Date('2026-01-02T00:00:00.000Z')
    const older = await savePolicyBackup(env, PROJECT, policy('e1', 'a/b/**'), {now: t1})
    const newer = await savePolicyBackup(env, PROJECT, policy(undefined, 'c/d/**'), {now: t2})
    const twin = await savePolicyBackup(env, PROJECT, policy('e1', 'e/f/**'), {now: t1})
    expect(twin).not.to.equal(older)
    expect(newer).to.match(/-no-etag\.json$/)
    const list = await listPolicyBackups(env, PROJECT)
    expect(list.map(e => e.file)).to.deep.equal([newer, twin, older])
    expect(list[0]?.etag).to.equal(undefined)
    expect((await readPolicyBackupRecord(older)).policy.admissionWhitelistPatterns?.[0]?.namePattern).to.equal('a/b/**')
    expect((await readPolicyBackupRecord(twin)).policy.admissionWhitelistPatterns?.[0]?.namePattern).to.equal('e/f/**')
  })

  it('returns no backups for a project that has none', async () => {
    expect(await listPolicyBackups(env, 'other-proj')).to.deep.equal([])
  })

  it('skips foreign or damaged files when listing and rejects them when reading', async () => {
    const file = await savePolicyBackup(env, PROJECT, policy('e1', 'a/b/**'))
    const dir = projectBackupDir(env, PROJECT)
    writeFileSync(join(dir, 'garbage.json'), '{not json')
    writeFileSync(join(dir, 'other.json'), JSON.stringify({policy: {}, project: 'other', savedAt: new Date().toISOString()}))
    writeFileSync(join(dir, 'notes.txt'), 'hello')
    const list = await listPolicyBackups(env, PROJECT)
    expect(list.map(e => e.file)).to.deep.equal([file])

    for (const [name, content, why] of [
      ['garbage.json', undefined, /not JSON/],
      ['array.json', '[]', /JSON object/],
      ['noproject.json', JSON.stringify({policy: {}, savedAt: new Date().toISOString()}), /no "project"/],
      ['nodate.json', JSON.stringify({policy: {}, project: PROJECT}), /savedAt/],
      ['badpolicy.json', JSON.stringify({policy: {admissionWhitelistPatterns: 3}, project: PROJECT, savedAt: new Date().toISOString()}), /policy is not valid/],
      ['foreign.json', JSON.stringify({policy: {name: 'projects/other/policy'}, project: PROJECT, savedAt: new Date().toISOString()}), /policy is not valid/],
    ] as const) {
      if (content !== undefined) writeFileSync(join(dir, name), content)
      const error = await rejectionOf(readPolicyBackupRecord(join(dir, name)))
      expect(error, name).to.be.instanceOf(UserError)
      expect((error as UserError).code).to.equal('BACKUP_INVALID')
      expect((error as UserError).message, name).to.match(why)
    }

    const missing = await rejectionOf(readPolicyBackupRecord(join(dir, 'nope.json')))
    expect((missing as UserError).message).to.match(/does not exist/)
  })

  it('fails with BACKUP_FAILED when the data directory cannot be created', async () => {
    const blocker = join(root, 'blocker')
    writeFileSync(blocker, 'a file, not a directory')
    const error = await rejectionOf(savePolicyBackup({BINAUTHZ_DATA_DIR: join(blocker, 'data')}, PROJECT, policy('e', 'a/b/**')))
    expect((error as {code?: string}).code).to.equal('BACKUP_FAILED')
    expect((error as Error).message).to.contain('the policy was not changed')
    expect((error as UserError).suggestions.join('\n')).to.contain('BINAUTHZ_DATA_DIR')
  })

  it('refuses project ids that would escape the backup directory', async () => {
    mkdirSync(join(root, 'data'), {recursive: true})
    const error = await rejectionOf(savePolicyBackup(env, '../escape', policy('e', 'a/b/**')))
    expect((error as UserError).code).to.equal('INVALID_PROJECT')
  })

  describe('races, leftovers, order and retention (issue 15 item 8)', () => {
    it('20 saves in the same millisecond with the same etag: 20 distinct backups, each its own content', async () => {
      const now = new Date('2026-03-03T03:03:03.003Z')
      const files = await Promise.all(Array.from({length: 20}, (_, i) => savePolicyBackup(env, PROJECT, policy('same', `r/${i}/**`), {now})))
      expect(new Set(files).size).to.equal(20)
      const patterns = await Promise.all(files.map(async f => (await readPolicyBackupRecord(f)).policy.admissionWhitelistPatterns?.[0]?.namePattern))
      expect(new Set(patterns).size).to.equal(20)
      console.log(`      concurrent saves in one millisecond with one etag: ${files.length} backups, ${new Set(files).size} distinct`)
    })

    it('a temp file left by a killed save is removed by the next save; none is ever listed', async () => {
      const dir = projectBackupDir(env, PROJECT)
      mkdirSync(dir, {recursive: true})
      // pid 2^22 + 1 is above Linux's default pid_max: no such process.
      const stale = join(dir, '.backup-4194305-0badc0de.tmp')
      writeFileSync(stale, '{"half": ')
      await savePolicyBackup(env, PROJECT, policy('e', 'a/**'))
      expect(readdirSync(dir).filter(n => n.endsWith('.tmp'))).to.deep.equal([])
    })

    it('--latest is the newest by the names binauthz gave, never by a date inside the file; a future stamp never wins', async () => {
      const older = await savePolicyBackup(env, PROJECT, policy('e1', 'a/**'), {now: new Date('2026-01-01T00:00:00.000Z')})
      const newer = await savePolicyBackup(env, PROJECT, policy('e2', 'b/**'), {now: new Date('2026-01-02T00:00:00.000Z')})
      const dir = projectBackupDir(env, PROJECT)
      // A planted file: an old name with a "savedAt" in the future inside, and a name stamped in the future.
      const record = (savedAt: string) => JSON.stringify({policy: policy('p', 'evil/**'), project: PROJECT, savedAt})
      writeFileSync(join(dir, '20250101T000000.000Z-planted.json'), record('2099-01-01T00:00:00.000Z'))
      writeFileSync(join(dir, '20990101T000000.000Z-planted.json'), record('2099-01-01T00:00:00.000Z'))
      const list = await listPolicyBackups(env, PROJECT)
      expect(list.map(e => e.file)).to.deep.equal([newer, older, join(dir, '20250101T000000.000Z-planted.json')])
    })

    it('keeps the newest BACKUPS_KEPT per project, and only removes files with binauthz names', async () => {
      const dir = projectBackupDir(env, PROJECT)
      mkdirSync(dir, {recursive: true})
      writeFileSync(join(dir, 'notes.txt'), 'mine')
      const start = Date.parse('2026-05-01T00:00:00.000Z')
      const files: string[] = []
      for (let i = 0; i < BACKUPS_KEPT + 5; i++) files.push(await savePolicyBackup(env, PROJECT, policy(`e${i}`, 'a/**'), {now: new Date(start + (i * 1000))}))
      const left = readdirSync(dir).filter(n => n.endsWith('.json')).sort()
      expect(left).to.have.length(BACKUPS_KEPT)
      expect(left.map(n => join(dir, n))).to.deep.equal(files.slice(5).sort())
      expect(readdirSync(dir)).to.include('notes.txt')
    })
  })
})
