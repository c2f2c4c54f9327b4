import {expect} from 'chai'

import {UserError} from '../../src/errors.js'
import {
  deployArgv, execLimitProblem, functionDeployArgv, runDeployArgv, validateDeployName,
} from '../../src/gcloud/argv.js'
import {formatCommand} from '../../src/policy/shell.js'
import {thrownBy} from '../helpers/assert.js'

describe('deploy/argv', () => {
  it('run with --container groups: --binary-authorization=default before the first --container (container_parser.py)', () => {
    expect(runDeployArgv({
      name: 'svc', passthrough: ['--memory=1Gi', '--container=app', '--source=.', '--container=side', '--image=gcr.io/p/s'], project: 'p', region: 'r',
    })).to.deep.equal([
      'run', 'deploy', 'svc', '--project=p', '--region=r', '--memory=1Gi', '--binary-authorization=default', '--container=app', '--source=.', '--container=side', '--image=gcr.io/p/s',
    ])
  })

  it('builds gcloud run deploy with project, region, passthrough, and --binary-authorization=default last', () => {
    expect(runDeployArgv({
      name: 'my-fn', passthrough: ['--source=.', '--function', 'handler'], project: 'my-proj', region: 'us-central1',
    })).to.deep.equal([
      'run', 'deploy', 'my-fn', '--project=my-proj', '--region=us-central1', '--source=.', '--function', 'handler', '--binary-authorization=default',
    ])
  })

  it('builds gcloud run deploy without passthrough', () => {
    expect(runDeployArgv({
      name: 'svc', passthrough: [], project: 'p-1', region: 'europe-west1',
    })).to.deep.equal([
      'run', 'deploy', 'svc', '--project=p-1', '--region=europe-west1', '--binary-authorization=default',
    ])
  })

  it('builds gcloud functions deploy with --gen2', () => {
    expect(functionDeployArgv({
      name: 'my_fn', passthrough: ['--runtime', 'nodejs20', '--trigger-http'], project: 'example.com:proj', region: 'europe-west1',
    })).to.deep.equal([
      'functions',
      'deploy',
      'my_fn',
      '--gen2',
      '--project=example.com:proj',
      '--region=europe-west1',
      '--runtime',
      'nodejs20',
      '--trigger-http',
      '--binary-authorization=default',
    ])
  })

  it('deployArgv dispatches on kind', () => {
    const input = {
      name: 'a1', passthrough: [], project: 'p-1', region: 'us-east1',
    }
    expect(deployArgv('run', input)).to.deep.equal(runDeployArgv(input))
    expect(deployArgv('function', input)).to.deep.equal(functionDeployArgv(input))
  })

  it('does not mutate the passthrough array', () => {
    const passthrough = Object.freeze(['--source=.'])
    const argv = runDeployArgv({
      name: 'svc', passthrough, project: 'p-1', region: 'us-east1',
    })
    argv.push('x')
    expect(passthrough).to.deep.equal(['--source=.'])
  })

  for (const [kind, name] of [
    ['run', '-svc'],
    ['run', '--project=x'],
    ['run', 'Svc'],
    ['run', 'svc_1'],
    ['run', 'svc-'],
    ['run', ''],
    ['run', 'a'.repeat(50)],
    ['function', '1fn'],
    ['function', 'fn-'],
    ['function', 'fn/..'],
    ['function', 'a'.repeat(64)],
  ] as const) {
    it(`refuses the ${kind} name ${JSON.stringify(name.slice(0, 20))}`, () => {
      const error = thrownBy(() => validateDeployName(kind, name))
      expect(error).to.be.instanceOf(UserError)
      expect((error as UserError).code).to.equal('INVALID_NAME')
      expect((error as UserError).exitCode).to.equal(2)
    })
  }

  for (const [kind, name] of [
    ['run', 'svc'],
    ['run', 'my-svc-2'],
    ['run', 'a'.repeat(49)],
    ['function', 'My_Fn'],
    ['function', 'fn-2'],
  ] as const) {
    it(`accepts the ${kind} name ${name.slice(0, 20)}`, () => {
      expect(validateDeployName(kind, name)).to.equal(name)
    })
  }

  it('formats a command for copying into a shell', () => {
    expect(formatCommand(['gcloud', 'run', 'deploy', 'svc', '--set-env-vars=A=b c', "it's"])).to.equal(String.raw`gcloud run deploy svc '--set-env-vars=A=b c' 'it'\''s'`)
  })
})

describe('gcloud/argv execLimitProblem (exec(2) limits, checked before any write)', () => {
  const env = {HOME: '/home/u', PATH: '/usr/bin'}
  it('an ordinary command fits everywhere', () => {
    for (const platform of ['linux', 'darwin', 'win32'] as const) expect(execLimitProblem(['gcloud', 'run', 'deploy', 'svc'], env, platform)).to.equal(undefined)
  })

  it('Linux: one argument of 128 KiB (MAX_ARG_STRLEN, its NUL included) is refused; one byte less fits', () => {
    expect(execLimitProblem(['gcloud', `--description=${'x'.repeat(131_071 - 14)}`], env, 'linux')).to.equal(undefined)
    expect(execLimitProblem(['gcloud', `--description=${'x'.repeat(131_072 - 14)}`], env, 'linux')).to.include('MAX_ARG_STRLEN')
    expect(execLimitProblem(['gcloud'], {BIG: 'y'.repeat(200_000)}, 'linux')).to.include('environment variable "BIG"')
  })

  it('Linux: many arguments beyond ARG_MAX less the launcher headroom are refused (bytes, not characters)', () => {
    const many = Array.from({length: 40}, () => `--set-env-vars=A=${'é'.repeat(30_000)}`) // 60 KB each in UTF-8
    expect(execLimitProblem(['gcloud', ...many], env, 'linux')).to.include('ARG_MAX')
    expect(execLimitProblem(['gcloud', ...many.slice(0, 20)], env, 'linux')).to.equal(undefined)
  })

  it('macOS: 1 MiB in all; Windows: 32767 characters of command line', () => {
    expect(execLimitProblem(['gcloud', 'x'.repeat(1024 * 1024)], env, 'darwin')).to.include('ARG_MAX')
    expect(execLimitProblem(['gcloud', 'x'.repeat(40_000)], env, 'win32')).to.include('32767')
  })
})
