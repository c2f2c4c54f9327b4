import {expect} from 'chai'
import * as fc from 'fast-check'

import {patternCovers, patternMatchesImage, validatePattern} from '../../src/policy/pattern.js'
import {userErrorThrownBy as userError} from '../helpers/assert.js'
import {DIGEST, H, REPO} from './fixtures.js'

/** covers(e, r) is false exactly when some image matched by r is not matched by e. */
function coversIsExact(e: string, r: string): void {
  const witnesses = ['', '/', '~', '~~', 'a', '/a', ':1', '@sha256:ab', ':1@sha256:ab'].map(tail => `${literalPart(r)}${tail}`).filter(image => patternMatchesImage(r, image))
  const uncovered = witnesses.some(image => !patternMatchesImage(e, image))
  expect(patternCovers(e, r)).to.equal(!uncovered)
}

describe('policy/pattern', () => {
  describe('validatePattern', () => {
    const valid: [input: string, output: string][] = [
      [`${REPO}/**`, `${REPO}/**`],
      [`  ${REPO}/**  `, `${REPO}/**`],
      [`${REPO}/svc*`, `${REPO}/svc*`],
      [`${REPO}/svc`, `${REPO}/svc`],
      [`${REPO}/svc@${DIGEST}`, `${REPO}/svc@${DIGEST}`],
      [`${REPO}/svc:1.0`, `${REPO}/svc:1.0`],
      ['gcr.io/nginx**', 'gcr.io/nginx**'],
      ['gcr.io/*', 'gcr.io/*'],
      ['gcr.io/**', 'gcr.io/**'],
      ['gcr.io/google_containers/*', 'gcr.io/google_containers/*'],
      ['localhost:5000/x/**', 'localhost:5000/x/**'],
      [`${H}/example.com/p/r/**`, `${H}/example.com/p/r/**`],
    ]
    for (const [input, output] of valid) {
      it(`accepts ${JSON.stringify(input)}`, () => {
        expect(validatePattern(input)).to.equal(output)
      })
    }

    const invalid: [value: string, reason: RegExp, suggestion?: string][] = [
      ['', /empty/],
      ['   ', /empty/],
      ['gcr.io', /no "\/"/, 'Did you mean "gcr.io/**"?'],
      [`https://${REPO}/**`, /URL scheme/, `Did you mean "${REPO}/**"?`],
      [`${REPO} /**`, /whitespace/],
      [`${REPO}/\t**`, /whitespace/],
      [`${REPO}/svc\u0000`, /U\+0000/],
      [`${REPO}/svс*`, /U\+0441/],
      ['*.pkg.dev/p/r/**', /registry host must be literal/],
      ['*/x', /registry host must be literal/],
      ['gcr.io*', /no "\/"/],
      [`${H}/*/r/**`, /only appear once, as a trailing/],
      [`${REPO}/***`, /only appear once/],
      [`${REPO}/*svc`, /only appear once/],
      [`${REPO}/svc?`, /"\?"/],
      [`${REPO}/svc[@:]*`, /"\["/],
      [`${REPO}/$(id)`, /"\$"/],
      [`${REPO}/svc"`, /"\\""/],
      [`${H}//r/**`, /empty path segment/],
      [`${H}/p/../r/**`, /"\.\." path segment/],
      [`${H}/p/./r/**`, /path segment/],
      [`${REPO}/`, /matches no image/, `Did you mean "${REPO}/**"?`],
      ['US-central1-docker.pkg.dev/p/r/**', /not a registry host/, 'Did you mean "us-central1-docker.pkg.dev/p/r/**"?'],
      ['-bad/x/**', /not a registry host/],
      ['/p/r/**', /not a registry host/],
      [`${REPO}/${'x'.repeat(1100)}`, /longer than 1024/],
    ]
    for (const [value, reason, suggestion] of invalid) {
      it(`rejects ${JSON.stringify(value.slice(0, 80))}`, () => {
        const error = userError(() => validatePattern(value))
        expect(error.code).to.equal('INVALID_PATTERN')
        expect(error.message).to.match(reason)
        if (suggestion !== undefined) expect(error.suggestions[0]).to.equal(suggestion)
      })
    }
  })

  describe('patternMatchesImage', () => {
    const table: [pattern: string, image: string, matches: boolean][] = [
      [`${REPO}/**`, `${REPO}/svc`, true],
      [`${REPO}/**`, `${REPO}/svc@${DIGEST}`, true],
      [`${REPO}/**`, `${REPO}/a/b:tag`, true],
      [`${REPO}/**`, `${REPO}/svc/cache`, true],
      [`${REPO}/**`, `${REPO}x/svc`, false],
      [`${REPO}/**`, `${H}/my-project/other/svc`, false],
      [`${REPO}/**`, `${H}/other-project/cloud-run-source-deploy/svc`, false],
      [`${REPO}/**`, 'europe-west1-docker.pkg.dev/my-project/cloud-run-source-deploy/svc', false],
      [`${REPO}/svc*`, `${REPO}/svc@${DIGEST}`, true],
      [`${REPO}/svc*`, `${REPO}/svc:latest`, true],
      [`${REPO}/svc*`, `${REPO}/svc`, true],
      [`${REPO}/svc*`, `${REPO}/svc2`, true],
      [`${REPO}/svc*`, `${REPO}/svc/cache`, false],
      [`${REPO}/*`, `${REPO}/svc`, true],
      [`${REPO}/*`, `${REPO}/a/b`, false],
      ['gcr.io/nginx*', 'gcr.io/nginx@latest', true],
      ['gcr.io/nginx*', 'gcr.io/nginx/image', false],
      ['gcr.io/nginx**', 'gcr.io/nginx/image', true],
      [`${REPO}/svc`, `${REPO}/svc`, true],
      // policy-yaml-reference "To allowlist a specific image:": a name without tag or digest admits its tags and digests.
      [`${REPO}/svc`, `${REPO}/svc@${DIGEST}`, true],
      [`${REPO}/svc`, `${REPO}/svc:1`, true],
      [`${REPO}/svc`, `${REPO}/svc:1@${DIGEST}`, true],
      [`${REPO}/svc`, `${REPO}/svc/sub:1`, false],
      [`${REPO}/svc`, `${REPO}/svc-other:1`, false],
      [`${REPO}/svc:1`, `${REPO}/svc@${DIGEST}`, false],
      [`${REPO}/svc:1`, `${REPO}/svc:1@${DIGEST}`, false],
      ['localhost:5000/app', 'localhost:5000/app:1', true], // the port is not a tag
      // REST: a wildcard "is allowed only in text after the `registry/` part": on a local reference it admits nothing.
      ['loc-ref*', 'loc-ref', false],
      ['loc-ref**', 'loc-ref/x', false],
      ['loc-ref', 'loc-ref:1', true],
      [`${REPO}/svc`, `${REPO}/svc2`, false],
      [`${REPO}/SVC`, `${REPO}/svc`, false],
      [` ${REPO}/** `, ` ${REPO}/svc `, true],
      [`${H}/*/r`, `${H}/x/r`, false], // a mid-string '*' is literal
      [`${H}/*/r`, `${H}/*/r`, true],
    ]
    for (const [pattern, image, matches] of table) {
      it(`${pattern} ${matches ? 'matches' : 'does not match'} ${image}`, () => {
        expect(patternMatchesImage(pattern, image)).to.equal(matches)
      })
    }
  })

  describe('patternCovers', () => {
    const table: [existing: string, required: string, covers: boolean][] = [
      ['a/b/**', 'a/b/**', true],
      ['a/b/**', 'a/b/c/**', true],
      ['a/**', 'a/b/**', true],
      ['a/b**', 'a/b/**', true],
      ['a/**', 'a/b*', true],
      ['a/**', 'a/b', true],
      ['a/b*', 'a/b/**', false],
      ['a/b/*', 'a/b/**', false],
      ['a/b/*', 'a/b/c*', true],
      ['a/b/*', 'a/b/c', true],
      ['a/b/*', 'a/b/c/d', false],
      ['a/b/*', 'a/b/c/*', false],
      ['a/b*', 'a/bc*', true],
      ['a/bc*', 'a/b*', false],
      ['a/b*', 'a/b*', true],
      ['a/b/c/**', 'a/b/**', false],
      ['a/b/**', 'a/bc/**', false],
      ['a/b', 'a/b', true],
      [' a/b ', 'a/b', true],
      ['a/b/**', ' a/b/** ', true],
      ['a/b', 'a/b*', false],
      ['a/b', 'a/b/**', false],
      ['a/b', 'a/c', false],
      ['a/b*', 'a/b', true],
      ['a/b/**', 'a/b', false], // a/b is not inside a/b/
      ['b/**', 'a/b/**', false],
      [`${H}/my-project/**`, `${REPO}/**`, true],
      [`${H}/**`, `${REPO}/**`, true],
      [`${H}/my-project/*`, `${REPO}/**`, false],
      [`${REPO}/**`, `${REPO}/svc@${DIGEST}`, true],
      ['europe-west1-docker.pkg.dev/my-project/cloud-run-source-deploy/**', `${REPO}/**`, false],
      [`${H}/example.com/**`, `${H}/example.com/p/r/**`, true],
      [`${REPO}/svc`, `${REPO}/svc:1`, true],
      [`${REPO}/svc`, `${REPO}/svc@${DIGEST}`, true],
      [`${REPO}/svc:1`, `${REPO}/svc`, false],
      [`${REPO}/svc`, `${REPO}/svc*`, false],
      [`${REPO}/svc*`, `${REPO}/svc`, true], // svc, svc:tag, svc@digest: no '/'
      [`${REPO}/sv*`, `${REPO}/svc`, true],
      [`${REPO}/*`, `${REPO}/svc`, true],
      [`${REPO}/**`, `${REPO}/svc`, true],
      ['loc-ref*', 'loc-ref*', true], // matches nothing: covered by anything
      ['loc-ref*', `${REPO}/svc`, false],
    ]
    for (const [existing, required, covers] of table) {
      it(`${JSON.stringify(existing)} ${covers ? 'covers' : 'does not cover'} ${JSON.stringify(required)}`, () => {
        expect(patternCovers(existing, required)).to.equal(covers)
      })
    }

    it('is reflexive and transitive', () => {
      fc.assert(
        fc.property(patternArbitrary(), patternArbitrary(), patternArbitrary(), (a, b, c) => {
          expect(patternCovers(a, a)).to.equal(true)
          if (patternCovers(a, b) && patternCovers(b, c)) expect(patternCovers(a, c)).to.equal(true)
        }),
        {numRuns: 3000},
      )
    })

    it('is sound: if covers(e, r), every image r matches (generated under r) is matched by e', () => {
      fc.assert(
        fc.property(patternArbitrary(), patternArbitrary(), fc.string({maxLength: 8, unit: fc.constantFrom('a', 'b', '/', ':', '@', 'x')}), (e, r, tail) => {
          const image = `${literalPart(r)}${tail}`
          if (patternCovers(e, r) && patternMatchesImage(r, image)) {
            expect(patternMatchesImage(e, image), `${e} should match ${image}`).to.equal(true)
          }
        }),
        {numRuns: 10_000},
      )
    })

    it('is exact: if not covers(e, r), some image matched by r is not matched by e', () => {
      fc.assert(
        fc.property(patternArbitrary(), patternArbitrary(), coversIsExact),
        {numRuns: 10_000},
      )
    })
  })
})

/** The pattern without its trailing wildcard: the shortest image it matches. */
function literalPart(pattern: string): string {
  const text = pattern.trim()
  if (text.endsWith('**')) return text.slice(0, -2)
  if (text.endsWith('*')) return text.slice(0, -1)
  return text
}

/** Small alphabet so that prefixes, equalities and '/' boundaries happen often. */
function patternArbitrary(): fc.Arbitrary<string> {
  return fc
  .tuple(
    fc.array(fc.constantFrom('a', 'b', 'ab'), {maxLength: 3, minLength: 0}),
    fc.constantFrom('', '/', 'a', 'b'),
    fc.constantFrom('', '*', '**'),
  )
  .map(([segments, end, wildcard]) => `r/${segments.join('/')}${end}${wildcard}`)
}
