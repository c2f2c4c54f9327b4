import {expect} from 'chai'
import * as fc from 'fast-check'

import {patternMatchesImage, validatePattern} from '../../src/policy/pattern.js'
import {
  type BuildRepository,
  defaultRepository,
  parseDockerRepository,
  parseImageRepository,
  repositoryDockerPath,
  repositoryPattern,
  repositoryResourceName,
} from '../../src/policy/repository.js'
import {userErrorThrownBy as userError} from '../helpers/assert.js'
import {DIGEST, H, REPO} from './fixtures.js'

describe('policy/repository', () => {
  describe('defaultRepository / repositoryPattern', () => {
    const table: [kind: 'function' | 'run', project: string, region: string, pattern: string][] = [
      ['run', 'my-project', 'us-central1', `${H}/my-project/cloud-run-source-deploy/**`],
      ['function', 'my-project', 'europe-west1', 'europe-west1-docker.pkg.dev/my-project/gcf-artifacts/**'],
      ['run', 'example.com:proj', 'us-east4', 'us-east4-docker.pkg.dev/example.com/proj/cloud-run-source-deploy/**'],
      ['function', 'example.com:proj', 'asia-northeast1', 'asia-northeast1-docker.pkg.dev/example.com/proj/gcf-artifacts/**'],
      ['run', '123456', 'me-central2', 'me-central2-docker.pkg.dev/123456/cloud-run-source-deploy/**'],
    ]
    for (const [kind, project, region, pattern] of table) {
      it(`${kind} ${project} ${region} -> ${pattern}`, () => {
        const repo = defaultRepository(kind, project, region)
        expect(repo).to.deep.equal({
          location: region,
          project,
          repository: kind === 'run' ? 'cloud-run-source-deploy' : 'gcf-artifacts',
        })
        expect(repositoryPattern(repo)).to.equal(pattern)
        expect(validatePattern(pattern)).to.equal(pattern)
      })
    }

    it('rejects invalid projects and regions', () => {
      expect(userError(() => defaultRepository('run', 'Bad', 'us-central1')).code).to.equal('INVALID_PROJECT')
      expect(userError(() => defaultRepository('run', 'p', 'us')).code).to.equal('INVALID_REGION')
    })

    it('always produces a valid pattern that covers every image in the repository', () => {
      fc.assert(fc.property(repositoryArbitrary(), imageTailArbitrary(), (repo, tail) => {
        const pattern = repositoryPattern(repo)
        expect(validatePattern(pattern)).to.equal(pattern)
        expect(pattern.endsWith(`/${repo.repository}/**`)).to.equal(true)
        expect(pattern).to.not.include(':')
        if (tail !== '') expect(patternMatchesImage(pattern, `${repositoryDockerPath(repo)}${tail}`)).to.equal(true)
        expect(patternMatchesImage(pattern, `${repositoryDockerPath(repo)}-other${tail || '/x'}`)).to.equal(false)
      }))
    })

    it('renders the docker path and the resource name', () => {
      const repo: BuildRepository = {location: 'us', project: 'example.com:p', repository: 'r'}
      expect(repositoryDockerPath(repo)).to.equal('us-docker.pkg.dev/example.com/p/r')
      expect(repositoryResourceName(repo)).to.equal('projects/example.com:p/locations/us/repositories/r')
    })
  })

  describe('parseDockerRepository', () => {
    const valid: [string, BuildRepository][] = [
      ['projects/p/locations/us-central1/repositories/r', {location: 'us-central1', project: 'p', repository: 'r'}],
      ['projects/example.com:p/locations/europe-west1/repositories/my-repo', {location: 'europe-west1', project: 'example.com:p', repository: 'my-repo'}],
      ['projects/p/locations/us/repositories/r1', {location: 'us', project: 'p', repository: 'r1'}],
      [`${H}/p/r`, {location: 'us-central1', project: 'p', repository: 'r'}],
      [`${H}/p/r/`, {location: 'us-central1', project: 'p', repository: 'r'}],
      [`${H}/example.com/p/r`, {location: 'us-central1', project: 'example.com:p', repository: 'r'}],
      ['europe-docker.pkg.dev/my-proj/images', {location: 'europe', project: 'my-proj', repository: 'images'}],
    ]
    for (const [value, expected] of valid) {
      it(`parses ${value}`, () => {
        expect(parseDockerRepository(value, '--docker-repository')).to.deep.equal(expected)
      })
    }

    const invalid: [value: string, code: string, reason: RegExp][] = [
      ['', 'INVALID_DOCKER_REPOSITORY', /empty/],
      [' projects/p/locations/us-central1/repositories/r', 'INVALID_DOCKER_REPOSITORY', /leading or trailing whitespace/],
      ['projects/p/locations/us-central1/repositories/R', 'INVALID_DOCKER_REPOSITORY', /not a repository ID/],
      ['projects/p/locations/us-central1/repositories/r;id', 'INVALID_DOCKER_REPOSITORY', /not a repository ID/],
      ['projects/p/locations/us-central1/repositories/1r', 'INVALID_DOCKER_REPOSITORY', /not a repository ID/],
      [`projects/p/locations/us-central1/repositories/${'r'.repeat(64)}`, 'INVALID_DOCKER_REPOSITORY', /not a repository ID/],
      ['projects/P/locations/us-central1/repositories/r', 'INVALID_PROJECT', /uppercase/],
      ['projects/p/locations/mars/repositories/r', 'INVALID_DOCKER_REPOSITORY', /not an Artifact Registry location/],
      ['projects/p/locations/us-central1/repositories/r/extra', 'INVALID_DOCKER_REPOSITORY', /not of the form/],
      ['projects/p/locations/us-central1', 'INVALID_DOCKER_REPOSITORY', /not of the form/],
      [`https://${H}/p/r`, 'INVALID_DOCKER_REPOSITORY', /URL scheme/],
      [`${H}/p`, 'INVALID_DOCKER_REPOSITORY', /no repository/],
      [`${H}/p/r/image`, 'INVALID_DOCKER_REPOSITORY', /an image inside a repository/],
      ['gcr.io/p/r', 'INVALID_DOCKER_REPOSITORY', /neither/],
      [`${H}/p/r\n`, 'INVALID_DOCKER_REPOSITORY', /whitespace/],
      [`${H}/p/r\u0000`, 'INVALID_DOCKER_REPOSITORY', /U\+0000/],
      [`${H}/p/rеpo`, 'INVALID_DOCKER_REPOSITORY', /U\+0435/],
      [`${H}/../r`, 'INVALID_DOCKER_REPOSITORY', /no repository/],
      [`${H}/../p/r`, 'INVALID_PROJECT', /path separator/],
      [`${H}/p/..`, 'INVALID_DOCKER_REPOSITORY', /not a repository ID/],
      [`${H}/p$(id)/r`, 'INVALID_PROJECT', /"\$"/],
      ['EVIL-docker.pkg.dev/p/r', 'INVALID_DOCKER_REPOSITORY', /not an Artifact Registry location/],
    ]
    for (const [value, code, reason] of invalid) {
      it(`rejects ${JSON.stringify(value)}`, () => {
        const error = userError(() => parseDockerRepository(value, '--docker-repository'))
        expect(error.code).to.equal(code)
        expect(error.message).to.include('--docker-repository')
        expect(error.message).to.match(reason)
      })
    }

    it('suggests the repository when given an image path', () => {
      const error = userError(() => parseDockerRepository(`${H}/p/r/img/sub`, '--docker-repository'))
      expect(error.suggestions[0]).to.equal(`Did you mean "${H}/p/r"?`)
    })

    it('round-trips through both forms', () => {
      fc.assert(fc.property(repositoryArbitrary(), repo => {
        expect(parseDockerRepository(repositoryResourceName(repo), 'x')).to.deep.equal(repo)
        expect(parseDockerRepository(repositoryDockerPath(repo), 'x')).to.deep.equal(repo)
      }))
    })
  })

  describe('parseImageRepository', () => {
    const repo = {location: 'us-central1', project: 'my-project', repository: 'cloud-run-source-deploy'}
    const valid: [string, BuildRepository][] = [
      [REPO, repo],
      [`${REPO}/svc`, repo],
      [`${REPO}/svc:latest`, repo],
      [`${REPO}/svc@${DIGEST}`, repo],
      [`${REPO}/svc:v1.2@${DIGEST}`, repo],
      [`${REPO}/a/b/c:tag`, repo],
      [`${H}/example.com/proj/r/svc`, {location: 'us-central1', project: 'example.com:proj', repository: 'r'}],
      [`${H}/example.com/proj/r`, {location: 'us-central1', project: 'example.com:proj', repository: 'r'}],
      ['us-docker.pkg.dev/p/r/my_image.v2--x', {location: 'us', project: 'p', repository: 'r'}],
    ]
    for (const [value, expected] of valid) {
      it(`parses ${value}`, () => {
        expect(parseImageRepository(value, '--image')).to.deep.equal(expected)
      })
    }

    const invalid: [value: string, code: string, reason: RegExp][] = [
      ['', 'INVALID_IMAGE', /empty/],
      ['gcr.io/p/svc', 'INVALID_IMAGE', /not in Artifact Registry/],
      ['nginx', 'INVALID_IMAGE', /not in Artifact Registry/],
      ['docker.io/library/nginx:latest', 'INVALID_IMAGE', /not in Artifact Registry/],
      [`https://${REPO}/svc`, 'INVALID_IMAGE', /URL scheme/],
      [`${H}/p`, 'INVALID_IMAGE', /no repository/],
      [`${REPO}/Svc`, 'INVALID_IMAGE', /image path component "Svc"/],
      [`${REPO}/svc/`, 'INVALID_IMAGE', /image path component ""/],
      [`${REPO}/svc:bad tag`, 'INVALID_IMAGE', /whitespace/],
      [`${REPO}/svc:-tag`, 'INVALID_IMAGE', /not a valid tag/],
      [`${REPO}/svc@sha256:xyz`, 'INVALID_IMAGE', /not a digest/],
      [`${REPO}/svc;rm`, 'INVALID_IMAGE', /image path component/],
      [`${REPO}/../../etc`, 'INVALID_IMAGE', /image path component "\.\."/],
      [`${H}/P/r/svc`, 'INVALID_PROJECT', /uppercase/],
      [`${H}/p/R/svc`, 'INVALID_IMAGE', /not a repository ID/],
      [`${REPO}/svc\u202E`, 'INVALID_IMAGE', /U\+202E/],
      [` ${REPO}/svc`, 'INVALID_IMAGE', /whitespace/],
    ]
    for (const [value, code, reason] of invalid) {
      it(`rejects ${JSON.stringify(value)}`, () => {
        const error = userError(() => parseImageRepository(value, '--image'))
        expect(error.code).to.equal(code)
        expect(error.message).to.include('--image')
        expect(error.message).to.match(reason)
      })
    }

    it('the repository pattern of a parsed image matches the image', () => {
      fc.assert(fc.property(repositoryArbitrary(), imageTailArbitrary(), (repo, tail) => {
        const image = `${repositoryDockerPath(repo)}${tail}`
        const parsed = parseImageRepository(image, '--image')
        expect(parsed).to.deep.equal(repo)
        expect(patternMatchesImage(repositoryPattern(parsed), image) || tail === '').to.equal(true)
      }))
    })
  })
})

function repositoryArbitrary(): fc.Arbitrary<BuildRepository> {
  const label = fc.stringMatching(/^[a-z](?:[a-z0-9-]{0,10}[a-z0-9])?$/)
  return fc.record({
    location: fc.constantFrom('us-central1', 'europe-west1', 'us', 'asia', 'northamerica-northeast1'),
    project: fc.oneof(label, fc.tuple(label, label).map(([d, p]) => `${d}.com:${p}`)),
    repository: label,
  })
}

function imageTailArbitrary(): fc.Arbitrary<string> {
  const component = fc.stringMatching(/^[a-z0-9]{1,6}(?:[._-][a-z0-9]{1,4})?$/)
  return fc.oneof(
    fc.constant(''),
    fc.tuple(fc.array(component, {maxLength: 3, minLength: 1}), fc.constantFrom('', ':latest', ':v1.2', `@${DIGEST}`)).map(([parts, suffix]) => `/${parts.join('/')}${suffix}`),
  )
}
