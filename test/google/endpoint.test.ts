import {expect} from 'chai'

import {UserError} from '../../src/errors.js'
import {
  binauthzEndpointFrom,
  DEFAULT_BINAUTHZ_ENDPOINT,
  ENDPOINT_ENV,
  iamcredentialsEndpointFrom,
  isLoopbackHost,
  resolveBinauthzEndpoint,
  universeDomainFrom,
} from '../../src/google/endpoint.js'
import {thrownBy} from '../helpers/assert.js'

const SOURCE = ENDPOINT_ENV

describe('binauthz endpoint', () => {
  it('defaults to the Google endpoint when unset or blank', () => {
    expect(resolveBinauthzEndpoint(undefined, SOURCE).href).to.equal(DEFAULT_BINAUTHZ_ENDPOINT)
    expect(resolveBinauthzEndpoint('', SOURCE).href).to.equal(DEFAULT_BINAUTHZ_ENDPOINT)
    expect(resolveBinauthzEndpoint('   ', SOURCE).href).to.equal(DEFAULT_BINAUTHZ_ENDPOINT)
  })

  const accepted: [string, string][] = [
    ['https://binaryauthorization.googleapis.com/', 'https://binaryauthorization.googleapis.com/'],
    ['https://private.example.com/binauthz/', 'https://private.example.com/binauthz/'],
    ['https://binaryauthorization.mtls.googleapis.com/', 'https://binaryauthorization.mtls.googleapis.com/'],
    ['http://127.0.0.1:1/', 'http://127.0.0.1:1/'],
    ['http://127.8.9.10:8080/prefix/', 'http://127.8.9.10:8080/prefix/'],
    ['http://localhost:9000/', 'http://localhost:9000/'],
    ['http://[::1]:9000/', 'http://[::1]:9000/'],
    ['HTTP://LOCALHOST:9000/', 'http://localhost:9000/'],
    [' https://example.com/ ', 'https://example.com/'],
  ]
  for (const [input, href] of accepted) {
    it(`accepts ${JSON.stringify(input)}`, () => {
      expect(resolveBinauthzEndpoint(input, SOURCE).href).to.equal(href)
    })
  }

  const rejected: [string, RegExp][] = [
    ['http://evil.example/', /loopback/],
    ['http://10.0.0.1/', /loopback/],
    ['http://127.0.0.1.evil.example/', /loopback/],
    ['http://128.0.0.1/', /loopback/],
    ['http://[::2]/', /loopback/],
    ['https://example.com', /end with '\/'/],
    ['http://127.0.0.1:1', /end with '\/'/],
    ['file:///etc/passwd/', /scheme "file"/],
    ['ftp://example.com/', /scheme "ftp"/],
    ['binaryauthorization.googleapis.com/', /not an absolute URI/],
    ['/relative/', /not an absolute URI/],
    ['https:example.com/', /does not start with/],
    ['https://user:pw@example.com/', /user credentials/],
    ['https://example.com/?x=1/', /query or fragment/],
    ['https://example.com/#frag/', /query or fragment/],
  ]
  for (const [input, why] of rejected) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      const error = thrownBy(() => resolveBinauthzEndpoint(input, SOURCE))
      expect(error).to.be.instanceOf(UserError)
      const e = error as UserError
      expect(e.code).to.equal('INVALID_ENDPOINT')
      expect(e.exitCode).to.equal(2)
      expect(e.message).to.match(why)
      expect(e.message).to.contain(SOURCE)
      expect(e.suggestions.join('\n')).to.contain(`unset ${SOURCE}`)
    })
  }

  it('suggests the value with the trailing slash added', () => {
    const e = thrownBy(() => resolveBinauthzEndpoint('https://example.com/api', SOURCE)) as UserError
    expect(e.suggestions).to.include(`export ${SOURCE}=https://example.com/api/`)
  })

  it('suggests https for a remote http endpoint and never echoes a password', () => {
    const remote = thrownBy(() => resolveBinauthzEndpoint('http://evil.example:8080/x/', SOURCE)) as UserError
    expect(remote.suggestions).to.include(`export ${SOURCE}=https://evil.example:8080/x/`)
    const withPassword = thrownBy(() => resolveBinauthzEndpoint('https://me:hunter2-secret@example.com/', SOURCE)) as UserError
    expect(`${withPassword.message}\n${withPassword.suggestions.join('\n')}`).not.to.contain('hunter2-secret')
  })

  it('names a gcloud config source with gcloud config commands', () => {
    const e = thrownBy(() => resolveBinauthzEndpoint('http://evil.example/', 'gcloud config api_endpoint_overrides/binaryauthorization')) as UserError
    expect(e.message).to.contain('gcloud config api_endpoint_overrides/binaryauthorization')
    expect(e.suggestions).to.include('gcloud config unset api_endpoint_overrides/binaryauthorization')
  })

  it('recognises loopback hosts', () => {
    for (const host of ['localhost', '127.0.0.1', '127.255.255.254', '[::1]']) expect(isLoopbackHost(host), host).to.equal(true)
    for (const host of ['localhost.evil', '127.0.0', '127.0.0.256', '0.0.0.0', '[::]', 'example.com']) {
      expect(isLoopbackHost(host), host).to.equal(false)
    }
  })

  it('prefers the environment over the gcloud config value', () => {
    expect(binauthzEndpointFrom({[ENDPOINT_ENV]: 'http://127.0.0.1:5/'}, 'https://config.example/').href).to.equal('http://127.0.0.1:5/')
    expect(binauthzEndpointFrom({}, 'https://config.example/').href).to.equal('https://config.example/')
    expect(binauthzEndpointFrom({[ENDPOINT_ENV]: ''}, undefined).href).to.equal(DEFAULT_BINAUTHZ_ENDPOINT)
    const e = thrownBy(() => binauthzEndpointFrom({}, 'http://evil.example/')) as UserError
    expect(e.message).to.contain('api_endpoint_overrides/binaryauthorization')
  })

  describe('universe domain (core/universe_domain; apis_internal.py UniversifyAddress)', () => {
    it('moves default endpoints to the universe, never an override', () => {
      const universe = universeDomainFrom({}, 'example-cloud.goog')
      expect(binauthzEndpointFrom({}, undefined, universe).href).to.equal('https://binaryauthorization.example-cloud.goog/')
      expect(iamcredentialsEndpointFrom({}, undefined, universe).href).to.equal('https://iamcredentials.example-cloud.goog/')
      expect(binauthzEndpointFrom({}, 'https://private.example/', universe).href).to.equal('https://private.example/')
      expect(binauthzEndpointFrom({[ENDPOINT_ENV]: 'http://127.0.0.1:5/'}, undefined, universe).href).to.equal('http://127.0.0.1:5/')
    })

    it('takes the environment over the configuration, and googleapis.com when neither is set', () => {
      expect(universeDomainFrom({CLOUDSDK_CORE_UNIVERSE_DOMAIN: 'env.example'}, 'file.example')).to.equal('env.example')
      expect(universeDomainFrom({}, 'file.example')).to.equal('file.example')
      expect(universeDomainFrom({}, undefined)).to.equal('googleapis.com')
      expect(binauthzEndpointFrom({}, undefined, universeDomainFrom({}, undefined)).href).to.equal(DEFAULT_BINAUTHZ_ENDPOINT)
    })

    for (const hostile of ['evil.example/steal?x=', '127.0.0.1:8080', 'a b.example', 'example', '-bad.example', 'x.example\n']) {
      it(`refuses ${JSON.stringify(hostile)}, which is no domain name`, () => {
        const e = thrownBy(() => universeDomainFrom({CLOUDSDK_CORE_UNIVERSE_DOMAIN: hostile}, undefined)) as UserError
        expect(e).to.be.instanceOf(UserError)
        expect(e.code).to.equal('INVALID_ENDPOINT')
        expect(e.suggestions).to.deep.equal(['unset CLOUDSDK_CORE_UNIVERSE_DOMAIN'])
      })
    }
  })
})
