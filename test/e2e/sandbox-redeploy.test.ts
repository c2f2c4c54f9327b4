// End to end: the REAL gcloud (528) redeploys against the sandbox and reads back the state the sandbox kept —
// run.googleapis.com/build-image-uri (surface/run/deploy.py _GetArtifactRegistryRepository), a function's
// buildConfig.dockerRepository (command_lib/functions/v2/deploy/command.py _SetDockerRepositoryConfig), the Cloud Run
// service behind a function, every container of a multi-container service — and prints Google's refusals for
// regions and repositories. Skipped, with the reason shown, when gcloud is not installed. The sandbox itself is under
// test (binauthz is not run), so it is started in this process.
import {expect} from 'chai'

import {type ImageRecord, STATE_FILES} from '../../src/sandbox/index.js'
import {denyAllBut, type ExitRun, gcloudSandboxSuite} from '../helpers/e2e.js'
import {installedGcloud, skipNoteFor} from '../helpers/installed-gcloud.js'

const PROJECT = 'sandbox-project'
const GCLOUD = installedGcloud()
const SKIP_NOTE = skipNoteFor(GCLOUD)
const SIDECAR = 'us-docker.pkg.dev/cloudrun/container/hello:latest'

interface ServiceRecord {
  metadata: {annotations: Record<string, string>; labels: Record<string, string>}
  spec: {template: {spec: {containers: {image: string; name?: string}[]}}}
}

