// The sandbox's judge against Google's documented Binary Authorization semantics. Every case quotes (verbatim, in
// `doc`) the sentence of Google's documentation it comes from; each group names its page once. Where the docs are
// silent the case says so in `note` and expects the strictest reading (a denial).
import {expect} from 'chai'
import {readFileSync, rmSync} from 'node:fs'

import type {SandboxContext} from '../../src/sandbox/api.js'
import type {Policy} from '../../src/sandbox/policy-model.js'

import {
  admitImages, AUDIT_LOG_FILE, denialText, judge, parseImageReference, patternMatches,
} from '../../src/sandbox/admission.js'
import {currentPolicy, seedPolicy} from '../../src/sandbox/binauthz.js'
import {
  DEFAULT_FAULTS, type Sandbox, SandboxState, startSandbox,
} from '../../src/sandbox/index.js'
import {DEFAULT_IDENTITY} from '../../src/sandbox/state.js'
import {tempDir} from '../helpers/tmp.js'
import {at, call} from './client.js'

const DIGEST = 'sha256:77b0b75136b9bd0fd36fb50f4c92ae0dbdbbe164ab67885e736fa4374e0cbb8c'
const OTHER_DIGEST = `sha256:${'0'.repeat(64)}`
const ENFORCED = 'ENFORCED_BLOCK_AND_AUDIT_LOG'
const DRY_RUN = 'DRYRUN_AUDIT_LOG_ONLY'

interface Case {
  /** Expected decision for the whole deploy. */
  admitted: boolean
  /** Expected first denied image (default: the first image, when denied). */
  deniedImage?: string
  /** The documentation sentence the case comes from, quoted verbatim. */
  doc: string
  /** Expected dry-run flag of each image's verdict. */
  dryRun?: boolean[]
  images: string[]
  name: string
  /** Why the expectation is the strictest reading, where the docs are silent. */
  note?: string
  /** Allowlist patterns (default none). */
  patterns?: string[]
  /** The policy's other fields (default: defaultAdmissionRule ALWAYS_DENY, enforced; no system policy). */
  policy?: Policy
}

interface Group {
  cases: Case[]
  title: string
  url: string
}

const DENY_ALL: Policy = {defaultAdmissionRule: {enforcementMode: ENFORCED, evaluationMode: 'ALWAYS_DENY'}}

function policyOf(c: Case): Policy {
  return {
    ...(c.policy ?? DENY_ALL),
    ...(c.patterns ? {admissionWhitelistPatterns: c.patterns.map(namePattern => ({namePattern}))} : {}),
  }
}

const YAML_SINGLE = 'Replace MATCHING_PATTERN with either a path to a single image or a matching pattern containing one of the wildcard symbols ( * , ** ).'
const YAML_STAR = 'For example, gcr.io/my-project/nginx* matches gcr.io/my-project/nginx:latest , but not gcr.io/my-project/nginx-images/nginx .'
const YAML_STARSTAR = 'For example, the path gcr.io/my-project/nginx** matches gcr.io/my-project/nginx-1.14.2/image:latest .'
const REST_FORM = 'An image name pattern to allowlist, in the form registry/path/to/image.'
const V1BETA1_STAR = '* wildcard does not match /, i.e., gcr.io/nginx* matches gcr.io/nginx@latest, but it does not match gcr.io/nginx/image.'

