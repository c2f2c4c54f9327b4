import {expect} from 'chai'
import * as fc from 'fast-check'

import {type BuildInput, deriveBuildTargets} from '../../src/policy/build-targets.js'
import {findCoverage} from '../../src/policy/coverage.js'
import {planAllowBuilds} from '../../src/policy/plan.js'
import {judge} from '../../src/sandbox/admission.js'
import {userErrorThrownBy as userError} from '../helpers/assert.js'
import {DIGEST} from './fixtures.js'

const run = (over: Partial<BuildInput> = {}): BuildInput => ({
  containers: [{name: '', source: '.'}], existing: {}, kind: 'run', name: 'svc', project: 'p-1', regions: ['us-central1'], ...over,
})
const fn = (over: Partial<BuildInput> = {}): BuildInput => ({
  existing: {}, kind: 'function', name: 'my-fn', project: 'p-1', regions: ['us-central1'], ...over,
})
const job = (over: Partial<BuildInput> = {}): BuildInput => run({kind: 'job', name: 'j1', ...over})
const pool = (over: Partial<BuildInput> = {}): BuildInput => run({kind: 'worker-pool', name: 'pool1', ...over})
const patterns = (input: BuildInput): string[] => deriveBuildTargets(input).patterns
function allowlistOf(patterns: readonly string[]): {namePattern: string}[] {
  const out: {namePattern: string}[] = []
  for (const namePattern of patterns) out.push({namePattern})
  return out
}

