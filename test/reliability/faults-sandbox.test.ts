// Guarantee 2 (faults), with the sandbox's OWN seeded fault knobs (faults.json: 30% mixed 503/429 from seed 11, the
// next 3 PUTs answered 409 as if another admin had just written): sequential deploys through the built CLI each
// succeed or fail cleanly (documented exit code, clear --json error, no gcloud), and the policy stays whole.
import {expect} from 'chai'
import {rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {type Sandbox, startSandbox} from '../../src/sandbox/index.js'
import {checkPolicy, checkRun, original} from '../helpers/reliability-checks.js'
import {
  CANARY_TOKEN, type CliKit, type CliRun, createCliKit, fetchPolicy, REGIONS, runPattern,
} from '../helpers/reliability-cli.js'
import {tempDir} from '../helpers/tmp.js'

describe("reliability 2: the sandbox's own seeded fault knobs (30% mixed 503/429, etag conflicts)", function () {
  this.timeout(120_000)
  const PROJECT = 'rel-sandbox-faults'
  let sandbox: Sandbox
  let stateDir: string
  let kit: CliKit

  before(async () => {
    stateDir = tempDir('binauthz-rel-sbx-')
    writeFileSync(join(stateDir, 'token'), `${CANARY_TOKEN}\n`, {mode: 0o600})
    sandbox = await startSandbox({
      baseEnv: {},
      faults: {
        binauthzErrorRate: 0.3, binauthzErrorStatus: 'mixed', etagConflicts: 3, retryAfterSeconds: 0, seed: 11,
      },
      policy: original(PROJECT),
      project: PROJECT,
      stateDir,
    })
    kit = createCliKit({endpoint: sandbox.url, timeoutMs: 40_000})
  })

  after(async () => {
    await sandbox.stop()
    kit.cleanup()
    rmSync(stateDir, {force: true, recursive: true})
  })

  it('sequential deploys: each succeeds or fails cleanly, the policy stays whole', async () => {
    const results: {pattern: string; run: CliRun; service: string;}[] = []
    for (const [i, region] of REGIONS.slice(0, 5).entries()) {
      const service = `svc-sbx-${i}`
      const run = await kit.run(['deploy', 'run', service, '--project', PROJECT, '--region', region, '--yes', '--json', '--deadline', '20', '--', '--source=.'])
      results.push({pattern: runPattern(PROJECT, region), run, service})
    }

    const calls = await kit.gcloud.calls()
    const problems = results.flatMap(({run, service}) => checkRun(run, service, calls))
    // Read back without faults.
    writeFileSync(join(stateDir, 'faults.json'), '{}')
    const final = await fetchPolicy(sandbox.url, PROJECT)
    problems.push(...checkPolicy(
      PROJECT,
      final,
      [],
      [],
      results.filter(r => r.run.code === 0).map(r => r.pattern),
      results.map(r => r.pattern),
    ))
    expect(problems, results.map(r => `${r.service}: ${r.run.code} ${r.run.stdout.slice(0, 300)}`).join('\n')).to.deep.equal([])
    expect(results.filter(r => r.run.code === 0).length).to.be.greaterThan(2)
  })
})
