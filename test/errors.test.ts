import {expect} from 'chai'
import {readFileSync} from 'node:fs'

import {describeError} from '../src/cli/base-command.js'
import {
  BugError, EXIT_CODES, ExternalError, InterruptedError, redactSecrets, registerSecret, UserError,
} from '../src/errors.js'

describe('errors', () => {
  it('documents every exit code in the README table, and only those', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
    const section = readme.split('## Exit codes')[1]?.split('\n## ')[0] ?? ''
    const rows = [...section.matchAll(/^\|\s*(\d+)\s*\|\s*`(\w+)`\s*\|/gm)].map(m => [m[2], Number(m[1])])
    expect(Object.fromEntries(rows)).to.deep.equal(EXIT_CODES)
  })

  it('maps error kinds to their exit codes', () => {
    expect(new UserError('x', {code: 'X'}).exitCode).to.equal(2)
    expect(new UserError('x', {code: 'X', exit: 'permission'}).exitCode).to.equal(3)
    expect(new ExternalError('x', {code: 'X'}).exitCode).to.equal(5)
    expect(new ExternalError('x', {code: 'X', exit: 'conflict'}).exitCode).to.equal(4)
    expect(new BugError('x').exitCode).to.equal(70)
    expect(new InterruptedError('x').exitCode).to.equal(130)
    expect(new InterruptedError('x', {signal: 'SIGTERM'}).exitCode).to.equal(143)
    expect(describeError(new Error('plain')).exitCode).to.equal(70)
  })

  it('redacts tokens from messages, suggestions and process evidence', () => {
    const token = 'ya29.a0AfH6SMC-planted-token-value'
    const error = new ExternalError(`failed with ${token}`, {
      code: 'X',
      process: {args: ['--access-token', token], command: 'gcloud', stderr: `Authorization: Bearer ${token}\n`},
      suggestions: [`retry ${token}`],
    })
    const everything = JSON.stringify({
      args: error.process?.args, m: error.message, s: error.suggestions, stderr: error.process?.stderr,
    })
    expect(everything).not.to.include('planted-token')
    expect(everything).to.include('[REDACTED]')
  })

  it('redacts registered secrets that have no recognisable shape', () => {
    registerSecret('opaque-secret-1234567')
    expect(redactSecrets('token=opaque-secret-1234567 end')).to.equal('token=[REDACTED] end')
  })
})
