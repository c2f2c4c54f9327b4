import {expect} from 'chai'

import {adminHandoff, POLICY_UPDATE_ROLES} from '../../src/policy/handoff.js'

const RUN = 'us-central1-docker.pkg.dev/my-project/cloud-run-source-deploy/**'
const GCF = 'us-central1-docker.pkg.dev/my-project/gcf-artifacts/**'

describe('policy/handoff', () => {
  const text = adminHandoff('my-project', [RUN, GCF])

  it('gives the exact export and import commands', () => {
    expect(text).to.include('gcloud container binauthz policy export --project=my-project > policy.yaml')
    expect(text).to.include('gcloud container binauthz policy import policy.yaml --project=my-project')
  })

  it('gives the YAML lines to add under admissionWhitelistPatterns', () => {
    expect(text).to.include('admissionWhitelistPatterns')
    expect(text).to.include(`- namePattern: ${RUN}\n`)
    expect(text).to.include(`- namePattern: ${GCF}\n`)
    expect(text.indexOf(RUN)).to.be.lessThan(text.indexOf(GCF))
  })

  it('names the permission and every role that grants it', () => {
    expect(text).to.include('binaryauthorization.policy.update')
    for (const role of [
      'roles/owner',
      'roles/editor',
      'roles/binaryauthorization.admin',
      'roles/binaryauthorization.editor',
      'roles/binaryauthorization.policyAdmin',
      'roles/binaryauthorization.policyEditor',
      'roles/iam.devOps',
    ]) {
      expect(text).to.include(role)
      expect(POLICY_UPDATE_ROLES).to.include(role)
    }

    expect(text).to.include('gcloud projects add-iam-policy-binding my-project --member=user:EMAIL --role=roles/binaryauthorization.policyEditor')
  })

  it('offers the Terraform alternative', () => {
    expect(text).to.include('resource "google_binary_authorization_policy"')
    expect(text).to.include(`name_pattern = "${RUN}"`)
    expect(text).to.include('project = "my-project"')
  })

  it('handles a domain-scoped project', () => {
    const scoped = adminHandoff('example.com:proj', ['us-central1-docker.pkg.dev/example.com/proj/cloud-run-source-deploy/**'])
    expect(scoped).to.include('gcloud container binauthz policy export --project=example.com:proj > policy.yaml')
    expect(scoped).to.include('- namePattern: us-central1-docker.pkg.dev/example.com/proj/cloud-run-source-deploy/**')
  })

  it('uses singular wording for one pattern', () => {
    expect(adminHandoff('p', [RUN])).to.include('must allowlist this entry:')
    expect(text).to.include('must allowlist these 2 entries:')
  })

  it('has no trailing whitespace and only printable text', () => {
    for (const line of text.split('\n')) expect(line).to.not.match(/\s$/)
    expect(text).to.match(/^[\u0020-\u007E\n]*$/)
  })

  it('quotes odd values instead of printing them raw', () => {
    const odd = adminHandoff("p'x", ['gcr.io/a b\u001B[2J'])
    expect(odd).to.not.include('\u001B')
    expect(odd).to.include(String.raw`'--project=p'\''x'`)
    expect(odd).to.include(String.raw`- namePattern: "gcr.io/a b\u001b[2J"`)
  })
})