const GROUPS: Group[] = [
  {
    cases: [
      {
        admitted: true,
        doc: 'To allowlist a specific image:',
        images: ['gcr.io/example-project/helloworld'],
        name: 'exact match',
        patterns: ['gcr.io/example-project/helloworld'],
      },
      {
        admitted: true,
        doc: 'To allowlist a specific image:',
        images: ['gcr.io/example-project/helloworld:latest'],
        name: 'a pattern naming the image covers a tagged reference of it',
        patterns: ['gcr.io/example-project/helloworld'],
      },
      {
        admitted: true,
        doc: 'To allowlist a specific image:',
        images: [`gcr.io/example-project/helloworld@${DIGEST}`],
        name: 'a pattern naming the image covers a digest reference of it',
        patterns: ['gcr.io/example-project/helloworld'],
      },
      {
        admitted: false,
        doc: YAML_SINGLE,
        images: ['gcr.io/example-project/helloworld-other:1'],
        name: 'a pattern without wildcard is not a prefix: repo does not match repo-other',
        patterns: ['gcr.io/example-project/helloworld'],
      },
      {
        admitted: false,
        doc: YAML_SINGLE,
        images: ['gcr.io/example-project/helloworld/worker:1'],
        name: 'a pattern without wildcard does not cover images below it',
        patterns: ['gcr.io/example-project/helloworld'],
      },
      {
        admitted: true,
        doc: 'To allowlist a currently-tagged version:',
        images: ['gcr.io/example-project/helloworld:my-tag'],
        name: 'a tag pattern matches that tag',
        patterns: ['gcr.io/example-project/helloworld:my-tag'],
      },
      {
        admitted: false,
        doc: 'To allowlist a currently-tagged version:',
        images: ['gcr.io/example-project/helloworld:other-tag'],
        name: 'a tag pattern does not match another tag',
        patterns: ['gcr.io/example-project/helloworld:my-tag'],
      },
      {
        admitted: false,
        doc: 'To allowlist a currently-tagged version:',
        images: [`gcr.io/example-project/helloworld@${DIGEST}`],
        name: 'a tag pattern does not match a digest-only reference',
        patterns: ['gcr.io/example-project/helloworld:latest'],
      },
      {
        admitted: false,
        doc: 'To allowlist a currently-tagged version:',
        images: [`gcr.io/example-project/helloworld:latest@${DIGEST}`],
        name: 'a tag pattern does not match TAG@DIGEST',
        note: 'Silent: whether :tag covers NAME:tag@sha256:...; the digest pins content the tag may no longer name, so the strictest reading denies.',
        patterns: ['gcr.io/example-project/helloworld:latest'],
      },
      {
        admitted: true,
        doc: 'To allowlist a currently-tagged version:',
        images: ['gcr.io/example-project/helloworld:v1.2'],
        name: 'a trailing * inside a tag (helloworld:v1.*) matches v1.2',
        patterns: ['gcr.io/example-project/helloworld:v1.*'],
      },
      {
        admitted: false,
        doc: 'To allowlist a currently-tagged version:',
        images: ['gcr.io/example-project/helloworld:v2.0'],
        name: 'helloworld:v1.* does not match v2.0',
        patterns: ['gcr.io/example-project/helloworld:v1.*'],
      },
      {
        admitted: true,
        doc: 'To allowlist a specific version of an image by its digest:',
        images: [`gcr.io/example-project/helloworld@${DIGEST}`],
        name: 'a digest pattern matches that digest',
        patterns: [`gcr.io/example-project/helloworld@${DIGEST}`],
      },
      {
        admitted: false,
        doc: 'To allowlist a specific version of an image by its digest:',
        images: [`gcr.io/example-project/helloworld@${OTHER_DIGEST}`],
        name: 'a digest pattern does not match another digest',
        patterns: [`gcr.io/example-project/helloworld@${DIGEST}`],
      },
      {
        admitted: true,
        doc: YAML_STAR,
        images: ['gcr.io/my-project/nginx:latest'],
        name: 'trailing * matches the tagged image in the same directory',
        patterns: ['gcr.io/my-project/nginx*'],
      },
      {
        admitted: false,
        doc: YAML_STAR,
        images: ['gcr.io/my-project/nginx-images/nginx'],
        name: 'trailing * does not cross "/"',
        patterns: ['gcr.io/my-project/nginx*'],
      },
      {
        admitted: true,
        doc: 'The * wildcard only matches images in the specified directory.',
        images: [`gcr.io/my-project/nginx-proxy@${DIGEST}`],
        name: 'trailing * lets the pattern be a prefix of a longer name in the same directory',
        patterns: ['gcr.io/my-project/nginx*'],
      },
      {
        admitted: true,
        doc: 'To allowlist all container images whose registry location matches the specified path:',
        images: ['gcr.io/example-project/helloworld:latest'],
        name: 'directory/* matches an image in that directory',
        patterns: ['gcr.io/example-project/*'],
      },
      {
        admitted: false,
        doc: 'The * wildcard only matches images in the specified directory.',
        images: ['gcr.io/example-project/team/app:1'],
        name: 'directory/* does not match an image in a subdirectory',
        patterns: ['gcr.io/example-project/*'],
      },
      {
        admitted: true,
        doc: YAML_STARSTAR,
        images: ['gcr.io/my-project/nginx-1.14.2/image:latest'],
        name: 'trailing ** crosses "/"',
        patterns: ['gcr.io/my-project/nginx**'],
      },
      {
        admitted: true,
        doc: 'To allowlist images in subdirectories of a given path:',
        images: [`gcr.io/example-project/team/app@${DIGEST}`],
        name: 'directory/** matches any depth below it',
        patterns: ['gcr.io/example-project/**'],
      },
      {
        admitted: true,
        doc: 'For example, the path gcr.io/my-project** , allows images in both gcr.io/my-project/nginx and gcr.io/my-project-exploit/nginx-exploit to be deployed.',
        images: ['gcr.io/my-project-exploit/nginx-exploit'],
        name: 'project** (no slash) also matches another project whose id starts the same',
        patterns: ['gcr.io/my-project**'],
      },
      {
        admitted: false,
        doc: 'Note that wildcards are valid only at the end of the pattern.',
        images: ['gcr.io/my-project/nginx'],
        name: 'a wildcard inside the pattern (n*x) matches nothing',
        note: 'Silent: what a stored invalid pattern does (the service refuses it); strictest reading, it exempts nothing.',
        patterns: ['gcr.io/my-project/n*x'],
      },
      {
        admitted: true,
        doc: 'The following example adds registries containing commonly used Google Kubernetes Engine (GKE) images, an image located at gcr.io/example-project/helloworld , and a local reference to an image, to the list of exempt images for the policy:',
        images: ['loc-ref'],
        name: 'a local reference matches itself',
        patterns: ['loc-ref'],
      },
    ],
    title: 'allowlist patterns (Policy YAML reference)',
    url: 'https://cloud.google.com/binary-authorization/docs/policy-yaml-reference',
  },
  {
    cases: [
      {
        admitted: false,
        doc: REST_FORM,
        images: ['us.gcr.io/example-project/app:1'],
        name: 'registry host differs (gcr.io vs us.gcr.io): no match',
        note: 'Silent on registry aliases; the strictest reading compares the registry literally.',
        patterns: ['gcr.io/example-project/**'],
      },
      {
        admitted: false,
        doc: REST_FORM,
        images: [`europe-west1-docker.pkg.dev/p/cloud-run-source-deploy/svc@${DIGEST}`],
        name: 'Artifact Registry region differs: no match',
        patterns: ['us-central1-docker.pkg.dev/p/cloud-run-source-deploy/**'],
      },
      {
        admitted: false,
        doc: 'This supports a trailing * wildcard, but this is allowed only in text after the registry/ part.',
        images: ['us.gcr.io/p/app'],
        name: 'a wildcard in the registry part matches nothing',
        patterns: ['*.gcr.io/p/app'],
      },
    ],
    title: 'namePattern field reference (AdmissionWhitelistPattern, v1)',
    url: 'https://cloud.google.com/python/docs/reference/binaryauthorization/latest/google.cloud.binaryauthorization_v1.types.AdmissionWhitelistPattern',
  },
  {
    cases: [
      {
        admitted: true,
        doc: V1BETA1_STAR,
        images: ['gcr.io/nginx@latest'],
        name: 'v1beta1 example: gcr.io/nginx* matches gcr.io/nginx@latest',
        patterns: ['gcr.io/nginx*'],
      },
      {
        admitted: false,
        doc: V1BETA1_STAR,
        images: ['gcr.io/nginx/image'],
        name: 'v1beta1 example: gcr.io/nginx* does not match gcr.io/nginx/image',
        patterns: ['gcr.io/nginx*'],
      },
      {
        admitted: true,
        doc: 'This also supports a trailing ** wildcard which matches subdirectories, i.e., gcr.io/nginx** matches gcr.io/nginx/image.',
        images: ['gcr.io/nginx/image'],
        name: 'v1beta1 example: gcr.io/nginx** matches gcr.io/nginx/image',
        patterns: ['gcr.io/nginx**'],
      },
    ],
    title: 'namePattern field reference (AdmissionWhitelistPattern, v1beta1 examples)',
    url: 'https://cloud.google.com/python/docs/reference/binaryauthorization/latest/google.cloud.binaryauthorization_v1beta1.types.AdmissionWhitelistPattern',
  },
  {
    cases: [
      {
        admitted: true,
        doc: 'To deploy functions in Cloud Run, the Binary Authorization policy administrator must configure a Binary Authorization policy using allowlist patterns to exempt all images from the specified repository and its subdirectories.',
        images: [`us-central1-docker.pkg.dev/my-proj/cloud-run-source-deploy/hello@${DIGEST}`],
        name: 'cloud-run-source-deploy/** admits a source-deployed image by digest',
        patterns: ['us-central1-docker.pkg.dev/my-proj/cloud-run-source-deploy/**'],
      },
      {
        admitted: true,
        doc: 'To deploy functions in Cloud Run, the Binary Authorization policy administrator must configure a Binary Authorization policy using allowlist patterns to exempt all images from the specified repository and its subdirectories.',
        images: ['us-central1-docker.pkg.dev/my-proj/gcf-artifacts/my--proj__us--central1__fn:version_1'],
        name: 'gcf-artifacts/** admits a Cloud Functions v2 image',
        patterns: ['us-central1-docker.pkg.dev/my-proj/gcf-artifacts/**'],
      },
      {
        admitted: false,
        doc: 'To deploy functions in Cloud Run, the Binary Authorization policy administrator must configure a Binary Authorization policy using allowlist patterns to exempt all images from the specified repository and its subdirectories.',
        images: ['us-central1-docker.pkg.dev/my-proj/cloud-run-source-deploy-other/hello:1'],
        name: 'REPO/** does not admit REPO-other (the "/" is part of the pattern)',
        patterns: ['us-central1-docker.pkg.dev/my-proj/cloud-run-source-deploy/**'],
      },
    ],
    title: 'Cloud Run allowlists',
    url: 'https://cloud.google.com/run/docs/securing/binary-authorization',
  },
  {
    cases: [
      {
        admitted: true,
        doc: 'ALWAYS_ALLOW : Always allow deployment of images evaluated by this rule',
        images: ['gcr.io/anything/at-all:1'],
        name: 'ALWAYS_ALLOW admits without an allowlist',
        policy: {defaultAdmissionRule: {enforcementMode: ENFORCED, evaluationMode: 'ALWAYS_ALLOW'}},
      },
      {
        admitted: false,
        doc: 'ALWAYS_DENY : Always deny deployment of images evaluated by this rule',
        images: ['gcr.io/anything/at-all:1'],
        name: 'ALWAYS_DENY without a matching allowlist entry denies',
        patterns: ['gcr.io/something-else/**'],
      },
      {
        admitted: false,
        doc: 'REQUIRE_ATTESTATION : Require one or more attestors to authorize the release before deployment',
        images: ['gcr.io/p/app:1'],
        name: 'REQUIRE_ATTESTATION denies (the sandbox has no attestations)',
        policy: {
          defaultAdmissionRule: {enforcementMode: ENFORCED, evaluationMode: 'REQUIRE_ATTESTATION', requireAttestationsBy: ['projects/p/attestors/secure-build']},
        },
      },
      {
        admitted: false,
        doc: 'ENFORCED_BLOCK_AND_AUDIT_LOG : Blocks deployment and writes to the audit log.',
        images: ['gcr.io/p/app:1'],
        name: 'ENFORCED_BLOCK_AND_AUDIT_LOG blocks a violation',
      },
      {
        admitted: true,
        doc: 'DRYRUN_AUDIT_LOG_ONLY : Allows deployment of non-conformant images and writes details about the violation to the audit log.',
        dryRun: [true],
        images: ['gcr.io/p/app:1'],
        name: 'DRYRUN_AUDIT_LOG_ONLY admits an ALWAYS_DENY violation and flags it',
        policy: {defaultAdmissionRule: {enforcementMode: DRY_RUN, evaluationMode: 'ALWAYS_DENY'}},
      },
      {
        admitted: true,
        doc: 'DRYRUN_AUDIT_LOG_ONLY : Allows deployment of non-conformant images and writes details about the violation to the audit log.',
        dryRun: [true],
        images: ['gcr.io/p/app:1'],
        name: 'DRYRUN_AUDIT_LOG_ONLY admits a missing attestation too',
        policy: {
          defaultAdmissionRule: {enforcementMode: DRY_RUN, evaluationMode: 'REQUIRE_ATTESTATION', requireAttestationsBy: ['projects/p/attestors/a']},
        },
      },
      {
        admitted: false,
        doc: 'The rule to use when no specific rule applies.',
        images: ['gcr.io/p/app:1'],
        name: 'a policy without defaultAdmissionRule denies',
        note: 'The node is "Required"; silent on enforcing a policy without it. Strictest reading: deny.',
        policy: {globalPolicyEvaluationMode: 'DISABLE'},
      },
      {
        admitted: false,
        doc: 'The rule to use when no specific rule applies.',
        images: ['gcr.io/p/app:1'],
        name: 'a cluster-specific rule does not apply to a Cloud Run deploy',
        policy: {
          clusterAdmissionRules: {'us-central1.prod': {enforcementMode: ENFORCED, evaluationMode: 'ALWAYS_ALLOW'}},
          defaultAdmissionRule: {enforcementMode: ENFORCED, evaluationMode: 'ALWAYS_DENY'},
        },
      },
    ],
    title: 'admission rules (ADMISSION_RULE in the Policy YAML reference)',
    url: 'https://cloud.google.com/binary-authorization/docs/policy-yaml-reference',
  },
  {
    cases: [
      {
        admitted: true,
        doc: 'Images matching an admission allowlist pattern are exempted from admission rules and will never block a pod creation.',
        images: ['gcr.io/p/app:1'],
        name: 'ALWAYS_DENY with a matching allowlist entry admits',
        patterns: ['gcr.io/p/*'],
      },
      {
        admitted: true,
        doc: 'Images matching an admission allowlist pattern are exempted from admission rules and will never block a pod creation.',
        images: ['gcr.io/p/app:1'],
        name: 'REQUIRE_ATTESTATION with a matching allowlist entry admits',
        patterns: ['gcr.io/p/**'],
        policy: {defaultAdmissionRule: {enforcementMode: ENFORCED, evaluationMode: 'REQUIRE_ATTESTATION', requireAttestationsBy: ['projects/p/attestors/a']}},
      },
      {
        admitted: false,
        doc: 'EVALUATION_MODE_UNSPECIFIED: Do not use.',
        images: ['gcr.io/p/app:1'],
        name: 'an unspecified evaluationMode denies',
        note: 'Strictest reading of a mode the API says not to use.',
        policy: {defaultAdmissionRule: {enforcementMode: ENFORCED, evaluationMode: 'EVALUATION_MODE_UNSPECIFIED'}},
      },
      {
        admitted: false,
        deniedImage: 'gcr.io/other/sidecar:1',
        doc: 'REQUIRE_ATTESTATION: This rule allows a pod creation if all the attestors listed in `require_attestations_by` have valid attestations for all of the images in the pod spec.',
        images: [`us-central1-docker.pkg.dev/p/cloud-run-source-deploy/app@${DIGEST}`, 'gcr.io/other/sidecar:1'],
        name: 'multiple images: an allowlisted main container and a denied sidecar deny the deploy',
        patterns: ['us-central1-docker.pkg.dev/p/cloud-run-source-deploy/**'],
      },
      {
        admitted: true,
        doc: 'REQUIRE_ATTESTATION: This rule allows a pod creation if all the attestors listed in `require_attestations_by` have valid attestations for all of the images in the pod spec.',
        images: [`us-central1-docker.pkg.dev/p/cloud-run-source-deploy/app@${DIGEST}`, 'gcr.io/other/sidecar:1'],
        name: 'multiple images: every image allowlisted admits',
        patterns: ['us-central1-docker.pkg.dev/p/cloud-run-source-deploy/**', 'gcr.io/other/sidecar'],
      },
    ],
    title: 'AdmissionRule and EvaluationMode (REST reference)',
    url: 'https://cloud.google.com/binary-authorization/docs/reference/rest/Shared.Types/AdmissionRule',
  },
  {
    cases: [
      {
        admitted: true,
        doc: 'The system policy is provided by Google and exempts a list of Google-maintained system images from further policy evaluation.',
        images: ['gcr.io/google-containers/pause:3.9'],
        name: 'ENABLE exempts a Google-maintained system image under ALWAYS_DENY',
        policy: {...DENY_ALL, globalPolicyEvaluationMode: 'ENABLE'},
      },
      {
        admitted: false,
        doc: 'Note: If you disable globalPolicyEvaluationMode , the paths gcr.io/google-containers/* , k8s.gcr.io/** , gke.gcr.io/* , gcr.io/gke-release/someproject/* , and gcr.io/stackdriver-agents/* must be included in the admissionWhitelistPatterns allowlist, as they contain Google Cloud resources required by GKE to start a cluster successfully.',
        images: ['gcr.io/google-containers/pause:3.9'],
        name: 'DISABLE does not exempt it',
        policy: {...DENY_ALL, globalPolicyEvaluationMode: 'DISABLE'},
      },
    ],
    title: 'globalPolicyEvaluationMode (Policy YAML reference)',
    url: 'https://cloud.google.com/binary-authorization/docs/policy-yaml-reference',
  },
  {
    cases: [
      {
        admitted: false,
        doc: 'GLOBAL_POLICY_EVALUATION_MODE_UNSPECIFIED: Not specified: `DISABLE` is assumed.',
        images: ['gcr.io/google-containers/pause:3.9'],
        name: 'no globalPolicyEvaluationMode: DISABLE is assumed',
      },
      {
        admitted: true,
        doc: 'Images not covered by the global policy will be subject to the project admission policy.',
        images: ['us-central1-docker.pkg.dev/p/cloud-run-source-deploy/app:1'],
        name: 'ENABLE leaves user images to the project policy (ALWAYS_ALLOW admits)',
        policy: {defaultAdmissionRule: {enforcementMode: ENFORCED, evaluationMode: 'ALWAYS_ALLOW'}, globalPolicyEvaluationMode: 'ENABLE'},
      },
      {
        admitted: false,
        doc: 'Images not covered by the global policy will be subject to the project admission policy.',
        images: ['us-central1-docker.pkg.dev/p/cloud-run-source-deploy/app:1'],
        name: 'ENABLE does not exempt a user repository (ALWAYS_DENY denies)',
        policy: {...DENY_ALL, globalPolicyEvaluationMode: 'ENABLE'},
      },
    ],
    title: 'Policy.globalPolicyEvaluationMode (REST reference)',
    url: 'https://cloud.google.com/binary-authorization/docs/reference/rest/Shared.Types/Policy',
  },
  {
    cases: [
      {
        admitted: true,
        doc: 'When you enable dry-run mode, Binary Authorization allows all container images to be deployed, even if those images violate the Binary Authorization policy.',
        dryRun: [false, true],
        images: ['gcr.io/p/allowlisted:1', 'gcr.io/q/violating:1'],
        name: 'dry run admits a deploy mixing an exempt and a violating image (only the violation is flagged)',
        patterns: ['gcr.io/p/**'],
        policy: {defaultAdmissionRule: {enforcementMode: DRY_RUN, evaluationMode: 'ALWAYS_DENY'}},
      },
    ],
    title: 'dry-run mode',
    url: 'https://cloud.google.com/binary-authorization/docs/enabling-dry-run',
  },
  {
    cases: [
      {
        admitted: false,
        deniedImage: 'docker.io/library/nginx:1.27',
        doc: 'If the new revision does not conform to the policy, the deployment will fail.',
        images: [`us-central1-docker.pkg.dev/p/cloud-run-source-deploy/app@${DIGEST}`, 'docker.io/library/nginx:1.27'],
        name: 'a revision whose proxy sidecar is not allowlisted fails',
        patterns: ['us-central1-docker.pkg.dev/p/cloud-run-source-deploy/**', 'nginx'],
      },
    ],
    title: 'Cloud Run services',
    url: 'https://cloud.google.com/binary-authorization/docs/run/overview',
  },
]

