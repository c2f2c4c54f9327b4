// End to end, the built CLI against the sandbox, no terminal: what a person reads. Usage errors are one line, the
// correction and one pointer to --help (never the help); help, version and -v work; one confirmation wording in
// every policy write, naming the project and the whole command with --yes; the wording defects of issue 16 gone.
import {expect} from 'chai'
import {rmSync} from 'node:fs'
import {join} from 'node:path'

import type {Policy} from '../../src/policy/types.js'

import {
  binauthzAgainst, DENY_ALL, denyAllBut, type ExitRun, writeHelloSource,
} from '../helpers/e2e.js'
import {installedGcloud, skipNoteFor} from '../helpers/installed-gcloud.js'
import {type CliSandbox, startSandboxCli} from '../helpers/sandbox-cli.js'
import {tempDir} from '../helpers/tmp.js'

const GCLOUD = installedGcloud()
const SKIP_NOTE = skipNoteFor(GCLOUD)
const REGION = 'us-central1'

describe(`e2e: what binauthz says, word for word${SKIP_NOTE}`, function () {
  this.timeout(240_000)
  const gcloud = GCLOUD
  let dir: string
  let sandbox: CliSandbox

  before(function () {
    if (!gcloud) this.skip() // gcloud is not on PATH: these tests need the real Google Cloud CLI.
    dir = tempDir('binauthz-e2e-wording-')
    writeHelloSource(dir)
  })

  afterEach(async () => {
    await sandbox?.stop()
  })

  after(() => {
    if (dir) rmSync(dir, {force: true, recursive: true})
  })

  async function start(policy: Policy = denyAllBut([])): Promise<void> {
    sandbox = await startSandboxCli({policy, stateDir: join(dir, `state-${Date.now()}`)})
  }

  const binauthz = (args: string[]): Promise<ExitRun> => binauthzAgainst({
    dir, gcloud: gcloud ?? 'gcloud', sandboxEnv: sandbox.env, timeoutMs: 200_000,
  }, args)
  const run = `${REGION}-docker.pkg.dev/sandbox-project/cloud-run-source-deploy/**`

  it('usage errors: the error, the correction, one pointer to --help; never the help, never the › prefix', async () => {
    await start()
    const cases: [string[], string][] = [
      [['deploy', 'run', 'fn', '--source', '.', '--function', 'handler'], 'binauthz deploy run fn -- --source . --function handler'],
      [['deploy', 'run', 'fn', 'second'], 'binauthz deploy run fn -- second'],
      [['policy', 'status', '--regoin', REGION], `Did you mean binauthz policy status --region ${REGION}?`],
      [['polcy', 'status'], 'Did you mean binauthz policy status?'],
      [['deploy', 'rn', 'fn'], 'Did you mean binauthz deploy run fn?'],
    ]
    for (const [args, correction] of cases) {
      const ran = await binauthz(args)
      expect(ran.exitCode, args.join(' ')).to.equal(2)
      expect(ran.stderr, args.join(' ')).to.include(correction)
      expect(ran.stderr, args.join(' ')).to.match(/\nSee: binauthz( [a-z]+)* --help\n$/)
      expect(ran.stderr, args.join(' ')).to.not.match(/USAGE|FLAGS|›/)
      expect(ran.stderr.split('\n').length, args.join(' ')).to.be.at.most(5)
    }
  })

  it('help, version and -v; usage and arguments show one NAME', async () => {
    await start()
    const version = await binauthz(['version'])
    expect(version.exitCode).to.equal(0)
    expect(version.stdout).to.match(/^binauthz-deploy\/\d+\.\d+\.\d+ /)
    for (const args of [['-v'], ['--version']]) expect((await binauthz(args)).stdout).to.equal(version.stdout)
    const help = await binauthz(['help', 'deploy', 'run'])
    expect(help.exitCode).to.equal(0)
    expect(help.stdout).to.equal((await binauthz(['deploy', 'run', '--help'])).stdout)
    expect(help.stdout).to.include('$ binauthz deploy run NAME ')
    expect(help.stdout).to.match(/ARGUMENTS\n {2}NAME {2}/)
    expect(help.stdout).to.not.include('NAME...')
    expect((await binauthz(['help'])).stdout).to.include('COMMANDS')
    const unknown = await binauthz(['help', 'polcy'])
    expect(unknown.exitCode).to.equal(2)
    expect(unknown.stderr).to.include('Did you mean binauthz help policy?')
    for (const id of ['status', 'export']) {
      const text = (await binauthz(['policy', id, '--help'])).stdout
      expect(text, id).to.include('--deadline=SECONDS')
      expect(text, id).to.not.match(/gcloud deploy|deploy itself/)
    }
  })

  it('one confirmation wording in every policy write: the project, and the whole command with --yes', async () => {
    await start()
    const runs: [string[], string][] = [
      [['deploy', 'run', 'svc', '--region', REGION, '--', '--source', '.'], `binauthz deploy run svc --region ${REGION} --yes -- --source .`],
      [['policy', 'allow', '--region', REGION, '--kind', 'run'], `binauthz policy allow --region ${REGION} --kind run --yes`],
      [['setup', '--region', REGION, '--kind', 'run', '--no-save'], `binauthz setup --region ${REGION} --kind run --no-save --yes`],
    ]
    for (const [args, rerun] of runs) {
      const ran = await binauthz(args)
      expect(ran.exitCode, `${args.join(' ')}\n${ran.stderr}`).to.equal(3)
      expect(ran.stdout, args.join(' ')).to.include('Planned change to the Binary Authorization policy of project sandbox-project:')
      expect(ran.stderr, args.join(' ')).to.include('Error: Cannot ask for confirmation ("Write this change to the Binary Authorization policy of project sandbox-project?")')
      expect(ran.stderr, args.join(' ')).to.include(`Re-run with --yes:\n      ${rerun}\n`)
    }

    expect((await binauthz(['policy', 'allow', '--region', REGION, '--kind', 'run', '--yes'])).exitCode).to.equal(0)
    const revoke = await binauthz(['policy', 'revoke', '--region', REGION, '--kind', 'run'])
    expect(revoke.stderr).to.include(`Re-run with --yes:\n      binauthz policy revoke --region ${REGION} --kind run --yes\n`)
    const restore = await binauthz(['policy', 'restore', '--latest'])
    expect(restore.exitCode, restore.stderr).to.equal(3)
    expect(restore.stderr).to.include('Re-run with --yes:\n      binauthz policy restore --latest --yes\n')
  })

  it('what the deploy and policy allow say when nothing is to be added: once, in words that fit', async () => {
    await start(denyAllBut([run]))
    const deploy = await binauthz(['deploy', 'run', 'svc', '--region', REGION, '--dry-run', '--', '--source', '.'])
    expect(deploy.exitCode, deploy.stderr).to.equal(0)
    expect(deploy.stderr).to.include('✔ Policy read: the required pattern is already allowed')
    expect(deploy.stderr).to.include(`↓ Already allowlisted: ${run}\n`)
    expect(deploy.stderr).to.not.include(' by ')
    const allow = await binauthz(['policy', 'allow', '--region', REGION, '--kind', 'run', '--yes'])
    expect(allow.exitCode).to.equal(0)
    expect(allow.stdout).to.equal(`Nothing to add:\n  = ${run}: allowlisted\n`)
    await sandbox.stop()

    await start({defaultAdmissionRule: {...DENY_ALL, evaluationMode: 'ALWAYS_ALLOW'}})
    const open = await binauthz(['deploy', 'run', 'svc', '--region', REGION, '--dry-run', '--', '--source', '.'])
    expect(open.stderr).to.include('↓ Nothing to allowlist: the default rule (ALWAYS_ALLOW) admits every image')
    expect(open.stderr).to.not.include('defaultAdmissionRule')
  })

  it('the project-ID rule is Google\'s', async () => {
    await start()
    const bad = await binauthz(['policy', 'status', '--project', 'Bad_Project', '--region', REGION])
    expect(bad.exitCode).to.equal(2)
    expect(bad.stderr).to.include('6 to 30 characters: lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen')
    expect(bad.stderr).to.not.include('1-63')
  })
})