describe(`e2e: real gcloud redeploys read the sandbox's state${SKIP_NOTE}`, function () {
  this.timeout(180_000)
  const e2e = gcloudSandboxSuite({
    gcloud: GCLOUD, inProcess: true, prefix: 'binauthz-e2e-redeploy-', sandboxPer: 'suite', startWith: {policy: 'allow-all'}, timeoutMs: 120_000,
  })

  before(e2e.beforeSuite)

  after(e2e.afterSuite)

  const run = (args: string[]): Promise<ExitRun> => e2e.gcloud(args, e2e.source)

  function seedRepository(location: string, id: string, format = 'DOCKER'): string {
    const name = `projects/${PROJECT}/locations/${location}/repositories/${id}`
    e2e.state.putEntry(STATE_FILES.repositories, name, {format, mode: 'STANDARD_REPOSITORY', name})
    return name
  }

  function allow(patterns: string[]): void {
    e2e.state.writeJson(STATE_FILES.policy, denyAllBut(patterns))
  }

  const service = (region: string, name: string): ServiceRecord => e2e.state.readMap(STATE_FILES.services)[`${region}/${name}`] as unknown as ServiceRecord
  const images = (): ImageRecord[] => e2e.state.readJson<ImageRecord[]>(STATE_FILES.images, [])
  const requestsSince = (n: number): string[] => e2e.state.requests().slice(n).map(r => `${r.method} ${r.path}`)

  it('run deploy --source without --image reuses the build-image-uri the first deploy (--image custom-repo) stored', async () => {
    const repo = seedRepository('us-central1', 'custom-repo')
    const first = await run(['run', 'deploy', 'x', '--source=.', `--image=us-central1-docker.pkg.dev/${PROJECT}/custom-repo/x`, '--region=us-central1'])
    expect(first.exitCode, first.stderr).to.equal(0)
    expect(service('us-central1', 'x').metadata.annotations['run.googleapis.com/build-image-uri']).to.equal(`us-central1-docker.pkg.dev/${PROJECT}/custom-repo/x`)

    const before = e2e.state.requests().length
    const again = await run(['run', 'deploy', 'x', '--source=.', '--region=us-central1'])
    expect(again.exitCode, again.stderr).to.equal(0)
    const pushed = images().slice(-2)
    expect(pushed.map(i => i.repository)).to.deep.equal([repo, repo])
    expect(pushed[1]?.image).to.match(new RegExp(`^us-central1-docker\\.pkg\\.dev/${PROJECT}/custom-repo/x@sha256:[0-9a-f]{64}$`))
    expect(service('us-central1', 'x').spec.template.spec.containers[0]?.image).to.equal(pushed[1]?.image)
    const calls = requestsSince(before)
    expect(calls).to.include(`GET /v1/projects/${PROJECT}/locations/us-central1/repositories/custom-repo`)
    expect(calls.filter(c => c.includes('cloud-run-source-deploy'))).to.deep.equal([])

    // gcloud validates the annotated repository and refuses to recreate it (surface/run/deploy.py _ValidateArRepository).
    const {[repo]: _gone, ...others} = e2e.state.readMap(STATE_FILES.repositories)
    e2e.state.writeJson(STATE_FILES.repositories, others)
    const missing = await run(['run', 'deploy', 'x', '--source=.', '--region=us-central1'])
    expect(missing.exitCode).to.equal(1)
    expect(missing.stderr).to.include(`The artifact repository provided does not exist: us-central1-docker.pkg.dev/${PROJECT}/custom-repo/x`)
  })

  it('functions deploy keeps its --docker-repository on a redeploy without the flag; --clear-docker-repository returns to gcf-artifacts', async () => {
    const repo = seedRepository('europe-west1', 'fn-repo')
    const args = ['functions', 'deploy', 'fnr', '--gen2', '--runtime=nodejs20', '--source=.', '--entry-point=handler', '--trigger-http', '--region=europe-west1']
    const first = await run([...args, `--docker-repository=europe-west1-docker.pkg.dev/${PROJECT}/fn-repo`])
    expect(first.exitCode, first.stderr).to.equal(0)
    const again = await run(args)
    expect(again.exitCode, again.stderr).to.equal(0)
    const fn = e2e.state.readMap(STATE_FILES.functions)[`projects/${PROJECT}/locations/europe-west1/functions/fnr`]
    expect(fn).to.have.nested.property('buildConfig.dockerRepository', repo)
    expect(images().slice(-2).map(i => i.repository)).to.deep.equal([repo, repo])
    expect(images().at(-1)?.image).to.match(new RegExp(`^europe-west1-docker\\.pkg\\.dev/${PROJECT}/fn-repo/`))

    const cleared = await run([...args, '--clear-docker-repository'])
    expect(cleared.exitCode, cleared.stderr).to.equal(0)
    expect(images().at(-1)?.repository).to.equal(`projects/${PROJECT}/locations/europe-west1/repositories/gcf-artifacts`)
  })

  it('run deploy FUNCTION --source reads the function\'s Cloud Run service (worker container, no build-image-uri) and builds into cloud-run-source-deploy', async () => {
    const fn = await run(['functions', 'deploy', 'fns', '--gen2', '--runtime=nodejs20', '--source=.', '--entry-point=handler', '--trigger-http', '--region=europe-west1'])
    expect(fn.exitCode, fn.stderr).to.equal(0)
    expect(service('europe-west1', 'fns').metadata.labels).to.include({'goog-managed-by': 'cloudfunctions'})
    const before = e2e.state.requests().length
    const result = await run(['run', 'deploy', 'fns', '--source=.', '--region=europe-west1'])
    expect(result.exitCode, result.stderr).to.equal(0)
    expect(requestsSince(before)).to.include(`GET /apis/serving.knative.dev/v1/namespaces/${PROJECT}/services/fns`)
    const svc = service('europe-west1', 'fns')
    expect(svc.metadata.annotations).to.include({
      'cloudfunctions.googleapis.com/function-id': 'fns',
      'run.googleapis.com/build-image-uri': `europe-west1-docker.pkg.dev/${PROJECT}/cloud-run-source-deploy/fns`,
    })
    const [container] = svc.spec.template.spec.containers
    expect(container?.name).to.equal('worker')
    expect(container?.image).to.match(new RegExp(`^europe-west1-docker\\.pkg\\.dev/${PROJECT}/cloud-run-source-deploy/fns@sha256:`))
  })

  it('multi-container source deploy: admission judges the sidecar too, and both containers are stored', async () => {
    allow([`us-central1-docker.pkg.dev/${PROJECT}/cloud-run-source-deploy/**`])
    const args = ['run', 'deploy', 'mc', '--region=us-central1', '--binary-authorization=default', '--container=app', '--source=.', '--port=8080', '--container=sidecar', `--image=${SIDECAR}`]
    const denied = await run(args)
    expect(denied.exitCode, denied.stderr).to.equal(1)
    expect(denied.stderr).to.include(SIDECAR).and.to.match(/binary authorization/i)

    allow([`us-central1-docker.pkg.dev/${PROJECT}/cloud-run-source-deploy/**`, 'us-docker.pkg.dev/cloudrun/container/**'])
    const admitted = await run(args)
    expect(admitted.exitCode, admitted.stderr).to.equal(0)
    const containers = service('us-central1', 'mc').spec.template.spec.containers.map(c => [c.name, c.image.replace(/@sha256:[0-9a-f]{64}$/, '@DIGEST')])
    expect(containers).to.deep.equal([
      ['app', `us-central1-docker.pkg.dev/${PROJECT}/cloud-run-source-deploy/mc@DIGEST`],
      ['sidecar', SIDECAR],
    ])
  })

  it('prints Google\'s refusal for a region Cloud Run does not serve and for a cross-location --docker-repository', async () => {
    const region = await run(['run', 'deploy', 'x', '--image=us-docker.pkg.dev/cloudrun/container/hello', '--region=mars-north1'])
    expect(region.exitCode).to.equal(1)
    expect(region.stderr).to.include('ERROR: (gcloud.run.deploy) INVALID_ARGUMENT: region: Unsupported region mars-north1')

    seedRepository('us-central1', 'us-repo')
    const repo = await run([
      'functions',
      'deploy',
      'fnx',
      '--gen2',
      '--runtime=nodejs20',
      '--source=.',
      '--entry-point=handler',
      '--trigger-http',
      '--region=europe-west1',
      `--docker-repository=us-central1-docker.pkg.dev/${PROJECT}/us-repo`,
    ])
    expect(repo.exitCode).to.equal(1)
    expect(repo.stderr).to.include('status=[400]').and.to.include('build_config.docker_repository').and.to.include('cross-location repositories are not supported')
  })
})
