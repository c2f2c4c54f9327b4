import {expect} from 'chai'
import * as fc from 'fast-check'

import type {Policy} from '../../src/policy/types.js'

import {isPlainSafe, policyToYaml, quoteYamlString} from '../../src/policy/yaml.js'

// A typical policy in the API's key order; EXPECTED is what gcloud 528's `container binauthz policy export` printed for
// it (keys sorted, timestamps single-quoted). test/e2e/policy-export-gcloud.test.ts compares with the real gcloud.
const POLICY: Policy = {
  admissionWhitelistPatterns: [
    {namePattern: 'gcr.io/google_containers/*'},
    {namePattern: 'us-central1-docker.pkg.dev/my-project/cloud-run-source-deploy/**'},
  ],
  defaultAdmissionRule: {
    enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG',
    evaluationMode: 'REQUIRE_ATTESTATION',
    requireAttestationsBy: ['projects/my-project/attestors/built-by-ci'],
  },
  etag: '"CKn9xrYGEJCX7fUB"',
  globalPolicyEvaluationMode: 'ENABLE',
  name: 'projects/my-project/policy',
  updateTime: '2026-01-02T03:04:05.123456Z',
}

const EXPECTED = `admissionWhitelistPatterns:
- namePattern: gcr.io/google_containers/*
- namePattern: us-central1-docker.pkg.dev/my-project/cloud-run-source-deploy/**
defaultAdmissionRule:
  enforcementMode: ENFORCED_BLOCK_AND_AUDIT_LOG
  evaluationMode: REQUIRE_ATTESTATION
  requireAttestationsBy:
  - projects/my-project/attestors/built-by-ci
etag: '"CKn9xrYGEJCX7fUB"'
globalPolicyEvaluationMode: ENABLE
name: projects/my-project/policy
updateTime: '2026-01-02T03:04:05.123456Z'
`

