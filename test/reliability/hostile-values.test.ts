// Issue 15 items 1-3 (and item 10's count): hostile values, passthrough arguments and server answers through the
// BUILT CLI on its default start path, each against its own stand-in whose policy would need a write, with a valid
// fallback configured everywhere (CLOUDSDK_CORE_PROJECT / saved defaults / gcloud configuration name the real project
// and region): a fallback or a trimmed value would deploy and write. Every case must end with the documented exit
// code, a message that says what to do, NO policy write (the stand-in's recorded PUTs), NO gcloud process, and no
// token in the output. The suite prints how many hostile inputs it ran.
import {expect} from 'chai'
import {
  chmodSync, mkdirSync, rmSync, writeFileSync,
} from 'node:fs'
import {join} from 'node:path'

import type {Policy} from '../../src/policy/types.js'
import type {FaultRule} from '../../src/sandbox/index.js'

import {EXIT_CODES} from '../../src/errors.js'
import {installedGcloud} from '../helpers/installed-gcloud.js'
import {
  CANARY_TOKEN, type CliKit, type CliRun, createCliKit, inBatches, unwrap,
} from '../helpers/reliability-cli.js'
import {startTestSandbox} from '../helpers/sandbox.js'

const PROJECT = 'hostile-vals'
const REGION = 'us-east1'
const USAGE = EXIT_CODES.usage
const EXTERNAL = EXIT_CODES.external
const RULE = {enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG', evaluationMode: 'ALWAYS_DENY'}

function strictPolicy(): Policy {
  return {
    admissionWhitelistPatterns: [{namePattern: 'gcr.io/keep-me/**'}], defaultAdmissionRule: {...RULE}, globalPolicyEvaluationMode: 'ENABLE', name: `projects/${PROJECT}/policy`,
  }
}

interface Case {
  args: string[]
  env?: (kit: CliKit) => NodeJS.ProcessEnv
  exit: number
  fault?: FaultRule
  message: RegExp
  /** Skipped (and not counted) when the real gcloud is not installed. */
  needsGcloud?: boolean
  title: string
}

const tail = ['--source=.']
function deploy(over: {project?: string; region?: string} = {}, after: string[] = tail): string[] {
  return ['deploy', 'run', 'svc', '--project', over.project ?? PROJECT, '--region', over.region ?? REGION, '--yes', '--json', '--', ...after]
}

const noProject = ['deploy', 'run', 'svc', '--region', REGION, '--yes', '--json', '--', ...tail]
const noRegion = ['deploy', 'run', 'svc', '--project', PROJECT, '--yes', '--json', '--', ...tail]
const fnNoRegion = ['deploy', 'function', 'fn', '--project', PROJECT, '--yes', '--json', '--', ...tail]

/** The kit's gcloud configuration with `text` as config_default (a valid project and region unless replaced). */
/** BINAUTHZ_GCLOUD naming an executable KIT_DIR/NAME that holds only the `#!` line `shebang`. */
function gcloudScript(name: string, shebang: string): (kit: CliKit) => NodeJS.ProcessEnv {
  return kit => {
    const bin = join(kit.dir, name)
    writeFileSync(bin, `${shebang}\n`)
    chmodSync(bin, 0o755)
    return {BINAUTHZ_GCLOUD: bin}
  }
}

function gcloudConfig(kit: CliKit, text = `[core]\nproject = ${PROJECT}\n[run]\nregion = ${REGION}\n[functions]\nregion = ${REGION}\n`): void {
  mkdirSync(join(kit.gcloudConfigDir, 'configurations'), {recursive: true})
  writeFileSync(join(kit.gcloudConfigDir, 'active_config'), 'default')
  writeFileSync(join(kit.gcloudConfigDir, 'configurations', 'config_default'), text)
}

const EMPTY_PROJECT = /INVALID_PROJECT[\s\S]*empty string|empty string[\s\S]*INVALID_PROJECT/
const PADDED_PROJECT = /INVALID_PROJECT/
const EMPTY_REGION = /INVALID_REGION[\s\S]*empty|empty[\s\S]*INVALID_REGION/
const PADDED_REGION = /INVALID_REGION[\s\S]*(whitespace|control character)|(whitespace|control character)[\s\S]*INVALID_REGION/

const CASES: Case[] = [
  // --- item 1: explicit empty or padded values, never a fallback, never trimmed ---
  ...['', ' ', '\t', '  \n'].map((value): Case => ({
    args: deploy({project: value}), exit: USAGE, message: EMPTY_PROJECT, title: `--project ${JSON.stringify(value)}`,
  })),
  ...[`${PROJECT} `, ` ${PROJECT}`, `${PROJECT}\n`, `${PROJECT}\r`, `${PROJECT}\t`, `\u00A0${PROJECT}`, `${PROJECT}\u0085`, `${PROJECT}\u001B[2J`, `"${PROJECT}"`].map((value): Case => ({
    args: deploy({project: value}), exit: USAGE, message: PADDED_PROJECT, title: `--project ${JSON.stringify(value)}`,
  })),
  // Not a project ID at all (binauthz accepts legacy IDs too, so only what no project can be named).
  ...['Hostile-Vals', '-hostile-vals', 'hostile-vals-', 'hostile_vals', 'hóstile-vals', 'hostile.vals', 'hostile vals', 'example.com:'].map((value): Case => ({
    args: deploy({project: value}), exit: USAGE, message: /INVALID_PROJECT/, title: `--project ${JSON.stringify(value)} (not a project ID)`,
  })),
  ...['', ' ', `${PROJECT} `, `\n${PROJECT}`, `${PROJECT}\u0007`].map((value): Case => ({
    args: noProject, env: () => ({CLOUDSDK_CORE_PROJECT: value}), exit: USAGE, message: /INVALID_PROJECT[\s\S]*CLOUDSDK_CORE_PROJECT|CLOUDSDK_CORE_PROJECT[\s\S]*INVALID_PROJECT/, title: `CLOUDSDK_CORE_PROJECT=${JSON.stringify(value)}`,
  })),
  ...['', ' ', ',', ',,', ' , '].map((value): Case => ({
    args: deploy({region: value}), exit: USAGE, message: EMPTY_REGION, title: `--region ${JSON.stringify(value)}`,
  })),
  ...[`${REGION},`, `,${REGION}`, `${REGION},,europe-west1`].map((value): Case => ({
    args: deploy({region: value}), exit: USAGE, message: /INVALID_REGION[\s\S]*empty element/, title: `--region ${JSON.stringify(value)}`,
  })),
  ...[` ${REGION}`, `${REGION} `, `${REGION}\n`, `${REGION}\t`, `${REGION}, europe-west1`].map((value): Case => ({
    args: deploy({region: value}), exit: USAGE, message: PADDED_REGION, title: `--region ${JSON.stringify(value)}`,
  })),
  ...[`"${REGION}"`, `'${REGION}'`, `${REGION}\u202E`].map((value): Case => ({
    args: deploy({region: value}), exit: USAGE, message: /INVALID_REGION/, title: `--region ${JSON.stringify(value)} (not unquoted for the user)`,
  })),
  ...['', ' ', `${REGION} `, ','].map((value): Case => ({
    args: noRegion, env: () => ({CLOUDSDK_RUN_REGION: value}), exit: USAGE, message: /INVALID_REGION[\s\S]*CLOUDSDK_RUN_REGION|CLOUDSDK_RUN_REGION[\s\S]*INVALID_REGION/, title: `CLOUDSDK_RUN_REGION=${JSON.stringify(value)}`,
  })),
  ...['', `${REGION}\n`].map((value): Case => ({
    args: fnNoRegion, env: () => ({CLOUDSDK_FUNCTIONS_REGION: value}), exit: USAGE, message: /INVALID_REGION[\s\S]*CLOUDSDK_FUNCTIONS_REGION|CLOUDSDK_FUNCTIONS_REGION[\s\S]*INVALID_REGION/, title: `CLOUDSDK_FUNCTIONS_REGION=${JSON.stringify(value)}`,
  })),
  // --- item 1: regions Cloud Run / Cloud Functions do not serve (a misspelt one must never reach the policy) ---
  ...([['us-centrall1', 'us-central1'], ['us-cental1', 'us-central1'], ['europe-wset1', 'europe-west1'], ['asia-east3', 'asia-east1'], ['us-east9', 'us-east1']] as const).map(([typo, meant]): Case => ({
    args: deploy({region: typo}), exit: USAGE, message: new RegExp(`REGION_UNLISTED[\\s\\S]*${meant}`), title: `--region ${typo} (did you mean ${meant})`,
  })),
  {
    args: deploy({region: `${REGION},us-centrall1`}), exit: USAGE, message: /REGION_UNLISTED/, title: 'a misspelt region in a list with a good one',
  },
  {
    args: deploy({region: 'mars-north1'}), exit: USAGE, message: /REGION_UNLISTED[\s\S]*BINAUTHZ_EXTRA_REGIONS=mars-north1/, title: 'a region newer than the table: how to allow it',
  },
  {
    args: noRegion, env: () => ({CLOUDSDK_RUN_REGION: 'us-centrall1'}), exit: USAGE, message: /REGION_UNLISTED[\s\S]*CLOUDSDK_RUN_REGION/, title: 'a misspelt region from CLOUDSDK_RUN_REGION',
  },
  {
    args: noRegion,
    env(kit) {
      gcloudConfig(kit, `[core]\nproject = ${PROJECT}\n[run]\nregion = europe-wset1\n`)
      rmSync(join(kit.configDir, 'defaults.json'))
      return {CLOUDSDK_RUN_REGION: undefined}
    },
    exit: USAGE,
    message: /REGION_UNLISTED[\s\S]*run\/region/,
    title: 'a misspelt run/region in the gcloud configuration',
  },
  {
    args: ['deploy', 'run', 'svc', '--yes', '--json', '--', ...tail],
    env(kit) {
      writeFileSync(join(kit.configDir, 'defaults.json'), JSON.stringify({project: PROJECT, regions: ['us-centrall1']}))
      return {CLOUDSDK_CORE_PROJECT: undefined, CLOUDSDK_RUN_REGION: undefined}
    },
    exit: USAGE,
    message: /REGION_UNLISTED/,
    title: 'a misspelt region in the saved defaults',
  },
  {
    args: noProject,
    env(kit) {
      gcloudConfig(kit, `[core]\nproject = ${PROJECT}\u0007\n`)
      rmSync(join(kit.configDir, 'defaults.json'))
      return {CLOUDSDK_CORE_PROJECT: undefined}
    },
    exit: USAGE,
    message: /INVALID_PROJECT/,
    title: 'a control character in core/project of the gcloud configuration',
  },
  {
    args: deploy(), env: () => ({BINAUTHZ_EXTRA_REGIONS: 'mars north1'}), exit: USAGE, message: /BINAUTHZ_EXTRA_REGIONS/, title: 'a malformed BINAUTHZ_EXTRA_REGIONS',
  },
  {
    args: deploy({region: 'mars-north1'}), env: () => ({BINAUTHZ_EXTRA_REGIONS: 'mars-north2'}), exit: USAGE, message: /REGION_UNLISTED/, title: 'BINAUTHZ_EXTRA_REGIONS naming another region',
  },
  {
    args: ['deploy', 'run', 'svc', '--project', PROJECT, '--region', REGION, '--region', 'us-centrall1', '--yes', '--json', '--', ...tail], exit: USAGE, message: /REGION_UNLISTED/, title: 'a second --region misspelt',
  },
  {
    args: ['deploy', 'function', 'fn', '--project', PROJECT, '--region', 'us-centrall1', '--yes', '--json', '--', ...tail], exit: USAGE, message: /REGION_UNLISTED[\s\S]*us-central1/, title: 'deploy function to a misspelt region',
  },
  {
    args: ['deploy', 'function', 'fn', '--project', ' ', '--region', REGION, '--yes', '--json', '--', ...tail], exit: USAGE, message: EMPTY_PROJECT, title: 'deploy function --project " "',
  },
  {
    args: ['policy', 'status', '--project', '', '--region', REGION, '--json'], exit: USAGE, message: EMPTY_PROJECT, title: 'policy status --project ""',
  },
  {
    args: ['policy', 'status', '--project', PROJECT, '--region', ',', '--json'], exit: USAGE, message: EMPTY_REGION, title: 'policy status --region ","',
  },
  {
    args: ['policy', 'allow', '--project', PROJECT, '--region', 'us-centrall1', '--yes', '--json'], exit: USAGE, message: /REGION_UNLISTED/, title: 'policy allow to a misspelt region',
  },
  {
    args: noProject, env: () => ({CLOUDSDK_CORE_PROJECT: `\u202E${PROJECT}`}), exit: USAGE, message: /INVALID_PROJECT/, title: 'CLOUDSDK_CORE_PROJECT with a right-to-left override',
  },
  // --- item 2: passthrough that makes gcloud print help or docs instead of deploying ---
  {
    args: deploy({}, [...tail, '--flags-file=flags.yaml']), exit: USAGE, message: /PASSTHROUGH_REFUSED[\s\S]*--flags-file/, title: 'passthrough --flags-file (it could hold --help)',
  },
  ...[['--help'], ['-h'], ['--document=style=markdown'], ['--document', 'style=help'], ['--help=x']].map((extra): Case => ({
    args: deploy({}, [...tail, ...extra]), exit: USAGE, message: /PASSTHROUGH_REFUSED[\s\S]*(help|documentation)/, title: `passthrough ${extra.join(' ')}`,
  })),
  ...[['-qh'], ['-hq'], ['-qq']].map((extra): Case => ({
    args: deploy({}, [...tail, ...extra]), exit: USAGE, message: /PASSTHROUGH_REFUSED[\s\S]*cluster of short flags/, title: `passthrough ${extra.join(' ')} (gcloud takes no short-flag clusters)`,
  })),
  {
    args: ['deploy', 'function', 'fn', '--project', PROJECT, '--region', REGION, '--yes', '--json', '--', '--source=.', '--document=style=markdown'], exit: USAGE, message: /PASSTHROUGH_REFUSED/, title: 'deploy function with --document',
  },
  // --- item 2: a run deploy with neither --source nor --image (gcloud: "Missing required argument [--image]") ---
  {
    args: deploy({}, []), exit: USAGE, message: /GCLOUD_WOULD_REFUSE[\s\S]*Missing required argument \[--image\]/, title: 'run deploy with nothing after --',
  },
  {
    args: ['deploy', 'run', 'svc', '--project', PROJECT, '--region', REGION, '--yes', '--json'], exit: USAGE, message: /Missing required argument \[--image\]/, title: 'run deploy without --',
  },
  {
    args: deploy({}, ['--memory=512Mi', '--no-traffic']), exit: USAGE, message: /Missing required argument \[--image\]/, title: 'run deploy with other flags but no --source/--image',
  },
  {
    args: deploy({}, ['--container=side', '--image=gcr.io/keep-me/side:1', '--container=app', '--port=8080']), exit: USAGE, message: /Container app has neither --source nor --image/, title: 'a --container with neither --source nor --image',
  },
  // --- item 2: command lines the kernel would refuse (E2BIG) for gcloud, though binauthz itself could start with them ---
  {
    // An identity flag after -- also becomes CLOUDSDK_CORE_ACCOUNT for gcloud: as an argument it fits, as a variable not.
    args: deploy({}, [...tail, `--account=${'a'.repeat(131_050)}`]), exit: USAGE, message: /ARGV_TOO_LONG[\s\S]*CLOUDSDK_CORE_ACCOUNT[\s\S]*MAX_ARG_STRLEN/, title: 'an identity flag whose variable is beyond MAX_ARG_STRLEN',
  },
  {
    args: deploy({}, [...tail, ...Array.from({length: 20}, (_, i) => `--update-labels=k${i}=${'v'.repeat(102_000)}`)]), exit: USAGE, message: /ARGV_TOO_LONG[\s\S]*ARG_MAX/, title: 'passthrough arguments beyond the ARG_MAX bound in all',
  },
  {
    args: deploy({}, [...tail, ...Array.from({length: 10}, (_, i) => `--update-labels=k${i}=${'v'.repeat(103_000)}`)]),
    env: () => Object.fromEntries(Array.from({length: 10}, (_, i) => [`BINAUTHZ_TEST_BULK_${i}`, 'z'.repeat(103_000)])),
    exit: USAGE,
    message: /ARGV_TOO_LONG[\s\S]*ARG_MAX/,
    title: 'arguments and environment beyond the ARG_MAX bound together',
  },
  // --- item 2: gcloud present but unable to start ---
  {
    args: deploy(),
    env: gcloudScript('broken-gcloud', '#!/nonexistent/python3'),
    exit: USAGE,
    message: /GCLOUD_CANNOT_START[\s\S]*\/nonexistent\/python3/,
    title: 'gcloud whose #! interpreter is missing',
  },
  {
    args: deploy(),
    env: gcloudScript('env-gcloud', '#!/usr/bin/env binauthz-no-such-interpreter'),
    exit: USAGE,
    message: /GCLOUD_CANNOT_START[\s\S]*binauthz-no-such-interpreter/,
    title: 'gcloud run through env with the program not on PATH',
  },
  {
    args: deploy(), env: kit => ({BINAUTHZ_GCLOUD: installedGcloud() ?? '', CLOUDSDK_PYTHON: join(kit.dir, 'no-python3')}), exit: USAGE, message: /GCLOUD_CANNOT_START[\s\S]*CLOUDSDK_PYTHON/, needsGcloud: true, title: 'the real gcloud 528 with CLOUDSDK_PYTHON naming nothing',
  },
  // --- item 3: answers that are not this project's policy ---
  ...([
    ['200 {}', {}],
    ['a policy without a name', {defaultAdmissionRule: RULE, etag: 'e'}],
    ['a policy without defaultAdmissionRule', {etag: 'e', name: `projects/${PROJECT}/policy`}],
    ['a policy whose defaultAdmissionRule is a string', {defaultAdmissionRule: 'ALWAYS_ALLOW', etag: 'e', name: `projects/${PROJECT}/policy`}],
    ['a number-named policy', {defaultAdmissionRule: RULE, etag: 'e', name: 'projects/123456789012/policy'}],
    ['a policy named after a longer project', {defaultAdmissionRule: RULE, etag: 'e', name: `projects/${PROJECT}-prod/policy`}],
    ['an error envelope with status 200', {error: {code: 403, message: 'The caller does not have permission', status: 'PERMISSION_DENIED'}}],
    ['a policy named with a terminal escape', {defaultAdmissionRule: RULE, etag: 'e', name: `projects/${PROJECT}/policy\u001B[2J`}],
    ['an error envelope beside a valid policy', {
      defaultAdmissionRule: RULE, error: {code: 429}, etag: 'e', name: `projects/${PROJECT}/policy`,
    }],
    ['a JSON list', [strictPolicy()]],
    ['JSON null', null],
  ] as const).map(([what, body]): Case => ({
    args: deploy(), exit: EXTERNAL, fault: {body, kind: 'not-policy', op: 'getPolicy'}, message: /POLICY_MALFORMED/, title: `server: ${what}`,
  })),
  {
    args: deploy(), exit: EXTERNAL, fault: {foreignProject: 'evil-proj', kind: 'foreign-policy', op: 'getPolicy'}, message: /projects\/evil-proj\/policy/, title: "server: another project's policy (with an etag)",
  },
  {
    args: deploy(), exit: EXTERNAL, fault: {kind: 'missing-etag', op: 'getPolicy'}, message: /POLICY_WITHOUT_ETAG/, title: 'server: the policy without an etag',
  },
  {
    args: deploy(),
    exit: EXTERNAL,
    fault: {
      body: JSON.stringify({error: {code: 500, message: 'x'}, name: `projects/${PROJECT}/policy`}), headers: {'content-type': 'application/json'}, kind: 'raw', status: 200,
    },
    message: /POLICY_MALFORMED[\s\S]*error answer/,
    title: 'server: a raw 200 error envelope',
  },
]

interface Outcome {
  gcloud: string[][]
  run: CliRun
  text: string
  writes: number
}

describe('reliability 15a: hostile values, pre-write checks and answers that are not a policy, through the built CLI', function () {
  this.timeout(300_000)
  const outcomes = new Map<string, Outcome>()
  const gcloud = installedGcloud()
  const runnable = CASES.filter(c => !c.needsGcloud || gcloud !== undefined)

  before(async () => {
    await inBatches(runnable.length, 4, async i => {
      const c = runnable[i] as Case
      const server = await startTestSandbox({policy: strictPolicy(), project: PROJECT, token: CANARY_TOKEN})
      const kit = createCliKit({endpoint: server.url, timeoutMs: 60_000})
      try {
        // A valid fallback everywhere: the environment, the saved defaults and the gcloud configuration.
        gcloudConfig(kit)
        writeFileSync(join(kit.configDir, 'defaults.json'), JSON.stringify({project: PROJECT, regions: [REGION]}))
        // (a case's env runs after these: it may replace or remove a fallback to aim at the next source)
        if (c.fault) server.fault(c.fault)
        const env = {
          CLOUDSDK_CORE_PROJECT: PROJECT, CLOUDSDK_FUNCTIONS_REGION: REGION, CLOUDSDK_RUN_REGION: REGION, ...c.env?.(kit),
        }
        const run = await kit.run(c.args, {env})
        outcomes.set(c.title, {
          gcloud: await kit.gcloud.calls(), run, text: unwrap(`${run.stdout}\n${run.stderr}`), writes: server.writes(),
        })
      } finally {
        await server.stop()
        kit.cleanup()
      }
    })
    console.log(`      hostile inputs (issue 15 items 1-3, built CLI): ${outcomes.size}`)
  })

  it(`runs at least 100 distinct hostile inputs (${CASES.length} defined, ${runnable.length} runnable here)`, () => {
    expect(new Set(CASES.map(c => c.title)).size).to.equal(CASES.length)
    expect(runnable.length).to.be.at.least(100)
  })

  for (const c of CASES) {
    it(`${c.title}: exit ${c.exit}, a clear message, no policy write, no gcloud`, function () {
      if (c.needsGcloud && gcloud === undefined) this.skip()
      const o = outcomes.get(c.title)
      expect(o, 'case did not run').not.to.equal(undefined)
      const {run, text} = o as Outcome
      expect(run.timedOut, 'hung').to.equal(false)
      expect(run.code, text.slice(0, 2000)).to.equal(c.exit)
      expect(text).to.match(c.message)
      expect(o?.writes, 'policy written').to.equal(0)
      expect(o?.gcloud, 'gcloud started').to.deep.equal([])
      expect(text, 'token printed').not.to.contain(CANARY_TOKEN)
      expect(text, 'terminal escape printed raw').not.to.contain('\u001B[2J')
      const {error} = JSON.parse(run.stdout) as {error?: {exitCode?: number; suggestions?: string[]}}
      expect(error?.exitCode).to.equal(c.exit)
      expect(error?.suggestions?.length ?? 0, 'no fix-it line').to.be.greaterThan(0)
    })
  }
})
