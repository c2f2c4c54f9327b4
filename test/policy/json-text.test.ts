// Lossless JSON (src/policy/json-text.ts): every number keeps its text, every string its content, and what binauthz
// changes in a policy is the only thing that differs in the text written back.
import {expect} from 'chai'
import * as fc from 'fast-check'

import {
  JsonNumber, JsonSyntaxError, parseJsonLossless, stringifyJson,
} from '../../src/policy/json-text.js'
import {planAllowBuilds} from '../../src/policy/plan.js'
import {type Policy} from '../../src/policy/types.js'
import {policyToYaml} from '../../src/policy/yaml.js'

/** Number lexemes a double cannot reproduce, and ordinary ones. */
const numberLexeme: fc.Arbitrary<string> = fc.oneof(
  fc.bigInt({max: 10n ** 30n, min: -(10n ** 30n)}).map(String), // beyond 2^53 most of the time
  fc.constantFrom('-0', '0', '-0.0', '1.0', '1.50', '1e400', '-1e400', '1E5', '1e-400', '2.5e+10', '9007199254740993', '0.1', '123.456e-7'),
  fc.tuple(fc.integer({max: 999_999, min: -999_999}), fc.nat({max: 9999}), fc.integer({max: 400, min: -400}), fc.constantFrom('e', 'E', 'e+', 'e-'))
  .map(([i, f, e, mark]) => `${i}.${f}${mark}${Math.abs(e)}`),
  fc.double({noDefaultInfinity: true, noNaN: true}).map(d => JSON.stringify(d)),
)

/** Strings with every kind of content: any UTF-16 code units (lone surrogates included), escapes, control characters. */
const stringText: fc.Arbitrary<string> = fc.oneof(
  fc.string({unit: 'binary'}),
  fc.string({unit: 'grapheme'}),
  fc.constantFrom('\uD800', '\uDFFF', 'a\uD83Dz', '\u0000\u001F', '\u2028\u2029', String.raw`"\/`, '\u202Egnp.exe'),
).map(s => JSON.stringify(s))

/** JSON text (compact, unique keys), with the numbers written as the lexemes above. */
const jsonText: fc.Arbitrary<string> = fc.letrec<{value: string}>(tie => ({
  value: fc.oneof(
    {depthSize: 'small'},
    numberLexeme,
    stringText,
    fc.constantFrom('true', 'false', 'null'),
    fc.array(tie('value'), {maxLength: 4}).map(items => `[${items.join(',')}]`),
    fc.uniqueArray(fc.tuple(fc.string({unit: 'binary'}), tie('value')), {maxLength: 4, selector: ([key]) => key})
    .map(members => `{${members.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(',')}}`),
  ),
})).value

/** JSON.parse's value for what we parsed: JsonNumbers as the double JSON.parse would give. */
function asDoubles(value: unknown): unknown {
  if (value instanceof JsonNumber) return Number(value.lexeme)
  if (Array.isArray(value)) return value.map(v => asDoubles(v))
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asDoubles(v)]))
  return value
}

