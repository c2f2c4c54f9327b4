// Issue 15 item 10 (SIGKILL share): 50 runs of the built CLI are killed with SIGKILL at random points — before,
// during and after the backup and the policy write — alternating `policy allow` of a new entry and a deploy. After
// every kill the sandbox's policy is whole: every original entry and every field other than the allowlist as they
// were, no duplicate, nothing but attempted entries added (never a partial policy). Afterwards one normal run leaves
// no temp file in the backup directory, and every backup there is a complete, valid backup. The random points come
// from a seeded generator (the seed is printed) so a failure can be replayed.
import {expect} from 'chai'
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {runCli} from '../helpers/cli-process.js'
import {checkPolicy, original} from '../helpers/reliability-checks.js'
import {CANARY_TOKEN, type CliKit, createCliKit} from '../helpers/reliability-cli.js'
import {startTestSandbox, type TestSandbox} from '../helpers/sandbox.js'

const PROJECT = 'sigkill-proj'
const KILLS = 50
const REGION = 'us-east1'

/** A small seeded generator (Park–Miller): the same seed, the same kill points. */
function random(seed: number): () => number {
  let a = (Math.abs(Math.trunc(seed)) % 2_147_483_646) + 1
  return () => {
    a = (a * 16_807) % 2_147_483_647
    return (a - 1) / 2_147_483_646
  }
}

describe('issue 15 item 10: 50 SIGKILLs at random points never leave a partial policy or a temp file', function () {
  this.timeout(600_000)
  let server: TestSandbox
  let kit: CliKit

  before(async () => {
    server = await startTestSandbox({policy: original(PROJECT), project: PROJECT, token: CANARY_TOKEN})
    kit = createCliKit({endpoint: server.url, timeoutMs: 60_000})
  })

  after(async () => {
    await server.stop()
    kit.cleanup()
  })

  it(`kills ${KILLS} runs with SIGKILL; the policy stays whole after each`, async () => {
    const seed = Number(process.env.BINAUTHZ_SIGKILL_SEED ?? Date.now() % 1_000_000)
    const next = random(seed)
    const attempted: string[] = []
    let killed = 0
    let finished = 0
    // Runs that finish before their kill point do not count: run until KILLS runs were really killed.
    for (let i = 0; killed < KILLS && i < KILLS * 8; i++) {
      const pattern = `us-docker.pkg.dev/sigkill-${i}/repo/**`
      const args = i % 2 === 0
        ? ['policy', 'allow', '--project', PROJECT, '--pattern', pattern, '--yes', '--json']
        : ['deploy', 'run', `svc-${i}`, '--project', PROJECT, '--region', REGION, '--yes', '--json', '--', '--source=.']
      attempted.push(i % 2 === 0 ? pattern : `${REGION}-docker.pkg.dev/${PROJECT}/cloud-run-source-deploy/**`)
      // Kill points from the first millisecond to past a whole run (a whole run takes ~0.15–0.9 s, by machine and load).
      const delay = Math.floor(next() * 400)
      const run = await runCli(args, {
        cwd: kit.dir,
        env: kit.env,
        onSpawn(child) {
          setTimeout(() => child.kill('SIGKILL'), delay)
        },
        timeoutMs: 60_000,
      })
      if (run.signal === 'SIGKILL') killed++
      else finished++
      const problems = checkPolicy(PROJECT, server.policy(PROJECT), [], [], [], attempted)
      expect(problems, `kill #${i} after ${delay} ms (seed ${seed})`).to.deep.equal([])
    }

    // The next normal run cleans what a killed one left; every backup is complete.
    const last = await runCli(['policy', 'allow', '--project', PROJECT, '--pattern', 'us-docker.pkg.dev/sigkill-last/repo/**', '--yes', '--json'], {
      cwd: kit.dir, env: kit.env, timeoutMs: 60_000,
    })
    expect(last.code, last.stderr).to.equal(0)
    const dir = join(kit.dataDir, 'backups', PROJECT)
    const names = readdirSync(dir)
    expect(names.filter(n => n.startsWith('.') || n.endsWith('.tmp')), 'temp files survived').to.deep.equal([])
    for (const name of names) {
      const record = JSON.parse(readFileSync(join(dir, name), 'utf8')) as {policy: unknown; project: string}
      expect(record.project, name).to.equal(PROJECT)
      expect(record.policy, name).to.be.an('object')
    }

    console.log(`      SIGKILLs at random points (seed ${seed}): ${killed} runs killed, ${finished} finished first; ${names.length} backups, 0 temp files, 0 partial policies`)
    expect(killed).to.equal(KILLS)
  })
})
