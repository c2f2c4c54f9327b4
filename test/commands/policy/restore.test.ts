// In-process on purpose (@oclif/test runCommand): these check flags, results and exit codes command by command,
// with a stand-in and temp dirs wired through process.env. The built CLI on its default start path is driven by
// test/e2e (the installed package included) and test/reliability.
import {runCommand} from '@oclif/test'
import {expect} from 'chai'

import type {PolicyChangeResult} from '../../../src/app/policy-allow-revoke.js'
import type {BackupListResult, PolicyRestoreResult} from '../../../src/app/policy-restore.js'

import {savePolicyBackup} from '../../../src/store/backups.js'
import {
  enforcedPolicy, exitOf, FN_PATTERN, type Harness, json, OTHER_PATTERN, PROJECT, REGION, ROOT, RUN_PATTERN, startHarness,
} from '../../app/harness.js'

/** A policy without the fields every write changes. */
const strip = ({etag: _e, updateTime: _u, ...rest}: Record<string, unknown>): Record<string, unknown> => rest

describe('binauthz policy restore', () => {
  let h: Harness

  afterEach(async () => h.close())

  it('puts back the policy saved before an allow, with the current etag, after --yes', async () => {
    h = await startHarness()
    const original = h.server.policy(PROJECT)
    const allowed = await runCommand(['policy', 'allow', '--project', PROJECT, '--region', REGION, '--yes', '--json'], {root: ROOT})
    const change = json<PolicyChangeResult>(allowed.stdout)
    expect(change.written).to.equal(true)
    const etagNow = h.server.policy(PROJECT).etag

    const listed = await runCommand(['policy', 'restore', '--project', PROJECT, '--list', '--json'], {root: ROOT})
    const list = json<BackupListResult>(listed.stdout)
    expect(list.backups.map(b => b.file)).to.deep.equal([change.backupFile])

    const {error, stdout} = await runCommand(['policy', 'restore', '--project', PROJECT, '--latest', '--yes', '--json'], {root: ROOT})
    expect(error).to.equal(undefined)
    const result = json<PolicyRestoreResult>(stdout)
    expect(result).to.deep.include({
      added: [], file: change.backupFile, project: PROJECT, removed: [RUN_PATTERN, FN_PATTERN], written: true,
    })
    expect(result.etagBefore).to.equal(etagNow)
    const puts = h.server.requests('updatePolicy')
    expect(JSON.parse(puts.at(-1)?.body ?? '{}').etag).to.equal(etagNow)

    const restored = h.server.policy(PROJECT)
    expect(strip(restored ?? {})).to.deep.equal(strip(original ?? {}))
    // The policy as it was before the restore was itself saved.
    expect(result.backupFile).to.be.a('string').and.not.equal(change.backupFile)
  })

  it('needs --yes without a terminal (exit 3) and writes nothing', async () => {
    h = await startHarness()
    const file = await savePolicyBackup(process.env, PROJECT, enforcedPolicy([RUN_PATTERN]))
    const {error, stdout} = await runCommand(['policy', 'restore', '--project', PROJECT, '--file', file], {root: ROOT})
    expect(exitOf(error)).to.equal(3)
    expect(stdout).to.contain(`+ - namePattern: ${RUN_PATTERN}`)
    expect(stdout).to.contain(`- - namePattern: ${OTHER_PATTERN}`)
    expect(h.server.writes()).to.equal(0)
  })

  it('refuses a backup of another project (exit 2) without any request', async () => {
    h = await startHarness()
    const other = {...enforcedPolicy(), name: 'projects/other-proj/policy'}
    const file = await savePolicyBackup(process.env, 'other-proj', other)
    const {error, stdout} = await runCommand(['policy', 'restore', '--project', PROJECT, '--file', file, '--yes', '--json'], {root: ROOT})
    expect(exitOf(error)).to.equal(2)
    expect(json<{error: {code: string}}>(stdout).error.code).to.equal('BACKUP_OTHER_PROJECT')
    expect(h.server.requests()).to.have.length(0)
  })

  it('refuses a backup whose policy is named by another project NUMBER (exit 2), writing nothing', async () => {
    h = await startHarness()
    // The record claims this project; the policy inside names project number 987654321, which is not this one.
    const file = await savePolicyBackup(process.env, PROJECT, {...enforcedPolicy([RUN_PATTERN]), name: 'projects/987654321/policy'})
    const {error, stdout} = await runCommand(['policy', 'restore', '--project', PROJECT, '--file', file, '--yes', '--json'], {root: ROOT})
    expect(exitOf(error)).to.equal(2)
    expect(json<{error: {code: string}}>(stdout).error.code).to.equal('BACKUP_OTHER_PROJECT')
    expect(h.server.writes()).to.equal(0)
  })

  it('says when there is no backup (exit 2), and that nothing changes for an identical one', async () => {
    h = await startHarness()
    let out = await runCommand(['policy', 'restore', '--project', PROJECT, '--latest', '--yes'], {root: ROOT})
    expect(exitOf(out.error)).to.equal(2)
    expect(out.error?.message).to.contain('No policy backups')

    const file = await savePolicyBackup(process.env, PROJECT, h.server.policy(PROJECT) ?? {})
    out = await runCommand(['policy', 'restore', '--project', PROJECT, '--file', file, '--yes', '--json'], {root: ROOT})
    expect(out.error).to.equal(undefined)
    const result = json<PolicyRestoreResult>(out.stdout)
    expect(result).to.deep.include({changed: false, written: false})
    expect(result.skippedReason).to.contain('Nothing to restore')
    expect(h.server.writes()).to.equal(0)
  })

  it('is etag-checked: a concurrent change makes it re-read and re-plan against the new policy', async () => {
    h = await startHarness()
    const file = await savePolicyBackup(process.env, PROJECT, enforcedPolicy([OTHER_PATTERN, RUN_PATTERN]))
    h.server.fault({kind: 'concurrent-write', method: 'PUT', namePattern: 'gcr.io/racer/**'})
    const {error, stdout} = await runCommand(['policy', 'restore', '--project', PROJECT, '--file', file, '--yes', '--json'], {root: ROOT})
    expect(error).to.equal(undefined)
    const result = json<PolicyRestoreResult>(stdout)
    expect(result.attempts).to.equal(2)
    expect(result.removed).to.deep.equal(['gcr.io/racer/**']) // the diff of the second plan, against what is there now
    const puts = h.server.requests('updatePolicy')
    expect(puts).to.have.length(2)
    expect(JSON.parse(puts[1]?.body ?? '{}').etag).to.not.equal(JSON.parse(puts[0]?.body ?? '{}').etag)
    expect(h.server.policy(PROJECT).admissionWhitelistPatterns).to.deep.equal([{namePattern: OTHER_PATTERN}, {namePattern: RUN_PATTERN}])
  })

  it('--file and --latest are exclusive (exit 2)', async () => {
    h = await startHarness()
    const {error} = await runCommand(['policy', 'restore', '--project', PROJECT, '--latest', '--file', '/tmp/x.json'], {root: ROOT})
    expect(exitOf(error)).to.equal(2)
  })
})
