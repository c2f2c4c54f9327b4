import {expect} from 'chai'

import {
  checkApi, checkGcloud, compareVersions, enableApiCommand, parseGcloudVersion,
} from '../../src/app/setup-checks.js'
import {ExternalError, Secrets, UserError} from '../../src/errors.js'
import {BinauthzClient} from '../../src/google/binauthz-client.js'
import {startTestSandbox, type TestSandbox} from '../helpers/sandbox.js'
import {TEST_USER_AGENT} from '../helpers/user-agent.js'
import {enforcedPolicy, PROJECT} from './harness.js'

/** A fake captureGcloud answering with `stdout` and `exitCode`. */
const ok = (stdout: string, exitCode = 0) => async () => ({exitCode, stderr: exitCode === 0 ? '' : 'boom', stdout})

describe('setup checks', () => {
  describe('parseGcloudVersion / compareVersions', () => {
    it('reads the Cloud SDK version from `gcloud version --format=json`', () => {
      expect(parseGcloudVersion('{"Google Cloud SDK": "528.0.0", "core": "2025.06.27"}')).to.equal('528.0.0')
      expect(parseGcloudVersion('not json')).to.equal(undefined)
      expect(parseGcloudVersion('{"core": "2025.06.27"}')).to.equal(undefined)
      expect(parseGcloudVersion('{"Google Cloud SDK": "528.0.0; rm -rf /"}')).to.equal(undefined)
      expect(parseGcloudVersion('[]')).to.equal(undefined)
    })

    it('compares dotted versions numerically', () => {
      expect(compareVersions('528.0.0', '492.0.0')).to.be.greaterThan(0)
      expect(compareVersions('92.0.0', '492.0.0')).to.be.lessThan(0)
      expect(compareVersions('492.0', '492.0.0')).to.equal(0)
      expect(compareVersions('492.0.1', '492.0.0')).to.be.greaterThan(0)
    })
  })

  describe('checkGcloud', () => {
    it('accepts a recent gcloud, running exactly `gcloud version --format=json`', async () => {
      const seen: string[][] = []
      const check = await checkGcloud({}, async inv => {
        seen.push([...inv.args])
        return ok('{"Google Cloud SDK": "528.0.0"}')()
      })
      expect(check).to.deep.include({installed: true, recentEnough: true, version: '528.0.0'})
      expect(check.problem).to.equal(undefined)
      expect(seen).to.deep.equal([['version', '--format=json']])
    })

    it('reports an old gcloud with the update command', async () => {
      const check = await checkGcloud({}, ok('{"Google Cloud SDK": "400.0.0"}'))
      expect(check).to.deep.include({installed: true, recentEnough: false, version: '400.0.0'})
      expect(check.problem).to.contain('gcloud components update')
    })

    it('reports a missing gcloud instead of throwing', async () => {
      const check = await checkGcloud({}, async () => {
        throw new UserError('gcloud is not on PATH.', {code: 'GCLOUD_MISSING'})
      })
      expect(check).to.deep.include({installed: false, recentEnough: false})
      expect(check.problem).to.contain('BINAUTHZ_GCLOUD')
    })

    it('reports a gcloud that cannot be run (e.g. timed out) instead of aborting the wizard', async () => {
      const check = await checkGcloud({}, async () => {
        throw new ExternalError('gcloud timed out after 30 s.', {code: 'GCLOUD_TIMEOUT'})
      })
      expect(check.recentEnough).to.equal(false)
      expect(check.problem).to.contain('timed out')
    })

    it('reports a failing gcloud version', async () => {
      const check = await checkGcloud({}, ok('', 1))
      expect(check.installed).to.equal(true)
      expect(check.problem).to.contain('exited 1')
    })
  })

  describe('checkApi', () => {
    let server: TestSandbox
    let client: BinauthzClient

    beforeEach(async () => {
      server = await startTestSandbox({policy: enforcedPolicy(), project: PROJECT, token: 'tok-12345678'})
      client = new BinauthzClient({
        endpoint: server.endpoint, retry: {maxRetries: 0}, secrets: new Secrets(), tokens: {getToken: async () => 'tok-12345678'}, userAgent: TEST_USER_AGENT,
      })
    })

    afterEach(async () => server.stop())

    it('returns the policy when the API is enabled', async () => {
      const api = await checkApi(client, PROJECT)
      expect(api.state).to.equal('enabled')
      expect(server.requests()).to.have.length(1)
    })

    it('recognises SERVICE_DISABLED and gives the exact enable command', async () => {
      server.fault({message: 'Binary Authorization API has not been used in project my-proj before or it is disabled.', reason: 'SERVICE_DISABLED', status: 403})
      const api = await checkApi(client, PROJECT)
      expect(api.state).to.equal('disabled')
      expect(api.state === 'disabled' && api.enableCommand).to.equal('gcloud services enable binaryauthorization.googleapis.com --project my-proj')
      expect(enableApiCommand('example.com:p')).to.contain('--project example.com:p')
    })

    it('reports a 403 without SERVICE_DISABLED as no access', async () => {
      server.fault({message: 'The caller does not have permission', status: 403})
      const api = await checkApi(client, PROJECT)
      expect(api.state).to.equal('no-access')
    })
  })
})