describe('policy/json-text (lossless JSON)', () => {
  it('text → parse → stringify is the same text, byte for byte (property)', () => {
    fc.assert(fc.property(jsonText, text => {
      expect(stringifyJson(parseJsonLossless(text))).to.equal(text)
    }), {numRuns: 500})
  })

  it('parses to the values JSON.parse gives (numbers aside, which keep their text) (property)', () => {
    fc.assert(fc.property(jsonText, text => {
      expect(asDoubles(parseJsonLossless(text))).to.deep.equal(JSON.parse(text))
    }), {numRuns: 300})
  })

  it('keeps exactly the numbers a double would change, as text', () => {
    const parsed = parseJsonLossless('[12345678901234567890,-0,1e400,1.0,1.5,42,1E5,-0.0,9007199254740993]') as unknown[]
    expect(parsed.map(v => (v instanceof JsonNumber ? `text:${v.lexeme}` : v))).to.deep.equal([
      'text:12345678901234567890', 'text:-0', 'text:1e400', 'text:1.0', 1.5, 42, 'text:1E5', 'text:-0.0', 'text:9007199254740993',
    ])
    // Whoever still uses JSON.stringify gets the digits (as a string), never a rounded double.
    expect(JSON.stringify(parsed[0])).to.equal('"12345678901234567890"')
  })

  it('refuses what JSON.parse refuses, naming a position and never quoting the text', () => {
    for (const bad of ['', '{', '{"a":1,}', '[1,]', '01', '1.', '.5', '+1', String.raw`"\x"`, '"\u0001"', 'nul', '{"a" 1}', '[1] x', '\uFEFF{}', "{'a':1}", 'NaN', 'Infinity', String.raw`"\u12"`]) {
      expect(() => JSON.parse(bad), bad).to.throw(SyntaxError)
      let error: unknown
      try {
        parseJsonLossless(bad)
      } catch (error_: unknown) {
        error = error_
      }

      expect(error, bad).to.be.instanceOf(JsonSyntaxError)
      expect((error as Error).message).to.match(/at position \d+$/)
    }
  })

  it('a "__proto__" key is data, as with JSON.parse, not the prototype', () => {
    const parsed = parseJsonLossless('{"__proto__":{"polluted":true},"a":1}') as Record<string, unknown>
    expect(Object.getPrototypeOf(parsed)).to.equal(Object.prototype)
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined)
    expect(Object.keys(parsed)).to.deep.equal(['__proto__', 'a'])
    expect(stringifyJson(parsed)).to.equal('{"__proto__":{"polluted":true},"a":1}')
  })

  it('refuses nesting deeper than its limit instead of overflowing the stack', () => {
    expect(() => parseJsonLossless('['.repeat(100_000))).to.throw(JsonSyntaxError, /Nesting deeper/)
  })

  it('stringifyJson with an indent matches JSON.stringify for ordinary values', () => {
    const value = {
      a: [1, 'x', {b: null}], c: {}, d: [], e: true,
    }
    expect(stringifyJson(value, 2)).to.equal(JSON.stringify(value, null, 2))
    expect(stringifyJson(value)).to.equal(JSON.stringify(value))
  })

  it('a planned policy goes back with every field binauthz does not own byte-identical (property)', () => {
    const unknownMembers = fc.uniqueArray(fc.tuple(fc.stringMatching(/^x[A-Za-z]{1,8}$/), jsonText), {maxLength: 5, selector: ([key]) => key})
    fc.assert(fc.property(unknownMembers, unknownMembers, jsonText, (top, inEntry, inRule) => {
      const members = top.map(([k, v]) => `${JSON.stringify(k)}:${v}`)
      const entry = `{"namePattern":"gcr.io/keep/**"${inEntry.map(([k, v]) => `,${JSON.stringify(k)}:${v}`).join('')}}`
      const text = `{"name":"projects/p/policy","admissionWhitelistPatterns":[${entry}],`
        + `"defaultAdmissionRule":{"evaluationMode":"ALWAYS_DENY","enforcementMode":"ENFORCED_BLOCK_AND_AUDIT_LOG","xFuture":${inRule}}`
        + `${members.map(m => `,${m}`).join('')},"etag":"e1"}`
      const read = parseJsonLossless(text) as Policy
      const plan = planAllowBuilds(read, [{image: 'us-east1-docker.pkg.dev/p/cloud-run-source-deploy/svc', pattern: 'us-east1-docker.pkg.dev/p/cloud-run-source-deploy/**'}])
      const written = stringifyJson(plan.after)
      const expectedEntries = `[${entry},{"namePattern":"us-east1-docker.pkg.dev/p/cloud-run-source-deploy/**"}]`
      expect(written).to.equal(text.replace(`[${entry}]`, expectedEntries))
    }), {numRuns: 200})
  })

  it('the YAML form shows a kept number as its text', () => {
    const policy = parseJsonLossless('{"big":12345678901234567890,"neg":-0,"exp":1e400,"one":1.0}') as Policy
    // Keys sorted, as gcloud's printer writes them (yaml.ts).
    expect(policyToYaml(policy)).to.equal('big: 12345678901234567890\nexp: 1.0e400\nneg: -0\none: 1.0\n')
  })
})
