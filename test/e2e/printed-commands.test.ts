// End to end: every command binauthz prints for a person to run — the hints under an error, the admin hand-off's
// commands, the corrected command of a usage error, the wizard's `Next:` lines, the undo of a policy write — runs as
// printed. Each scenario drives the built CLI with the real gcloud 528 against the sandbox, takes every command out
// of what it printed (stdout and stderr, no terminal: so nothing may be wrapped), and runs each with bash -c as a
// person pasting it would (a hand-off's export uses `>`), in a directory holding a function source. Each must exit
// 0; a confirmation refused for want of a terminal (exit 3, CONFIRMATION_REQUIRED) must print the command with
// --yes, which must then exit 0. Skipped, with the reason shown, when gcloud is not installed.
import {expect} from 'chai'
import {mkdirSync, symlinkSync} from 'node:fs'
import {delimiter, dirname, join} from 'node:path'

import {STATE_FILES} from '../../src/sandbox/index.js'
import {BIN} from '../helpers/cli-process.js'
import {
  allowlistOf, gcloudSandboxSuite, runProgram, withoutCloudsdk,
} from '../helpers/e2e.js'
import {installedGcloud, skipNoteFor} from '../helpers/installed-gcloud.js'
import {printedCommands} from '../helpers/printed-commands.js'

const GCLOUD = installedGcloud()
const SKIP_NOTE = skipNoteFor(GCLOUD)
const REGION = 'us-central1'
const UPDATE = 'binaryauthorization.policy.update'

interface Ran {
  code: number
  command: string
  output: string
}

