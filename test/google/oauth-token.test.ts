// The token endpoint adapter's pure parts: which answer is a token, a refusal or a failure; and auth/token_host's
// resolution and validation (hostile input: https, or http to loopback only).
import {expect} from 'chai'

import {UserError} from '../../src/errors.js'
import {DEFAULT_TOKEN_HOST, tokenEndpointFrom} from '../../src/google/endpoint.js'
import {accessTokenOf} from '../../src/google/oauth-token.js'

describe('oauth-token', () => {
  describe('accessTokenOf (RFC 6749 §5.1 / §5.2)', () => {
    it('takes access_token from a 200 answer', () => {
      expect(accessTokenOf(200, JSON.stringify({access_token: 'ya29.x', expires_in: 3599, token_type: 'Bearer'}))).to.deep.equal({token: 'ya29.x'})
    })

    it('a 200 without access_token is a failure of the service, not a refusal', () => {
      expect(accessTokenOf(200, '{}')).to.deep.equal({error: 'it answered without an access token', refused: false})
      expect(accessTokenOf(200, '<html>')).to.include({refused: false})
    })

    it('400/401 with an OAuth error is a refusal, with Google\'s words', () => {
      expect(accessTokenOf(400, JSON.stringify({error: 'invalid_grant', error_description: 'Invalid JWT Signature.'})))
      .to.deep.equal({error: '400: invalid_grant: Invalid JWT Signature.', refused: true})
      expect(accessTokenOf(401, JSON.stringify({error: 'invalid_client'}))).to.include({refused: true})
    })

    it('a 5xx, or a 400 without an OAuth error, is a failure', () => {
      expect(accessTokenOf(503, JSON.stringify({error: 'unavailable'}))).to.include({refused: false})
      expect(accessTokenOf(400, 'Bad Request')).to.deep.equal({error: '400: HTTP 400', refused: false})
    })
  })

  describe('tokenEndpointFrom (auth/token_host)', () => {
    it('defaults to https://oauth2.googleapis.com/token (core/properties.py DEFAULT_TOKEN_HOST)', () => {
      expect(tokenEndpointFrom({}, undefined).url.toString()).to.equal(DEFAULT_TOKEN_HOST)
    })

    it('CLOUDSDK_AUTH_TOKEN_HOST beats the configuration, which beats the default', () => {
      expect(tokenEndpointFrom({CLOUDSDK_AUTH_TOKEN_HOST: 'https://env.example/token'}, 'https://file.example/token')).to.deep.include({origin: 'CLOUDSDK_AUTH_TOKEN_HOST'})
      expect(tokenEndpointFrom({}, 'https://oauth2-psc.p.googleapis.com/token').url.host).to.equal('oauth2-psc.p.googleapis.com')
      expect(tokenEndpointFrom({CLOUDSDK_AUTH_TOKEN_HOST: '  '}, undefined).url.toString()).to.equal(DEFAULT_TOKEN_HOST)
    })

    it('allows plain http to loopback only', () => {
      expect(tokenEndpointFrom({CLOUDSDK_AUTH_TOKEN_HOST: 'http://127.0.0.1:8765/token'}, undefined).url.port).to.equal('8765')
      expect(tokenEndpointFrom({CLOUDSDK_AUTH_TOKEN_HOST: 'http://localhost/token'}, undefined).url.hostname).to.equal('localhost')
    })

    const refused: Array<[string, string]> = [
      ['http://token.example/token', 'loopback'],
      ['https://user:pw@token.example/token', 'user credentials'],
      ['https://token.example/token?x=1', 'query'],
      ['https://token.example/token\nhttp://evil/', 'whitespace'],
      ['ftp://token.example/token', 'https://'],
      ['oauth2.googleapis.com/token', 'absolute URI'],
    ]
    for (const [value, why] of refused) {
      it(`refuses ${JSON.stringify(value)} (${why}) as INVALID_ENDPOINT, without echoing a password`, () => {
        let error: unknown
        try {
          tokenEndpointFrom({}, value)
        } catch (error_: unknown) {
          error = error_
        }

        expect(error).to.be.instanceOf(UserError)
        expect((error as UserError).code).to.equal('INVALID_ENDPOINT')
        expect((error as UserError).message).to.include(why).and.not.include(':pw@')
        expect((error as UserError).suggestions).to.include('gcloud config unset auth/token_host')
      })
    }
  })
})
