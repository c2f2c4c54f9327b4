// Guarantee 3 (hostile input): hostile flags, names, passthrough arguments, environment variables and server answers,
// each through the BUILT CLI against its own stand-in whose policy would need a write. Every case must end with the
// documented exit code and a clear message, and with NO policy write, NO gcloud process (so nothing can have been
// injected into gcloud's argv) and no token in the output. A last group shows what does reach gcloud: scary-looking
// values are passed verbatim as single arguments, between our --project/--region and a final
// --binary-authorization=default.
import {expect} from 'chai'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import type {Policy} from '../../src/policy/types.js'
import type {FaultRule} from '../../src/sandbox/index.js'

import {EXIT_CODES} from '../../src/errors.js'
import {
  CANARY_TOKEN, type CliKit, type CliRun, createCliKit, inBatches, unwrap,
} from '../helpers/reliability-cli.js'
import {startTestSandbox, type TestSandbox} from '../helpers/sandbox.js'

const PROJECT = 'hostile-proj'
const REGION = 'us-east1'

/** Denies everything not allowlisted: any deploy that got past validation would have to write the policy. */
function strictPolicy(project = PROJECT): Policy {
  return {
    admissionWhitelistPatterns: [{namePattern: 'gcr.io/keep-me/**'}],
    defaultAdmissionRule: {enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG', evaluationMode: 'ALWAYS_DENY'},
    globalPolicyEvaluationMode: 'ENABLE',
    name: `projects/${project}/policy`,
  }
}

interface Context {
  kit: CliKit
  server: TestSandbox
}

interface Case {
  /** Arguments after `node bin/run.js`. */
  args: ((c: Context) => string[]) | string[]
  env?: (c: Context) => NodeJS.ProcessEnv
  exit: number
  /** A targeted sandbox fault (binauthzFaults rule). */
  fault?: FaultRule
  /** Must appear in stdout+stderr (oclif's line wrapping undone). */
  message: RegExp
  /** The stand-in must not even have been asked (bad input caught before any request). */
  noRequest?: boolean
  title: string
}

/** deploy run with our usual flags; `over` replaces --project/--region values, `tail` goes after `--`. */
function deploy(over: {name?: string; project?: string; region?: string;} = {}, tail: string[] = ['--source=.']): string[] {
  return [
    'deploy',
    'run',
    over.name ?? 'svc',
    '--project',
    over.project ?? PROJECT,
    '--region',
    over.region ?? REGION,
    '--yes',
    '--json',
    '--',
    ...tail,
  ]
}

function deployFunction(tail: string[], name = 'fn'): string[] {
  return ['deploy', 'function', name, '--project', PROJECT, '--region', REGION, '--yes', '--json', '--', ...tail]
}

/** deploy run without --project (so it comes from the environment or gcloud config). */
const deployNoProject = ['deploy', 'run', 'svc', '--region', REGION, '--yes', '--json', '--', '--source=.']
const deployNoRegion = ['deploy', 'run', 'svc', '--project', PROJECT, '--yes', '--json', '--', '--source=.']

function gcloudConfigDir(kit: CliKit, name: string, text: string): string {
  const dir = join(kit.dir, name)
  mkdirSync(join(dir, 'configurations'), {recursive: true})
  writeFileSync(join(dir, 'active_config'), 'default')
  writeFileSync(join(dir, 'configurations', 'config_default'), text)
  return dir
}

function file(kit: CliKit, name: string, content: Buffer | string): string {
  const path = join(kit.dir, name)
  writeFileSync(path, content)
  return path
}

const USAGE = EXIT_CODES.usage
const EXTERNAL = EXIT_CODES.external

const CASES: Case[] = [
  // --- project IDs (flag, environment, gcloud config) ---
  {
    args: deploy({project: 'p; rm -rf /'}), exit: USAGE, message: /INVALID_PROJECT/, noRequest: true, title: 'project with shell metacharacters',
  },
  {
    args: deploy({project: '$(touch /tmp/pwned)'}), exit: USAGE, message: /INVALID_PROJECT/, noRequest: true, title: 'project with command substitution',
  },
  {
    args: deploy({project: 'hostile-proj\nevil'}), exit: USAGE, message: /INVALID_PROJECT/, noRequest: true, title: 'project with a newline',
  },
  {
    args: deploy({project: '../../etc/passwd'}), exit: USAGE, message: /INVALID_PROJECT/, noRequest: true, title: 'project with path traversal',
  },
  {
    args: deploy({project: 'hostile-prоj'}), exit: USAGE, message: /INVALID_PROJECT/, noRequest: true, title: 'project with a Cyrillic look-alike letter',
  },
  {
    args: deploy({project: 'hostile-proj\u200B'}), exit: USAGE, message: /INVALID_PROJECT/, noRequest: true, title: 'project with a zero-width space',
  },
  {
    args: deploy({project: 'a'.repeat(5000)}), exit: USAGE, message: /INVALID_PROJECT.*|longer than 63/, noRequest: true, title: 'project of 5000 characters',
  },
  {
    args: deployNoProject,
    env: () => ({CLOUDSDK_CORE_PROJECT: 'hostile-proj`id`'}),
    exit: USAGE,
    message: /INVALID_PROJECT.*CLOUDSDK_CORE_PROJECT|CLOUDSDK_CORE_PROJECT.*INVALID_PROJECT/s,
    noRequest: true,
    title: 'project from CLOUDSDK_CORE_PROJECT with backticks',
  },
  {
    args: deployNoProject,
    env: ({kit}) => ({CLOUDSDK_CONFIG: gcloudConfigDir(kit, 'gc-project', '[core]\nproject = x;rm -rf /\n')}),
    exit: USAGE,
    message: /INVALID_PROJECT/,
    noRequest: true,
    title: 'project from a hostile gcloud configuration file',
  },
  // --- regions ---
  {
    args: deploy({region: 'us-central1;id'}), exit: USAGE, message: /INVALID_REGION/, noRequest: true, title: 'region with shell metacharacters',
  },
  {
    args: deploy({region: 'us-central1\n--project=evil'}), exit: USAGE, message: /INVALID_REGION/, noRequest: true, title: 'region smuggling a flag after a newline',
  },
  {
    args: deploy({region: '../../../tmp'}), exit: USAGE, message: /INVALID_REGION/, noRequest: true, title: 'region with path traversal',
  },
  {
    args: deploy({region: 'us-сentral1'}), exit: USAGE, message: /INVALID_REGION/, noRequest: true, title: 'region with a Cyrillic look-alike letter',
  },
  {
    args: deploy({region: `us-${'a'.repeat(3000)}1`}), exit: USAGE, message: /INVALID_REGION/, noRequest: true, title: 'region of 3000 characters',
  },
  {
    args: deploy({region: 'us-east1,../x'}), exit: USAGE, message: /INVALID_REGION/, noRequest: true, title: 'one bad region in a comma list',
  },
  {
    args: deployNoRegion,
    env: () => ({CLOUDSDK_RUN_REGION: 'us-east1 && id'}),
    exit: USAGE,
    message: /INVALID_REGION/,
    noRequest: true,
    title: 'region from CLOUDSDK_RUN_REGION with a shell operator',
  },
  // --- names ---
  {
    args: deploy({name: 'svc;id'}), exit: USAGE, message: /INVALID_NAME/, noRequest: true, title: 'service name with shell metacharacters',
  },
  {
    args: deploy({name: 'namespaces/evil-proj/services/svc'}),
    exit: USAGE,
    message: /INVALID_NAME/,
    noRequest: true,
    title: 'fully qualified service name pointing at another project',
  },
  {
    args: deployFunction(['--source=.'], 'projects/evil-proj/locations/us-east1/functions/fn'),
    exit: USAGE,
    message: /INVALID_NAME/,
    noRequest: true,
    title: 'fully qualified function name pointing at another project',
  },
  // --- `--` passthrough tricks ---
  {
    args: deploy({}, ['--source=.', '--', '--binary-authorization=none']), exit: USAGE, message: /second --/, noRequest: true, title: 'a second -- hiding --binary-authorization=none',
  },
  {
    args: deploy({}, ['--source=.', '--binary-authorization', 'none']), exit: USAGE, message: /--binary-authorization=none/, noRequest: true, title: '--binary-authorization none (two words)',
  },
  {
    args: deploy({}, ['--source=.', '--clear-binary-authorization']), exit: USAGE, message: /PASSTHROUGH_REFUSED/, noRequest: true, title: '--clear-binary-authorization',
  },
  {
    args: deploy({}, ['--source=.', '--breakglass=urgent']), exit: USAGE, message: /breakglass/, noRequest: true, title: '--breakglass',
  },
  {
    args: deploy({}, ['--source=.', '--project', 'evil-proj']), exit: USAGE, message: /PASSTHROUGH_CONFLICT/, noRequest: true, title: 'another --project after --',
  },
  {
    args: deploy({}, ['--source=.', '--region=us-west1']), exit: USAGE, message: /PASSTHROUGH_CONFLICT/, noRequest: true, title: 'another --region after --',
  },
  {
    args: deploy({}, ['--source=.', '--flags-file=flags.yaml']), exit: USAGE, message: /flags-file/, noRequest: true, title: '--flags-file after --',
  },
  {
    args: deploy({}, ['--source=.', '&&', 'rm', '-rf', '/']), exit: USAGE, message: /shell operator/, noRequest: true, title: 'a pasted shell line (&&)',
  },
  {
    args: deploy({}, ['--source=.', '--set-env-vars=A=$(id)']), exit: USAGE, message: /substitution/, noRequest: true, title: 'command substitution in a gcloud value',
  },
  {
    args: deploy({}, ['--set-env-vars=A=1\n--binary-authorization=none']), exit: USAGE, message: /line break/, noRequest: true, title: 'a newline smuggling a flag into a value',
  },
  {
    args: deploy({}, ['--source=.', '--platform=gke']), exit: USAGE, message: /platform/, noRequest: true, title: '--platform=gke',
  },
  {
    args: deploy({}, ['--source=.', '--source=/etc']), exit: USAGE, message: /given twice/, noRequest: true, title: '--source given twice',
  },
  {
    args: deployFunction(['--source=.', '--no-gen2']), exit: USAGE, message: /no-gen2/, noRequest: true, title: 'functions: --no-gen2',
  },
  // --- conflicting flags ---
  {
    args: deployFunction(['--docker-repository=projects/hostile-proj/locations/us-east1/repositories/r', '--clear-docker-repository']),
    exit: USAGE,
    message: /both given/,
    noRequest: true,
    title: 'functions: --docker-repository with --clear-docker-repository',
  },
  {
    args: ['policy', 'restore', '--project', PROJECT, '--list', '--latest'], exit: USAGE, message: /--latest.*--list|--list.*--latest/, noRequest: true, title: 'policy restore --list --latest',
  },
  {
    args: ['policy', 'restore', '--project', PROJECT, '--file', 'x.json', '--latest', '--yes'], exit: USAGE, message: /cannot also be provided/, noRequest: true, title: 'policy restore --file with --latest',
  },
  // --- what the server answers ---
  {
    args: deploy(), exit: EXTERNAL, fault: {kind: 'truncated', op: 'getPolicy'}, message: /MALFORMED_RESPONSE/, title: 'server: malformed policy JSON',
  },
  {
    args: deploy(), exit: EXTERNAL, fault: {foreignProject: 'evil-proj', kind: 'foreign-policy', op: 'getPolicy'}, message: /projects\/evil-proj\/policy/, title: "server: another project's policy",
  },
  {
    args: deploy(), exit: EXTERNAL, fault: {bytes: 5 * 1024 * 1024, kind: 'huge', op: 'getPolicy'}, message: /RESPONSE_TOO_LARGE/, title: 'server: a 5 MiB answer',
  },
  {
    args: deploy(), exit: EXTERNAL, fault: {kind: 'html', op: 'getPolicy'}, message: /UNEXPECTED_CONTENT_TYPE/, title: 'server: HTML instead of JSON (captive portal)',
  },
  {
    args: deploy(),
    exit: EXTERNAL,
    fault: {
      body: '[1,2,3]', headers: {'content-type': 'application/json'}, kind: 'raw', op: 'getPolicy', status: 200,
    },
    message: /POLICY_MALFORMED/,
    title: 'server: a JSON array instead of a policy',
  },
  {
    args: deploy(),
    exit: EXTERNAL,
    fault: {
      body: JSON.stringify({...strictPolicy(), admissionWhitelistPatterns: 'gcr.io/**'}), headers: {'content-type': 'application/json'}, kind: 'raw', op: 'getPolicy', status: 200,
    },
    message: /POLICY_MALFORMED/,
    title: 'server: allowlist of the wrong type',
  },
  {
    args: deploy(),
    exit: EXTERNAL,
    fault: {
      body: '{"permissions": "all"}', headers: {'content-type': 'application/json'}, kind: 'raw', op: 'testIamPermissions', status: 200,
    },
    message: /MALFORMED_RESPONSE/,
    title: 'server: testIamPermissions answers garbage',
  },
  {
    args: deploy(),
    exit: EXTERNAL,
    fault: {message: `\u001B[2J\u001B[31mYou are hacked\u0007 ${CANARY_TOKEN}`, op: 'getPolicy', status: 400},
    message: /INVALID_ARGUMENT/,
    title: 'server: an error message with terminal escapes that echoes the token',
  },
  // --- hostile environment ---
  {
    args: deploy(),
    env: () => ({CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION: 'http://evil.example/'}),
    exit: USAGE,
    message: /INVALID_ENDPOINT.*loopback|loopback.*INVALID_ENDPOINT/s,
    noRequest: true,
    title: 'endpoint override to http://evil.example/',
  },
  {
    args: deploy(),
    env: () => ({CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION: 'https://admin:hunter2pass@evil.example/'}),
    exit: USAGE,
    message: /user credentials/,
    noRequest: true,
    title: 'endpoint override with user:password',
  },
  {
    args: deploy(), env: () => ({CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION: 'file:///etc/passwd'}), exit: USAGE, message: /INVALID_ENDPOINT/, noRequest: true, title: 'endpoint override file:///etc/passwd',
  },
  {
    args: deploy(),
    env: () => ({CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION: 'http://127.0.0.1.nip.io/'}),
    exit: USAGE,
    message: /INVALID_ENDPOINT/,
    noRequest: true,
    title: 'endpoint override to a loopback-looking public name',
  },
  {
    args: deploy(),
    env: ({server}) => ({CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION: `${server.url}\nhttp://evil.example/`}),
    exit: USAGE,
    message: /control characters/,
    noRequest: true,
    title: 'endpoint override with an embedded newline',
  },
  {
    args: deploy(),
    env: ({kit}) => ({
      CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION: undefined,
      CLOUDSDK_CONFIG: gcloudConfigDir(kit, 'gc-endpoint', '[api_endpoint_overrides]\nbinaryauthorization = http://evil.example/\n'),
    }),
    exit: USAGE,
    message: /INVALID_ENDPOINT/,
    noRequest: true,
    title: 'endpoint override in the gcloud configuration to http://evil.example/',
  },
  {
    args: deploy(),
    env({kit}) {
      const dir = join(kit.dir, 'token-dir')
      mkdirSync(dir, {recursive: true})
      return {CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: dir}
    },
    exit: USAGE,
    message: /ACCESS_TOKEN_FILE_MISSING/,
    noRequest: true,
    title: 'token file is a directory',
  },
  {
    args: deploy(),
    env: ({kit}) => ({CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: file(kit, 'token-huge', `${CANARY_TOKEN}${'x'.repeat(2_000_000)}`)}),
    exit: USAGE,
    message: /FILE_TOO_LARGE/, // refused before it is read (src/store/regular-file.ts)
    noRequest: true,
    title: 'token file of 2 MB',
  },
  {
    args: deploy(),
    env: ({kit}) => ({CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: file(kit, 'token-multi', `${CANARY_TOKEN}\r\nX-Injected: 1\n`)}),
    exit: USAGE,
    message: /more than one line/,
    noRequest: true,
    title: 'token file with a second line (header injection)',
  },
  {
    args: deploy(), env: () => ({CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: '/dev/zero'}), exit: USAGE, message: /ACCESS_TOKEN_FILE_MISSING/, noRequest: true, title: 'token file /dev/zero',
  },
  {
    args: deploy(),
    env: ({kit}) => ({CLOUDSDK_CONFIG: file(kit, 'gcloud-garbage', Buffer.from([0, 1, 2, 0xFF, 0xFE, 10, 0x5B]))}),
    exit: USAGE,
    message: /CLOUDSDK_CONFIG.*not a directory/,
    noRequest: true,
    title: 'CLOUDSDK_CONFIG pointing at a garbage file',
  },
  {
    args: deploy(),
    env: () => ({CLOUDSDK_ACTIVE_CONFIG_NAME: '../../../../etc/passwd'}),
    exit: USAGE,
    message: /INVALID_GCLOUD_CONFIGURATION/,
    noRequest: true,
    title: 'CLOUDSDK_ACTIVE_CONFIG_NAME with path traversal',
  },
]

interface Outcome {
  gcloud: string[][]
  requests: number
  run: CliRun
  text: string
  writes: number
}

describe('reliability 3: hostile input through the built CLI', function () {
  this.timeout(180_000)
  const outcomes = new Map<string, Outcome>()

  before(async () => {
    await inBatches(CASES.length, 4, async i => {
      const c = CASES[i] as Case
      const server = await startTestSandbox({policy: strictPolicy(), project: PROJECT, token: CANARY_TOKEN})
      const kit = createCliKit({endpoint: server.url, timeoutMs: 30_000})
      try {
        if (c.fault) server.fault(c.fault)
        const context = {kit, server}
        const args = typeof c.args === 'function' ? c.args(context) : c.args
        const run = await kit.run(args, {env: c.env?.(context) ?? {}})
        outcomes.set(c.title, {
          gcloud: await kit.gcloud.calls(),
          requests: server.requests().length,
          run,
          text: unwrap(`${run.stdout}\n${run.stderr}`),
          writes: server.writes(),
        })
      } finally {
        await server.stop()
        kit.cleanup()
      }
    })
  })

  it(`has at least 30 cases (${CASES.length})`, () => {
    expect(CASES.length).to.be.at.least(30)
    expect(new Set(CASES.map(c => c.title)).size).to.equal(CASES.length)
  })

  for (const c of CASES) {
    it(`${c.title}: exit ${c.exit}, clear message, no write, no gcloud`, () => {
      const o = outcomes.get(c.title)
      expect(o, 'case did not run').not.to.equal(undefined)
      const {run, text} = o as Outcome
      expect(run.timedOut, 'hung').to.equal(false)
      expect(run.code, text).to.equal(c.exit)
      expect(text).to.match(c.message)
      expect(o?.writes, 'policy written').to.equal(0)
      expect(o?.gcloud, 'gcloud started').to.deep.equal([])
      if (c.noRequest) expect(o?.requests, 'the API was called').to.equal(0)
      expect(text, 'token printed').not.to.contain(CANARY_TOKEN)
      expect(text, 'terminal escape passed through').not.to.contain('\u001B[2J')
      expect(text).not.to.contain('hunter2pass')
      // Under --json the error is machine-readable and agrees with the exit code.
      if (run.stdout.trim().startsWith('{')) {
        const {error} = (JSON.parse(run.stdout) as {error?: {exitCode?: number; message?: string}})
        expect(error?.exitCode).to.equal(c.exit)
        expect(error?.message?.length).to.be.greaterThan(20)
      }
    })
  }

  describe('what does reach gcloud', () => {
    let server: TestSandbox
    let kit: CliKit

    before(async () => {
      server = await startTestSandbox({policy: strictPolicy(), project: PROJECT, token: CANARY_TOKEN})
      kit = createCliKit({endpoint: server.url, timeoutMs: 30_000})
    })

    after(async () => {
      await server.stop()
      kit.cleanup()
    })

    it('scary-looking values go to gcloud verbatim, one argument each, between our flags and --binary-authorization=default', async () => {
      const scary = ['--source=.', '--set-env-vars=A=x;y|z>w', "--description=it's \"quoted\" & <b>", '--labels=k=v,k2=v 2', '--no-traffic']
      const run = await kit.run(deploy({}, scary))
      expect(run.code, run.stderr).to.equal(0)
      expect(await kit.gcloud.calls()).to.deep.equal([
        ['run', 'deploy', 'svc', `--project=${PROJECT}`, `--region=${REGION}`, ...scary, '--binary-authorization=default'],
      ])
      expect(server.writes()).to.equal(1)
    })

    it('a package.json with a linked oclif plugin in BINAUTHZ_DATA_DIR is never loaded', async () => {
      const pluginDir = join(kit.dir, 'evil-plugin')
      mkdirSync(join(pluginDir, 'hooks'), {recursive: true})
      const marker = join(kit.dir, 'PLUGIN-RAN')
      writeFileSync(join(pluginDir, 'package.json'), JSON.stringify({
        name: 'evil-plugin', oclif: {hooks: {init: './hooks/init.js'}}, type: 'module', version: '1.0.0',
      }))
      writeFileSync(join(pluginDir, 'hooks', 'init.js'), `import {writeFileSync} from 'node:fs'\nexport default async function () { writeFileSync(${JSON.stringify(marker)}, 'ran') }\n`)
      writeFileSync(join(kit.dataDir, 'package.json'), JSON.stringify({oclif: {plugins: [{name: 'evil-plugin', root: pluginDir, type: 'link'}]}}))
      const run = await kit.run(['policy', 'status', '--project', PROJECT, '--region', REGION, '--json'])
      const {existsSync} = await import('node:fs')
      expect(existsSync(marker), run.stderr).to.equal(false)
      expect(run.stderr).not.to.contain('evil-plugin')
    })
  })
})
