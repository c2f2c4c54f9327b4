import {expect} from 'chai'
import * as fc from 'fast-check'

import {hclString, terraformAllowlistBlock, terraformPatternBlocks} from '../../src/policy/terraform.js'

const RUN = 'us-central1-docker.pkg.dev/my-project/cloud-run-source-deploy/**'
const GCF = 'us-central1-docker.pkg.dev/example.com/p/gcf-artifacts/**'

/** Builds the literal text `${...}` (HCL interpolation under test) without writing it as a string. */
const DOLLAR = '$'

describe('policy/terraform', () => {
  it('renders one admission_whitelist_patterns block per pattern inside the resource', () => {
    expect(terraformAllowlistBlock([RUN, GCF])).to.equal([
      '# Add these blocks to your existing google_binary_authorization_policy resource',
      '# (keep its default_admission_rule and other settings as they are).',
      'resource "google_binary_authorization_policy" "policy" {',
      '  admission_whitelist_patterns {',
      `    name_pattern = "${RUN}"`,
      '  }',
      '  admission_whitelist_patterns {',
      `    name_pattern = "${GCF}"`,
      '  }',
      '  # ... existing admission_whitelist_patterns, default_admission_rule, etc.',
      '}',
      '',
    ].join('\n'))
  })

  it('names the project when given', () => {
    expect(terraformAllowlistBlock([RUN], {project: 'example.com:p'})).to.include('  project = "example.com:p"\n')
  })

  it('renders bare blocks with a chosen indentation', () => {
    expect(terraformPatternBlocks([RUN], '')).to.equal(`admission_whitelist_patterns {\n  name_pattern = "${RUN}"\n}\n`)
    expect(terraformPatternBlocks([])).to.equal('')
  })

  describe('hclString', () => {
    const table: [string, string][] = [
      ['plain', '"plain"'],
      ['a"b', String.raw`"a\"b"`],
      [String.raw`a\b`, String.raw`"a\\b"`],
      ['a\nb\r\t', String.raw`"a\nb\r\t"`],
      [`${DOLLAR}{var.x}`, `"${DOLLAR}${DOLLAR}{var.x}"`],
      ['%{ if x }', '"%%{ if x }"'],
      ['$x and %x', '"$x and %x"'],
      ['\u0000\u001B\u007F', String.raw`"\u0000\u001b\u007f"`],
      ['\u2028', String.raw`"\u2028"`],
      ['é', '"é"'],
      ['', '""'],
    ]
    for (const [input, expected] of table) {
      it(`${JSON.stringify(input)} -> ${expected}`, () => {
        expect(hclString(input)).to.equal(expected)
      })
    }

    it('decodes back to the original value with no live quote, newline or template opener', () => {
      fc.assert(
        fc.property(fc.string({maxLength: 30, unit: fc.constantFrom('a', '"', '\\', '$', '%', '{', '}', '\n', '\u0001', 'u')}), value => {
          expect(decodeHcl(hclString(value))).to.equal(value)
        }),
        {numRuns: 2000},
      )
    })
  })
})

/** Decodes an HCL quoted string; throws on anything that would not be a literal (unescaped quote, ${, %{, raw newline). */
function decodeHcl(quoted: string): string {
  expect(quoted.startsWith('"') && quoted.endsWith('"')).to.equal(true)
  const body = quoted.slice(1, -1)
  let out = ''
  for (let i = 0; i < body.length; i++) {
    const ch = body[i] ?? ''
    const next = body[i + 1]
    if (ch === '\\') {
      const escapes: Record<string, string> = {
        '"': '"', '\\': '\\', n: '\n', r: '\r', t: '\t',
      }
      if (next === 'u') {
        out += String.fromCodePoint(Number.parseInt(body.slice(i + 2, i + 6), 16))
        i += 5
      } else {
        expect(next !== undefined && next in escapes, `escape at ${i} in ${quoted}`).to.equal(true)
        out += escapes[next as string]
        i++
      }
    } else if ((ch === '$' || ch === '%') && next === ch && body[i + 2] === '{') {
      out += `${ch}{`
      i += 2
    } else {
      expect((ch === '$' || ch === '%') && next === '{', `template opener at ${i} in ${quoted}`).to.equal(false)
      expect(ch === '"' || ch === '\n' || ch < ' ', `raw character at ${i} in ${quoted}`).to.equal(false)
      out += ch
    }
  }

  return out
}
