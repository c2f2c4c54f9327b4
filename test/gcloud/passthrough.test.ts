import {expect} from 'chai'
import * as fc from 'fast-check'

import {UserError} from '../../src/errors.js'
import {deployArgv} from '../../src/gcloud/argv.js'
import {identityEnvOf, parsePassthrough, type PassthroughContext} from '../../src/gcloud/passthrough.js'
import {thrownBy} from '../helpers/assert.js'

const run: PassthroughContext = {kind: 'run', project: 'my-proj', regions: ['us-central1']}
const fn: PassthroughContext = {kind: 'function', project: 'my-proj', regions: ['europe-west1']}
const multi: PassthroughContext = {kind: 'run', project: 'my-proj', regions: ['us-central1', 'europe-west1']}

/** Builds the literal text `${...}` (shell/template syntax under test) without writing it as a string. */
const DOLLAR = '$'

describe('deploy/passthrough', () => {
  describe('refuses hostile or conflicting arguments (exit 2, before anything changes)', () => {
    const cases: [string, PassthroughContext, string[]][] = [
      ['--binary-authorization=none', run, ['--binary-authorization=none']],
      ['--binary-authorization none (separate value)', run, ['--binary-authorization', 'none']],
      ['--binary-authorization=projects/p/platforms/cloudRun/x', fn, ['--binary-authorization=projects/p/platforms/cloudRun/x']],
      ['--binary-authorization without value', run, ['--binary-authorization']],
      ['--clear-binary-authorization', run, ['--clear-binary-authorization']],
      ['--clear-binary-authorization (functions)', fn, ['--source=.', '--clear-binary-authorization']],
      ['--no-binary-authorization', run, ['--no-binary-authorization']],
      ['--binary-authorization-x lookalike', run, ['--binary-authorization-policy=x']],
      ['--breakglass', run, ['--breakglass=urgent']],
      ['--project=other', run, ['--project=other']],
      ['--project other', fn, ['--project', 'other']],
      ['--region other', run, ['--region', 'europe-west1']],
      ['--region=other (functions)', fn, ['--region=us-central1']],
      ['--region equal but several regions', multi, ['--region=us-central1']],
      ['--regions', run, ['--regions=us-central1']],
      ['--no-gen2', fn, ['--no-gen2']],
      ['--platform=gke', run, ['--platform=gke']],
      ['--platform kubernetes', run, ['--platform', 'kubernetes']],
      ['--flags-file', run, ['--flags-file=flags.yaml']],
      ['a second --', run, ['--source=.', '--', '--binary-authorization=none']],
      ['&& operator', run, ['--source', '.', '&&', 'rm', '-rf', '/']],
      ['; operator', run, ['--source=.', ';']],
      ['| operator', run, ['|', 'sh']],
      ['$(...) substitution', run, ['--set-env-vars=A=$(cat /etc/passwd)']],
      ['backticks', run, ['--description=`id`']],
      [`${DOLLAR}{VAR} substitution`, run, [`--image=${DOLLAR}{IMAGE}`]],
      ['newline in a value', run, ['--set-env-vars=A=1\n--binary-authorization=none']],
      ['carriage return', run, ['--source=.\r']],
      ['NUL byte', run, ['--source=.\0--clear-binary-authorization']],
      ['flag and value quoted as one word', run, ['--source .']],
      ['empty --image', run, ['--image=']],
      ['--image given twice', run, ['--source=.', '--image=a', '--image=b']],
      ['--source followed by a flag instead of a value', run, ['--source', '--image=x']],
      ['--docker-repository and --clear-docker-repository', fn, ['--docker-repository=projects/p/locations/l/repositories/r', '--clear-docker-repository']],
      ['value smuggling a flag', run, ['--set-env-vars', '--binary-authorization=none']],
      ['--help (gcloud would not deploy)', run, ['--source=.', '--help']],
      ['-h', fn, ['-h']],
      // calliope/backend.py: --document renders the docs and exits 0; gcloud refuses short-flag clusters after the write
      ['--document (hidden: gcloud prints its docs)', run, ['--source=.', '--document=style=markdown']],
      ['--document with a separate value', fn, ['--document', 'style=help']],
      ['-qh (a short-flag cluster holding -h)', run, ['--source=.', '-qh']],
      ['-hq', fn, ['-hq']],
    ]
    for (const [title, context, args] of cases) {
      it(title, () => {
        const frozen = Object.freeze([...args])
        const error = thrownBy(() => parsePassthrough(frozen, context))
        expect(error).to.be.instanceOf(UserError)
        expect((error as UserError).exitCode).to.equal(2)
        expect((error as UserError).suggestions.length).to.be.greaterThan(0)
      })
    }
  })

  it('keeps ordinary arguments verbatim and reads --source/--image/--docker-repository', () => {
    expect(parsePassthrough(['--source', '.', '--function', 'handler', '--memory', '512Mi', '-q'], run)).to.deep.equal({
      args: ['--source=.', '--function', 'handler', '--memory', '512Mi', '-q'],
      clearDockerRepository: false,
      containers: [{name: '', source: '.'}],
      source: '.',
    })
    expect(parsePassthrough(['--image=us-docker.pkg.dev/p/r/svc:1'], run)).to.deep.equal({
      args: ['--image=us-docker.pkg.dev/p/r/svc:1'],
      clearDockerRepository: false,
      containers: [{image: 'us-docker.pkg.dev/p/r/svc:1', name: ''}],
      image: 'us-docker.pkg.dev/p/r/svc:1',
    })
    expect(parsePassthrough(['--docker-repository', 'europe-west1-docker.pkg.dev/my-proj/builds', '--runtime=nodejs20'], fn)).to.deep.equal({
      args: ['--docker-repository=europe-west1-docker.pkg.dev/my-proj/builds', '--runtime=nodejs20'],
      clearDockerRepository: false,
      containers: [],
      dockerRepository: 'europe-west1-docker.pkg.dev/my-proj/builds',
    })
  })

  it('--container groups: --image/--source per container, in gcloud\'s grouping (container_parser.py)', () => {
    const parsed = parsePassthrough(['--memory=1Gi', '--container', 'app', '--source=.', '--container=side', '--image=gcr.io/p/side:1', '--container', 'app', '--port=8080'], run)
    expect(parsed.containers).to.deep.equal([{image: 'gcr.io/p/side:1', name: 'side'}, {name: 'app', source: '.'}])
    expect(parsed.args).to.deep.equal(['--memory=1Gi', '--container=app', '--source=.', '--container=side', '--image=gcr.io/p/side:1', '--container=app', '--port=8080'])
    expect(parsed.image).to.equal(undefined)
  })

  it('--container: an --image twice in one container, or a per-container flag before the first --container, is refused', () => {
    expect(() => parsePassthrough(['--container=a', '--image=gcr.io/p/a', '--image=gcr.io/p/b'], run)).to.throw(UserError, /given twice/)
    expect(() => parsePassthrough(['--image=gcr.io/p/a', '--container=b', '--source=.'], run)).to.throw(UserError, /before the first --container/)
    expect(() => parsePassthrough(['--container=a', '--image=gcr.io/p/a', '--container=b', '--image=gcr.io/p/b'], run).containers).to.not.throw()
  })

  it('drops flags that merely repeat what binauthz sets', () => {
    expect(parsePassthrough(['--binary-authorization=default', '--project=my-proj', '--region', 'europe-west1', '--gen2', '--trigger-http'], fn).args).to.deep.equal(['--trigger-http'])
    expect(parsePassthrough(['--binary-authorization', 'default', '--platform', 'managed'], run).args).to.deep.equal(['--platform=managed'])
  })

  it('allows values with spaces and shell-looking characters that are not shell syntax', () => {
    expect(parsePassthrough(['--description=my service; v2', '--set-env-vars=A=a|b'], run).args).to.deep.equal([
      '--description=my service; v2',
      '--set-env-vars=A=a|b',
    ])
  })

  it('jobs and worker pools: --container groups as for services; Binary Authorization refusals name their gcloud command', () => {
    for (const kind of ['job', 'worker-pool'] as const) {
      const context: PassthroughContext = {kind, project: 'my-proj', regions: ['us-central1']}
      const parsed = parsePassthrough(['--container', 'app', '--source=.', '--container=side', '--image=gcr.io/p/s'], context)
      expect(parsed.containers).to.deep.equal([{name: 'app', source: '.'}, {image: 'gcr.io/p/s', name: 'side'}])
      expect(parsed.args).to.deep.equal(['--container=app', '--source=.', '--container=side', '--image=gcr.io/p/s'])
      for (const refused of [['--clear-binary-authorization'], ['--binary-authorization=none'], ['--breakglass=x'], ['--no-binary-authorization']]) {
        const error = thrownBy(() => parsePassthrough(refused, context))
        expect(error).to.be.instanceOf(UserError)
        expect((error as UserError).code).to.equal('PASSTHROUGH_REFUSED')
      }

      const other = thrownBy(() => parsePassthrough(['--binary-authorization=none'], context)) as UserError
      expect(other.suggestions.join('\n')).to.include(kind === 'job' ? 'gcloud run jobs deploy' : 'gcloud beta run worker-pools deploy')
    }
  })

  it('does not mutate its input', () => {
    const input = ['--source', '.']
    parsePassthrough(input, run)
    expect(input).to.deep.equal(['--source', '.'])
  })

  it('property: whatever is passed, gcloud either never runs (UserError) or gets exactly one --binary-authorization=default, last, on our project and region', () => {
    const token = fc.oneof(
      fc.constantFrom('--', '--binary-authorization', '--binary-authorization=default', '--binary-authorization=none', 'default', 'none', '--clear-binary-authorization', '--project', '--project=my-proj', '--project=evil', 'my-proj', 'evil', '--region', '--region=us-central1', '--region=europe-west1', 'us-central1', '--regions=us-central1', '--gen2', '--no-gen2', '--platform', 'managed', 'gke', '--flags-file=f.yaml', '--breakglass=x', '--source', '.', '--image', 'us-docker.pkg.dev/p/r/i', '--quiet', '--help', '-h', '&&', ';', '$(id)', '`id`', 'a\nb', 'a\u0000b', '--memory=512Mi', '--docker-repository', '--clear-docker-repository'),
      fc.string({maxLength: 12}),
    )
    fc.assert(
      fc.property(fc.constantFrom(run, fn), fc.array(token, {maxLength: 8}), (context, args) => {
        let parsed
        try {
          parsed = parsePassthrough(args, context)
        } catch (error) {
          return error instanceof UserError && error.exitCode === 2
        }

        const argv = deployArgv(context.kind, {
          name: 'svc', passthrough: parsed.args, project: context.project, region: context.regions[0] as string,
        })
        const binauthz = argv.filter(a => /^--(?:no-|clear-)?binary-auth/.test(a))
        return (
          binauthz.length === 1
          && argv.at(-1) === '--binary-authorization=default'
          && !argv.includes('--')
          && argv.filter(a => a.startsWith('--project')).length === 1
          && argv.filter(a => a.startsWith('--region')).length === 1
          && !argv.some(a => a.startsWith('--flags-file') || a.startsWith('--breakglass') || a === '--no-gen2' || /[\n\r\0]/.test(a))
        )
      }),
      {numRuns: 2000},
    )
  })

  describe('identityEnvOf: identity flags as the CLOUDSDK_* variables gcloud maps them to', () => {
    const cases: [string[], Record<string, string>][] = [
      [['--source', '.'], {}],
      [['--account=a@example.com'], {CLOUDSDK_CORE_ACCOUNT: 'a@example.com'}],
      [['--account', 'a@example.com', '--source', '.'], {CLOUDSDK_CORE_ACCOUNT: 'a@example.com'}],
      [['--configuration', 'other'], {CLOUDSDK_ACTIVE_CONFIG_NAME: 'other'}],
      [['--impersonate-service-account=a@p.iam.gserviceaccount.com,b@p.iam.gserviceaccount.com'], {CLOUDSDK_AUTH_IMPERSONATE_SERVICE_ACCOUNT: 'a@p.iam.gserviceaccount.com,b@p.iam.gserviceaccount.com'}],
      [['--access-token-file=/t'], {CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: '/t'}],
      [['--billing-project', 'bill'], {CLOUDSDK_BILLING_QUOTA_PROJECT: 'bill'}],
    ]
    for (const [args, expected] of cases) {
      it(args.join(' '), () => {
        expect(identityEnvOf(args)).to.deep.equal(expected)
      })
    }

    it('refuses a flag given twice or without a value', () => {
      for (const args of [['--account=a', '--account=b'], ['--account'], ['--billing-project='], ['--configuration', '--source']]) {
        const error = thrownBy(() => identityEnvOf(args))
        expect(error, args.join(' ')).to.be.instanceOf(UserError)
        expect((error as UserError).code).to.equal('PASSTHROUGH_REFUSED')
      }
    })

    it('the flags still reach gcloud unchanged', () => {
      expect(parsePassthrough(['--account', 'a@example.com', '--billing-project=b'], run).args).to.deep.equal(['--account', 'a@example.com', '--billing-project=b'])
    })
  })
})