describe(`e2e: every command binauthz prints runs as printed${SKIP_NOTE}`, function () {
  this.timeout(600_000)
  const gcloud = GCLOUD
  const e2e = gcloudSandboxSuite({
    gcloud, prefix: 'binauthz-e2e-printed-', sandboxPer: 'test', timeoutMs: 300_000,
  })
  let binDir: string

  before(async function () {
    await e2e.beforeSuite.call(this)
    // `binauthz` on PATH is this checkout's built CLI (as an installed package puts it there).
    binDir = join(e2e.dir, 'bin')
    mkdirSync(binDir)
    symlinkSync(BIN, join(binDir, 'binauthz'))
  })

  afterEach(e2e.stopSandbox)

  after(e2e.afterSuite)

  const start = (patterns: string[] = []): Promise<void> => e2e.start({patterns})

  /** A person's shell: the sandbox's environment, binauthz and gcloud on PATH, binauthz's own data dirs; no terminal. */
  function shellEnv(): NodeJS.ProcessEnv {
    const base = Object.fromEntries(Object.entries(withoutCloudsdk()).filter(([key]) => !key.startsWith('BINAUTHZ_') && key !== 'CI'))
    return {
      ...base,
      ...e2e.sandbox.env,
      BINAUTHZ_CONFIG_DIR: join(e2e.dir, 'config'),
      BINAUTHZ_DATA_DIR: join(e2e.dir, 'data'),
      NO_COLOR: '1',
      PATH: [binDir, dirname(gcloud ?? 'gcloud'), process.env.PATH ?? ''].join(delimiter),
    }
  }

  /** Runs a command line as pasted into bash (it is copy-paste text: the hand-off's export redirects with `>`). */
  async function paste(command: string): Promise<Ran> {
    const ran = await runProgram('bash', ['-c', command], {cwd: e2e.source, env: shellEnv(), timeoutMs: 300_000})
    return {code: ran.code, command, output: `${ran.stdout}${ran.stderr}`}
  }

  /** binauthz as a person types it, then every command it printed, each as printed. */
  async function runEveryPrinted(command: string, expectedCode: number): Promise<string[]> {
    const first = await paste(command)
    expect(first.code, `${command}\n${first.output}`).to.equal(expectedCode)
    const commands = printedCommands(first.output)
    for (const printed of commands) {
      const ran = await paste(printed)
      if (ran.code === 3 && ran.output.includes('CONFIRMATION_REQUIRED')) {
        // Without a terminal a policy write needs --yes: the refusal names the command with it, which must run.
        const withYes = printedCommands(ran.output).find(c => c.includes('--yes'))
        expect(withYes, `${printed} refused without naming the command with --yes:\n${ran.output}`).to.be.a('string')
        const again = await paste(withYes as string)
        expect(again.code, `${withYes}\n${again.output}`).to.equal(0)
        continue
      }

      expect(ran.code, `printed by \`${command}\`: ${printed}\n${ran.output}`).to.equal(0)
    }

    return commands
  }

  it('a deploy denied for want of the update permission: the hand-off\'s export, import and role grant, as an admin runs them', async () => {
    await start()
    e2e.sandbox.state.writeJson(STATE_FILES.faults, {deniedPermissions: [UPDATE]})
    const denied = await paste(`binauthz deploy run svc --region ${REGION} --yes -- --source .`)
    expect(denied.code, denied.output).to.equal(3)
    expect(denied.output).to.not.include('›')
    const commands = printedCommands(denied.output)
    expect(commands).to.include(`gcloud container binauthz policy export --project=${e2e.sandbox.project} > policy.yaml`)
    expect(commands).to.include(`gcloud container binauthz policy import policy.yaml --project=${e2e.sandbox.project}`)
    expect(commands.some(c => c.startsWith(`gcloud projects add-iam-policy-binding ${e2e.sandbox.project} `))).to.equal(true)
    // The hand-off is for someone who holds the permission.
    e2e.sandbox.state.writeJson(STATE_FILES.faults, {})
    for (const printed of commands) {
      const ran = await paste(printed)
      expect(ran.code, `${printed}\n${ran.output}`).to.equal(0)
    }
  })

  it('gcloud\'s flags before --: the corrected command is printed on a line of its own and deploys', async () => {
    await start()
    const commands = await runEveryPrinted(`binauthz deploy run svc --region ${REGION} --yes --source .`, 2)
    expect(commands).to.include(`binauthz deploy run svc --region ${REGION} --yes -- --source .`)
    expect(allowlistOf(e2e.sandbox.state)).to.deep.equal([`${REGION}-docker.pkg.dev/${e2e.sandbox.project}/cloud-run-source-deploy/**`])
  })

  it('setup --no-save --no-apply: its Next: command names the project and region, and with the hand-off runs as printed', async () => {
    await start()
    const commands = await runEveryPrinted(`binauthz setup --region ${REGION} --no-save --no-apply --kind run`, 6)
    expect(commands).to.include(`binauthz policy allow --project=${e2e.sandbox.project} --region=${REGION} --kind=run`)
    expect(allowlistOf(e2e.sandbox.state)).to.deep.equal([`${REGION}-docker.pkg.dev/${e2e.sandbox.project}/cloud-run-source-deploy/**`])
  })

  it('setup, ready, both deploy paths: one Next: deploy command per path, each deploys as printed', async () => {
    await start()
    const commands = await runEveryPrinted(`binauthz setup --region ${REGION} --kind all --yes --no-save`, 0)
    expect(commands).to.include(`binauthz deploy run my-service --project=${e2e.sandbox.project} --region=${REGION} -- --source .`)
    expect(commands.some(c => c.startsWith('binauthz deploy function my-function '))).to.equal(true)
  })

  it('policy allow without a terminal, then the undo it prints; usage slips and their pointers', async () => {
    await start()
    await runEveryPrinted(`binauthz policy allow --region ${REGION} --kind run`, 3)
    const written = await runEveryPrinted(`binauthz policy allow --region ${REGION} --kind function --yes`, 0)
    expect(written.some(c => c.startsWith('binauthz policy restore --file '))).to.equal(true)
    for (const slip of [`binauthz polcy status --region ${REGION}`, `binauthz policy stauts --region ${REGION}`, `binauthz policy status --regoin ${REGION}`]) {
      const commands = await runEveryPrinted(slip, 2)
      expect(commands.length, slip).to.be.greaterThan(0)
    }
  })
})
