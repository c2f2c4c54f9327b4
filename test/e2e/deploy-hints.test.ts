// End to end: failures users hit, produced by the sandbox and met by the REAL gcloud 528, each explained by binauthz
// with a specific fix instead of "re-run the command that failed". Skipped, with the reason shown, without gcloud.
import {expect} from 'chai'
import {rmSync} from 'node:fs'
import {join} from 'node:path'

import {STATE_FILES} from '../../src/sandbox/index.js'
import {
  binauthzAgainst, DENY_ALL, type ExitRun, writeHelloSource,
} from '../helpers/e2e.js'
import {installedGcloud, skipNoteFor} from '../helpers/installed-gcloud.js'
import {type CliSandbox, startSandboxCli} from '../helpers/sandbox-cli.js'
import {tempDir} from '../helpers/tmp.js'

const PROJECT = 'sandbox-project'
const GCLOUD = installedGcloud()
const SKIP_NOTE = skipNoteFor(GCLOUD)

describe(`e2e: specific hints for failed deploys, with the real gcloud against the sandbox${SKIP_NOTE}`, function () {
  this.timeout(180_000)
  let dir: string
  let source: string
  let sandbox: CliSandbox

  before(function () {
    if (!GCLOUD) this.skip()
    dir = tempDir('binauthz-e2e-hints-')
    source = writeHelloSource(dir)
  })

  afterEach(async () => sandbox?.stop())

  after(() => {
    if (dir) rmSync(dir, {force: true, recursive: true})
  })

  const start = async (faults: Record<string, unknown>): Promise<void> => {
    sandbox = await startSandboxCli({policy: {defaultAdmissionRule: DENY_ALL}, stateDir: join(dir, `state-${Date.now()}`)})
    sandbox.state.writeJson(STATE_FILES.faults, faults)
  }

  /** The deploy, its stderr read as one line of text (oclif's error prefix and any wrapping taken out). */
  const deploy = async (extra: string[] = []): Promise<ExitRun> => {
    const run = await binauthzAgainst(
      {
        dir, gcloud: GCLOUD ?? 'gcloud', sandboxEnv: sandbox.env, timeoutMs: 150_000,
      },
      ['deploy', 'run', 'hello', '--region', 'us-central1', '--yes', '--', `--source=${source}`, '--function=handler', ...extra],
    )
    return {...run, stderr: run.stderr.replaceAll(/\s*\n\s*(?:›\s*)?/g, ' ')}
  }

  it('a disabled API: the exact `gcloud services enable SERVICE --project=P`, taken from the ErrorInfo', async () => {
    await start({disabledApis: ['artifactregistry.googleapis.com']})
    const run = await deploy()
    expect(run.exitCode, run.stderr).to.equal(1)
    expect(run.stderr).to.contain('SERVICE_DISABLED') // gcloud's own text is kept
    expect(run.stderr).to.contain(`binauthz: The artifactregistry.googleapis.com API is not enabled in project ${PROJECT}`)
    expect(run.stderr).to.contain(`gcloud services enable artifactregistry.googleapis.com --project=${PROJECT}`)
    expect(run.stderr).not.to.contain('Re-run: gcloud')
  })

  it('a missing repository: the exact `gcloud artifacts repositories create`', async () => {
    await start({})
    const run = await deploy([`--image=us-central1-docker.pkg.dev/${PROJECT}/nope/hello`])
    expect(run.exitCode, run.stderr).to.equal(1)
    expect(run.stderr).to.contain('The artifact repository provided does not exist')
    expect(run.stderr).to.contain(`gcloud artifacts repositories create nope --repository-format=docker --location=us-central1 --project=${PROJECT}`)
  })

  it("the build's service account without its role: the exact grant of roles/run.builder", async () => {
    await start({buildServiceAccountDenied: true})
    const run = await binauthzAgainst(
      {
        dir, gcloud: GCLOUD ?? 'gcloud', sandboxEnv: sandbox.env, timeoutMs: 150_000,
      },
      ['deploy', 'function', 'hello-fn', '--region', 'europe-west1', '--yes', '--', '--runtime=nodejs20', `--source=${source}`, '--entry-point=handler', '--trigger-http'],
    )
    const stderr = run.stderr.replaceAll(/\s*\n\s*(?:›\s*)?/g, ' ')
    expect(run.exitCode, stderr).to.equal(1)
    expect(stderr).to.contain('missing permission on the build service account')
    // Compared without whitespace: oclif may still wrap a long word of the error (no wrapping at all is issue 16 item 1).
    expect(stderr.replaceAll(/\s/g, '')).to.contain(`gcloud projects add-iam-policy-binding ${PROJECT} --member=serviceAccount:PROJECT_NUMBER-compute@developer.gserviceaccount.com --role=roles/run.builder`.replaceAll(' ', ''))
    expect(stderr).to.contain(`gcloud projects describe ${PROJECT} '--format=value(projectNumber)'`)
  })

  it('a failed build: where its log is', async () => {
    await start({buildFailure: true})
    const run = await deploy()
    expect(run.exitCode, run.stderr).to.equal(1)
    expect(run.stderr).to.contain('Build failed')
    expect(run.stderr).to.contain(`gcloud builds list --project=${PROJECT} --region=us-central1 --limit=3`)
  })
})
