import {expect} from 'chai'
import * as fc from 'fast-check'

import {
  displayValue, registryProjectPath, validateProjectId, validateRegion,
} from '../../src/policy/names.js'
import {userErrorThrownBy as userError} from '../helpers/assert.js'

describe('policy/names', () => {
  describe('validateProjectId', () => {
    const valid = [
      'my-project',
      'a',
      'p1',
      '123456', // gcloud accepts all-digit IDs (legacy)
      '1abc',
      'a'.repeat(63),
      'example.com:proj',
      'google.com:my-project-1',
      'foo:bar', // domain without a dot
      'a-b.c-d.example:x',
      'sub.example.co.uk:p-1',
      `${'d'.repeat(63)}.com:p`,
    ]
    for (const value of valid) {
      it(`accepts ${JSON.stringify(value)}`, () => {
        expect(validateProjectId(value, '--project')).to.equal(value)
      })
    }

    const invalid: [value: string, reason: RegExp][] = [
      ['', /empty/],
      ['My-Project', /uppercase/],
      ['my project', /whitespace/],
      [' my-project', /whitespace/],
      ['my-project\n', /control character U\+000A/],
      ['my-project\t', /control character/],
      ['my\u0000project', /control character U\+0000/],
      ['my\u001B[31mproject', /control character U\+001B/],
      ['my_project', /"_"/],
      ['-project', /starts with "-"/],
      ['project-', /ends with "-"/],
      ['a'.repeat(64), /longer than 63/],
      ['my-project;rm -rf /', /whitespace|character/],
      ['my-project;id', /";"/],
      ['$(id)', /"\$"/],
      ['`id`', /"`"/],
      ['a|b', /"\|"/],
      ['a&b', /"&"/],
      ['a>b', /">"/],
      ["it's", /"'"/],
      ['a"b', /"\\""/],
      ['../etc/passwd', /path separator/],
      ['a/b', /path separator/],
      ['a..b', /path separator/],
      ['my-prоject', /non-ASCII character U\+043E/], // Cyrillic o
      ['mу-project', /non-ASCII character U\+0443/], // Cyrillic u
      ['my-project\u202E', /U\+202E/], // bidi override
      ['my-project\u200B', /U\+200B/], // zero-width space
      ['ｍｙ-project', /non-ASCII/], // full-width
      ['example.com:', /project ID part is empty/],
      [':proj', /domain before ":" is empty/],
      ['a:b:c', /more than one ":"/],
      ['Example.com:proj', /uppercase/],
      ['example.1com:proj', /not a valid lowercase domain/],
      ['example.com:-proj', /starts with "-"/],
      [`${'a'.repeat(250)}.com:p`, /longer than 253/],
      ['http://my-project', /character|path/],
    ]
    for (const [value, reason] of invalid) {
      it(`rejects ${JSON.stringify(value)}`, () => {
        const error = userError(() => validateProjectId(value, '--project'))
        expect(error.code).to.equal('INVALID_PROJECT')
        expect(error.exitCode).to.equal(2)
        expect(error.message).to.include('from --project')
        expect(error.message).to.match(reason)
        expect(error.suggestions.join('\n')).to.include('gcloud projects list')
      })
    }

    it('names an environment variable source and suggests the corrected value', () => {
      const error = userError(() => validateProjectId(' My-Project\n', 'CLOUDSDK_CORE_PROJECT'))
      expect(error.message).to.include('from CLOUDSDK_CORE_PROJECT')
      expect(error.suggestions[0]).to.equal('Did you mean "my-project"? Pass CLOUDSDK_CORE_PROJECT=my-project.')
    })

    it('suggests the ":" form for a domain-scoped project written as a registry path', () => {
      const error = userError(() => validateProjectId('example.com/proj', '--project'))
      expect(error.suggestions[0]).to.equal('Did you mean "example.com:proj"? Pass --project=example.com:proj.')
    })

    it('does not propose a way to pass the value when the source is not a flag or variable', () => {
      const error = userError(() => validateProjectId('MyProj', 'gcloud config (core/project)'))
      expect(error.suggestions[0]).to.equal('Did you mean "myproj"?')
    })

    it('shows hostile values escaped and truncated', () => {
      const hostile = `\u001B[2J${'x'.repeat(500)}\u202E`
      const error = userError(() => validateProjectId(hostile, '--project'))
      expect(error.message).to.not.include('\u001B')
      expect(error.message).to.not.include('\u202E')
      expect(error.message).to.include(String.raw`\u001b[2J`)
      expect(error.message).to.include('(505 characters)')
      expect(error.message.length).to.be.lessThan(400)
    })

    it('agrees with the gcloud regex on arbitrary strings', () => {
      const gcloud
        = /^(?:(?:[-a-z0-9]{1,63}\.)*(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?):)?(?:[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)$/
      fc.assert(
        fc.property(fc.string({maxLength: 20, unit: fc.constantFrom('a', 'z', '0', '9', '-', '.', ':', 'A', '_', ' ', '/')}), value => {
          let accepted: boolean
          try {
            validateProjectId(value, '--project')
            accepted = true
          } catch {
            accepted = false
          }

          expect(accepted).to.equal(gcloud.test(value))
        }),
        {numRuns: 2000},
      )
    })
  })

  describe('validateRegion', () => {
    for (const value of ['us-central1', 'europe-west1', 'europe-west12', 'northamerica-northeast1', 'me-central2', 'us-east4', 'asia-southeast1', 'africa-south1']) {
      it(`accepts ${value}`, () => {
        expect(validateRegion(value, '--region')).to.equal(value)
      })
    }

    const invalid: [value: string, reason: RegExp, suggestion?: string][] = [
      ['us', /multi-region/, '--region=us-central1'],
      ['europe', /multi-region/, '--region=europe-west1'],
      ['asia', /multi-region/, '--region=asia-east1'],
      ['US', /multi-region/],
      ['us-central1-a', /zone, not a region/, '--region=us-central1'],
      ['US-CENTRAL1', /uppercase/, 'Did you mean "us-central1"? Pass --region=us-central1.'],
      ['us-central1 ', /whitespace/, 'Did you mean "us-central1"?'],
      ['', /empty/],
      ['uscentral1', /does not look like a region/],
      ['us-central', /does not look like a region/],
      ['us_central1', /"_"/],
      ['us-central1;id', /";"/],
      ['../us-central1', /path separator/],
      ['us-cеntral1', /non-ASCII/],
      ['global', /does not look like a region/],
      [`us-${'a'.repeat(70)}1`, /longer than 63/],
    ]
    for (const [value, reason, suggestion] of invalid) {
      it(`rejects ${JSON.stringify(value)}`, () => {
        const error = userError(() => validateRegion(value, '--region'))
        expect(error.code).to.equal('INVALID_REGION')
        expect(error.message).to.include('from --region')
        expect(error.message).to.match(reason)
        if (suggestion !== undefined) expect(error.suggestions.join('\n')).to.include(suggestion)
      })
    }

    it('names an environment variable source', () => {
      const error = userError(() => validateRegion('us', 'CLOUDSDK_RUN_REGION'))
      expect(error.message).to.include('CLOUDSDK_RUN_REGION')
      expect(error.suggestions.join('\n')).to.include('CLOUDSDK_RUN_REGION=us-central1')
    })
  })

  describe('registryProjectPath', () => {
    const table: [string, string][] = [
      ['my-project', 'my-project'],
      ['example.com:proj', 'example.com/proj'],
      ['foo:bar', 'foo/bar'],
      ['123', '123'],
    ]
    for (const [input, expected] of table) {
      it(`${input} -> ${expected}`, () => {
        expect(registryProjectPath(input)).to.equal(expected)
      })
    }
  })

  describe('displayValue', () => {
    const table: [string, string][] = [
      ['abc', '"abc"'],
      ['a"b', String.raw`"a\"b"`],
      [String.raw`a\b`, String.raw`"a\\b"`],
      ['a\nb', String.raw`"a\nb"`],
      ['\u0007', String.raw`"\u0007"`],
      ['é', String.raw`"\u00e9"`],
      ['😀', String.raw`"\u{1f600}"`],
    ]
    for (const [input, expected] of table) {
      it(`${JSON.stringify(input)} -> ${expected}`, () => {
        expect(displayValue(input)).to.equal(expected)
      })
    }

    it('truncates long values and says how long they were', () => {
      expect(displayValue('x'.repeat(100), 5)).to.equal('"xxxxx"… (100 characters)')
    })

    it('only ever outputs printable ASCII (plus the ellipsis)', () => {
      fc.assert(fc.property(fc.string({maxLength: 200, unit: 'binary'}), value => {
        expect(displayValue(value)).to.match(/^[\u0020-\u007E]*(… \(\d+ characters\))?$/)
      }))
    })
  })
})
