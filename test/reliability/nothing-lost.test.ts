// Guarantee 5 (nothing lost): before every policy write binauthz saves the policy it replaces — a file under
// BINAUTHZ_DATA_DIR/backups/<project>/ named with the time and the etag it was read at — and `binauthz policy restore`
// puts such a backup back with an etag-checked write (a concurrent change is detected, re-read, and itself backed
// up first, so a restore can be undone). No backup, no write. All through the built CLI.
import {expect} from 'chai'
import {readFileSync, statSync, writeFileSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'

import type {Policy} from '../../src/policy/types.js'

import {original} from '../helpers/reliability-checks.js'
import {
  CANARY_TOKEN, type CliKit, createCliKit, otherFields, patternsOf, REGIONS, runPattern, unwrap,
} from '../helpers/reliability-cli.js'
import {startTestSandbox, type TestSandbox} from '../helpers/sandbox.js'

const PROJECT = 'rel-nothing-lost'

interface BackupRecord {
  etag?: string
  policy: Policy
  project: string
  savedAt: string
}

function json<T>(stdout: string): T {
  return JSON.parse(stdout) as T
}

function readBackup(file: string): BackupRecord {
  return JSON.parse(readFileSync(file, 'utf8')) as BackupRecord
}

/** The content that matters: every field but the output-only ones. */
function content(policy: Policy | undefined): string {
  return `${otherFields(policy)} ${JSON.stringify(patternsOf(policy))}`
}

describe('reliability 5: nothing lost — backups before every write, etag-checked restore', function () {
  this.timeout(120_000)
  let server: TestSandbox
  let kit: CliKit

  beforeEach(async () => {
    server = await startTestSandbox({policy: original(PROJECT), project: PROJECT, token: CANARY_TOKEN})
    kit = createCliKit({endpoint: server.url, timeoutMs: 40_000})
  })

  afterEach(async () => {
    await server.stop()
    kit.cleanup()
  })

  it('every write is preceded by a backup of exactly the policy it replaces, named with project and etag', async () => {
    const first = server.policy(PROJECT)
    const r1 = await kit.run(['deploy', 'run', 'svc', '--project', PROJECT, '--region', 'us-east1', '--yes', '--json', '--', '--source=.'])
    expect(r1.code, r1.stderr).to.equal(0)
    const {backupFile} = json<{policy: {backupFile: string}}>(r1.stdout).policy
    // <data dir>/backups/<project>/<UTC stamp>-<etag>.json, private to the user.
    expect(dirname(backupFile)).to.equal(join(kit.dataDir, 'backups', PROJECT))
    expect(basename(backupFile)).to.match(/^\d{8}T\d{6}\.\d{3}Z-[\w-]+\.json$/)
    expect(basename(backupFile)).to.contain((first.etag as string).replaceAll(/[^\w-]/g, '_').slice(0, 48))
    expect(statSync(backupFile).mode % 0o1000).to.equal(0o600)
    const record = readBackup(backupFile)
    expect(record.project).to.equal(PROJECT)
    expect(record.etag).to.equal(first.etag)
    expect(record.policy).to.deep.equal(first)

    // More writes through other commands: each gets its own backup.
    const r2 = await kit.run(['policy', 'allow', '--project', PROJECT, '--pattern', 'us-docker.pkg.dev/rel-nothing-lost/extra/**', '--yes', '--json'])
    expect(r2.code, r2.stderr).to.equal(0)
    const r3 = await kit.run(['deploy', 'function', 'fn', '--project', PROJECT, '--region', 'europe-west1', '--yes', '--json', '--', '--runtime=nodejs20'])
    expect(r3.code, r3.stderr).to.equal(0)
    const r4 = await kit.run(['policy', 'revoke', '--project', PROJECT, '--pattern', 'us-docker.pkg.dev/rel-nothing-lost/extra/**', '--yes', '--json'])
    expect(r4.code, r4.stderr).to.equal(0)

    const puts = server.requests('updatePolicy')
    expect(puts).to.have.length(4)
    const backups = kit.backups(PROJECT).map(file => readBackup(file))
    expect(backups).to.have.length(4)
    // The etag each PUT replaced is the etag of a backup (the backup was taken from the very read the PUT was based on).
    const backedUpEtags = new Set(backups.map(b => b.etag))
    for (const put of puts) expect(backedUpEtags.has((JSON.parse(put.body ?? '{}') as Policy).etag)).to.equal(true)
  })

  it('policy restore puts a backup back (all fields), and the restore itself is backed up so it can be undone', async () => {
    const before = server.policy(PROJECT)
    for (const region of ['us-east1', 'us-west1']) {
      const r = await kit.run(['deploy', 'run', 'svc', '--project', PROJECT, '--region', region, '--yes', '--json', '--', '--source=.'])
      expect(r.code, r.stderr).to.equal(0)
    }

    const patched = server.policy(PROJECT)
    expect(patternsOf(patched)).to.include(runPattern(PROJECT, 'us-west1'))
    const oldest = kit.backups(PROJECT)[0] as string

    const dry = await kit.run(['policy', 'restore', '--project', PROJECT, '--file', oldest, '--dry-run', '--json'])
    expect(dry.code, dry.stderr).to.equal(0)
    expect(server.writes()).to.equal(2)

    const restore = await kit.run(['policy', 'restore', '--project', PROJECT, '--file', oldest, '--yes', '--json'])
    expect(restore.code, restore.stderr).to.equal(0)
    const result = json<{backupFile: string; etagBefore: string; removed: string[]; written: boolean;}>(restore.stdout)
    expect(result.written).to.equal(true)
    expect(result.removed).to.deep.equal([runPattern(PROJECT, 'us-east1'), runPattern(PROJECT, 'us-west1')])
    expect(content(server.policy(PROJECT))).to.equal(content(before))
    expect(server.policy(PROJECT).etag).not.to.equal(before.etag) // a real (etag-checked) write, not a rollback of the etag

    // The policy the restore replaced was saved first: restoring that backup undoes the restore.
    expect(content(readBackup(result.backupFile).policy)).to.equal(content(patched))
    const undo = await kit.run(['policy', 'restore', '--project', PROJECT, '--latest', '--yes', '--json'])
    expect(undo.code, undo.stderr).to.equal(0)
    expect(content(server.policy(PROJECT))).to.equal(content(patched))
  })

  it('restore is etag-checked: a write that lands between its read and its PUT is detected and kept in a backup', async () => {
    const r = await kit.run(['deploy', 'run', 'svc', '--project', PROJECT, '--region', 'us-east1', '--yes', '--json', '--', '--source=.'])
    expect(r.code, r.stderr).to.equal(0)
    const oldest = kit.backups(PROJECT)[0] as string
    const LATE = 'gcr.io/late-writer/**'
    server.fault({kind: 'concurrent-write', namePattern: LATE, op: 'updatePolicy'})
    const restore = await kit.run(['policy', 'restore', '--project', PROJECT, '--file', oldest, '--yes', '--json'])
    expect(restore.code, restore.stderr).to.equal(0)
    expect(json<{attempts: number}>(restore.stdout).attempts).to.equal(2)
    const puts = server.requests('updatePolicy').slice(-2).map(p => JSON.parse(p.body ?? '{}') as Policy)
    expect(puts[1]?.etag).not.to.equal(puts[0]?.etag) // the second PUT carried the re-read etag
    expect(content(server.policy(PROJECT))).to.equal(content(original(PROJECT)))
    // The late writer's entry is not silently gone: the policy it was in was backed up before the winning PUT.
    const newest = kit.backups(PROJECT).map(file => readBackup(file)).sort((a, b) => a.savedAt.localeCompare(b.savedAt)).at(-1)
    expect(patternsOf(newest?.policy)).to.include(LATE)
  })

  it('refuses to restore another project\'s backup or a damaged file: exit 2, nothing written', async () => {
    const r = await kit.run(['deploy', 'run', 'svc', '--project', PROJECT, '--region', 'us-east1', '--yes', '--json', '--', '--source=.'])
    expect(r.code, r.stderr).to.equal(0)
    const writes = server.writes()
    const record = readBackup(kit.backups(PROJECT)[0] as string)
    const foreign = join(kit.dir, 'foreign.json')
    writeFileSync(foreign, JSON.stringify({...record, policy: {...record.policy, name: 'projects/other-proj/policy'}, project: 'other-proj'}))
    const damaged = join(kit.dir, 'damaged.json')
    writeFileSync(damaged, '{"project": "rel-nothing-lost", "savedAt": "2026-01-01T00:00:00Z", "policy": [')
    for (const [file, code] of [
      [foreign, 'BACKUP_OTHER_PROJECT'],
      [damaged, 'BACKUP_INVALID'],
    ] as const) {
      const restore = await kit.run(['policy', 'restore', '--project', PROJECT, '--file', file, '--yes', '--json'])
      expect(restore.code, restore.stdout).to.equal(2)
      expect(unwrap(restore.stdout)).to.contain(code)
    }

    expect(server.writes()).to.equal(writes)
  })

  it('no backup, no write: an unusable data dir stops the deploy before the PUT (exit 5), gcloud never runs', async () => {
    const notADir = join(kit.dir, 'data-is-a-file')
    writeFileSync(notADir, 'not a directory')
    const r = await kit.run(['deploy', 'run', 'svc', '--project', PROJECT, '--region', 'us-east1', '--yes', '--json', '--', '--source=.'], {
      env: {BINAUTHZ_DATA_DIR: notADir},
    })
    expect(r.code, r.stderr).to.equal(5)
    const {error} = json<{error: {code: string; message: string; suggestions: string[]}}>(r.stdout)
    expect(error.code).to.equal('BACKUP_FAILED')
    expect(error.message).to.contain('the policy was not changed')
    expect(error.suggestions.join(' ')).to.contain('BINAUTHZ_DATA_DIR')
    expect(server.writes()).to.equal(0)
    expect(server.requests('updatePolicy')).to.have.length(0)
    expect(await kit.gcloud.calls()).to.deep.equal([])
  })

  it('a hostile etag cannot move a backup out of the project\'s backup directory', async () => {
    server.setPolicy(PROJECT, {...original(PROJECT), etag: `../../../../../../tmp/escape/${'x'.repeat(200)}`})
    const r = await kit.run(['deploy', 'run', 'svc', '--project', PROJECT, '--region', 'us-east1', '--yes', '--json', '--', '--source=.'])
    expect(r.code, r.stderr).to.equal(0)
    const files = kit.dataFiles().map(([file]) => file)
    expect(files).to.have.length(1)
    expect(dirname(files[0] as string)).to.equal(join(kit.dataDir, 'backups', PROJECT))
    expect(basename(files[0] as string).length).to.be.below(100)
    expect(readBackup(files[0] as string).etag).to.equal(`../../../../../../tmp/escape/${'x'.repeat(200)}`)
  })

  it('concurrent writers each keep their own backup', async () => {
    const regions = REGIONS.slice(0, 6)
    const runs = await Promise.all(regions.map(region => kit.run(['deploy', 'run', 'svc', '--project', PROJECT, '--region', region, '--yes', '--json', '--', '--source=.'])))
    expect(runs.map(r => r.code)).to.deep.equal(regions.map(() => 0))
    const reported = runs.map(r => json<{policy: {backupFile: string}}>(r.stdout).policy.backupFile)
    expect(new Set(reported).size).to.equal(regions.length)
    for (const file of reported) expect(readBackup(file).project).to.equal(PROJECT)
    // At least one backup per PUT attempt (conflicted attempts included).
    expect(kit.backups(PROJECT).length).to.be.at.least(server.requests('updatePolicy').length)
  })
})
