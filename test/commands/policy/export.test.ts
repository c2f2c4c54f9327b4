// In-process on purpose (@oclif/test runCommand): these check flags, results and exit codes command by command,
// with a stand-in and temp dirs wired through process.env. The built CLI on its default start path is driven by
// test/e2e (the installed package included) and test/reliability.
import {runCommand} from '@oclif/test'
import {expect} from 'chai'

import {policyToYaml} from '../../../src/policy/yaml.js'
import {
  exitOf, type Harness, json, PROJECT, ROOT, startHarness,
} from '../../app/harness.js'

describe('binauthz policy export', () => {
  let h: Harness

  afterEach(async () => h.close())

  it('prints only the YAML on stdout, as gcloud would', async () => {
    h = await startHarness()
    const {error, stdout} = await runCommand(['policy', 'export', '--project', PROJECT], {root: ROOT})
    expect(error).to.equal(undefined)
    const policy = h.server.policy(PROJECT)
    expect(policy).to.not.equal(undefined)
    const yaml = policyToYaml(policy ?? {})
    expect(stdout.trimEnd()).to.equal(yaml.trimEnd())
    expect(stdout).to.contain('admissionWhitelistPatterns:')
    expect(stdout).to.contain('futureField:')
    expect(h.server.requests().map(r => r.op)).to.deep.equal(['getPolicy'])
  })

  it('--json carries the YAML, the etag and the policy', async () => {
    h = await startHarness()
    const {stdout} = await runCommand(['policy', 'export', '--project', PROJECT, '--json'], {root: ROOT})
    const result = json<{etag: string; policy: {etag: string}; project: string; yaml: string;}>(stdout)
    expect(result.project).to.equal(PROJECT)
    expect(result.etag).to.equal(h.server.policy(PROJECT).etag)
    expect(result.policy.etag).to.equal(result.etag)
    expect(result.yaml).to.contain('defaultAdmissionRule:')
  })

  it('exits 2 for an invalid --project without any request', async () => {
    h = await startHarness()
    const {error} = await runCommand(['policy', 'export', '--project', 'Bad_Project;rm'], {root: ROOT})
    expect(exitOf(error)).to.equal(2)
    expect(h.server.requests()).to.have.length(0)
  })
})
