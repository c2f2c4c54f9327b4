// End to end: the REAL gcloud (528) deploys against the sandbox. Skipped, with the reason shown, when gcloud is not
// on PATH (or BINAUTHZ_GCLOUD does not name an executable). The first part judges the sandbox itself, so it starts it
// in this process (startSandbox) to seed and read its state directly; the binauthz part starts it the way users do.
import {expect} from 'chai'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import type {Policy} from '../../src/policy/types.js'

import {type ImageRecord, STATE_FILES} from '../../src/sandbox/index.js'
import {
  allowlistOf, DENY_ALL, denyAllBut, type ExitRun, gcloudSandboxSuite,
} from '../helpers/e2e.js'
import {installedGcloud, skipNoteFor} from '../helpers/installed-gcloud.js'

const PROJECT = 'sandbox-project'

const GCLOUD = installedGcloud()
/** Shown in the test titles so a skipped run says why. */
const SKIP_NOTE = skipNoteFor(GCLOUD)

/** The parts of a stored Cloud Run service these tests read. */
interface ServiceRecord {
  metadata: {annotations: Record<string, string>; generation: number}
  spec: {template: {spec: {containers: {image: string}[]}}}
  status: {conditions: {status: string; type: string}[]}
}

const isPolicyWrite = (r: {api: string; method: string;}): boolean => r.api === 'binaryauthorization' && r.method === 'PUT'
const isRun = (r: {api: string}): boolean => r.api === 'run'
/** A Cloud Run call other than binauthz's own read of the existing service (a GET): a deploy happened. */
const isRunWrite = (r: {api: string; method: string}): boolean => r.api === 'run' && r.method !== 'GET'

