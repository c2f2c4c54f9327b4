import {expect} from 'chai'
import {readdirSync, readFileSync} from 'node:fs'
import {constants} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {WARNING_CODES} from '../src/app/deploy.js'
import {describeError} from '../src/cli/base-command.js'
import {
  errorCodeTable, exitCodesHelp, exitCodeTable, permissionTable,
} from '../src/cli/error-docs.js'
import {
  BugError, ERROR_CODES, EXIT_CODES, ExternalError, InterruptedError, Secrets, UserError,
} from '../src/errors.js'
import {adminHandoff, POLICY_UPDATE_ROLES} from '../src/policy/handoff.js'

describe('errors', () => {
  it('documents every exit code in the README table, and only those', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
    const section = readme.split('## Exit codes')[1]?.split('\n## ')[0] ?? ''
    const rows = [...section.matchAll(/^\|\s*(\d+)\s*\|\s*`(\w+)`\s*\|/gm)].map(m => [m[2], Number(m[1])])
    expect(Object.fromEntries(rows)).to.deep.equal(EXIT_CODES)
  })

  it('the README\'s exit-code and error-code tables are the registry\'s (npm run readme writes them)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
    const between = (name: string): string => readme.split(`<!-- ${name}:start -->\n`)[1]?.split(`\n<!-- ${name}:end -->`)[0] ?? ''
    expect(between('exit-codes')).to.equal(exitCodeTable())
    expect(between('error-codes')).to.equal(errorCodeTable())
    for (const code of Object.keys(ERROR_CODES)) expect(between('error-codes'), code).to.contain(`| \`${code}\` |`)
  })

  it('the README\'s permissions table names the roles the admin hand-off names (one list)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
    const table = readme.split('<!-- permissions:start -->\n')[1]?.split('\n<!-- permissions:end -->')[0] ?? ''
    expect(table).to.equal(permissionTable())
    const handoff = adminHandoff('p', ['us-central1-docker.pkg.dev/p/cloud-run-source-deploy/**'])
    for (const role of POLICY_UPDATE_ROLES) {
      expect(table, role).to.contain(`\`${role}\``)
      expect(handoff, role).to.contain(role)
    }
  })

  it('every code raised in src/ is in the registry, and every registered code is raised somewhere', () => {
    const src = fileURLToPath(new URL('../../src/', import.meta.url))
    const files = (dir: string): string[] => readdirSync(dir, {withFileTypes: true}).flatMap(e => {
      if (e.isDirectory()) return join(dir, e.name) === join(src, 'sandbox') ? [] : files(join(dir, e.name)) // the sandbox has errors of its own
      return e.name.endsWith('.ts') ? [join(dir, e.name)] : []
    })
    const text = files(src).filter(f => f !== join(src, 'errors.ts')).map(f => readFileSync(f, 'utf8')).join('\n')
    // errno-style codes (ETIMEDOUT, EPROXY) on the socket errors the transport makes follow Node's convention, not ours.
    const warnings: readonly string[] = WARNING_CODES
    const raised = new Set([...text.matchAll(/\bcode: '([A-Z_]+)'/g)].map(m => m[1] ?? '').filter(code => !/^E[A-Z]+$/.test(code) && !(code in constants.errno) && !warnings.includes(code)))
    for (const code of raised) expect(ERROR_CODES, `${code} is raised but not registered`).to.have.property(code as string)
    // Google's canonical statuses are raised through googleStatusCode(); USAGE and BUG by the error mapping itself.
    const indirect = new Set(['ABORTED', 'ALREADY_EXISTS', 'API_ERROR', 'BUG', 'CANCELLED', 'DATA_LOSS', 'FAILED_PRECONDITION', 'INTERNAL', 'INTERRUPTED', 'OUT_OF_RANGE', 'UNAVAILABLE', 'UNIMPLEMENTED', 'UNKNOWN', 'USAGE'])
    for (const code of Object.keys(ERROR_CODES)) {
      expect(raised.has(code) || indirect.has(code) || text.includes(`'${code}'`), `${code} is registered but never raised`).to.equal(true)
    }
  })

  it('every command\'s help ends with the generated exit codes', () => {
    const manifest = JSON.parse(readFileSync(new URL('../../oclif.manifest.json', import.meta.url), 'utf8')) as {commands: Record<string, {description?: string}>}
    for (const [id, command] of Object.entries(manifest.commands)) expect(command.description, id).to.contain(exitCodesHelp())
  })

  it('maps error kinds to their exit codes', () => {
    expect(new UserError('x', {code: 'PROJECT_MISSING'}).exitCode).to.equal(2)
    expect(new UserError('x', {code: 'CONFIRMATION_REQUIRED'}).exitCode).to.equal(3)
    expect(new ExternalError('x', {code: 'NETWORK_ERROR'}).exitCode).to.equal(5)
    expect(new ExternalError('x', {code: 'POLICY_CONFLICT'}).exitCode).to.equal(4)
    expect(new ExternalError('x', {code: 'DEPLOY_FAILED'}).exitCode).to.equal(1)
    expect(new BugError('x').exitCode).to.equal(70)
    expect(new InterruptedError('x').exitCode).to.equal(130)
    expect(new InterruptedError('x', {signal: 'SIGTERM'}).exitCode).to.equal(143)
    expect(describeError(new Error('plain'), new Secrets()).exitCode).to.equal(70)
  })

  it('redacts tokens from messages, suggestions and process evidence', () => {
    const token = 'ya29.a0AfH6SMC-planted-token-value'
    const error = new ExternalError(`failed with ${token}`, {
      code: 'API_ERROR',
      process: {args: ['--access-token', token], command: 'gcloud', stderr: `Authorization: Bearer ${token}\n`},
      suggestions: [`retry ${token}`],
    })
    const everything = JSON.stringify({
      args: error.process?.args, m: error.message, s: error.suggestions, stderr: error.process?.stderr,
    })
    expect(everything).not.to.include('planted-token')
    expect(everything).to.include('[REDACTED]')
  })

  it('redacts the secrets registered with the run, shaped or not; ignores values under 8 characters', () => {
    const secrets = new Secrets()
    secrets.add('opaque-secret-1234567')
    secrets.add('short')
    expect(secrets.redact('token=opaque-secret-1234567 end short')).to.equal('token=[REDACTED] end short')
    expect(secrets.redact('Bearer ya29.shaped-token-123')).to.equal('Bearer [REDACTED]')
    // redactKnown: the registered values only, nothing else changed (the output guard's redaction).
    expect(secrets.redactKnown('ya29.shaped-token-123 opaque-secret-1234567')).to.equal('ya29.shaped-token-123 [REDACTED]')
    expect(new Secrets().redact('token=opaque-secret-1234567 end')).to.equal('token=opaque-secret-1234567 end')
  })
})