function contextFor(dir: string): SandboxContext {
  return {
    baseUrl: 'http://127.0.0.1:1',
    faults: DEFAULT_FAULTS,
    identity: DEFAULT_IDENTITY,
    now: () => new Date('2026-01-01T00:00:00Z'),
    signingKey: 'test-signing-key',
    state: new SandboxState(dir),
  }
}

describe('sandbox admission (the independent judge)', () => {
  let dir: string
  let ctx: SandboxContext

  beforeEach(() => {
    dir = tempDir('binauthz-judge-')
    ctx = contextFor(dir)
  })

  afterEach(() => {
    rmSync(dir, {force: true, recursive: true})
  })

  it('has at least 30 documented cases, each quoting its sentence', () => {
    const cases = GROUPS.flatMap(g => g.cases)
    expect(cases.length).to.be.at.least(30)
    for (const group of GROUPS) expect(group.url).to.match(/^https:\/\/cloud\.google\.com\//)
    for (const c of cases) expect(c.doc.length, c.name).to.be.greaterThan(10)
  })

  for (const group of GROUPS) {
    describe(`${group.title} <${group.url}>`, () => {
      for (const c of group.cases) {
        it(`${c.name}: ${c.admitted ? 'admitted' : 'denied'}`, () => {
          const policy = policyOf(c)
          const pure = judge(policy, c.images)
          expect(pure.admitted, `${c.doc}${c.note ? ` [${c.note}]` : ''}`).to.equal(c.admitted)
          expect(pure.verdicts.map(v => v.image)).to.deep.equal(c.images)
          if (c.admitted) {
            expect(pure.deniedImage).to.equal(undefined)
          } else {
            expect(pure.deniedImage).to.equal(c.deniedImage ?? c.images[0])
            expect(pure.reason).to.be.a('string').and.not.equal('')
          }

          if (c.dryRun !== undefined) expect(pure.verdicts.map(v => v.dryRun === true)).to.deep.equal(c.dryRun)
          // Through the exported entry point too: the stored policy, read back the way the API serves it.
          seedPolicy(ctx, policy)
          const served = admitImages(ctx, c.images)
          expect({admitted: served.admitted, deniedImage: served.deniedImage}).to.deep.equal({admitted: pure.admitted, deniedImage: pure.deniedImage})
        })
      }
    })
  }

  describe('details', () => {
    it('evaluates every image, sidecars included, even after a denial', () => {
      const decision = judge(DENY_ALL, ['gcr.io/a/one:1', 'gcr.io/b/two:1', 'gcr.io/c/three:1'])
      expect(decision.verdicts.map(v => [v.image, v.admitted])).to.deep.equal([
        ['gcr.io/a/one:1', false],
        ['gcr.io/b/two:1', false],
        ['gcr.io/c/three:1', false],
      ])
      expect(decision.deniedImage).to.equal('gcr.io/a/one:1')
      expect(decision.auditLog).to.have.length(3)
    })

    it('names what decided: allowlist pattern, system policy, or the default rule', () => {
      const decision = judge(
        {...DENY_ALL, admissionWhitelistPatterns: [{namePattern: 'gcr.io/p/**'}], globalPolicyEvaluationMode: 'ENABLE'},
        ['gcr.io/p/app:1', 'k8s.gcr.io/kube-proxy:v1', 'gcr.io/q/app:1'],
      )
      expect(decision.verdicts.map(v => [v.decidedBy, v.matchedPattern])).to.deep.equal([
        ['allowlist', 'gcr.io/p/**'],
        ['systemPolicy', 'k8s.gcr.io/**'],
        ['defaultAdmissionRule', undefined],
      ])
    })

    it('refuses a deploy that names no image, and an empty, blank or malformed image reference', () => {
      expect(judge(DENY_ALL, []).admitted).to.equal(false)
      const allowAll: Policy = {defaultAdmissionRule: {enforcementMode: ENFORCED, evaluationMode: 'ALWAYS_ALLOW'}}
      expect(judge(allowAll, []).admitted).to.equal(false)
      expect(judge(allowAll, ['']).admitted).to.equal(false)
      expect(judge(allowAll, ['gcr.io/p/app :1']).admitted).to.equal(false)
      for (const malformed of ['gcr.io/p/app:', 'gcr.io/p/app@', 'gcr.io/p/', 'gcr.io//app', '/app']) {
        expect(judge(allowAll, [malformed]).verdicts[0], malformed).to.include({admitted: false, decidedBy: 'image'})
      }
    })

    it('ignores malformed allowlist entries (they exempt nothing) without throwing', () => {
      const policy = {...DENY_ALL, admissionWhitelistPatterns: [{namePattern: 42}, 'gcr.io/p/**', {}]} as unknown as Policy
      expect(judge(policy, ['gcr.io/p/app:1']).admitted).to.equal(false)
    })

    it('treats an unknown enforcementMode as enforced', () => {
      const policy: Policy = {defaultAdmissionRule: {enforcementMode: 'ENFORCEMENT_MODE_UNSPECIFIED', evaluationMode: 'ALWAYS_DENY'}}
      expect(judge(policy, ['gcr.io/p/app:1']).admitted).to.equal(false)
    })

    it('splits references as Docker does (a registry port is not a tag)', () => {
      expect(parseImageReference('localhost:5000/app')).to.deep.equal({name: 'localhost:5000/app'})
      expect(parseImageReference(`localhost:5000/app:1@${DIGEST}`)).to.deep.equal({digest: DIGEST, name: 'localhost:5000/app', tag: '1'})
      expect(patternMatches('localhost:5000/app', 'localhost:5000/app:1')).to.equal(true)
      expect(patternMatches('localhost:5000/app', 'localhost:5001/app:1')).to.equal(false)
    })

    it('serves the documented default policy when none is stored, and it admits', () => {
      // https://cloud.google.com/binary-authorization/docs/configuring-policy-cli:
      // "By default, the file contents look similar to the following:" (ALWAYS_ALLOW, ENFORCED_BLOCK_AND_AUDIT_LOG, ENABLE)
      const policy = currentPolicy(ctx)
      expect(policy.defaultAdmissionRule).to.deep.equal({enforcementMode: ENFORCED, evaluationMode: 'ALWAYS_ALLOW'})
      expect(policy.globalPolicyEvaluationMode).to.equal('ENABLE')
      expect(admitImages(ctx, ['gcr.io/anything/at-all:1']).admitted).to.equal(true)
    })

    it('writes denials and dry-run violations to audit.jsonl, and nothing for admitted images', () => {
      seedPolicy(ctx, {...DENY_ALL, admissionWhitelistPatterns: [{namePattern: 'gcr.io/p/**'}]})
      admitImages(ctx, ['gcr.io/p/app:1'])
      expect(ctx.state.exists(AUDIT_LOG_FILE)).to.equal(false)
      admitImages(ctx, ['gcr.io/q/app:1'])
      seedPolicy(ctx, {defaultAdmissionRule: {enforcementMode: DRY_RUN, evaluationMode: 'ALWAYS_DENY'}})
      const dry = admitImages(ctx, ['gcr.io/q/app:2'])
      expect(dry.admitted).to.equal(true)
      const lines = readFileSync(ctx.state.file(AUDIT_LOG_FILE), 'utf8').trim().split('\n').map(line => JSON.parse(line) as {entry: string; policy: string; time: string})
      expect(lines.map(l => l.entry.split(' ')[0])).to.deep.equal(['DENIED', 'DRY_RUN_VIOLATION'])
      expect(lines[0]).to.include({policy: 'projects/sandbox-project/policy', time: '2026-01-01T00:00:00.000Z'})
      expect(lines[1]?.entry).to.include('gcr.io/q/app:2')
    })

    it('denialText names Binary Authorization, the denied image and the policy', () => {
      const decision = judge(DENY_ALL, ['gcr.io/q/app:1'])
      expect(denialText(ctx, decision)).to.equal('Image gcr.io/q/app:1 denied by Binary Authorization policy projects/sandbox-project/policy: defaultAdmissionRule ALWAYS_DENY and no allowlist pattern matches')
    })
  })

  describe('through the HTTP surface (Cloud Run Knative v1)', () => {
    const P = 'sandbox-project'
    const services = `/apis/serving.knative.dev/v1/namespaces/${P}/services`
    const REPO = `us-central1-docker.pkg.dev/${P}/cloud-run-source-deploy`
    let sandbox: Sandbox

    afterEach(async () => {
      await sandbox.stop()
    })

    const service = (name: string, images: string[]): object => ({
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: {annotations: {'run.googleapis.com/binary-authorization': 'default'}, name, namespace: P},
      spec: {template: {spec: {containers: images.map((image, i) => ({image, name: `c${i}`}))}}},
    })

    async function deploy(name: string, images: string[]): Promise<{message?: string; status: string; type: string}[]> {
      const res = await call(sandbox, {
        body: service(name, images), method: 'POST', path: services, via: `us-central1-127.0.0.1:${sandbox.port}`,
      })
      expect(res.status).to.equal(200)
      return at(res.json, 'status.conditions') as {message?: string; status: string; type: string}[]
    }

    it('refuses a deploy whose sidecar is not allowlisted, naming the sidecar', async () => {
      sandbox = await startSandbox({
        policy: {...DENY_ALL, admissionWhitelistPatterns: [{namePattern: `${REPO}/**`}]},
        stateDir: dir,
      })
      const conditions = await deploy('with-sidecar', [`${REPO}/app@${DIGEST}`, 'gcr.io/other-project/otel-collector:0.1'])
      expect(conditions.map(c => [c.type, c.status])).to.deep.equal([['Ready', 'False'], ['ConfigurationsReady', 'False'], ['RoutesReady', 'False']])
      expect(conditions[0]?.message).to.include('Image gcr.io/other-project/otel-collector:0.1 denied by Binary Authorization')
    })

    it('admits the same deploy once the sidecar is allowlisted too', async () => {
      sandbox = await startSandbox({
        policy: {...DENY_ALL, admissionWhitelistPatterns: [{namePattern: `${REPO}/**`}, {namePattern: 'gcr.io/other-project/otel-collector'}]},
        stateDir: dir,
      })
      const conditions = await deploy('with-sidecar', [`${REPO}/app@${DIGEST}`, 'gcr.io/other-project/otel-collector:0.1'])
      expect(conditions[0]).to.include({status: 'True', type: 'Ready'})
    })

    it('refuses REPO-other under a REPO/** allowlist, and admits under DRYRUN_AUDIT_LOG_ONLY with an audit line', async () => {
      sandbox = await startSandbox({policy: {...DENY_ALL, admissionWhitelistPatterns: [{namePattern: `${REPO}/**`}]}, stateDir: dir})
      const refused = await deploy('other-repo', [`${REPO}-other/app:1`])
      expect(refused[0]).to.include({status: 'False', type: 'Ready'})
      await sandbox.stop()
      sandbox = await startSandbox({policy: {defaultAdmissionRule: {enforcementMode: DRY_RUN, evaluationMode: 'ALWAYS_DENY'}}, stateDir: dir})
      const admitted = await deploy('dry-run', [`${REPO}-other/app:1`])
      expect(admitted[0]).to.include({status: 'True', type: 'Ready'})
      const audit = readFileSync(new SandboxState(dir).file(AUDIT_LOG_FILE), 'utf8')
      expect(audit).to.include('DRY_RUN_VIOLATION').and.include(`${REPO}-other/app:1`)
    })
  })
})
