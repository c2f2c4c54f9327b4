import {expect} from 'chai'

import type {Prompter} from '../../src/app/ports.js'
import type {RunInvocation, RunResult} from '../../src/gcloud/runner.js'
import type {Policy} from '../../src/policy/types.js'

import {
  DeployFailedError, DeployInterruptedError, type DeployOptions, runDeploy, withoutOwnFlag, withYes,
} from '../../src/app/deploy.js'
import {deployReport} from '../../src/cli/deploy-presenter.js'
import {terminalPrompter} from '../../src/cli/prompts.js'
import {silentReporter} from '../../src/cli/renderer.js'
import {BinauthzError, Secrets, UserError} from '../../src/errors.js'
import {BinauthzClient} from '../../src/google/binauthz-client.js'
import {rejectionOf} from '../helpers/assert.js'
import {startTestSandbox, type TestSandbox} from '../helpers/sandbox.js'
import {TEST_USER_AGENT} from '../helpers/user-agent.js'

const PROJECT = 'my-proj'
const RUN_US = 'us-central1-docker.pkg.dev/my-proj/cloud-run-source-deploy/**'
const RUN_EU = 'europe-west1-docker.pkg.dev/my-proj/cloud-run-source-deploy/**'

function denyingPolicy(patterns: string[] = []): Policy {
  return {
    admissionWhitelistPatterns: patterns.map(namePattern => ({namePattern})),
    defaultAdmissionRule: {enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG', evaluationMode: 'ALWAYS_DENY'},
    futureField: {kept: [1, 2, 3]},
    globalPolicyEvaluationMode: 'ENABLE',
    name: `projects/${PROJECT}/policy`,
  }
}

interface Harness {
  confirms: string[]
  gcloudCalls: RunInvocation[]
  options(overrides?: Partial<DeployOptions> & {confirmAnswer?: boolean; gcloud?: (args: readonly string[]) => Partial<RunResult>; interactive?: boolean;}): DeployOptions
  server: TestSandbox
  shown: string[]
}

describe('app/deploy', () => {
  let server: TestSandbox
  let h: Harness

  beforeEach(async () => {
    server = await startTestSandbox({policy: denyingPolicy(), project: PROJECT, token: 'test-token'})
    const gcloudCalls: RunInvocation[] = []
    const shown: string[] = []
    const confirms: string[] = []
    h = {
      confirms,
      gcloudCalls,
      options(overrides = {}) {
        const {confirmAnswer, gcloud, interactive = false, ...rest} = overrides
        let clock = 1000
        // Without a terminal, the real prompter (it refuses, naming --yes); with one, a scripted answer.
        const refusing = terminalPrompter({interactive: false})
        const prompter: Prompter = interactive
          ? {
            ...refusing,
            async confirm(message) {
              confirms.push(message)
              return confirmAnswer ?? true
            },
            interactive: true,
          }
          : refusing
        return {
          adapters: {
            backup: async () => '/tmp/backup.json',
            client: options => new BinauthzClient({...options, retry: {maxRetries: 0}}),
            endpoint: () => server.endpoint,
            locateGcloud: () => '/usr/bin/gcloud',
            resolveContext: input => ({
              gcloud: {activeConfig: 'default', configDir: '/nonexistent'},
              project: input.project ?? PROJECT,
              projectSource: input.project === undefined ? 'gcloud config' : '--project flag',
              regions: [...(input.regions ?? ['us-central1'])],
              regionSource: '--region flag',
            }),
            async runGcloud(invocation) {
              gcloudCalls.push(invocation)
              return {
                exitCode: 0, interrupted: false, stderrTail: '', ...gcloud?.(invocation.args),
              }
            },
            tokens: async () => ({getToken: async () => 'test-token', source: {detail: 'test token', isUser: false, kind: 'access-token-file'}}),
          },
          // The run's clock: 5 ms a reading.
          clock() {
            clock += 5
            return new Date(clock)
          },
          dryRun: false,
          // The existing service / function is read from the same sandbox (what gcloud reuses).
          env: {CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDFUNCTIONS: server.endpoint.href, CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN: server.endpoint.href},
          invocation: ['binauthz', 'deploy', 'run', 'svc', '--region', 'us-central1', '--', '--source', '.'],
          json: false,
          kind: 'run',
          name: 'svc',
          noPatch: false,
          passthrough: ['--source', '.'],
          prompter,
          regions: ['us-central1'],
          // The command's presenter: plan blocks and the policy path's diff lines are what a person is shown.
          report: deployReport(silentReporter(), text => shown.push(text)),
          secrets: new Secrets(),
          ui: {info: line => shown.push(line), warn: line => shown.push(line)}, userAgent: TEST_USER_AGENT,
          yes: true,
          ...rest,
        }
      },
      server,
      shown,
    }
  })

  afterEach(async () => {
    await server.stop()
  })

  /** A run refused before it changed anything: a UserError (with `code`) exiting `exitCode`, no policy write, no gcloud. */
  function refusedBeforeAnyChange(error: unknown, expected: {code?: string; exitCode: number}): UserError {
    expect(error).to.be.instanceOf(UserError)
    const refused = error as UserError
    if (expected.code !== undefined) expect(refused.code).to.equal(expected.code)
    expect(refused.exitCode).to.equal(expected.exitCode)
    expect(server.writes()).to.equal(0)
    expect(h.gcloudCalls).to.have.length(0)
    return refused
  }

  it('already covered: no write, no IAM call, deploys', async () => {
    server.setPolicy(PROJECT, denyingPolicy(['us-central1-docker.pkg.dev/my-proj/**']))
    const result = await runDeploy(h.options())
    expect(server.writes()).to.equal(0)
    expect(server.requests('testIamPermissions')).to.have.length(0)
    expect(result.patterns).to.deep.equal({
      added: [],
      alreadyCovered: [{by: 'us-central1-docker.pkg.dev/my-proj/**', coveredBy: {kind: 'pattern', pattern: 'us-central1-docker.pkg.dev/my-proj/**'}, pattern: RUN_US}],
      required: [RUN_US],
    })
    expect(result.policy.written).to.equal(false)
    expect(h.gcloudCalls.map(c => c.args)).to.deep.equal([
      ['run', 'deploy', 'svc', '--project=my-proj', '--region=us-central1', '--source=.', '--binary-authorization=default'],
    ])
    expect(result.deploys).to.deep.equal([
      {argv: ['gcloud', 'run', 'deploy', 'svc', '--project=my-proj', '--region=us-central1', '--source=.', '--binary-authorization=default'], exitCode: 0, region: 'us-central1'},
    ])
  })

  it('default rule ALWAYS_ALLOW counts as covered', async () => {
    server.setPolicy(PROJECT, {...denyingPolicy(), defaultAdmissionRule: {enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG', evaluationMode: 'ALWAYS_ALLOW'}})
    const result = await runDeploy(h.options())
    expect(server.writes()).to.equal(0)
    expect(result.patterns.alreadyCovered).to.deep.equal([{by: 'defaultAdmissionRule: ALWAYS_ALLOW', coveredBy: {evaluationMode: 'ALWAYS_ALLOW', kind: 'default-rule'}, pattern: RUN_US}])
  })

  it('uncovered + --yes: exactly one write adding the pattern, other fields kept, then deploys', async () => {
    const before = server.policy(PROJECT)
    const result = await runDeploy(h.options())
    expect(server.writes()).to.equal(1)
    const after = server.policy(PROJECT)
    expect(after?.admissionWhitelistPatterns).to.deep.equal([{namePattern: RUN_US}])
    expect(after?.futureField).to.deep.equal({kept: [1, 2, 3]})
    expect(after?.defaultAdmissionRule).to.deep.equal(before?.defaultAdmissionRule)
    expect(result.patterns.added).to.deep.equal([RUN_US])
    expect(result.policy).to.include({
      backupFile: '/tmp/backup.json', etagAfter: after?.etag, etagBefore: before?.etag, written: true,
    })
    expect(result.policy.diff).to.contain('+ ').and.contain(RUN_US)
    expect(h.shown.join('\n')).to.contain(RUN_US)
    expect(h.confirms).to.deep.equal([])
    expect(h.gcloudCalls).to.have.length(1)
    expect(result.durationMs).to.be.greaterThan(0)
  })

  it('uncovered, interactive, confirmed: asks once and writes', async () => {
    await runDeploy(h.options({confirmAnswer: true, interactive: true, yes: false}))
    expect(h.confirms).to.have.length(1)
    expect(server.writes()).to.equal(1)
  })

  it('uncovered, interactive, declined: no write, no deploy, exit 3', async () => {
    refusedBeforeAnyChange(await rejectionOf(runDeploy(h.options({confirmAnswer: false, interactive: true, yes: false}))), {exitCode: 3})
  })

  it('uncovered, no TTY, no --yes: exit 3 with the exact command including --yes', async () => {
    const refused = refusedBeforeAnyChange(await rejectionOf(runDeploy(h.options({interactive: false, yes: false}))), {code: 'CONFIRMATION_REQUIRED', exitCode: 3})
    expect(refused.suggestions[0]).to.equal('Re-run with --yes: binauthz deploy run svc --region us-central1 --yes -- --source .')
  })

  it('--dry-run: no write, no deploy, plan and exact argv shown', async () => {
    const result = await runDeploy(h.options({dryRun: true}))
    expect(server.writes()).to.equal(0)
    expect(h.gcloudCalls).to.have.length(0)
    expect(result.dryRun).to.equal(true)
    expect(result.patterns.added).to.deep.equal([RUN_US])
    expect(result.deploys[0]?.exitCode).to.equal(null)
    const text = h.shown.join('\n')
    expect(text).to.contain('+ ')
    expect(text).to.contain('gcloud run deploy svc --project=my-proj --region=us-central1 --source=. --binary-authorization=default')
  })

  it('--no-patch with a missing entry: exit 3 with the admin hand-off, nothing written or deployed', async () => {
    const refused = refusedBeforeAnyChange(await rejectionOf(runDeploy(h.options({noPatch: true}))), {code: 'NOT_ALLOWLISTED', exitCode: 3})
    expect(refused.message).to.contain(RUN_US)
  })

  it('--no-patch when already covered deploys', async () => {
    server.setPolicy(PROJECT, denyingPolicy([RUN_US]))
    const result = await runDeploy(h.options({noPatch: true}))
    expect(result.deploys[0]?.exitCode).to.equal(0)
    expect(server.writes()).to.equal(0)
  })

  it('permission denied: exit 3, gcloud not spawned, nothing written', async () => {
    server.setFaults({deniedPermissions: ['binaryauthorization.policy.update']})
    refusedBeforeAnyChange(await rejectionOf(runDeploy(h.options())), {code: 'POLICY_UPDATE_DENIED', exitCode: 3})
  })

  it('multi-region: one read, one write with both patterns, one deploy per region', async () => {
    const result = await runDeploy(h.options({regions: ['us-central1', 'europe-west1']}))
    expect(server.requests('getPolicy')).to.have.length(1)
    expect(server.writes()).to.equal(1)
    expect(server.policy(PROJECT).admissionWhitelistPatterns).to.deep.equal([{namePattern: RUN_US}, {namePattern: RUN_EU}])
    expect(h.gcloudCalls.map(c => c.args[4]).sort()).to.deep.equal(['--region=europe-west1', '--region=us-central1'])
    expect(result.deploys.map(d => [d.region, d.exitCode])).to.deep.equal([
      ['us-central1', 0],
      ['europe-west1', 0],
    ])
  })

  it('multi-region with one failure: DeployFailedError exit 1 carrying per-region results', async () => {
    const error = await rejectionOf(runDeploy(h.options({gcloud: args => (args.includes('--region=europe-west1') ? {exitCode: 7} : {}), regions: ['us-central1', 'europe-west1']})))
    expect(error).to.be.instanceOf(DeployFailedError)
    expect((error as DeployFailedError).exitCode).to.equal(1)
    expect((error as DeployFailedError).jsonResult.deploys.map(d => d.exitCode)).to.deep.equal([0, 7])
  })

  it('single region: gcloud exit code passed through, denial recognised and explained', async () => {
    const stderr = "ERROR: (gcloud.run.deploy) Container image 'us-central1-docker.pkg.dev/my-proj/cloud-run-source-deploy/svc@sha256:1' is not authorized by policy."
    const error = await rejectionOf(runDeploy(h.options({gcloud: () => ({exitCode: 3, stderrTail: stderr})})))
    expect(error).to.be.instanceOf(DeployFailedError)
    const failed = error as DeployFailedError
    expect(failed.exitCode).to.equal(3)
    expect(failed.message).to.contain('binauthz: Binary Authorization denied the deploy')
    expect(failed.jsonResult.deploys[0]?.denial?.kind).to.equal('binauthz-denied')
    // The hint is the fix, not the gcloud command that just failed.
    expect(failed.suggestions[0]).to.equal('binauthz policy status --project=my-proj --image=us-central1-docker.pkg.dev/my-proj/cloud-run-source-deploy/svc@sha256:1')
    expect(failed.suggestions.join('\n')).not.to.contain('gcloud run deploy')
  })

  it('an unrecognised gcloud failure points at gcloud\'s error and the binauthz command to run again', async () => {
    const error = await rejectionOf(runDeploy(h.options({gcloud: () => ({exitCode: 2, stderrTail: 'ERROR: (gcloud.run.deploy) something new'}), invocation: ['binauthz', 'deploy', 'run', 'svc', '--', '--source', '.']})))
    const failed = error as DeployFailedError
    expect(failed.suggestions).to.deep.equal(["gcloud's error is above; once it is fixed, run again: binauthz deploy run svc -- --source ."])
  })

  it('Ctrl-C during gcloud: exit 130', async () => {
    const error = await rejectionOf(runDeploy(h.options({gcloud: () => ({exitCode: 130, interrupted: true})})))
    expect(error).to.be.instanceOf(DeployInterruptedError)
    expect((error as BinauthzError).exitCode).to.equal(130)
  })

  it('refuses hostile passthrough before reading the policy', async () => {
    const error = await rejectionOf(runDeploy(h.options({passthrough: ['--binary-authorization=none']})))
    expect((error as UserError).exitCode).to.equal(2)
    expect(server.requests()).to.have.length(0)
    expect(h.gcloudCalls).to.have.length(0)
  })

  it('plain --image the policy admits: no pattern, no write, verdict reported, deploys', async () => {
    const image = 'us-docker.pkg.dev/other/images/app@sha256:1'
    server.setPolicy(PROJECT, denyingPolicy(['us-docker.pkg.dev/other/images/app']))
    const result = await runDeploy(h.options({passthrough: [`--image=${image}`]}))
    expect(result.patterns.required).to.deep.equal([])
    expect(server.writes()).to.equal(0)
    expect(result.image).to.deep.include({admitted: true, image})
    expect(result.images).to.deep.equal([{
      admitted: true, container: '', image, reason: 'The image matches the allowlist pattern us-docker.pkg.dev/other/images/app.', rule: 'allowlist: us-docker.pkg.dev/other/images/app',
    }])
    expect(h.gcloudCalls).to.have.length(1)
  })

  it('plain --image the policy blocks: exit 3 before any write or deploy, with the administrator\'s command', async () => {
    const image = 'us-docker.pkg.dev/other/images/app@sha256:1'
    const refused = refusedBeforeAnyChange(await rejectionOf(runDeploy(h.options({passthrough: [`--image=${image}`]}))), {code: 'IMAGE_NOT_ADMITTED', exitCode: 3})
    expect(refused.suggestions[0]).to.include('binauthz policy allow --project=my-proj --pattern us-docker.pkg.dev/other/images/app')
  })

  it('redeploy without --image: the existing service\'s build-image-uri repository, only that image (surface/run/deploy.py)', async () => {
    server.state.putEntry('services.json', 'us-central1/svc', {
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: {annotations: {'run.googleapis.com/build-image-uri': 'us-central1-docker.pkg.dev/my-proj/custom/svc'}, name: 'svc', namespace: PROJECT},
      spec: {template: {spec: {containers: [{image: 'us-central1-docker.pkg.dev/my-proj/custom/svc@sha256:1'}]}}},
    })
    const result = await runDeploy(h.options())
    expect(result.existing).to.deep.equal({'us-central1': {buildImageUri: 'us-central1-docker.pkg.dev/my-proj/custom/svc', exists: true}})
    expect(result.patterns.added).to.deep.equal(['us-central1-docker.pkg.dev/my-proj/custom/svc'])
    expect(result.builds).to.deep.equal([{
      image: 'us-central1-docker.pkg.dev/my-proj/custom/svc',
      pattern: 'us-central1-docker.pkg.dev/my-proj/custom/svc',
      region: 'us-central1',
      repository: 'us-central1-docker.pkg.dev/my-proj/custom',
      scope: 'image',
      source: 'annotation',
    }])
  })

  it('function redeploy: the existing buildConfig.dockerRepository unless --clear-docker-repository', async () => {
    server.state.putEntry('functions.json', 'projects/my-proj/locations/us-central1/functions/fn', {
      buildConfig: {dockerRepository: 'projects/my-proj/locations/us-central1/repositories/fn-repo'}, name: 'projects/my-proj/locations/us-central1/functions/fn',
    })
    const kept = await runDeploy(h.options({
      dryRun: true, kind: 'function', name: 'fn', passthrough: ['--runtime=nodejs20'],
    }))
    expect(kept.patterns.required).to.deep.equal(['us-central1-docker.pkg.dev/my-proj/fn-repo/my--proj__us--central1__fn'])
    const cleared = await runDeploy(h.options({
      dryRun: true, kind: 'function', name: 'fn', passthrough: ['--runtime=nodejs20', '--clear-docker-repository'],
    }))
    expect(cleared.patterns.required).to.deep.equal(['us-central1-docker.pkg.dev/my-proj/gcf-artifacts/**'])
  })

  it('--container groups: only the source container gets an entry; a blocked sidecar stops the deploy before any write', async () => {
    const passthrough = ['--container=app', '--source=.', '--port=8080', '--container=side', '--image=us-docker.pkg.dev/cloudrun/container/hello:latest']
    const error = await rejectionOf(runDeploy(h.options({passthrough})))
    expect((error as UserError).code).to.equal('IMAGE_NOT_ADMITTED')
    expect((error as UserError).message).to.include('container side: us-docker.pkg.dev/cloudrun/container/hello:latest')
    expect(server.writes()).to.equal(0)

    server.setPolicy(PROJECT, denyingPolicy(['us-docker.pkg.dev/cloudrun/container/hello']))
    const result = await runDeploy(h.options({passthrough}))
    expect(result.patterns.added).to.deep.equal([RUN_US])
    expect(result.images.map(i => [i.container, i.admitted, i.rule])).to.deep.equal([['side', true, 'allowlist: us-docker.pkg.dev/cloudrun/container/hello']])
    expect(h.gcloudCalls[0]?.args).to.deep.equal([
      'run',
      'deploy',
      'svc',
      '--project=my-proj',
      '--region=us-central1',
      '--binary-authorization=default',
      '--container=app',
      '--source=.',
      '--port=8080',
      '--container=side',
      '--image=us-docker.pkg.dev/cloudrun/container/hello:latest',
    ])
  })

  it('warnings: REQUIRE_ATTESTATION exemption, dry-run enforcement, cross-project repository', async () => {
    server.setPolicy(PROJECT, {defaultAdmissionRule: {enforcementMode: 'DRYRUN_AUDIT_LOG_ONLY', evaluationMode: 'REQUIRE_ATTESTATION'}})
    const result = await runDeploy(h.options({dryRun: true, passthrough: ['--source=.', '--image=us-central1-docker.pkg.dev/other-proj/shared/svc']}))
    expect(result.warnings.map(w => w.code)).to.deep.equal(['EXEMPTION_SKIPS_ATTESTATION', 'DRY_RUN_ENFORCEMENT', 'CROSS_PROJECT_REPOSITORY'])
    expect(result.patterns.required).to.deep.equal(['us-central1-docker.pkg.dev/other-proj/shared/svc'])
    expect(h.shown.join('\n')).to.include('Warning (CROSS_PROJECT_REPOSITORY)')
  })

  it('functions: gcf-artifacts pattern, --gen2 argv', async () => {
    const result = await runDeploy(h.options({kind: 'function', name: 'fn', passthrough: ['--runtime=nodejs20', '--trigger-http']}))
    expect(result.command).to.equal('deploy function')
    expect(result.patterns.added).to.deep.equal(['us-central1-docker.pkg.dev/my-proj/gcf-artifacts/**'])
    expect(h.gcloudCalls[0]?.args).to.deep.equal([
      'functions', 'deploy', 'fn', '--gen2', '--project=my-proj', '--region=us-central1', '--runtime=nodejs20', '--trigger-http', '--binary-authorization=default',
    ])
  })

  it('--json: gcloud stdout goes to stderr', async () => {
    server.setPolicy(PROJECT, denyingPolicy([RUN_US]))
    await runDeploy(h.options({json: true}))
    expect(h.gcloudCalls[0]?.stdout).to.equal('stderr')
  })

  it('--deadline bounds the policy API calls (client deadline = start + seconds)', async () => {
    const seen: unknown[] = []
    const options = h.options({deadlineSeconds: 30})
    const adapters = options.adapters ?? {}
    await runDeploy({
      ...options,
      adapters: {
        ...adapters,
        client(clientOptions) {
          seen.push(clientOptions.deadline)
          return new BinauthzClient({...clientOptions, deadline: undefined, retry: {maxRetries: 0}})
        },
      },
      clock: () => new Date(1000),
    })
    expect(seen).to.deep.equal([31_000])
  })

  it("the backup is named by the run's clock, not the system's", async () => {
    const named: Date[] = []
    const options = h.options()
    await runDeploy({
      ...options,
      adapters: {
        ...options.adapters,
        async backup(_env, _project, _policy, now) {
          named.push(now)
          return '/tmp/backup.json'
        },
      },
      clock: () => new Date('2030-05-06T07:08:09.010Z'),
    })
    expect(named.map(date => date.toISOString())).to.deep.equal(['2030-05-06T07:08:09.010Z'])
  })

  it('run --source with --image REPO/...: that image is allowlisted, argv keeps both', async () => {
    const result = await runDeploy(h.options({passthrough: ['--source=.', '--image', 'us-central1-docker.pkg.dev/my-proj/builds/svc']}))
    // A custom repository: only the image the build pushes (REPO/SERVICE, admitting its tags and digests).
    expect(result.patterns.added).to.deep.equal(['us-central1-docker.pkg.dev/my-proj/builds/svc'])
    expect(h.gcloudCalls[0]?.args).to.deep.equal([
      'run',
      'deploy',
      'svc',
      '--project=my-proj',
      '--region=us-central1',
      '--source=.',
      '--image=us-central1-docker.pkg.dev/my-proj/builds/svc',
      '--binary-authorization=default',
    ])
  })

  it('invalid NAME: exit 2 before any API call', async () => {
    const error = await rejectionOf(runDeploy(h.options({name: '--project=evil'})))
    expect((error as UserError).exitCode).to.equal(2)
    expect(server.requests()).to.have.length(0)
  })

  it('withYes inserts --yes before --', () => {
    expect(withYes(['binauthz', 'deploy', 'run', 'svc', '--', '--source', '.'])).to.equal('binauthz deploy run svc --yes -- --source .')
    expect(withYes(['binauthz', 'deploy', 'run', 'svc'])).to.equal('binauthz deploy run svc --yes')
  })

  it('withoutOwnFlag removes the flag only before --', () => {
    expect(withoutOwnFlag(['binauthz', 'deploy', 'run', 'svc', '--no-patch'], '--no-patch')).to.deep.equal(['binauthz', 'deploy', 'run', 'svc'])
    expect(withoutOwnFlag(['b', '--no-patch', '--', '--no-patch'], '--no-patch')).to.deep.equal(['b', '--', '--no-patch'])
  })

  it('--no-patch error names the command to run instead', async () => {
    const error = await rejectionOf(runDeploy(h.options({invocation: ['binauthz', 'deploy', 'run', 'svc', '--no-patch', '--', '--source', '.'], noPatch: true})))
    expect((error as UserError).suggestions[0]).to.equal('Re-run without --no-patch if you may change the policy: binauthz deploy run svc --yes -- --source .')
  })

  it('gcloud missing: the runner error surfaces (exit 2) after no further deploys start', async () => {
    const options = h.options({concurrency: 1, regions: ['us-central1', 'europe-west1', 'asia-east1']})
    let calls = 0
    const error = await rejectionOf(runDeploy({
      ...options,
      adapters: {
        ...options.adapters,
        async runGcloud() {
          calls++
          throw new UserError('gcloud was not found on PATH', {code: 'GCLOUD_MISSING'})
        },
      },
    }))
    expect((error as UserError).code).to.equal('GCLOUD_MISSING')
    expect(calls).to.equal(1)
  })

  it('gcloud missing before the policy step: nothing read, nothing written, exit 2', async () => {
    const options = h.options()
    const error = await rejectionOf(runDeploy({
      ...options,
      adapters: {
        ...options.adapters,
        locateGcloud() {
          throw new UserError('gcloud was not found on PATH', {code: 'GCLOUD_MISSING'})
        },
      },
    }))
    expect((error as UserError).code).to.equal('GCLOUD_MISSING')
    expect((error as UserError).exitCode).to.equal(2)
    expect(server.requests()).to.have.length(0)
    expect(h.gcloudCalls).to.have.length(0)
  })

  it('resolves the credential once: the policy client and the read of the existing service share one token provider', async () => {
    const options = h.options()
    let resolved = 0
    await runDeploy({
      ...options,
      adapters: {
        ...options.adapters,
        async tokens() {
          resolved++
          return {getToken: async () => 'test-token', source: {detail: 'test token', isUser: false, kind: 'access-token-file'}}
        },
      },
    })
    // Both were used: the existing service was read (GET …/services/svc) and the policy was read.
    expect(server.requests().some(r => r.api === 'run' && r.method === 'GET')).to.equal(true)
    expect(server.requests().some(r => r.api === 'binaryauthorization' && r.method === 'GET')).to.equal(true)
    expect(resolved).to.equal(1)
  })

  it("sends the credential's quota project as X-Goog-User-Project", async () => {
    const options = h.options()
    await runDeploy({...options, adapters: {...options.adapters, tokens: async () => ({getToken: async () => 'test-token', quotaProject: 'billing-proj', source: {detail: 'test token', isUser: false, kind: 'access-token-file'}})}})
    expect(server.requests().length).to.be.greaterThan(0)
    expect(server.requests().map(r => r.headers?.['x-goog-user-project'])).to.satisfy((values: unknown[]) => values.every(v => v === 'billing-proj'))
  })
})
