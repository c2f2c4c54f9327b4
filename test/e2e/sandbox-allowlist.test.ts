// End to end: the built binauthz CLI + the REAL gcloud (528) against the sandbox, for what gcloud reuses and builds:
// a first deploy, a redeploy reusing run.googleapis.com/build-image-uri, a function's service redeployed through
// `gcloud run deploy`, a custom repository, --container groups with a blocked and an admitted sidecar, and a
// domain-scoped project. Each asserts the deploy is admitted (or refused before any write), gcloud accepted the argv,
// and the policy gained only the narrowest entry. Skipped, with the reason shown, when gcloud is not installed.
import {expect} from 'chai'

import {type ImageRecord, STATE_FILES} from '../../src/sandbox/index.js'
import {
  allowlistOf, type ExitRun, gcloudSandboxSuite, policyWrites,
} from '../helpers/e2e.js'
import {installedGcloud, skipNoteFor} from '../helpers/installed-gcloud.js'

const GCLOUD = installedGcloud()
const SKIP_NOTE = skipNoteFor(GCLOUD)
const OTHER_ADMIN = 'gcr.io/other-team/*'

describe(`e2e: binauthz allowlists exactly what gcloud 528 builds${SKIP_NOTE}`, function () {
  this.timeout(240_000)
  const e2e = gcloudSandboxSuite({
    gcloud: GCLOUD, prefix: 'binauthz-e2e-allowlist-', sandboxPer: 'test', timeoutMs: 200_000,
  })

  before(e2e.beforeSuite)

  afterEach(e2e.stopSandbox)

  after(e2e.afterSuite)
  const start = (project = 'sandbox-project', patterns = [OTHER_ADMIN]): Promise<void> => e2e.start({patterns, project})
  const binauthz = (args: string[]): Promise<ExitRun> => e2e.binauthz(args)

  const storedPatterns = (): string[] => allowlistOf(e2e.state)
  const writes = (): number => policyWrites(e2e.state)
  const images = (): ImageRecord[] => e2e.state.readJson<ImageRecord[]>(STATE_FILES.images, [])
  const ready = (key: string): unknown => (e2e.state.readMap(STATE_FILES.services)[key] as undefined | {status?: {conditions?: {status: string; type: string}[]}})
  ?.status?.conditions?.find(c => c.type === 'Ready')?.status
  const seedRepository = (project: string, location: string, id: string): string => {
    const name = `projects/${project}/locations/${location}/repositories/${id}`
    e2e.state.putEntry(STATE_FILES.repositories, name, {format: 'DOCKER', mode: 'STANDARD_REPOSITORY', name})
    return name
  }

  it('first deploy, then a redeploy reusing build-image-uri: only the image in the custom repository, never cloud-run-source-deploy', async () => {
    await start()
    seedRepository('sandbox-project', 'us-central1', 'custom-repo')
    const image = 'us-central1-docker.pkg.dev/sandbox-project/custom-repo/x'
    const first = await binauthz(['deploy', 'run', 'x', '--region', 'us-central1', '--yes', '--json', '--', `--source=${e2e.source}`, `--image=${image}`])
    expect(first.exitCode, first.stderr).to.equal(0)
    expect(storedPatterns()).to.deep.equal([OTHER_ADMIN, image])
    expect(ready('us-central1/x')).to.equal('True')
    expect(JSON.parse(first.stdout)).to.have.nested.property('builds[0].scope', 'image')

    // No --image now: gcloud reuses the annotation (surface/run/deploy.py), and so does binauthz.
    const again = await binauthz(['deploy', 'run', 'x', '--region', 'us-central1', '--yes', '--json', '--', `--source=${e2e.source}`])
    expect(again.exitCode, again.stderr).to.equal(0)
    const result = JSON.parse(again.stdout) as {existing: unknown; patterns: {added: string[]; alreadyCovered: {by: string}[]}}
    expect(result.existing).to.deep.equal({'us-central1': {buildImageUri: image, exists: true}})
    expect(result.patterns.added).to.deep.equal([])
    expect(result.patterns.alreadyCovered.map(c => c.by)).to.deep.equal([image])
    expect(writes()).to.equal(1)
    expect(storedPatterns()).to.deep.equal([OTHER_ADMIN, image])
    expect(images().at(-1)?.image).to.match(/custom-repo\/x@sha256:/)
    expect(ready('us-central1/x')).to.equal('True')
  })

  it('a function, then its service redeployed through gcloud run deploy; a custom --docker-repository gets only the function\'s image', async () => {
    await start()
    const fnArgs = ['--runtime=nodejs20', `--source=${e2e.source}`, '--entry-point=handler', '--trigger-http']
    const fn = await binauthz(['deploy', 'function', 'fnx', '--region', 'europe-west1', '--yes', '--', ...fnArgs])
    expect(fn.exitCode, fn.stderr).to.equal(0)
    expect(storedPatterns()).to.deep.equal([OTHER_ADMIN, 'europe-west1-docker.pkg.dev/sandbox-project/gcf-artifacts/**'])

    const viaRun = await binauthz(['deploy', 'run', 'fnx', '--region', 'europe-west1', '--yes', '--json', '--', `--source=${e2e.source}`, '--function=handler'])
    expect(viaRun.exitCode, viaRun.stderr).to.equal(0)
    expect(JSON.parse(viaRun.stdout)).to.have.nested.property('existing.europe-west1.exists', true)
    expect(storedPatterns()).to.deep.equal([
      OTHER_ADMIN, 'europe-west1-docker.pkg.dev/sandbox-project/gcf-artifacts/**', 'europe-west1-docker.pkg.dev/sandbox-project/cloud-run-source-deploy/**',
    ])
    expect(ready('europe-west1/fnx')).to.equal('True')

    seedRepository('sandbox-project', 'europe-west1', 'fn-repo')
    const custom = await binauthz(['deploy', 'function', 'fny', '--region', 'europe-west1', '--yes', '--', ...fnArgs, '--docker-repository=europe-west1-docker.pkg.dev/sandbox-project/fn-repo'])
    expect(custom.exitCode, custom.stderr).to.equal(0)
    expect(storedPatterns().at(-1)).to.equal('europe-west1-docker.pkg.dev/sandbox-project/fn-repo/sandbox--project__europe--west1__fny')
    expect(images().at(-1)?.image).to.match(/^europe-west1-docker\.pkg\.dev\/sandbox-project\/fn-repo\/sandbox--project__europe--west1__fny:version_1$/)
  })

  it('--container groups: a blocked sidecar stops before any write (exit 3); an admitted one deploys and gcloud accepts the argv', async () => {
    await start()
    // The service "multi": container app built from source, container side the prebuilt `sidecar`.
    const withSidecar = (sidecar: string, ...own: string[]): string[] => [
      'deploy', 'run', 'multi', '--region', 'us-central1', '--yes', ...own, '--', '--container=app', `--source=${e2e.source}`, '--port=8080', '--container=side', `--image=${sidecar}`,
    ]
    const blocked = await binauthz(withSidecar('us-docker.pkg.dev/cloudrun/container/hello:latest', '--json'))
    expect(blocked.exitCode, blocked.stderr).to.equal(3)
    const {error} = (JSON.parse(blocked.stdout) as {error: {code: string; suggestions: string[]}})
    expect(error.code).to.equal('IMAGE_NOT_ADMITTED')
    expect(error.suggestions.join('\n')).to.include('binauthz policy allow --project=sandbox-project --pattern us-docker.pkg.dev/cloudrun/container/hello')
    expect(writes()).to.equal(0)
    expect(e2e.state.readMap(STATE_FILES.services)).to.not.have.property('us-central1/multi')

    const admitted = await binauthz(withSidecar('gcr.io/other-team/side:1'))
    expect(admitted.exitCode, admitted.stderr).to.equal(0)
    expect(admitted.stderr).to.not.include('unrecognized arguments')
    expect(storedPatterns()).to.deep.equal([OTHER_ADMIN, 'us-central1-docker.pkg.dev/sandbox-project/cloud-run-source-deploy/**'])
    expect(ready('us-central1/multi')).to.equal('True')
  })

  it('domain-scoped project: the raw project ID gcloud builds into; a redeploy gcloud cannot parse is refused before any write', async () => {
    await start('example.com:proj')
    const first = await binauthz(['deploy', 'run', 'dom', '--project', 'example.com:proj', '--region', 'us-central1', '--yes', '--', `--source=${e2e.source}`])
    expect(first.exitCode, first.stderr).to.equal(0)
    expect(storedPatterns()).to.deep.equal([OTHER_ADMIN, 'us-central1-docker.pkg.dev/example.com:proj/cloud-run-source-deploy/**'])
    expect(images().at(-1)?.image).to.match(/^us-central1-docker\.pkg\.dev\/example\.com:proj\/cloud-run-source-deploy\/dom@sha256:/)

    const before = writes()
    const again = await binauthz(['deploy', 'run', 'dom', '--project', 'example.com:proj', '--region', 'us-central1', '--yes', '--', `--source=${e2e.source}`])
    expect(again.exitCode, again.stderr).to.equal(2)
    expect(again.stderr).to.include('domain-scoped project')
    expect(writes()).to.equal(before)
  })
})