describe('policy/build-targets', () => {
  describe('run (surface/run/deploy.py)', () => {
    it('first deploy: cloud-run-source-deploy per region, Google\'s REPO/**', () => {
      expect(patterns(run({regions: ['us-central1', 'asia-east1']}))).to.deep.equal([
        'us-central1-docker.pkg.dev/p-1/cloud-run-source-deploy/**', 'asia-east1-docker.pkg.dev/p-1/cloud-run-source-deploy/**',
      ])
    })

    it('neither --source nor --image: refused as gcloud 528 refuses it without a prompt ("Missing required argument [--image]")', () => {
      const primary = userError(() => deriveBuildTargets(run({containers: [{name: ''}]})))
      expect(primary.code).to.equal('GCLOUD_WOULD_REFUSE')
      expect(primary.message).to.include('Missing required argument [--image]')
      expect(primary.suggestions.join('\n')).to.include('--source .')
      const named = userError(() => deriveBuildTargets(run({containers: [{image: 'gcr.io/p-1/side:1', name: 'side'}, {name: 'app'}]})))
      expect(named.message).to.include('Container app has neither --source nor --image')
      // one container with --source and the others prebuilt is fine
      expect(patterns(run({containers: [{image: 'gcr.io/p-1/side:1', name: 'side'}, {name: 'app', source: '.'}]}))).to.have.length(1)
    })

    it('domain-scoped project: the raw project ID, as DockerRepo.GetDockerString builds it', () => {
      expect(patterns(run({project: 'example.com:proj'}))).to.deep.equal(['us-central1-docker.pkg.dev/example.com:proj/cloud-run-source-deploy/**'])
    })

    it('domain-scoped redeploy with a build-image-uri: gcloud cannot parse it, refused before any write', () => {
      const error = userError(() => deriveBuildTargets(run({
        existing: {'us-central1': {buildImageUri: 'us-central1-docker.pkg.dev/example.com:proj/cloud-run-source-deploy/svc', exists: true}},
        project: 'example.com:proj',
      })))
      expect(error.code).to.equal('GCLOUD_WOULD_REFUSE')
      expect(error.message).to.include('domain-scoped project')
    })

    it('redeploy: the build-image-uri annotation is reused; a custom repository gets only the image', () => {
      const existing = {'us-central1': {buildImageUri: 'us-central1-docker.pkg.dev/p-1/custom/svc', exists: true}}
      expect(patterns(run({existing}))).to.deep.equal(['us-central1-docker.pkg.dev/p-1/custom/svc'])
      // the annotation names the default repository of this region: Google's REPO/**
      expect(patterns(run({existing: {'us-central1': {buildImageUri: 'us-central1-docker.pkg.dev/p-1/cloud-run-source-deploy/svc', exists: true}}})))
      .to.deep.equal(['us-central1-docker.pkg.dev/p-1/cloud-run-source-deploy/**'])
      // --image wins over the annotation (_GetArtifactRegistryRepository checks container_args.image first)
      expect(patterns(run({containers: [{image: 'us-central1-docker.pkg.dev/p-1/other', name: '', source: '.'}], existing})))
      .to.deep.equal(['us-central1-docker.pkg.dev/p-1/other/svc'])
    })

    it('--source --image: the image path REPO/SERVICE whatever follows the repository; another name is refused', () => {
      const target = deriveBuildTargets(run({containers: [{image: 'europe-west1-docker.pkg.dev/shared-proj/images/svc:7', name: '', source: '.'}]})).targets[0]
      expect(target).to.deep.include({
        crossProject: true, defaultRepository: false, image: 'europe-west1-docker.pkg.dev/shared-proj/images/svc', pattern: 'europe-west1-docker.pkg.dev/shared-proj/images/svc', source: 'flag',
      })
      expect(userError(() => deriveBuildTargets(run({containers: [{image: 'us-central1-docker.pkg.dev/p-1/r/other', name: '', source: '.'}]}))).code).to.equal('INVALID_IMAGE')
    })

    it('containers: only the source container builds; prebuilt images are listed; two builders are refused', () => {
      const targets = deriveBuildTargets(run({containers: [{name: 'app', source: '.'}, {image: 'gcr.io/p/side:1', name: 'side'}]}))
      expect(targets.patterns).to.deep.equal(['us-central1-docker.pkg.dev/p-1/cloud-run-source-deploy/**'])
      expect(targets.prebuilt).to.deep.equal([{container: 'side', image: 'gcr.io/p/side:1'}])
      expect(deriveBuildTargets(run({containers: [{image: 'gcr.io/p/a', name: 'a'}, {image: 'gcr.io/p/b', name: 'b'}]}))).to.deep.equal({
        patterns: [], prebuilt: [{container: 'a', image: 'gcr.io/p/a'}, {container: 'b', image: 'gcr.io/p/b'}], targets: [],
      })
      expect(userError(() => deriveBuildTargets(run({containers: [{name: 'a'}, {name: 'b', source: '.'}]}))).message).to.include('neither --image nor --source')
    })
  })

  describe('jobs and worker pools (surface/run/jobs/deploy.py, surface/run/worker_pools/deploy.py)', () => {
    for (const [label, make, name] of [['job', job, 'j1'], ['worker pool', pool, 'pool1']] as const) {
      it(`${label}: first deploy and redeploy alike build into cloud-run-source-deploy of each region`, () => {
        const first = deriveBuildTargets(make({regions: ['us-central1', 'asia-east1']}))
        expect(first.patterns).to.deep.equal([
          'us-central1-docker.pkg.dev/p-1/cloud-run-source-deploy/**', 'asia-east1-docker.pkg.dev/p-1/cloud-run-source-deploy/**',
        ])
        expect(first.targets.map(t => [t.image, t.source])).to.deep.equal([
          [`us-central1-docker.pkg.dev/p-1/cloud-run-source-deploy/${name}`, 'default'], [`asia-east1-docker.pkg.dev/p-1/cloud-run-source-deploy/${name}`, 'default'],
        ])
        // gcloud reads nothing of the existing resource for the build: a stored build image changes nothing.
        const again = deriveBuildTargets(make({existing: {'us-central1': {buildImageUri: 'us-central1-docker.pkg.dev/p-1/custom/x', exists: true}}}))
        expect(again.patterns).to.deep.equal(['us-central1-docker.pkg.dev/p-1/cloud-run-source-deploy/**'])
      })

      it(`${label}: a plain --image builds nothing and is judged as prebuilt; --source with --image is refused (mutex group)`, () => {
        const image = 'us-docker.pkg.dev/cloudrun/container/job:latest'
        expect(deriveBuildTargets(make({containers: [{image, name: ''}]}))).to.deep.equal({patterns: [], prebuilt: [{container: '', image}], targets: []})
        expect(userError(() => deriveBuildTargets(make({containers: [{image, name: '', source: '.'}]}))).code).to.equal('GCLOUD_WOULD_REFUSE')
      })

      it(`${label}: --container groups — two to build are refused; all prebuilt are judged`, () => {
        expect(userError(() => deriveBuildTargets(make({containers: [{name: 'a', source: '.'}, {name: 'b'}]}))).code).to.equal('GCLOUD_WOULD_REFUSE')
        const all = deriveBuildTargets(make({containers: [{image: 'gcr.io/x/a', name: 'a'}, {image: 'gcr.io/x/b', name: 'b'}]}))
        expect(all).to.deep.equal({patterns: [], prebuilt: [{container: 'a', image: 'gcr.io/x/a'}, {container: 'b', image: 'gcr.io/x/b'}], targets: []})
      })
    }
  })

  it('job from source with a sidecar: refused (gcloud 528 crashes after the build: serverless_operations.py _AddDigestToImageChange)', () => {
    const containers = [{name: 'app', source: '.'}, {image: 'gcr.io/x/side', name: 'side'}]
    expect(userError(() => deriveBuildTargets(run({containers, kind: 'job', name: 'j1'}))).code).to.equal('GCLOUD_WOULD_REFUSE')
    // Worker pools name the source container (build_from_source_container_name): one builds, the sidecar is prebuilt.
    const pool = deriveBuildTargets(run({containers, kind: 'worker-pool', name: 'pool1'}))
    expect(pool.patterns).to.deep.equal(['us-central1-docker.pkg.dev/p-1/cloud-run-source-deploy/**'])
    expect(pool.prebuilt).to.deep.equal([{container: 'side', image: 'gcr.io/x/side'}])
  })

  describe('functions (command_lib/functions/v2/deploy/command.py)', () => {
    it('gcf-artifacts by default; domain-scoped projects as Artifact Registry spells them', () => {
      expect(patterns(fn())).to.deep.equal(['us-central1-docker.pkg.dev/p-1/gcf-artifacts/**'])
      expect(patterns(fn({project: 'example.com:proj'}))).to.deep.equal(['us-central1-docker.pkg.dev/example.com/proj/gcf-artifacts/**'])
    })

    it('the existing dockerRepository is kept, unless --docker-repository or --clear-docker-repository', () => {
      const existing = {'us-central1': {dockerRepository: 'projects/p-1/locations/us-central1/repositories/fn-repo', exists: true}}
      expect(patterns(fn({existing}))).to.deep.equal(['us-central1-docker.pkg.dev/p-1/fn-repo/p--1__us--central1__my--fn'])
      expect(patterns(fn({clearDockerRepository: true, existing}))).to.deep.equal(['us-central1-docker.pkg.dev/p-1/gcf-artifacts/**'])
      expect(patterns(fn({dockerRepository: 'us-central1-docker.pkg.dev/p-1/other', existing}))).to.deep.equal(['us-central1-docker.pkg.dev/p-1/other/p--1__us--central1__my--fn'])
    })
  })

  it('an administrator\'s narrower entry that admits every image the build pushes counts as covering, and is kept', () => {
    const [target] = deriveBuildTargets(run()).targets
    if (target === undefined) throw new Error('no target')
    const policy = {admissionWhitelistPatterns: [{namePattern: 'us-central1-docker.pkg.dev/p-1/cloud-run-source-deploy/svc'}]}
    const plan = planAllowBuilds(policy, [target])
    expect(plan.changed).to.equal(false)
    expect(plan.alreadyCovered).to.deep.equal([{
      coverage: {by: {kind: 'pattern', pattern: 'us-central1-docker.pkg.dev/p-1/cloud-run-source-deploy/svc'}, covered: true},
      pattern: 'us-central1-docker.pkg.dev/p-1/cloud-run-source-deploy/**',
    }])
    // a tag-only entry does not: the build deploys by digest
    expect(planAllowBuilds({admissionWhitelistPatterns: [{namePattern: `${target.image}:latest`}]}, [target]).added).to.deep.equal([target.pattern])
  })

  describe('"covered" is sound under Google\'s rules (the sandbox judge as the oracle)', () => {
    const deploys = fc.oneof(
      fc.record({
        custom: fc.boolean(), kind: fc.constant('run' as const), name: fc.constantFrom('svc', 'sv', 'svc-2'), region: fc.constantFrom('us-central1', 'europe-west1'),
      }),
      fc.record({
        custom: fc.boolean(), kind: fc.constant('function' as const), name: fc.constantFrom('fn', 'f-n'), region: fc.constantFrom('us-central1', 'europe-west1'),
      }),
    )
    // Entries an administrator may already have: around the repositories and images the builds use.
    const entries = fc.array(fc.tuple(
      fc.constantFrom('us-central1-docker.pkg.dev/p-1', 'europe-west1-docker.pkg.dev/p-1', 'us-central1-docker.pkg.dev/p'),
      fc.constantFrom('', '/cloud-run-source-deploy', '/gcf-artifacts', '/custom', '/cus'),
      fc.constantFrom('', '/svc', '/sv', '/p--1__us--central1__fn', '/p--1__europe--west1__f--n', '/svc:latest'),
      fc.constantFrom('', '*', '**', '/**', '/*'),
    ).map(parts => parts.join('')), {maxLength: 3})

    it('covered ⇒ every image the build can push (tags and digests) is admitted', () => {
      fc.assert(fc.property(deploys, entries, (deploy, existing) => {
        const input: BuildInput = deploy.kind === 'run'
          ? run({containers: [{name: '', source: '.', ...(deploy.custom ? {image: `${deploy.region}-docker.pkg.dev/p-1/custom`} : {})}], name: deploy.name, regions: [deploy.region]})
          : fn({...(deploy.custom ? {dockerRepository: `projects/p-1/locations/${deploy.region}/repositories/custom`} : {}), name: deploy.name, regions: [deploy.region]})
        const [target] = deriveBuildTargets(input).targets
        if (target === undefined) throw new Error('no target')
        const policy = {
          admissionWhitelistPatterns: allowlistOf(existing),
          defaultAdmissionRule: {enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG', evaluationMode: 'ALWAYS_DENY'},
        }
        const pushed = [`${target.image}@${DIGEST}`, `${target.image}:latest`, `${target.image}:version_3`]
        // The entry the plan would add admits them all.
        expect(judge({...policy, admissionWhitelistPatterns: [{namePattern: target.pattern}]}, pushed).admitted, target.pattern).to.equal(true)
        if (findCoverage(policy, target.pattern).covered) {
          expect(judge(policy, pushed).admitted, `${existing.join(', ')} said to cover ${target.pattern}`).to.equal(true)
        }

        // The planner's "covered" (by the image the build pushes, possibly through a narrower entry) is sound too.
        if (planAllowBuilds(policy, [target]).added.length === 0) {
          expect(judge(policy, pushed).admitted, `${existing.join(', ')} said to admit ${target.image}`).to.equal(true)
        }
      }), {numRuns: 3000})
    })
  })
})
