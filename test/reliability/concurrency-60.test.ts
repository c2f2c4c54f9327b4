// Issue 15 item 10 (share of h15a): 60 binauthz processes writing one policy at once through the one write path (etag
// writes, re-read and re-plan on conflict), against ONE sandbox: 40 `deploy run` to 40 regions and 20 `policy allow`
// of their own pattern. Every one exits 0 having added its entry, every entry is present once, every other field is
// byte-identical, each deploy ran gcloud once. Prints the figure.
import {expect} from 'chai'
import {rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import type {Policy} from '../../src/policy/types.js'

import {type Sandbox, startSandbox} from '../../src/sandbox/index.js'
import {CLOUD_RUN_REGIONS} from '../../src/sandbox/regions.js'
import {
  CANARY_TOKEN, type CliKit, createCliKit, fetchPolicy, otherFields, patternsOf, runPattern,
} from '../helpers/reliability-cli.js'
import {tempDir} from '../helpers/tmp.js'

const PROJECT = 'rel-sixty'
const DEPLOYS = CLOUD_RUN_REGIONS.slice(0, 40)
const ALLOWS = Array.from({length: 20}, (_, i) => `gcr.io/writer-${i}/app`)

function seed(): Policy {
  return {
    admissionWhitelistPatterns: [{namePattern: 'gcr.io/keep-me/**'}],
    defaultAdmissionRule: {enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG', evaluationMode: 'ALWAYS_DENY'},
    description: 'every field here must survive 60 concurrent writers',
    futureField: {nested: ['ü', 1.5, null, true]},
    globalPolicyEvaluationMode: 'ENABLE',
  } as Policy
}

describe('reliability 15a: 60 concurrent writers (built CLI, one sandbox)', function () {
  this.timeout(600_000)
  let sandbox: Sandbox
  let kit: CliKit
  let stateDir: string

  before(async () => {
    stateDir = tempDir('binauthz-rel60-')
    writeFileSync(join(stateDir, 'token'), `${CANARY_TOKEN}\n`, {mode: 0o600})
    sandbox = await startSandbox({
      baseEnv: {}, policy: seed(), project: PROJECT, stateDir,
    })
    kit = createCliKit({endpoint: sandbox.url, timeoutMs: 480_000})
  })

  after(async () => {
    await sandbox.stop()
    kit.cleanup()
    rmSync(stateDir, {force: true, recursive: true})
  })

  it('60 at once: every entry added exactly once, nothing else changed, all exit 0', async () => {
    expect(DEPLOYS).to.have.length(40)
    const before = seed()
    const runs = await Promise.all([
      ...DEPLOYS.map(region => kit.run(['deploy', 'run', `svc-${region}`, '--project', PROJECT, '--region', region, '--yes', '--json', '--', '--source=.'])),
      ...ALLOWS.map(pattern => kit.run(['policy', 'allow', '--project', PROJECT, '--pattern', pattern, '--yes', '--json'])),
    ])
    const failed = runs.filter(r => r.code !== 0 || r.timedOut)
    console.log(`      concurrent writers with etags: ${runs.length} (exit 0: ${runs.length - failed.length})`)
    expect(failed.map(r => `${r.args.slice(0, 5).join(' ')} -> ${r.code} ${r.stdout.slice(0, 300)}`)).to.deep.equal([])
    const after = await fetchPolicy(sandbox.url, PROJECT)
    const patterns = patternsOf(after)
    const expected = [...DEPLOYS.map(region => runPattern(PROJECT, region)), ...ALLOWS]
    expect(patterns[0]).to.equal('gcr.io/keep-me/**')
    expect(patterns.slice(1).sort()).to.deep.equal([...expected].sort())
    expect(new Set(patterns).size).to.equal(patterns.length)
    expect(otherFields(after)).to.equal(otherFields(before))
    expect(await kit.gcloud.calls()).to.have.length(40)
  })
})