describe('policy/yaml', () => {
  it('prints a policy as gcloud policy export does (keys sorted)', () => {
    expect(policyToYaml(POLICY)).to.equal(EXPECTED)
  })

  it('does not depend on the key order of the JSON', () => {
    fc.assert(fc.property(fc.shuffledSubarray(Object.keys(POLICY), {minLength: Object.keys(POLICY).length}), keys => {
      const reordered = Object.fromEntries(keys.map(k => [k, POLICY[k]])) as Policy
      expect(policyToYaml(reordered)).to.equal(EXPECTED)
    }))
  })

  it('prints nested rules, empty containers, and a sequence of mappings as ruamel does', () => {
    const policy = JSON.parse(`{
      "kubernetesServiceAccountAdmissionRules": {"ns:sa": {"evaluationMode": "ALWAYS_ALLOW"}},
      "clusterAdmissionRules": {"us-central1-a.prod-cluster": {"evaluationMode": "ALWAYS_DENY", "enforcementMode": "ENFORCED_BLOCK_AND_AUDIT_LOG"}},
      "future": {"on": true, "none": null, "empty": {}, "list": [], "deep": [{"a": [{"b": "c", "a": "d"}]}]}
    }`) as Policy
    expect(policyToYaml(policy)).to.equal([
      'clusterAdmissionRules:',
      '  us-central1-a.prod-cluster:',
      '    enforcementMode: ENFORCED_BLOCK_AND_AUDIT_LOG',
      '    evaluationMode: ALWAYS_DENY',
      'future:',
      '  deep:',
      '  - a:',
      '    - a: d',
      '      b: c',
      '  empty: {}',
      '  list: []',
      '  none: null',
      '  on: true',
      'kubernetesServiceAccountAdmissionRules:',
      '  ns:sa:',
      '    evaluationMode: ALWAYS_ALLOW',
      '',
    ].join('\n'))
  })

  it('prints an empty policy as {}', () => {
    expect(policyToYaml({})).to.equal('{}\n')
  })

  describe('string scalars (each as gcloud 528 printed it)', () => {
    const table: [value: string, yaml: string][] = [
      ['ALWAYS_ALLOW', 'ALWAYS_ALLOW'],
      ['projects/p/policy', 'projects/p/policy'],
      ['', "''"],
      ['true', "'true'"],
      ['False', "'False'"],
      ['yes', 'yes'], // YAML 1.2: not a boolean
      ['null', "'null'"],
      ['~', "'~'"],
      ['123', "'123'"],
      ['1.5', "'1.5'"],
      ['0x1F', "'0x1F'"],
      ['1:20', '1:20'],
      ['2026-01-02', "'2026-01-02'"],
      ['2026-01-02T03:04:05.123456Z', "'2026-01-02T03:04:05.123456Z'"],
      ['.inf', "'.inf'"],
      ['-dash', '-dash'],
      ['- dash', "'- dash'"],
      ['*alias', "'*alias'"],
      ['!tag', "'!tag'"],
      ['@at', "'@at'"],
      ['a: b', "'a: b'"],
      ['a #b', "'a #b'"],
      ['a#b', 'a#b'],
      ['key:', "'key:'"],
      ['has space', 'has space'],
      ['"quoted"', '\'"quoted"\''],
      ["it's", "it's"],
      ["'lead", '"\'lead"'],
      [String.raw`back\slash`, String.raw`back\slash`],
      ['line\nbreak', '|-\n  line\n  break'],
      ['line\n', '|\n  line'],
      ['tab\there', String.raw`"tab\there"`],
      ['nul\u0000', String.raw`"nul\0"`],
      ['bidi\u202E', 'bidi\u202E'],
      ['é', 'é'],
      ['😀', '😀'],
      ['<<', "'<<'"],
      ['=', "'='"],
      ['trailing ', "'trailing '"],
    ]
    for (const [value, yaml] of table) {
      it(`${JSON.stringify(value)} -> ${yaml}`, () => {
        expect(policyToYaml({v: value})).to.equal(`v: ${yaml}\n`)
      })
    }

    it('folds long plain and quoted strings at a space past column 80, as ruamel does', () => {
      const words = Array.from({length: 21}, () => 'word').join(' ')
      expect(policyToYaml({description: words})).to.equal(`description: ${Array.from({length: 14}, () => 'word').join(' ')}\n  word word word word word word word\n`)
      const quoted = `'x y' ${'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore'}`
      expect(policyToYaml({c: {long: quoted}})).to.equal('c:\n  long: "\'x y\' Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod\\\n    \\ tempor incididunt ut labore"\n')
    })

    it('writes empty and multi-line keys as complex keys', () => {
      expect(policyToYaml(JSON.parse(String.raw`{"": "", "\n": [""]}`) as Policy)).to.equal("? ''\n: ''\n? \"\\n\"\n: - ''\n")
    })

    it('ends a document whose last value keeps its trailing newlines with "..."', () => {
      expect(policyToYaml({z: 'a\n\n'})).to.equal('z: |+\n  a\n\n...\n')
    })
  })

  describe('the hand-off snippet quoting (isPlainSafe, quoteYamlString)', () => {
    const table: [value: string, plain: boolean][] = [
      ['us-central1-docker.pkg.dev/p/r/**', true], ['', false], ['yes', false], ['a: b', false], ['-dash', false], ['123', false],
    ]
    for (const [value, plain] of table) {
      it(`${JSON.stringify(value)} is ${plain ? '' : 'not '}plain-safe`, () => {
        expect(isPlainSafe(value)).to.equal(plain)
      })
    }

    it('quoteYamlString only emits printable ASCII', () => {
      fc.assert(fc.property(fc.string({maxLength: 50, unit: 'binary'}), value => {
        expect(quoteYamlString(value)).to.match(/^"[\u0020-\u007E]*"$/)
      }))
    })
  })

  it('always ends in a newline', () => {
    fc.assert(fc.property(fc.dictionary(fc.string({maxLength: 6}), fc.jsonValue({maxDepth: 3}), {maxKeys: 5}), value => {
      const text = policyToYaml(value as Policy)
      expect(text.endsWith('\n')).to.equal(true)
    }), {numRuns: 300})
  })
})
