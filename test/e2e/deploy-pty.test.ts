// A deploy in a terminal, as a person sees it: the BUILT bin/run.js under a pseudo-terminal (test/helpers/pty.ts),
// against the local Binary Authorization stand-in and the fake gcloud. Asserts on the screen (ANSI codes removed)
// and on what was written, including Ctrl-C at each step. Skipped, with the reason in its title, without python3.
import {expect} from 'chai'

import {
  type Harness, PROJECT, REGION, RUN_PATTERN, startHarness,
} from '../app/harness.js'
import {
  drive, type PtyResult, python3Available, type Step,
} from '../helpers/pty.js'

const available = python3Available()
const title = available
  ? 'binauthz deploy through a pseudo-terminal'
  : 'binauthz deploy through a pseudo-terminal (SKIPPED: python3 with the pty module is not installed)'
const EU = 'europe-west1'
const CONFIRM = String.raw`Write this change to the Binary Authorization policy of project [\w.:-]+\?`

describe(title, function () {
  this.timeout(120_000)
  let h: Harness

  before(function () {
    if (!available) this.skip()
  })

  afterEach(async () => {
    await h?.close()
  })

  const deploy = (steps: Step[], regions = [REGION]): Promise<PtyResult> => drive(
    ['deploy', 'run', 'svc', '--project', PROJECT, ...regions.flatMap(r => ['--region', r]), '--', '--source', '.'],
    {...process.env, ...h.env},
    steps,
  )
  const deployCalls = async (): Promise<number> => (await h.gcloud.calls()).filter(argv => argv[1] === 'deploy').length

  it('shows the diff, asks, then the gcloud step while gcloud writes, ticked only after gcloud ended', async () => {
    h = await startHarness()
    h.gcloud.configure({
      responses: [{
        args: ['run', 'deploy'], sleepMs: 800, stderr: 'Building Container...done\n', stdout: 'Service URL: https://svc-123.run.app\n',
      }],
    })
    const result = await deploy([{expect: CONFIRM, send: 'y\r'}, {expect: 'Deployed svc'}])
    expect(result.failedStep, result.screen).to.equal(null)
    expect(result.exitCode, result.screen).to.equal(0)
    const {screen} = result
    expect(screen).to.contain(`+ - namePattern: ${RUN_PATTERN}`)
    const running = screen.indexOf(`❯ Running gcloud in ${REGION}:`)
    const gcloudSays = screen.indexOf('Building Container...done')
    const ticked = screen.indexOf(`✔ gcloud deployed svc to ${REGION}`)
    expect(running, screen).to.be.greaterThan(-1)
    // Not ticked before gcloud starts: the tick comes after gcloud's own output.
    expect(gcloudSays, screen).to.be.greaterThan(running)
    expect(screen.indexOf('Service URL: https://svc-123.run.app'), screen).to.be.greaterThan(running)
    expect(ticked, screen).to.be.greaterThan(gcloudSays)
    expect(screen).not.to.contain('✔ Running gcloud')
    expect(h.server.writes()).to.equal(1)
  })

  it('several regions: each gcloud line on the screen carries its region', async () => {
    h = await startHarness()
    h.gcloud.configure({responses: [{args: ['run', 'deploy'], stderr: 'Building Container...done\n', stdout: 'Service URL: https://svc.run.app\n'}]})
    const result = await deploy([{expect: CONFIRM, send: 'y\r'}, {expect: 'Deployed svc'}], [REGION, EU])
    expect(result.exitCode, result.screen).to.equal(0)
    for (const region of [REGION, EU]) {
      expect(result.screen).to.match(new RegExp(String.raw`^\[${region}\] Building Container\.\.\.done\r?$`, 'm'))
      expect(result.screen).to.match(new RegExp(String.raw`^\[${region}\] Service URL: https://svc\.run\.app\r?$`, 'm'))
    }

    expect(result.screen).not.to.match(/^Building Container/m) // no line without its region
  })

  it('Ctrl-C while the policy is read: exit 130, the spinner stops, nothing written or deployed', async () => {
    h = await startHarness()
    h.server.fault({delayMs: 15_000, kind: 'slow', op: 'getPolicy'})
    const result = await deploy([{delay: 0.8, expect: 'Check the Binary Authorization policy', send: '\u0003'}])
    expect(result.failedStep, result.screen).to.equal(null)
    expect(result.exitCode, result.screen).to.equal(130)
    expect(result.screen).to.contain('Interrupted')
    expect(h.server.writes()).to.equal(0)
    expect(await deployCalls()).to.equal(0)
  })

  it('Ctrl-C at the confirmation: exit 130, nothing written or deployed', async () => {
    h = await startHarness()
    const result = await deploy([{expect: CONFIRM, send: '\u0003'}])
    expect(result.failedStep, result.screen).to.equal(null)
    expect(result.exitCode, result.screen).to.equal(130)
    expect(h.server.writes()).to.equal(0)
    expect(await deployCalls()).to.equal(0)
  })

  it('Ctrl-C while gcloud runs: gcloud gets it, exit 130, the step is not ticked, the policy change is kept', async () => {
    h = await startHarness()
    h.gcloud.configure({responses: [{args: ['run', 'deploy'], sleepMs: 20_000, stderr: 'Building Container...\n'}]})
    const result = await deploy([{expect: CONFIRM, send: 'y\r'}, {delay: 0.8, expect: 'Building Container', send: '\u0003'}])
    expect(result.failedStep, result.screen).to.equal(null)
    expect(result.exitCode, result.screen).to.equal(130)
    expect(result.screen).not.to.contain('✔ gcloud deployed')
    expect(result.screen).not.to.contain('Deployed svc')
    expect(h.server.writes()).to.equal(1)
    expect(await deployCalls()).to.equal(1)
  })
})
