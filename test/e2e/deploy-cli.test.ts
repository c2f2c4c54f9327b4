// End to end: the built bin/run.js as a child process, against the local Binary Authorization stand-in and the
// recording fake gcloud (no process.env changes in this process: the child gets its own environment).
import {expect} from 'chai'

import type {DeployResult} from '../../src/app/deploy.js'

import {
  enforcedPolicy, type Harness, OTHER_PATTERN, PROJECT, REGION, RUN_PATTERN, startHarness, TOKEN,
} from '../app/harness.js'
import {type CliRun, type CliRunOptions, runCli} from '../helpers/cli-process.js'

function binauthz(h: Harness, args: string[], options: Pick<CliRunOptions, 'onSpawn'> = {}): Promise<CliRun> {
  return runCli(args, {env: {HOME: h.dir, PATH: process.env.PATH, ...h.env}, ...options})
}

describe('e2e: bin/run.js deploy', function () {
  this.timeout(60_000)
  let h: Harness

  afterEach(async () => h.close())

  it('deploy run --yes --json: exit 0, JSON only on stdout, policy patched once, exact gcloud argv', async () => {
    h = await startHarness({apply: false})
    h.gcloud.configure({responses: [{args: ['run', 'deploy'], stdout: 'Service URL: https://svc.example\n'}]})
    const run = await binauthz(h, ['deploy', 'run', 'svc', '--project', PROJECT, '--region', REGION, '--yes', '--json', '--', '--source', '.'])
    expect(run.code, run.stderr).to.equal(0)
    const result = JSON.parse(run.stdout) as DeployResult
    expect(result.patterns.added).to.deep.equal([RUN_PATTERN])
    expect(run.stderr).to.contain('Service URL') // gcloud's stdout went to stderr
    expect(h.server.writes()).to.equal(1)
    expect(h.server.policy(PROJECT).admissionWhitelistPatterns).to.deep.equal([{namePattern: OTHER_PATTERN}, {namePattern: RUN_PATTERN}])
    expect(await h.gcloud.calls()).to.deep.equal([
      ['run', 'deploy', 'svc', `--project=${PROJECT}`, `--region=${REGION}`, '--source=.', '--binary-authorization=default'],
    ])
    expect(run.stdout + run.stderr).not.to.contain(TOKEN)
  })

  it('human output without a TTY: plain lines, gcloud exit code passed through', async () => {
    h = await startHarness({apply: false, policies: {[PROJECT]: enforcedPolicy([RUN_PATTERN])}})
    h.gcloud.configure({responses: [{args: ['run', 'deploy'], exitCode: 7, stderr: 'ERROR: (gcloud.run.deploy) boom\n'}]})
    const run = await binauthz(h, ['deploy', 'run', 'svc', '--project', PROJECT, '--region', REGION, '--', '--source=.'])
    expect(run.code).to.equal(7)
    expect(run.stderr).to.contain('ERROR: (gcloud.run.deploy) boom')
    expect(run.stderr.replaceAll(/\s*\n ›\s*/g, ' ')).to.contain('gcloud deploy failed in us-central1 (exit 7)')
    expect(h.server.writes()).to.equal(0)
  })

  it('refused passthrough: exit 2, nothing called', async () => {
    h = await startHarness({apply: false})
    const run = await binauthz(h, ['deploy', 'function', 'fn', '--project', PROJECT, '--region', REGION, '--yes', '--', '--binary-authorization=none'])
    expect(run.code).to.equal(2)
    expect(run.stderr).to.contain('--binary-authorization=none')
    expect(h.server.requests()).to.have.length(0)
    expect(await h.gcloud.calls()).to.deep.equal([])
  })

  it('no --yes without a TTY: exit 3 naming the command with --yes', async () => {
    h = await startHarness({apply: false})
    const run = await binauthz(h, ['deploy', 'run', 'svc', '--project', PROJECT, '--region', REGION, '--', '--source=.'])
    expect(run.code).to.equal(3)
    const unwrapped = run.stderr.replaceAll(/\s*\n ›\s*/g, ' ') // oclif wraps long error lines
    expect(unwrapped).to.contain(`binauthz deploy run svc --project ${PROJECT} --region ${REGION} --yes -- --source=.`)
    expect(h.server.writes()).to.equal(0)
  })

  it('Ctrl-C while gcloud runs: forwarded, exit 130', async () => {
    h = await startHarness({apply: false, policies: {[PROJECT]: enforcedPolicy([RUN_PATTERN])}})
    h.gcloud.configure({responses: [{args: ['run', 'deploy'], sleepMs: 30_000}]})
    const run = await binauthz(h, ['deploy', 'run', 'svc', '--project', PROJECT, '--region', REGION, '--', '--source=.'], {
      onSpawn: child => h.gcloud.waitForCalls(1, 20_000).then(() => child.kill('SIGINT')),
    })
    expect(run.code, run.stderr).to.equal(130)
    expect(await h.gcloud.signals()).to.include('SIGINT')
  })

  it('SIGTERM while gcloud runs (a cancelled CI job): passed on to gcloud, exit 143', async () => {
    h = await startHarness({apply: false, policies: {[PROJECT]: enforcedPolicy([RUN_PATTERN])}})
    h.gcloud.configure({responses: [{args: ['run', 'deploy'], sleepMs: 30_000}]})
    const run = await binauthz(h, ['deploy', 'run', 'svc', '--project', PROJECT, '--region', REGION, '--', '--source=.'], {
      onSpawn: child => h.gcloud.waitForCalls(1, 20_000).then(() => child.kill('SIGTERM')),
    })
    expect(run.code, run.stderr).to.equal(143)
    expect(await h.gcloud.signals()).to.deep.equal(['SIGTERM'])
  })

  it('Ctrl-C during the policy read under --json: exit 130, the result with an error on stdout, gcloud never run', async () => {
    h = await startHarness({apply: false})
    h.server.fault({delayMs: 20_000, kind: 'slow', op: 'getPolicy'})
    const run = await binauthz(h, ['deploy', 'run', 'svc', '--project', PROJECT, '--region', REGION, '--yes', '--json', '--', '--source=.'], {
      onSpawn(child) {
        const poll = setInterval(() => {
          if (h.server.requests('getPolicy').length > 0) {
            clearInterval(poll)
            child.kill('SIGINT')
          }
        }, 20)
        child.once('exit', () => clearInterval(poll))
      },
    })
    expect(run.code, run.stderr).to.equal(130)
    const result = JSON.parse(run.stdout) as DeployResult & {error: {code: string; exitCode: number; message: string}}
    expect(result.error).to.include({code: 'INTERRUPTED', exitCode: 130})
    expect(result.error.message).to.contain('Nothing was deployed')
    expect(result.deploys.map(d => d.exitCode)).to.deep.equal([null])
    expect(h.server.writes()).to.equal(0)
    expect(await h.gcloud.calls()).to.deep.equal([])
  })

  it('Ctrl-C while the policy is being read: exit 130, nothing deployed', async () => {
    h = await startHarness({apply: false})
    h.server.fault({delayMs: 30_000, kind: 'slow', op: 'getPolicy'})
    const run = await binauthz(h, ['deploy', 'run', 'svc', '--project', PROJECT, '--region', REGION, '--yes', '--', '--source=.'], {
      onSpawn(child) {
        const poll = setInterval(() => {
          if (h.server.requests().length > 0) {
            clearInterval(poll)
            child.kill('SIGINT')
          }
        }, 20)
        child.once('close', () => clearInterval(poll))
      },
    })
    expect(run.code, run.stderr).to.equal(130)
    expect(h.server.writes()).to.equal(0)
    expect(await h.gcloud.calls()).to.deep.equal([])
  })
})
