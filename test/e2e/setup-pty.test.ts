// `binauthz setup` driven through a real pseudo-terminal: the BUILT bin/run.js runs under python3's pty module
// (test/helpers/pty.ts: it waits for each expected screen text, then types the keystrokes), against
// the local Binary Authorization stand-in. Skipped, with the reason in its title, when python3 is missing.

import {expect} from 'chai'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {
  FN_PATTERN, type Harness, PROJECT, REGION, ROOT, RUN_PATTERN, startHarness,
} from '../app/harness.js'
import {drive, python3Available} from '../helpers/pty.js'

const available = python3Available()
const title = available
  ? 'binauthz setup through a pseudo-terminal'
  : 'binauthz setup through a pseudo-terminal (SKIPPED: python3 with the pty module is not installed)'

describe(title, function () {
  this.timeout(120_000)
  let h: Harness

  before(function () {
    if (!available) this.skip()
    if (!existsSync(join(ROOT, 'dist', 'src', 'commands', 'setup.js'))) throw new Error('build first: npx tsc -p tsconfig.json')
  })

  afterEach(async () => {
    await h?.close()
  })

  it('asks, shows the diff, writes the confirmed entries and saves the defaults', async () => {
    h = await startHarness()
    const result = await drive(['setup'], {...process.env, ...h.env}, [
      {expect: 'Google Cloud project ID', send: `${PROJECT}\r`},
      {expect: String.raw`How do you deploy\?`, send: '\u001B[B'}, // down: "Cloud Run services and functions"
      {expect: 'Cloud Run services and functions', send: '\r'},
      // The Cloud Run path has no --docker-repository question (a flag of gcloud functions deploy only).
      {expect: String.raw`Region\(s\)`, send: `${REGION}\r`},
      {expect: String.raw`Write this change to the Binary Authorization policy of project [\w.:-]+\?`, send: 'y\r'},
      {expect: String.raw`Save project [\w.:-]+, region [\w-]+, deploy path run as defaults`, send: '\r'},
      {expect: 'Saved defaults to'},
    ])
    expect(result.failedStep, result.screen).to.equal(null)
    expect(result.exitCode, result.screen).to.equal(0)
    expect(result.screen).to.contain('✔ gcloud 528.0.0')
    expect(result.screen).to.contain('Binary Authorization is enforced')
    expect(result.screen).to.contain(`✘ Cloud Run services and functions (gcloud run deploy --source) in ${REGION}: ${RUN_PATTERN} is missing`)
    expect(result.screen).to.contain(`+ - namePattern: ${RUN_PATTERN}`)

    const saved = JSON.parse(readFileSync(join(h.configDir, 'defaults.json'), 'utf8')) as Record<string, unknown>
    expect(saved).to.deep.include({kind: 'run', project: PROJECT, regions: [REGION]})
    const patterns = h.server.policy(PROJECT).admissionWhitelistPatterns?.map(p => p.namePattern)
    expect(patterns).to.include(RUN_PATTERN)
    expect(patterns).to.not.include(FN_PATTERN)
    expect(h.server.writes()).to.equal(1)
  })

  it('answering "no" at the diff leaves the policy alone', async () => {
    h = await startHarness()
    h.writeGcloudConfig({project: PROJECT, runRegion: REGION})
    const result = await drive(['setup', '--kind', 'run', '--no-save'], {...process.env, ...h.env}, [
      {expect: 'Google Cloud project ID', send: '\r'}, // accept the default from gcloud config
      {expect: String.raw`Region\(s\)`, send: '\r'},
      {expect: String.raw`Write this change to the Binary Authorization policy of project [\w.:-]+\?`, send: 'n\r'},
      {expect: 'binauthz policy allow'},
    ])
    expect(result.failedStep, result.screen).to.equal(null)
    // Not ready (the entry is still missing): exit 6, SETUP_NOT_READY.
    expect(result.exitCode, result.screen).to.equal(6)
    expect(result.screen).to.contain('Not ready yet.')
    expect(h.server.writes()).to.equal(0)
    expect(existsSync(join(h.configDir, 'defaults.json'))).to.equal(false)
  })

  // Ctrl-C at each question, the confirmation of the diff included: exit 130, nothing written, no defaults saved.
  const answers = [
    {expect: 'Google Cloud project ID', send: `${PROJECT}\r`},
    {expect: String.raw`How do you deploy\?`, send: '\r'},
    {expect: String.raw`Region\(s\)`, send: `${REGION}\r`},
    {expect: 'Custom build repository', send: '\r'},
    {expect: String.raw`Write this change to the Binary Authorization policy of project [\w.:-]+\?`, send: 'y\r'},
  ]
  for (const [index, question] of answers.entries()) {
    it(`Ctrl-C at question ${index + 1} of ${answers.length} exits 130 and writes nothing`, async () => {
      h = await startHarness()
      const result = await drive(['setup'], {...process.env, ...h.env}, [...answers.slice(0, index), {expect: question.expect, send: '\u0003'}])
      expect(result.failedStep, result.screen).to.equal(null)
      expect(result.exitCode, result.screen).to.equal(130)
      expect(h.server.writes()).to.equal(0)
      expect(h.server.requests('updatePolicy')).to.have.length(0)
      expect(existsSync(join(h.configDir, 'defaults.json'))).to.equal(false)
      expect(result.screen).not.to.contain('Saved defaults')
    })
  }
})
