// Issue 15 items 6 and 9: `--json` is one complete object on stdout in every ending — success, failure,
// interruption — however large (beyond the 64 KiB a pipe holds), whatever stdout is (a pipe, a file, a pipe closed
// early: no crash, no EPIPE trace); SIGTERM exits 143 and SIGHUP 129 with the same guarantees as SIGINT (130), and a
// gcloud that died of SIGTERM on its own ends the run with 143 too. Through the built CLI on its default start path,
// the recording fake gcloud, and the sandbox holding a policy with thousands of entries.
import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {once} from 'node:events'
import {closeSync, openSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import type {Policy} from '../../src/policy/types.js'

import {BIN, runCli} from '../helpers/cli-process.js'
import {CANARY_TOKEN, type CliKit, createCliKit} from '../helpers/reliability-cli.js'
import {startTestSandbox, type TestSandbox} from '../helpers/sandbox.js'

const PROJECT = 'endings-proj'
const REGION = 'us-east1'
const ENTRIES = 3000
const PIPE_BYTES = 64 * 1024

function bigPolicy(): Policy {
  return {
    admissionWhitelistPatterns: Array.from({length: ENTRIES}, (_, i) => ({namePattern: `us-docker.pkg.dev/endings-${i}/repository-${i}/**`})),
    defaultAdmissionRule: {enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG', evaluationMode: 'ALWAYS_DENY'},
    globalPolicyEvaluationMode: 'ENABLE',
    name: `projects/${PROJECT}/policy`,
  }
}

/** The one JSON object stdout must be. */
function oneObject(stdout: string, where: string): Record<string, unknown> {
  let value: unknown
  expect(() => {
    value = JSON.parse(stdout)
  }, `${where}: stdout is not one JSON value (${stdout.length} chars, ${JSON.stringify(stdout.slice(0, 300))} … ${JSON.stringify(stdout.slice(-80))})`).not.to.throw()
  expect(value, where).to.be.an('object')
  return value as Record<string, unknown>
}

/**
 * Runs the CLI with its stdout a real pipe (`| cat`, as a shell makes it: 64 KiB of buffer) and its exit code saved to
 * a file: a CLI that exits before stdout drained loses the rest of its output here.
 */
async function throughShellPipe(args: readonly string[], kit: CliKit): Promise<{code: number; stderr: string; stdout: string}> {
  const codeFile = join(kit.dir, 'exit-code')
  const script = '{ "$0" "$@"; echo $? > "$BINAUTHZ_TEST_CODE_FILE"; } | cat'
  const child = spawn('sh', ['-c', script, process.execPath, BIN, ...args], {
    cwd: kit.dir, env: {...kit.env, BINAUTHZ_TEST_CODE_FILE: codeFile}, stdio: ['ignore', 'pipe', 'pipe'],
  })
  const out: Buffer[] = []
  const err: Buffer[] = []
  child.stdout.on('data', (c: Buffer) => out.push(c))
  child.stderr.on('data', (c: Buffer) => err.push(c))
  await once(child, 'close')
  return {code: Number(readFileSync(codeFile, 'utf8').trim()), stderr: Buffer.concat(err).toString('utf8'), stdout: Buffer.concat(out).toString('utf8')}
}

describe('issue 15 items 6 and 9: complete --json in every ending, and every stop signal', function () {
  this.timeout(300_000)
  let server: TestSandbox
  let kit: CliKit
  // One passthrough value of 120 KB (gcloud gets it verbatim; the result's argv repeats it): a result beyond a pipe's 64 KiB.
  const deploy = ['deploy', 'run', 'svc', '--project', PROJECT, '--region', REGION, '--yes', '--json', '--', '--source=.', `--set-env-vars=BIG=${'x'.repeat(120_000)}`]
  let endings = 0

  beforeEach(async () => {
    server = await startTestSandbox({policy: bigPolicy(), project: PROJECT, token: CANARY_TOKEN})
    kit = createCliKit({endpoint: server.url, timeoutMs: 90_000})
  })

  afterEach(async () => {
    await server.stop()
    kit.cleanup()
  })

  after(() => {
    console.log(`      --json endings checked through the built CLI: ${endings}`)
  })

  it('a failed deploy: the whole result object (> 64 KiB) arrives through a shell pipe', async () => {
    kit.gcloud.configure({responses: [{args: ['run', 'deploy'], exitCode: 7, stderr: 'ERROR: (gcloud.run.deploy) boom\n'}]})
    const run = await throughShellPipe(deploy, kit)
    expect(run.code, run.stderr).to.equal(7)
    expect(run.stdout.length).to.be.greaterThan(PIPE_BYTES)
    const json = oneObject(run.stdout, 'failed deploy')
    expect((json.error as {code: string}).code).to.equal('DEPLOY_FAILED')
    endings++
  })

  it('a success and a failure into a file are complete too; a pipe closed early is no crash', async () => {
    const out = join(kit.dir, 'out.json')
    for (const [args, code] of [[['policy', 'export', '--project', PROJECT, '--json'], 0], [deploy, 7]] as const) {
      kit.gcloud.configure({responses: [{args: ['run', 'deploy'], exitCode: 7}]})
      const fd = openSync(out, 'w')
      const child = spawn(process.execPath, [BIN, ...args], {cwd: kit.dir, env: kit.env, stdio: ['ignore', fd, 'pipe']})
      closeSync(fd)
      const [exit] = await once(child, 'close') as [number]
      expect(exit).to.equal(code)
      const text = readFileSync(out, 'utf8')
      expect(text.length).to.be.greaterThan(PIPE_BYTES)
      oneObject(text, `${args.join(' ')} > file`)
      endings++
    }

    // The reader goes away at once (`| head -c 0`): the run still ends with its own code, without an EPIPE trace.
    const child = spawn(process.execPath, [BIN, 'policy', 'export', '--project', PROJECT, '--json'], {cwd: kit.dir, env: kit.env, stdio: ['ignore', 'pipe', 'pipe']})
    child.stdout.destroy()
    const err: Buffer[] = []
    child.stderr.on('data', (c: Buffer) => err.push(c))
    const [exit] = await once(child, 'close') as [number]
    const stderr = Buffer.concat(err).toString('utf8')
    expect(exit, stderr).to.equal(0)
    expect(stderr).not.to.match(/EPIPE|Error: write|at .*\.js:\d+/)
    endings++
  })

  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    it(`${signal} while gcloud runs: gcloud gets it, binauthz exits ${code} with the complete result`, async () => {
      kit.gcloud.configure({responses: [{args: ['run', 'deploy'], sleepMs: 60_000}]})
      const run = await runCli(deploy, {
        cwd: kit.dir,
        env: kit.env,
        onSpawn(child) {
          kit.gcloud.waitForCalls(1, 60_000).then(() => child.kill(signal), () => child.kill('SIGKILL'))
        },
        timeoutMs: 90_000,
      })
      expect(run.timedOut).to.equal(false)
      expect(run.code, run.stderr).to.equal(code)
      const json = oneObject(run.stdout, signal)
      expect((json.error as {code: string}).code).to.equal('INTERRUPTED')
      expect(run.stdout.length).to.be.greaterThan(PIPE_BYTES)
      // SIGINT and SIGTERM are recorded by the fake; SIGHUP ends it the default way (a death by signal).
      if (signal !== 'SIGHUP') expect(await kit.gcloud.signals()).to.deep.equal([signal])
      endings++
    })
  }

  it('gcloud killed by SIGTERM on its own (not binauthz): the run ends as gcloud did, 143', async () => {
    kit.gcloud.configure({responses: [{args: ['run', 'deploy'], sleepMs: 60_000}]})
    const running = kit.run(deploy)
    await kit.gcloud.waitForCalls(1, 60_000)
    const [call] = await kit.gcloud.records()
    process.kill(call!.pid, 'SIGTERM')
    const run = await running
    expect(run.code, run.stderr).to.equal(143)
    // The fake ends with exit(143) from its handler (real gcloud dies of the signal: then the run is INTERRUPTED).
    expect((oneObject(run.stdout, 'gcloud SIGTERM').error as {code: string}).code).to.be.oneOf(['INTERRUPTED', 'DEPLOY_FAILED'])
    endings++
  })
})
