import {expect} from 'chai'

import {UserError} from '../../src/errors.js'
import {
  deployArgv, functionDeployArgv, jobDeployArgv, runDeployArgv, validateDeployName, workerPoolDeployArgv,
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
    expect(deployArgv('job', input)).to.deep.equal(jobDeployArgv(input))
    expect(deployArgv('worker-pool', input)).to.deep.equal(workerPoolDeployArgv(input))
  })

  it('jobs: gcloud run jobs deploy (GA in 528), --binary-authorization=default before the first --container', () => {
    expect(jobDeployArgv({
      name: 'j', passthrough: ['--execute-now', '--container=app', '--source=.', '--container=side', '--image=gcr.io/p/s'], project: 'p', region: 'r',
    })).to.deep.equal([
      'run', 'jobs', 'deploy', 'j', '--project=p', '--region=r', '--execute-now', '--binary-authorization=default', '--container=app', '--source=.', '--container=side', '--image=gcr.io/p/s',
    ])
  })

  it('worker pools: gcloud beta run worker-pools deploy (528 has it in BETA and ALPHA only)', () => {
    expect(workerPoolDeployArgv({
      name: 'pool', passthrough: ['--source=.'], project: 'p', region: 'r',
    })).to.deep.equal(['beta', 'run', 'worker-pools', 'deploy', 'pool', '--project=p', '--region=r', '--source=.', '--binary-authorization=default'])
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
    ['job', '-job'],
    ['job', 'job-'],
    ['job', 'Job'],
    ['job', 'job_1'],
    ['job', 'a'.repeat(64)],
    ['worker-pool', '1pool'],
    ['worker-pool', 'a'.repeat(50)],
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
    ['job', 'a'.repeat(63)],
    ['job', '1job'],
    ['job', 'nightly-report'],
    ['worker-pool', 'a'.repeat(49)],
  ] as const) {
    it(`accepts the ${kind} name ${name.slice(0, 20)}`, () => {
      expect(validateDeployName(kind, name)).to.equal(name)
    })
  }

  it('formats a command for copying into a shell', () => {
    expect(formatCommand(['gcloud', 'run', 'deploy', 'svc', '--set-env-vars=A=b c', "it's"])).to.equal(String.raw`gcloud run deploy svc '--set-env-vars=A=b c' 'it'\''s'`)
  })
})