describe('e2e: the sandbox with the real gcloud', () => {
  describe(`sandbox with the real gcloud${SKIP_NOTE}`, function () {
    this.timeout(120_000)
    const e2e = gcloudSandboxSuite({
      gcloud: GCLOUD, inProcess: true, prefix: 'binauthz-e2e-sandbox-', sandboxPer: 'suite', startWith: {policy: 'block-all'}, timeoutMs: 90_000,
    })

    before(e2e.beforeSuite)

    after(e2e.afterSuite)

    const run = (args: string[]): Promise<ExitRun> => e2e.gcloud(args)

    function seedPolicy(patterns: string[]): void {
      e2e.state.writeJson(STATE_FILES.policy, denyAllBut(patterns))
    }

    function service(region: string, name: string): ServiceRecord {
      return e2e.state.readMap(STATE_FILES.services)[`${region}/${name}`] as unknown as ServiceRecord
    }

    it('run deploy --image: denied (exit 1, Binary Authorization message) until allowlisted, then admitted', async () => {
      const image = `us-central1-docker.pkg.dev/${PROJECT}/prebuilt/app:1`
      const args = ['run', 'deploy', 'svc-image', `--image=${image}`, '--region=us-central1', '--binary-authorization=default']
      seedPolicy([])
      const denied = await run(args)
      expect(denied.exitCode, denied.stderr).to.equal(1)
      expect(denied.stderr).to.match(/binary authorization/i)
      expect(denied.stderr).to.include(image)

      seedPolicy([`us-central1-docker.pkg.dev/${PROJECT}/prebuilt/**`])
      const admitted = await run(args)
      expect(admitted.exitCode, admitted.stderr).to.equal(0)
      expect(admitted.stderr).to.include('has been deployed and is serving')
      const svc = service('us-central1', 'svc-image')
      expect(svc.metadata.annotations['run.googleapis.com/binary-authorization']).to.equal('default')
      expect(svc.metadata.generation).to.equal(2)
      expect(svc.status.conditions[0]).to.include({status: 'True', type: 'Ready'})
    })

    it('run deploy --source --function: the image lands in cloud-run-source-deploy and is admitted by its pattern', async () => {
      seedPolicy([`us-central1-docker.pkg.dev/${PROJECT}/cloud-run-source-deploy/**`])
      const result = await run(['run', 'deploy', 'svc-source', `--source=${e2e.source}`, '--function=handler', '--region=us-central1', '--binary-authorization=default'])
      expect(result.exitCode, result.stderr).to.equal(0)
      const image = service('us-central1', 'svc-source').spec.template.spec.containers[0]?.image
      expect(image).to.match(new RegExp(`^us-central1-docker\\.pkg\\.dev/${PROJECT}/cloud-run-source-deploy/svc-source@sha256:[0-9a-f]{64}$`))
      const images = e2e.state.readJson<ImageRecord[]>(STATE_FILES.images, [])
      expect(images.map(i => i.image)).to.include(image)
      const paths = e2e.state.requests().map(r => `${r.method} ${r.path}`)
      expect(paths).to.include(`POST /v2/projects/${PROJECT}/locations/us-central1/builds:submit`)
      expect(paths).to.include('POST /upload/storage/v1/b/run-sources-sandbox-project-us-central1/o')
    })

    it('functions deploy --gen2: denied with OperationError code=9 without gcf-artifacts, admitted with it', async () => {
      const args = [
        'functions',
        'deploy',
        'fn-e2e',
        '--gen2',
        `--source=${e2e.source}`,
        '--runtime=nodejs20',
        '--entry-point=handler',
        '--trigger-http',
        '--region=europe-west1',
        '--binary-authorization=default',
      ]
      seedPolicy([`us-central1-docker.pkg.dev/${PROJECT}/cloud-run-source-deploy/**`])
      const denied = await run(args)
      expect(denied.exitCode, denied.stderr).to.equal(1)
      expect(denied.stderr).to.include('OperationError: code=9')
      expect(denied.stderr).to.match(/binary authorization/i)

      seedPolicy([`europe-west1-docker.pkg.dev/${PROJECT}/gcf-artifacts/**`])
      const admitted = await run(args)
      expect(admitted.exitCode, admitted.stderr).to.equal(0)
      const fn = e2e.state.readMap(STATE_FILES.functions)[`projects/${PROJECT}/locations/europe-west1/functions/fn-e2e`]
      expect(fn).to.include({state: 'ACTIVE'})
      expect(fn).to.have.nested.property('serviceConfig.binaryAuthorizationPolicy', 'default')
      const images = e2e.state.readJson<ImageRecord[]>(STATE_FILES.images, []).map(i => i.image)
      expect(images.at(-1)).to.match(new RegExp(`^europe-west1-docker\\.pkg\\.dev/${PROJECT}/gcf-artifacts/`))
    })

    it('container binauthz policy export / import round-trips the stored policy', async () => {
      seedPolicy([`us-central1-docker.pkg.dev/${PROJECT}/cloud-run-source-deploy/**`, 'gcr.io/other-team/*'])
      const exported = await run(['container', 'binauthz', 'policy', 'export'])
      expect(exported.exitCode, exported.stderr).to.equal(0)
      expect(exported.stdout).to.include('namePattern: gcr.io/other-team/*')
      const file = join(e2e.dir, 'policy.yaml')
      writeFileSync(file, exported.stdout.replace('namePattern: gcr.io/other-team/*', 'namePattern: gcr.io/other-team/*\n- namePattern: europe-west1-docker.pkg.dev/sandbox-project/gcf-artifacts/**'))
      const imported = await run(['container', 'binauthz', 'policy', 'import', file])
      expect(imported.exitCode, imported.stderr).to.equal(0)
      const stored = JSON.parse(readFileSync(join(e2e.dir, 'state', STATE_FILES.policy), 'utf8')) as Policy
      expect(stored.admissionWhitelistPatterns?.map(p => p.namePattern)).to.deep.equal([
        `us-central1-docker.pkg.dev/${PROJECT}/cloud-run-source-deploy/**`,
        'gcr.io/other-team/*',
        `europe-west1-docker.pkg.dev/${PROJECT}/gcf-artifacts/**`,
      ])
      expect(stored.defaultAdmissionRule).to.deep.equal(DENY_ALL)

      const stale = await run(['container', 'binauthz', 'policy', 'import', file])
      // The file still carries the etag of the export: the sandbox answers 409 ABORTED, which gcloud reports as a conflict.
      expect(stale.exitCode).to.equal(1)
      expect(stale.stderr).to.match(/conflict.*stale etag/i)
    })
  })

  describe(`built binauthz CLI + real gcloud against the sandbox${SKIP_NOTE}`, function () {
    this.timeout(180_000)
    const otherAdmin = 'gcr.io/other-team/*'
    const runPattern = `us-central1-docker.pkg.dev/${PROJECT}/cloud-run-source-deploy/**`
    const fnPattern = `europe-west1-docker.pkg.dev/${PROJECT}/gcf-artifacts/**`
    const e2e = gcloudSandboxSuite({
      gcloud: GCLOUD, prefix: 'binauthz-e2e-cli-sandbox-', sandboxPer: 'test', timeoutMs: 150_000,
    })

    before(e2e.beforeSuite)

    // Started as users start it (`binauthz sandbox start --policy FILE`), since binauthz itself is under test here.
    beforeEach(() => e2e.start({patterns: [otherAdmin]}))

    afterEach(e2e.stopSandbox)

    after(e2e.afterSuite)

    const binauthz = (args: string[]): Promise<ExitRun> => e2e.binauthz(args)
    const storedPatterns = (): string[] => allowlistOf(e2e.state)
    /** The policy file as the sandbox holds it, byte for byte. */
    const storedPolicyText = (): string => readFileSync(join(e2e.sandbox.stateDir, STATE_FILES.policy), 'utf8')

    function count(predicate: (r: {api: string; method: string;}) => boolean): number {
      return e2e.state.requests().filter(r => predicate(r)).length
    }

    it('deploy run: allowlists cloud-run-source-deploy/** (keeping other entries), deploys; a second deploy writes nothing', async () => {
      const args = ['deploy', 'run', 'hello', '--region', 'us-central1', '--yes', '--', `--source=${e2e.source}`, '--function=handler']
      const first = await binauthz(args)
      expect(first.exitCode, first.stderr).to.equal(0)
      expect(storedPatterns()).to.deep.equal([otherAdmin, runPattern])
      expect(e2e.state.readMap(STATE_FILES.services)['us-central1/hello']).to.have.nested.property('status.conditions[0].status', 'True')
      expect(count(isPolicyWrite)).to.equal(1)

      const second = await binauthz(args)
      expect(second.exitCode, second.stderr).to.equal(0)
      expect(count(isPolicyWrite)).to.equal(1)
      expect(e2e.state.readMap(STATE_FILES.services)['us-central1/hello']).to.have.nested.property('metadata.generation', 2)
    })

    it('deploy function: allowlists gcf-artifacts/** and the gen2 deploy is admitted', async () => {
      const result = await binauthz([
        'deploy',
        'function',
        'hello-fn',
        '--region',
        'europe-west1',
        '--yes',
        '--',
        '--runtime=nodejs20',
        `--source=${e2e.source}`,
        '--entry-point=handler',
        '--trigger-http',
      ])
      expect(result.exitCode, result.stderr).to.equal(0)
      expect(storedPatterns()).to.deep.equal([otherAdmin, fnPattern])
      expect(e2e.state.readMap(STATE_FILES.functions)[`projects/${PROJECT}/locations/europe-west1/functions/hello-fn`]).to.include({state: 'ACTIVE'})
    })

    it('--dry-run changes nothing and deploys nothing', async () => {
      const before = storedPolicyText()
      const result = await binauthz(['deploy', 'run', 'hello', '--region', 'us-central1', '--dry-run', '--', `--source=${e2e.source}`, '--function=handler'])
      expect(result.exitCode, result.stderr).to.equal(0)
      expect(storedPolicyText()).to.equal(before)
      // binauthz read the existing service (what gcloud would reuse); nothing was deployed.
      expect(count(isRun)).to.equal(1)
      expect(count(isRunWrite)).to.equal(0)
    })

    it('without binaryauthorization.policy.update: exit 3, policy untouched, nothing deployed', async () => {
      e2e.state.writeJson(STATE_FILES.faults, {deniedPermissions: ['binaryauthorization.policy.update']})
      const before = storedPolicyText()
      const result = await binauthz(['deploy', 'run', 'hello', '--region', 'us-central1', '--yes', '--', `--source=${e2e.source}`, '--function=handler'])
      expect(result.exitCode, result.stderr).to.equal(3)
      expect(storedPolicyText()).to.equal(before)
      expect(count(isPolicyWrite)).to.equal(0)
      expect(count(isRunWrite)).to.equal(0)
      expect(result.stderr).to.include(runPattern)
    })
  })
})
