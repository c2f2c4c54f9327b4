import {expect} from 'chai'

import {type DenialKind, recognizeDenial} from '../../src/gcloud/output.js'

const context = {patterns: ['us-central1-docker.pkg.dev/my-proj/cloud-run-source-deploy/**'], project: 'my-proj'}

/** The sandbox's Binary Authorization refusal, as the real gcloud 528 prints it. */
function denied(image: string): string {
  return `Creating Revision.....failed\nDeployment failed\nERROR: (gcloud.run.deploy) Revision 'hello-00001-ivb' is not ready and cannot serve traffic. Image ${image} denied by Binary Authorization policy projects/my-proj/policy: defaultAdmissionRule ALWAYS_DENY and no allowlist pattern matches\n`
}

describe('gcloud/output', () => {
  const cases: [string, string, DenialKind | undefined, string?][] = [
    [
      'Cloud Run job from source (traced: gcloud 528 run jobs deploy against the sandbox), past gcloud\'s [IMAGE] placeholder',
      'This command is equivalent to running `gcloud builds submit --pack image=[IMAGE] .` and `gcloud run jobs deploy j0 --image [IMAGE]`\n\nBuilding Container......done\nfailed\nJob failed to deploy\n'
      + "ERROR: (gcloud.run.jobs.deploy) Job 'j0' is not ready. Image us-central1-docker.pkg.dev/my-proj/cloud-run-source-deploy/j0@sha256:27bc denied by Binary Authorization policy projects/my-proj/policy: defaultAdmissionRule ALWAYS_DENY and no allowlist pattern matches",
      'binauthz-denied',
      'us-central1-docker.pkg.dev/my-proj/cloud-run-source-deploy/j0@sha256:27bc',
    ],
    [
      'Cloud Run revision denied by the default admission rule',
      "Deploying container to Cloud Run service [svc]\nERROR: (gcloud.run.deploy) Revision 'svc-00002-abc' is not ready and cannot serve traffic. Container image 'us-central1-docker.pkg.dev/my-proj/cloud-run-source-deploy/svc@sha256:0123' is not authorized by policy. Image denied by Binary Authorization default admission rule.",
      'binauthz-denied',
      'us-central1-docker.pkg.dev/my-proj/cloud-run-source-deploy/svc@sha256:0123',
    ],
    [
      'lower-case "binary authorization ... denied"',
      'ERROR: (gcloud.run.deploy) image us-docker.pkg.dev/p/r/i:1 was denied by binary authorization',
      'binauthz-denied',
      'us-docker.pkg.dev/p/r/i:1',
    ],
    [
      'functions operation error carrying the Cloud Run message',
      'ERROR: (gcloud.functions.deploy) OperationError: code=7, message=Could not create or update Cloud Run service fn, Container Healthcheck failed. Denied by Binary Authorization policy: image "europe-west1-docker.pkg.dev/my-proj/gcf-artifacts/my--proj__europe--west1__fn:version_1" is not allowed.',
      'binauthz-denied',
      'europe-west1-docker.pkg.dev/my-proj/gcf-artifacts/my--proj__europe--west1__fn:version_1',
    ],
    [
      'breakglass mention without image',
      'Deployment blocked: Binary Authorization violation; use breakglass to override',
      'binauthz-denied',
      undefined,
    ],
    [
      'the org-policy constraint',
      "ERROR: (gcloud.run.deploy) FAILED_PRECONDITION: Violation in CreateService: Constraint constraints/run.allowedBinaryAuthorizationPolicies violated for projects/123 attempting to create a service with binary authorization policy 'default'.",
      'org-policy',
      undefined,
    ],
    [
      'the API is not enabled',
      'ERROR: (gcloud.run.deploy) PERMISSION_DENIED: Binary Authorization API has not been used in project 123 before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/binaryauthorization.googleapis.com/overview?project=123 reason: SERVICE_DISABLED',
      'api-disabled',
      undefined,
    ],
    [
      '1st gen function',
      'ERROR: (gcloud.functions.deploy) Invalid value for [--binary_authorization]: Binary authorization is not supported for 1st gen Cloud Functions.',
      'gen1-function',
      undefined,
    ],
    [
      'the local sandbox (real gcloud 528 output)',
      "Creating Revision.....failed\nDeployment failed\nERROR: (gcloud.run.deploy) Revision 'other-00001-nma' is not ready and cannot serve traffic. Image us-docker.pkg.dev/other/img/app:1 denied by Binary Authorization policy projects/sandbox-project/policy: The image matches no allowlist pattern and the default rule denies every image (ALWAYS_DENY) (enforcement ENFORCED_BLOCK_AND_AUDIT_LOG).\n",
      'binauthz-denied',
      'us-docker.pkg.dev/other/img/app:1',
    ],
    ['a build failure (real gcloud 528 against the sandbox)', 'Deploying new service...\nfailed\nERROR: (gcloud.run.deploy) Build failed; check build logs for details', 'build-failed', undefined],
    ['a quota error', 'ERROR: (gcloud.run.deploy) RESOURCE_EXHAUSTED: Quota exceeded for quota metric', undefined, undefined],
    ['empty stderr', '', undefined, undefined],
    ['a permission error on something else', 'ERROR: (gcloud.run.deploy) PERMISSION_DENIED: Permission \'run.services.create\' denied on resource', undefined, undefined],
  ]

  // Recorded from the real gcloud 528 against the sandbox (test/e2e/deploy-hints.test.ts runs them live).
  const AR_DISABLED = [
    'ERROR: Permission denied while accessing Artifact Registry. Artifact Registry access is required to deploy from source.',
    'ERROR: (gcloud.run.deploy) PERMISSION_DENIED: Artifact Registry API has not been used in project 123456789012 before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/artifactregistry.googleapis.com/overview?project=123456789012 then retry. If you enabled this API recently, wait a few minutes for the action to propagate to our systems and retry. This command is authenticated with an access token from /tmp/x/state/token specified by the [auth/access_token_file] property.',
    "- '@type': type.googleapis.com/google.rpc.ErrorInfo",
    '  domain: googleapis.com',
    '  metadata:',
    '    activationUrl: https://console.developers.google.com/apis/api/artifactregistry.googleapis.com/overview?project=123456789012',
    '    consumer: projects/123456789012',
    "    containerInfo: '123456789012'",
    '    service: artifactregistry.googleapis.com',
    '    serviceTitle: Artifact Registry API',
    '  reason: SERVICE_DISABLED',
  ].join('\n')
  const hinted: {fix: RegExp | string; kind: DenialKind; stderr: string; title: string}[] = [
    {
      fix: 'gcloud services enable artifactregistry.googleapis.com --project=my-proj', kind: 'api-disabled', stderr: AR_DISABLED, title: 'Artifact Registry API disabled: the service from the ErrorInfo, our project ID',
    },
    {
      fix: 'gcloud services enable run.googleapis.com --project=my-proj',
      kind: 'api-disabled',
      stderr: 'ERROR: (gcloud.run.deploy) PERMISSION_DENIED: Cloud Run Admin API has not been used in project 123456789012 before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/run.googleapis.com/overview?project=123456789012 then retry.',
      title: 'Cloud Run Admin API disabled, no ErrorInfo: the service from the activation URL',
    },
    {
      fix: 'gcloud services enable cloudbuild.googleapis.com --project=my-proj',
      kind: 'api-disabled',
      stderr: 'API [cloudbuild.googleapis.com] not enabled on project [my-proj]. Would you like to enable and retry (this will take a few minutes)? (y/N)?\nERROR: (gcloud.run.deploy) Aborted by user.',
      title: "gcloud's own enable prompt, declined",
    },
    {
      fix: 'gcloud artifacts repositories create nope --repository-format=docker --location=us-central1 --project=my-proj',
      kind: 'repository-missing',
      stderr: 'ERROR: (gcloud.run.deploy) Invalid value for [--image]: The artifact repository provided does not exist: us-central1-docker.pkg.dev/my-proj/nope/hello. Please create the repository and try again.',
      title: 'missing repository (surface/run/deploy.py _ValidateArRepository, real gcloud 528 output)',
    },
    {
      fix: 'gcloud artifacts repositories create builds --repository-format=docker --location=europe-west1 --project=my-proj',
      kind: 'repository-missing',
      stderr: 'ERROR: (gcloud.functions.deploy) OperationError: code=3, message=Build failed: name unknown: Repository "europe-west1-docker.pkg.dev/my-proj/builds" not found',
      title: 'missing repository at push time (the Docker registry answer)',
    },
    {
      fix: 'gcloud artifacts repositories add-iam-policy-binding cloud-run-source-deploy --location=us-central1 --project=my-proj --member=user:dev@example.com --role=roles/artifactregistry.writer',
      kind: 'repository-permission',
      stderr: "ERROR: Permission denied while accessing Artifact Registry. Artifact Registry access is required to deploy from source.\nERROR: (gcloud.run.deploy) PERMISSION_DENIED: Permission 'artifactregistry.repositories.get' denied on resource 'projects/my-proj/locations/us-central1/repositories/cloud-run-source-deploy' (or it may not exist).",
      title: 'the deployer may not read the build repository',
    },
    {
      fix: 'gcloud projects add-iam-policy-binding my-proj --member=serviceAccount:123456789012-compute@developer.gserviceaccount.com --role=roles/run.builder',
      kind: 'build-service-account',
      stderr: 'ERROR: (gcloud.run.deploy) Build failed; check build logs for details\nERROR: failed to push to us-central1-docker.pkg.dev/my-proj/cloud-run-source-deploy/svc: denied: Permission "artifactregistry.repositories.uploadArtifacts" denied on resource "projects/my-proj/locations/us-central1/repositories/cloud-run-source-deploy" (or it may not exist) for 123456789012-compute@developer.gserviceaccount.com',
      title: "the build's service account may not push (before the generic build failure)",
    },
    {
      fix: /--member=serviceAccount:PROJECT_NUMBER-compute@developer\.gserviceaccount\.com --role=roles\/run\.builder$/,
      kind: 'build-service-account',
      stderr: "ERROR: (gcloud.functions.deploy) OperationError: code=7, message=Could not build the function due to a missing permission on the build service account. If you didn't revoke that permission explicitly, this could be caused by a change in the organization policies.",
      title: 'Cloud Functions: missing permission on the build service account (no account named)',
    },
    {
      fix: 'gcloud resource-manager org-policies describe compute.requireOsLogin --project=my-proj --effective',
      kind: 'org-policy',
      stderr: 'ERROR: (gcloud.run.deploy) FAILED_PRECONDITION: Constraint constraints/compute.requireOsLogin violated for project my-proj.',
      title: 'any other organisation policy constraint',
    },
    {
      fix: 'gcloud resource-manager org-policies describe run.allowedBinaryAuthorizationPolicies --project=my-proj --effective',
      kind: 'org-policy',
      stderr: 'ERROR: (gcloud.run.deploy) FAILED_PRECONDITION: Constraint constraints/run.allowedBinaryAuthorizationPolicies violated for service hello: the organization policy requires Binary Authorization policy "default" (deploy with --binary-authorization=default).',
      title: 'the Binary Authorization org policy (real gcloud 528 output against the sandbox)',
    },
  ]

  for (const {fix, kind, stderr, title} of hinted) {
    it(`${kind}: ${title}`, () => {
      const denial = recognizeDenial(stderr, {...context, account: 'dev@example.com', region: 'us-central1'})
      expect(denial?.kind, JSON.stringify(denial)).to.equal(kind)
      if (typeof fix === 'string') expect(denial?.fixes).to.include(fix)
      else expect(denial?.fixes.some(f => fix.test(f)), JSON.stringify(denial?.fixes)).to.equal(true)
    })
  }

  describe('a Binary Authorization denial names the image, the rule, and whether our entry should have covered it', () => {
    it('covered by our entry: says the entry matches and that the change may still be propagating', () => {
      const image = `us-central1-docker.pkg.dev/my-proj/cloud-run-source-deploy/hello@sha256:${'a'.repeat(64)}`
      const denial = recognizeDenial(denied(image), context)
      expect(denial).to.deep.include({
        coveredBy: context.patterns[0], image, kind: 'binauthz-denied', rule: 'defaultAdmissionRule ALWAYS_DENY',
      })
      expect(denial?.summary).to.contain('defaultAdmissionRule ALWAYS_DENY').and.contain(`although the entry ${context.patterns[0]} matches it`)
      expect(denial?.fixes[1]).to.match(/should admit it: a policy change takes up to a minute/)
    })

    it('outside our entries: says so and gives the allow command for its repository', () => {
      const image = 'us-docker.pkg.dev/other/img/app:1'
      const denial = recognizeDenial(denied(image), context)
      expect(denial?.coveredBy).to.equal(undefined)
      expect(denial?.fixes[1]).to.contain('outside every entry this deploy relied on').and.contain("binauthz policy allow --project=my-proj --pattern 'us-docker.pkg.dev/other/img/**'")
    })
  })

  for (const [title, stderr, kind, image] of cases) {
    it(`${kind ?? 'nothing'}: ${title}`, () => {
      const denial = recognizeDenial(stderr, context)
      expect(denial?.kind).to.equal(kind)
      expect(denial?.image).to.equal(image)
      if (denial) expect(denial.fixes.length).to.be.greaterThan(0)
    })
  }

  it('suggests checking the image with binauthz policy status', () => {
    const denial = recognizeDenial("Container image 'us-docker.pkg.dev/p/r/i@sha256:1' is not authorized by policy.", context)
    expect(denial?.fixes[0]).to.equal('binauthz policy status --project=my-proj --image=us-docker.pkg.dev/p/r/i@sha256:1')
  })

  it('the API-disabled fix is the exact enable command for the API the error names', () => {
    const denial = recognizeDenial('ERROR: (gcloud.run.deploy) PERMISSION_DENIED: Binary Authorization API has not been used in project 123 before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/binaryauthorization.googleapis.com/overview?project=123 reason: SERVICE_DISABLED', context)
    expect(denial).to.deep.include({service: 'binaryauthorization.googleapis.com'})
    expect(denial?.fixes[0]).to.equal('gcloud services enable binaryauthorization.googleapis.com --project=my-proj')
  })

  it('is pure and fast on a 64 KiB tail', () => {
    const tail = 'x'.repeat(64 * 1024)
    expect(recognizeDenial(tail, context)).to.equal(undefined)
  })
})
