import {expect} from 'chai'
import * as fc from 'fast-check'

import type {Policy} from '../../src/policy/types.js'

import {isPlainSafe, policyToYaml, quoteYamlString} from '../../src/policy/yaml.js'

// What `gcloud container binauthz policy export` prints for a typical policy (keys in the API's order).
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
etag: "\\"CKn9xrYGEJCX7fUB\\""
globalPolicyEvaluationMode: ENABLE
name: projects/my-project/policy
updateTime: "2026-01-02T03:04:05.123456Z"
`

describe('policy/yaml', () => {
  it('prints a policy like gcloud policy export', () => {
    expect(policyToYaml(POLICY)).to.equal(EXPECTED)
  })

  it('keeps the key order of the JSON', () => {
    expect(policyToYaml(JSON.parse('{"name": "x", "etag": "e", "description": "d"}') as Policy)).to.equal('name: x\netag: e\ndescription: d\n')
  })

  it('prints nested unknown fields, numbers, booleans, null and empty containers', () => {
    // From JSON so the key order is the one under test; `skipped: undefined` cannot be written in JSON.
    const policy = {
      ...(JSON.parse(`{
        "clusterAdmissionRules": {"us-central1-a.prod-cluster": {"evaluationMode": "ALWAYS_DENY", "enforcementMode": "ENFORCED_BLOCK_AND_AUDIT_LOG"}},
        "kubernetesServiceAccountAdmissionRules": {"ns:sa": {"evaluationMode": "ALWAYS_ALLOW"}},
        "future": {"count": 3, "ratio": -0.5, "big": 1e21, "tiny": 5e-324, "on": true, "off": false, "none": null, "empty": {}, "list": [],
                   "deep": [[1, [2]], {"a": [{"b": "c"}]}]}
      }`) as object),
      skipped: undefined,
    } as unknown as Policy
    expect(policyToYaml(policy)).to.equal([
      'clusterAdmissionRules:',
      '  us-central1-a.prod-cluster:',
      '    evaluationMode: ALWAYS_DENY',
      '    enforcementMode: ENFORCED_BLOCK_AND_AUDIT_LOG',
      'kubernetesServiceAccountAdmissionRules:',
      '  ns:sa:',
      '    evaluationMode: ALWAYS_ALLOW',
      'future:',
      '  count: 3',
      '  ratio: -0.5',
      '  big: 1.0e+21',
      '  tiny: 5.0e-324',
      '  "on": true',
      '  "off": false',
      '  none: null',
      '  empty: {}',
      '  list: []',
      '  deep:',
      '  - - 1',
      '    - - 2',
      '  - a:',
      '    - b: c',
      '',
    ].join('\n'))
  })

  it('prints an empty policy as {}', () => {
    expect(policyToYaml({})).to.equal('{}\n')
  })

  describe('string scalars', () => {
    const table: [value: string, yaml: string][] = [
      ['ALWAYS_ALLOW', 'ALWAYS_ALLOW'],
      ['projects/p/policy', 'projects/p/policy'],
      ['us-central1-docker.pkg.dev/example.com/p/r/**', 'us-central1-docker.pkg.dev/example.com/p/r/**'],
      ['gcr.io/nginx@sha256:abc', 'gcr.io/nginx@sha256:abc'],
      ['/leading/slash', '/leading/slash'],
      ['', '""'],
      ['true', '"true"'],
      ['False', '"False"'],
      ['yes', '"yes"'],
      ['N', '"N"'],
      ['off', '"off"'],
      ['null', '"null"'],
      ['~', '"~"'],
      ['123', '"123"'],
      ['1.5', '"1.5"'],
      ['0x1F', '"0x1F"'],
      ['1:20', '"1:20"'],
      ['2026-01-02', '"2026-01-02"'],
      ['.inf', '".inf"'],
      ['-dash', '"-dash"'],
      ['*alias', '"*alias"'],
      ['&anchor', '"&anchor"'],
      ['!tag', '"!tag"'],
      ['@at', '"@at"'],
      ['%pct', '"%pct"'],
      ['a: b', '"a: b"'],
      ['a #b', '"a #b"'],
      ['key:', '"key:"'],
      ['has space', '"has space"'],
      ['"quoted"', String.raw`"\"quoted\""`],
      ["it's", '"it\'s"'],
      [String.raw`back\slash`, String.raw`"back\\slash"`],
      ['line\nbreak', String.raw`"line\nbreak"`],
      ['tab\there', String.raw`"tab\there"`],
      ['nul\u0000', String.raw`"nul\u0000"`],
      ['bidi\u202E', String.raw`"bidi\u202e"`],
      ['é', String.raw`"\u00e9"`],
      ['😀', String.raw`"\U0001f600"`],
      ['<<', '"<<"'],
      ['=', '"="'],
    ]
    for (const [value, yaml] of table) {
      it(`${JSON.stringify(value)} -> ${yaml}`, () => {
        expect(policyToYaml({v: value})).to.equal(`v: ${yaml}\n`)
        expect(isPlainSafe(value)).to.equal(yaml === value)
      })
    }

    it('quotes keys that need it', () => {
      expect(policyToYaml(JSON.parse('{"a b": 1, "": 2, "true": 3, "#": 4, "1": 5}') as Policy)).to.equal('"1": 5\n"a b": 1\n"": 2\n"true": 3\n"#": 4\n')
    })

    it('quoteYamlString only emits printable ASCII', () => {
      fc.assert(fc.property(fc.string({maxLength: 50, unit: 'binary'}), value => {
        expect(quoteYamlString(value)).to.match(/^"[\u0020-\u007E]*"$/)
      }))
    })
  })

  it('round-trips arbitrary JSON through a YAML reader for this block subset', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({maxLength: 6}), fc.jsonValue({maxDepth: 4}), {maxKeys: 5}), value => {
        const text = policyToYaml(value as Policy)
        expect(text).to.match(/^[\u0020-\u007E\n]*$/)
        expect(text.split('\n').every(line => !line.endsWith(' '))).to.equal(true)
        // What JSON makes of the value (-0 becomes 0, undefined entries vanish), which structuredClone would not do.
        const json = JSON.stringify(value)
        expect(readBlockYaml(text)).to.deep.equal(JSON.parse(json))
      }),
      {numRuns: 1000},
    )
  })

  it('is deterministic', () => {
    expect(policyToYaml(POLICY)).to.equal(policyToYaml(structuredClone(POLICY)))
  })
})

function indentOf(line: string): number {
  return line.length - line.trimStart().length
}

function scalar(token: string): unknown {
  if (token === '{}') return {}
  if (token === '[]') return []
  if (token.startsWith('"')) return JSON.parse(token.replaceAll(/\\U([0-9a-f]{8})/g, (_m, hex: string) => String.fromCodePoint(Number.parseInt(hex, 16))))
  if (token === 'null') return null
  if (token === 'true') return true
  if (token === 'false') return false
  if (/^-?\d/.test(token)) return Number(token)
  return token
}

function isMappingEntry(item: string): boolean {
  if (item.startsWith('"')) return /^"(?:[^"\\]|\\.)*":( |$)/.test(item)
  return item !== '{}' && item !== '[]' && /:( |$)/.test(item)
}

// A reader for exactly the YAML subset policyToYaml writes (block mappings/sequences, plain and double-quoted
// scalars, {} and []). Checked against PyYAML and gcloud's own YAML loader separately; this keeps the property
// test hermetic.
function readBlockYaml(text: string): unknown {
  const lines = text.split('\n').filter(line => line.length > 0)
  let index = 0

  /** Splits `key: rest` / `key:` honouring a quoted key. */
  function splitKey(content: string): [string, string | undefined] {
    let end: number
    if (content.startsWith('"')) {
      end = 1
      while (content[end] !== '"') end += content[end] === '\\' ? 2 : 1
      end++
    } else end = content.search(/:( |$)/)
    const key = scalar(content.slice(0, end))
    const rest = content.slice(end + 1)
    return [String(key), rest.length === 0 ? undefined : rest.slice(1)]
  }

  function block(indent: number, first?: string): unknown {
    const content = first ?? lines[index]?.slice(indent) ?? ''
    if (content.startsWith('- ') || content === '-') return sequence(indent, first)
    return mapping(indent, first)
  }

  function value(rest: string | undefined, parentIndent: number, sequenceAtSameIndent: boolean): unknown {
    if (rest !== undefined) return scalar(rest)
    const next = lines[index] ?? ''
    const nextIndent = indentOf(next)
    if (sequenceAtSameIndent && nextIndent === parentIndent && next.slice(nextIndent).startsWith('- ')) return sequence(parentIndent)
    return block(nextIndent)
  }

  function mapping(indent: number, first?: string): Record<string, unknown> {
    const out: Record<string, unknown> = {}
    let content = first
    for (;;) {
      if (content === undefined) {
        const line = lines[index]
        if (line === undefined || indentOf(line) !== indent || line.slice(indent).startsWith('- ')) break
        content = line.slice(indent)
        index++
      }

      if (content === '{}') return {}
      const [key, rest] = splitKey(content)
      Object.defineProperty(out, key, {
        configurable: true, enumerable: true, value: value(rest, indent, true), writable: true,
      })
      content = undefined
    }

    return out
  }

  function sequence(indent: number, first?: string): unknown[] {
    const out: unknown[] = []
    let content = first
    for (;;) {
      if (content === undefined) {
        const line = lines[index]
        if (line === undefined || indentOf(line) !== indent || !line.slice(indent).startsWith('- ')) break
        content = line.slice(indent)
        index++
      }

      const item = content.slice(2)
      const inner = indent + 2
      if (item.startsWith('- ')) out.push(sequence(inner, item))
      else if (isMappingEntry(item)) out.push(mapping(inner, item))
      else out.push(scalar(item))
      content = undefined
    }

    return out
  }

  if (lines.length === 1 && (lines[0] === '{}' || lines[0] === '[]')) return scalar(lines[0])
  index = 0
  const first = lines[index++]
  return block(0, first)
}
