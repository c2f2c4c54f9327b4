// In-process on purpose (@oclif/test runCommand): these check flags, results and exit codes command by command,
// with a stand-in and temp dirs wired through process.env. The built CLI on its default start path is driven by
// test/e2e (the installed package included) and test/reliability.
import {runCommand} from '@oclif/test'
import {expect} from 'chai'

import type {PolicyChangeResult} from '../../../src/app/policy-allow-revoke.js'

import {
  enforcedPolicy, exitOf, FN_PATTERN, type Harness, json, OTHER_PATTERN, PROJECT, REGION, ROOT, RUN_PATTERN, startHarness,
} from '../../app/harness.js'

describe('binauthz policy revoke', () => {
  let h: Harness

  afterEach(async () => h.close())

  it('removes only the entries asked for and leaves everyone else’s', async () => {
    const broad = `${REGION}-docker.pkg.dev/${PROJECT}/**`
    h = await startHarness({policies: {[PROJECT]: enforcedPolicy([OTHER_PATTERN, RUN_PATTERN, broad, FN_PATTERN])}})
    const {error, stdout} = await runCommand(['policy', 'revoke', '--project', PROJECT, '--region', REGION, '--kind', 'run', '--yes', '--json'], {root: ROOT})
    expect(error).to.equal(undefined)
    const result = json<PolicyChangeResult>(stdout)
    expect(result).to.deep.include({
      action: 'revoke', added: [], removed: [RUN_PATTERN], written: true,
    })
    expect(result.backupFile).to.be.a('string')
    const after = h.server.policy(PROJECT)
    expect(after?.admissionWhitelistPatterns?.map(p => p.namePattern)).to.deep.equal([OTHER_PATTERN, broad, FN_PATTERN])
    expect(after?.description).to.equal(enforcedPolicy().description)
    expect(after?.futureField).to.deep.equal({kept: true})
  })

  it('reports patterns that are not entries and writes nothing', async () => {
    h = await startHarness()
    const {error, stdout} = await runCommand(['policy', 'revoke', '--project', PROJECT, '--region', REGION, '--yes'], {root: ROOT})
    expect(error).to.equal(undefined)
    expect(stdout).to.contain('Nothing to remove')
    expect(stdout).to.contain(RUN_PATTERN)
    expect(h.server.writes()).to.equal(0)
    expect(h.server.requests().map(r => r.op)).to.deep.equal(['getPolicy'])
  })

  it('revokes an explicit --pattern (even one of another team) only when asked, needing --yes without a terminal', async () => {
    h = await startHarness({policies: {[PROJECT]: enforcedPolicy([OTHER_PATTERN, RUN_PATTERN])}})
    let out = await runCommand(['policy', 'revoke', '--project', PROJECT, '--pattern', OTHER_PATTERN], {root: ROOT})
    expect(exitOf(out.error)).to.equal(3)
    expect(h.server.writes()).to.equal(0)
    out = await runCommand(['policy', 'revoke', '--project', PROJECT, '--pattern', OTHER_PATTERN, '--yes', '--json'], {root: ROOT})
    expect(out.error).to.equal(undefined)
    expect(json<PolicyChangeResult>(out.stdout).removed).to.deep.equal([OTHER_PATTERN])
    expect(h.server.policy(PROJECT).admissionWhitelistPatterns).to.deep.equal([{namePattern: RUN_PATTERN}])
  })

  it('--dry-run writes nothing', async () => {
    h = await startHarness({policies: {[PROJECT]: enforcedPolicy([RUN_PATTERN])}})
    const {stdout} = await runCommand(['policy', 'revoke', '--project', PROJECT, '--region', REGION, '--dry-run', '--json'], {root: ROOT})
    const result = json<PolicyChangeResult>(stdout)
    expect(result).to.deep.include({
      changed: true, notFound: [FN_PATTERN], removed: [RUN_PATTERN], written: false,
    })
    expect(h.server.writes()).to.equal(0)
  })
})
