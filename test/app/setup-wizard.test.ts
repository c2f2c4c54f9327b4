// The interactive paths of the policy operations, driven through in-memory "terminals" (streams that claim to be
// TTYs): confirmation yes/no, and picking a backup to restore. The real pseudo-terminal test is test/e2e/setup-pty.test.ts.

import {expect} from 'chai'
import {PassThrough} from 'node:stream'
import {stripVTControlCharacters} from 'node:util'

import {changePolicy} from '../../src/app/policy-allow-revoke.js'
import {restorePolicy} from '../../src/app/policy-restore.js'
import {terminalPrompter} from '../../src/cli/prompts.js'
import {Secrets} from '../../src/errors.js'
import {savePolicyBackup} from '../../src/store/backups.js'
import {TEST_USER_AGENT} from '../helpers/user-agent.js'
import {
  enforcedPolicy, type Harness, OTHER_PATTERN, PROJECT, REGION, RUN_PATTERN, startHarness,
} from './harness.js'

interface Scripted {
  finished(): boolean
  io: {env: NodeJS.ProcessEnv; input: PassThrough & {isTTY: boolean}; output: PassThrough & {isTTY: boolean};}
  screen(): string
}

/** A fake terminal that types `send` each time `expect` shows up on its screen, in order. */
function terminal(script: {expect: RegExp; send: string}[]): Scripted {
  const input = Object.assign(new PassThrough(), {isTTY: true})
  const output = Object.assign(new PassThrough(), {isTTY: true})
  // A terminal outlives each prompt: inquirer ends its output stream when a prompt closes, a real stdout ignores that.
  output.end = () => output
  let screen = ''
  let cursor = 0
  let step = 0
  output.on('data', (chunk: Buffer) => {
    screen += stripVTControlCharacters(chunk.toString('utf8'))
    for (;;) {
      const next = script[step]
      if (!next) return
      const match = next.expect.exec(screen.slice(cursor))
      if (!match) return
      cursor += match.index + match[0].length
      step++
      setImmediate(() => input.write(next.send))
    }
  })
  return {finished: () => step === script.length, io: {env: {}, input, output}, screen: () => screen}
}

const lines: string[] = []
const ui = {info: (l: string) => lines.push(l), warn: (l: string) => lines.push(`warn: ${l}`)}

describe('interactive policy operations (scripted terminal)', () => {
  let h: Harness

  beforeEach(() => {
    lines.length = 0
  })

  afterEach(async () => h.close())

  it('writes after "y" at the confirmation, having shown the diff first', async () => {
    h = await startHarness()
    const t = terminal([{expect: /Write this change to the Binary Authorization policy of project /, send: 'y\r'}])
    const result = await changePolicy({
      action: 'allow',
      env: process.env, kind: 'run', mode: 'write', project: PROJECT, prompter: terminalPrompter(t.io), regions: [REGION], secrets: new Secrets(), ui, userAgent: TEST_USER_AGENT, yes: false,
    })
    expect(t.finished()).to.equal(true)
    expect(result).to.deep.include({added: [RUN_PATTERN], declined: false, written: true})
    expect(lines.join('\n')).to.contain(`+ - namePattern: ${RUN_PATTERN}`)
    expect(h.server.writes()).to.equal(1)
  })

  it('writes nothing after "n" and says so', async () => {
    h = await startHarness()
    const t = terminal([{expect: /Write this change to the Binary Authorization policy of project /, send: 'n\r'}])
    const result = await changePolicy({
      action: 'revoke',
      env: process.env, mode: 'write', patterns: [OTHER_PATTERN], project: PROJECT, prompter: terminalPrompter(t.io), secrets: new Secrets(), ui, userAgent: TEST_USER_AGENT, yes: false,
    })
    expect(result).to.deep.include({declined: true, written: false})
    expect(result.skippedReason).to.contain('Declined')
    expect(h.server.writes()).to.equal(0)
  })

  it('restore without --file/--latest lets the user pick a backup, newest first', async () => {
    h = await startHarness()
    await savePolicyBackup(process.env, PROJECT, enforcedPolicy([OTHER_PATTERN, 'gcr.io/older/**']), {now: new Date('2026-01-01T00:00:00Z')})
    const newest = await savePolicyBackup(process.env, PROJECT, enforcedPolicy([OTHER_PATTERN, RUN_PATTERN]), {now: new Date('2026-02-01T00:00:00Z')})
    const t = terminal([
      {expect: /Which backup should be restored\?/, send: '\r'},
      {expect: /Write this change to the Binary Authorization policy of project /, send: 'y\r'},
    ])
    const result = await restorePolicy({
      env: process.env,
      latest: false, mode: 'write', project: PROJECT, prompter: terminalPrompter(t.io), secrets: new Secrets(), ui, userAgent: TEST_USER_AGENT, yes: false,
    })
    expect(t.screen()).to.match(/2026-02-01T00:00:00\.000Z[\s\S]*2026-01-01T00:00:00\.000Z/)
    expect(result).to.deep.include({added: [RUN_PATTERN], file: newest, written: true})
    expect(h.server.policy(PROJECT).admissionWhitelistPatterns).to.deep.equal([{namePattern: OTHER_PATTERN}, {namePattern: RUN_PATTERN}])
  })
})
