import {Errors} from '@oclif/core'
import {expect} from 'chai'

import {describeError} from '../../src/cli/base-command.js'
import {
  BugError, ExternalError, Secrets, UserError,
} from '../../src/errors.js'

describe('cli/base-command describeError (the --json error object and exit code)', () => {
  it('UserError: code, exit 2, suggestions', () => {
    expect(describeError(new UserError('Region missing', {code: 'REGION_MISSING', suggestions: ['Pass --region']}), new Secrets())).to.deep.equal({
      code: 'REGION_MISSING',
      exitCode: 2,
      message: 'Region missing',
      name: 'UserError',
      suggestions: ['Pass --region'],
    })
  })

  it('a code\'s exit comes from the registry: POLICY_UPDATE_DENIED is 3', () => {
    expect(describeError(new UserError('no', {code: 'POLICY_UPDATE_DENIED'}), new Secrets()).exitCode).to.equal(3)
  })

  it('ExternalError: 5, conflict: 4', () => {
    expect(describeError(new ExternalError('api down', {code: 'API_ERROR'}), new Secrets()).exitCode).to.equal(5)
    expect(describeError(new ExternalError('etag', {code: 'POLICY_CONFLICT'}), new Secrets()).exitCode).to.equal(4)
  })

  it('BugError: 70', () => {
    expect(describeError(new BugError('oops'), new Secrets()).exitCode).to.equal(70)
  })

  it("oclif's own errors keep their exit code", () => {
    const error = new Errors.CLIError('Unexpected argument: x', {exit: 2})
    expect(describeError(error, new Secrets())).to.deep.include({code: 'USAGE', exitCode: 2, message: 'Unexpected argument: x'})
  })

  it('anything else is a bug (70) with a redacted message', () => {
    expect(describeError(new TypeError('Bearer ya29.abcdefghijkl leaked'), new Secrets())).to.deep.equal({
      code: 'BUG',
      exitCode: 70,
      message: 'Unexpected error: Bearer [REDACTED] leaked',
      name: 'BugError',
      suggestions: ['Re-run with DEBUG=binauthz* and report the output (it contains no tokens) as a bug.'],
    })
  })

  it('never includes a secret registered with the run', () => {
    const secret = 'opaque-secret-value-123456'
    const secrets = new Secrets()
    secrets.add(secret)
    const error = new Errors.CLIError(`failed with ${secret}`, {exit: 2, suggestions: [`use ${secret}`]})
    const described = describeError(error, secrets)
    expect(JSON.stringify(described)).not.to.contain(secret)
  })

  it('a secret registered with another run is not known to this one (nothing global)', () => {
    const secret = 'opaque-secret-of-another-run-1234'
    new Secrets().add(secret)
    expect(describeError(new Errors.CLIError(`failed with ${secret}`, {exit: 2}), new Secrets()).message).to.equal(`failed with ${secret}`)
  })
})
