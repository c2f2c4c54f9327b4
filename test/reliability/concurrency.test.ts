// Guarantee 1 (concurrency): many binauthz processes patching the same policy at once, against ONE stand-in (the
// sandbox), each needing a different pattern: every pattern ends up in the policy exactly once, every other field is
// byte-identical to before, no process hangs, each exits 0 and deploys once. Etag conflicts happen naturally; the
// transaction re-reads and re-plans.
import {expect} from 'chai'
import {rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import type {Policy} from '../../src/policy/types.js'

import {type Sandbox, startSandbox} from '../../src/sandbox/index.js'
import {
  CANARY_TOKEN, type CliKit, createCliKit, fetchPolicy, otherFields, patternsOf, REGIONS, runPattern,
} from '../helpers/reliability-cli.js'
import {tempDir} from '../helpers/tmp.js'

const PROJECT = 'rel-concurrency'
const KEEP = 'gcr.io/keep-me/**'

function seed(): Policy {
  return {
    admissionWhitelistPatterns: [{namePattern: KEEP}, {namePattern: 'europe-docker.pkg.dev/shared/base/*'}],
    clusterAdmissionRules: {
      'us-east1-b.prod': {enforcementMode: 'DRYRUN_AUDIT_LOG_ONLY', evaluationMode: 'ALWAYS_DENY'},
    },
    defaultAdmissionRule: {
      enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG',
      evaluationMode: 'REQUIRE_ATTESTATION',
      requireAttestationsBy: [`projects/${PROJECT}/attestors/built-by-ci`],
    },
    description: 'Shared team policy — every field here must survive 20 concurrent patches',
    futureField: {nested: ['ü', 1.5, null, true]},
    globalPolicyEvaluationMode: 'ENABLE',
  } as Policy
}

describe('reliability 1: concurrent processes patching one policy', function () {
  this.timeout(120_000)
  let sandbox: Sandbox
  let kit: CliKit
  let stateDir: string

  beforeEach(async () => {
    stateDir = tempDir('binauthz-rel-sandbox-')
    // The sandbox checks the bearer token against STATE_DIR/token: plant the canary there.
    writeFileSync(join(stateDir, 'token'), `${CANARY_TOKEN}\n`, {mode: 0o600})
    sandbox = await startSandbox({
      baseEnv: {}, policy: seed(), project: PROJECT, stateDir,
    })
    kit = createCliKit({endpoint: sandbox.url, timeoutMs: 90_000})
  })

  afterEach(async () => {
    await sandbox.stop()
    kit.cleanup()
    rmSync(stateDir, {force: true, recursive: true})
  })

  it('20 processes at once, 20 different regions: all 20 patterns added, nothing else changed, all exit 0', async () => {
    const before = seed()
    const runs = await Promise.all(REGIONS.map(region =>
      kit.run(['deploy', 'run', `svc-${region}`, '--project', PROJECT, '--region', region, '--yes', '--json', '--', '--source=.'])))

    const summary = runs.map(r => `${r.args[4]} -> ${r.code}${r.timedOut ? ' (timed out)' : ''} ${r.code === 0 ? '' : r.stdout.slice(0, 400)}`)
    expect(runs.filter(r => r.timedOut), summary.join('\n')).to.deep.equal([])
    expect(runs.map(r => r.code), summary.join('\n')).to.deep.equal(REGIONS.map(() => 0))

    // Each process reports that it added exactly its own pattern, with the write done and a backup saved.
    for (const [i, run] of runs.entries()) {
      const result = JSON.parse(run.stdout) as {patterns: {added: string[]}; policy: {backupFile: null | string; written: boolean;}}
      expect(result.patterns.added).to.deep.equal([runPattern(PROJECT, REGIONS[i] as string)])
      expect(result.policy.written).to.equal(true)
      expect(result.policy.backupFile).to.be.a('string')
    }

    const after = await fetchPolicy(sandbox.url, PROJECT)
    const patterns = patternsOf(after)
    const expected = REGIONS.map(region => runPattern(PROJECT, region))
    // The two original entries first and in order, then each new pattern exactly once (in whatever order they won).
    expect(patterns.slice(0, 2)).to.deep.equal(patternsOf(before))
    expect(patterns.slice(2).sort()).to.deep.equal([...expected].sort())
    expect(new Set(patterns).size).to.equal(patterns.length)
    expect(otherFields(after)).to.equal(otherFields(before))
    expect(after.name).to.equal(`projects/${PROJECT}/policy`)

    // Each process deployed exactly once, to its own region, with Binary Authorization on.
    const calls = await kit.gcloud.calls()
    expect(calls).to.have.length(20)
    const regionsDeployed = calls.map(argv => argv.find(a => a.startsWith('--region='))).sort()
    expect(regionsDeployed).to.deep.equal(REGIONS.map(r => `--region=${r}`).sort())
    for (const argv of calls) expect(argv.at(-1)).to.equal('--binary-authorization=default')
  })

  it('2 processes at once adding the same pattern: it appears once, both exit 0 and deploy', async () => {
    const before = seed()
    const region = 'europe-west4'
    const runs = await Promise.all(['a', 'b'].map(name => kit.run(['deploy', 'run', `svc-${name}`, '--project', PROJECT, '--region', region, '--yes', '--json', '--', '--source=.'])))
    expect(runs.map(r => [r.code, r.timedOut]), runs.map(r => r.stdout + r.stderr).join('\n')).to.deep.equal([
      [0, false],
      [0, false],
    ])
    const after = await fetchPolicy(sandbox.url, PROJECT)
    expect(patternsOf(after)).to.deep.equal([...patternsOf(before), runPattern(PROJECT, region)])
    expect(otherFields(after)).to.equal(otherFields(before))
    // Whoever lost the race re-read, found the pattern already there, and deployed without writing.
    const written = runs.map(r => (JSON.parse(r.stdout) as {policy: {written: boolean}}).policy.written)
    expect(written.filter(Boolean)).to.have.length(1)
    expect((await kit.gcloud.calls()).map(argv => argv[2]).sort()).to.deep.equal(['svc-a', 'svc-b'])
  })
})
