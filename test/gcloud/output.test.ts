import {expect} from 'chai'

import {type DenialKind, explainDenial, recognizeDenial} from '../../src/gcloud/output.js'

const context = {patterns: ['us-central1-docker.pkg.dev/my-proj/cloud-run-source-deploy/**'], project: 'my-proj'}

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
    ['an unrelated build failure', 'ERROR: (gcloud.run.deploy) Build failed; check build logs for details', undefined, undefined],
    ['a quota error', 'ERROR: (gcloud.run.deploy) RESOURCE_EXHAUSTED: Quota exceeded for quota metric', undefined, undefined],
    ['empty stderr', '', undefined, undefined],
    ['a permission error on something else', 'ERROR: (gcloud.run.deploy) PERMISSION_DENIED: Permission \'run.services.create\' denied on resource', undefined, undefined],
  ]

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

  it('explains with a binauthz: prefix and one fix per line', () => {
    const text = explainDenial({fixes: ['a', 'b'], kind: 'org-policy', summary: 'S'})
    expect(text).to.equal('binauthz: S\n  fix: a\n  fix: b')
  })

  it('is pure and fast on a 64 KiB tail', () => {
    const tail = 'x'.repeat(64 * 1024)
    expect(recognizeDenial(tail, context)).to.equal(undefined)
  })
})
