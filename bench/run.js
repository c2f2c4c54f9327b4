#!/usr/bin/env node
// `npm run bench`: how much binauthz costs on top of starting Node, measured side by side in ONE run.
//
// Rows: `node -e 0` (the floor), `binauthz --help`, `binauthz deploy run x --dry-run` (pattern already allowlisted),
// the full `deploy run` with a fake gcloud that exits at once, the no-credentials error, and what a user would script instead
// (`gcloud container binauthz policy export | grep` + the deploy) with the real gcloud. Every CLI row talks to a
// local Binary Authorization API: the sandbox (src/sandbox, 127.0.0.1, its own process).
//
// Timing: a Node harness that runs the rows interleaved (round robin, so a change in machine load hits every row
// alike): N runs after W warm-ups, median and min wall time of the whole run, and, for rows that start gcloud, the
// time from the spawn of the row's command to the first line of the deploying gcloud (the fake is a bash script that
// logs bash's $EPOCHREALTIME, so the moment costs no extra process): the issue's "up to spawning gcloud". CPU time
// (user+sys) and peak RSS come from separate runs under /usr/bin/time (else, for Node rows, from
// process.resourceUsage() reported by a preload). NODE_EXTRA_CA_CERTS is removed from every child's environment
// (on Node 20 it adds ~36 ms to each start); the table says whether it was set here.
//
// Before timing, each CLI row runs once to check behaviour and counts: exit code, policy reads/writes/IAM calls
// seen by the sandbox, gcloud processes started (the fake logs each call).
//
// The CLI runs on one start path (bin/run.js → dist/bundle/binauthz.cjs). --node PATH runs the floor and the CLI with
// another Node (scripts/node-line.js 24 prints one); --compile-cache off sets Node's NODE_DISABLE_COMPILE_CACHE=1
// for the CLI (on: bin/run.js enables it where Node has module.enableCompileCache, Node ≥ 22.1; its cache
// directory is under the bench's temporary XDG_CACHE_HOME, filled by the warm-up rounds).
//
// Usage: node bench/run.js [--runs N] [--warmup W] [--out FILE] [--only name,name]
//        [--scripted-runs N] [--node PATH] [--compile-cache on|off]
import {
  execFileSync, spawn, spawnSync,
} from 'node:child_process'
import {
  chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync,
} from 'node:fs'
import {cpus, loadavg, tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'
import {parseArgs} from 'node:util'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const {values: opts} = parseArgs({
  options: {
    'compile-cache': {default: 'on', type: 'string'},
    node: {default: process.execPath, type: 'string'},
    only: {type: 'string'},
    out: {default: join(root, 'bench', 'RESULTS.md'), type: 'string'},
    runs: {default: process.env.BENCH_RUNS ?? '20', type: 'string'},
    'scripted-runs': {type: 'string'},
    warmup: {default: '3', type: 'string'},
  },
})
/** The Node that runs the floor and the CLI (the sandbox and this harness run on process.execPath). */
const {node} = opts
const nodeVersion = execFileSync(node, ['--version'], {encoding: 'utf8'}).trim()
const compileCacheOff = opts['compile-cache'] === 'off'
const hasCompileCache = execFileSync(node, ['-p', "typeof require('node:module').enableCompileCache"], {encoding: 'utf8'}).trim() === 'function'
const RUNS = Math.max(3, Number.parseInt(opts.runs, 10) || 20)
const WARMUP = Math.max(0, Number.parseInt(opts.warmup, 10) || 0)
const SCRIPTED_RUNS = Math.max(3, Number.parseInt(opts['scripted-runs'] ?? '', 10) || Math.ceil(RUNS / 4))
const RESOURCE_RUNS = Math.max(3, Math.ceil(RUNS / 2))

const loadBefore = loadavg()
const PROJECT = 'bench-proj'
const REGION = 'us-central1'
const PATTERN = `${REGION}-docker.pkg.dev/${PROJECT}/cloud-run-source-deploy/**`
const FRESH_REGION = 'europe-west1' // its pattern is not allowlisted: used once to check "one read, one write"

function which(name) {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], {encoding: 'utf8'})
  return r.status === 0 ? r.stdout.trim() : undefined
}

function shellQuote(arg) {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", String.raw`'\''`)}'`
}

function mean(values) {
  return values.reduce((sum, v) => sum + v, 0) / values.length
}

function median(values) {
  const s = [...values].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

// ---------------------------------------------------------------------------------------------------------------
// Fixtures: temp dirs, token file, fake gcloud, the sandbox

if (!existsSync(join(root, 'dist', 'src', 'commands'))) {
  throw new Error('bench: dist/src/commands is missing; run `npm run build` first (`npm run bench` does).')
}

const tmp = mkdtempSync(join(tmpdir(), 'binauthz-bench-'))
const home = join(tmp, 'home')
const cloudsdk = join(tmp, 'cloudsdk')
mkdirSync(home)
mkdirSync(cloudsdk)
const tokenFile = join(tmp, 'token')
const BENCH_TOKEN = 'ya29.bench-access-token'
writeFileSync(tokenFile, `${BENCH_TOKEN}\n`, {mode: 0o600})
const gcloudLog = join(tmp, 'gcloud-calls.log')
const fakeGcloud = join(tmp, 'fake-gcloud')
// printf is a shell builtin: logging the call starts no extra process. Each line: the moment the script began (bash
// ≥ 5's $EPOCHREALTIME, epoch seconds with microseconds; "-" where there is no such bash), a tab, the arguments.
// `auth print-access-token` (binauthz's one gcloud child for a gcloud login) prints the bench token.
const bash5 = spawnSync('bash', ['-c', 'printf %s "$EPOCHREALTIME"'], {encoding: 'utf8'}).stdout?.match(/^\d+[.,]\d+$/) ? which('bash') : undefined
writeFileSync(fakeGcloud, [
  bash5 ? `#!${bash5}` : '#!/bin/sh',
  `printf '%s\\t%s\\n' "\${EPOCHREALTIME:--}" "$*" >> '${gcloudLog}'`,
  `if [ "$1 $2" = 'auth print-access-token' ]; then printf '%s\\n' '${BENCH_TOKEN}'; fi`,
  'exit 0',
  '',
].join('\n'))
chmodSync(fakeGcloud, 0o755)
const rusagePreload = join(root, 'bench', 'rusage-preload.js')

// The policy API: the sandbox (src/sandbox, built to dist/src/sandbox), in its own Node process so the timed
// commands never wait on this harness's event loop. It serves PROJECT (REGION's pattern allowlisted, FRESH_REGION's not),
// accepts only the bench token, and logs every request to STATE/requests.jsonl, from which the counts are read.
const sandboxDir = join(tmp, 'sandbox')
const benchPolicy = (project, patterns) => ({
  admissionWhitelistPatterns: patterns.map(namePattern => ({namePattern})),
  defaultAdmissionRule: {enforcementMode: 'ENFORCED_BLOCK_AND_AUDIT_LOG', evaluationMode: 'ALWAYS_DENY'},
  globalPolicyEvaluationMode: 'ENABLE',
  name: `projects/${project}/policy`,
})
const sandboxOptions = {
  policy: benchPolicy(PROJECT, [PATTERN]),
  project: PROJECT,
  stateDir: sandboxDir,
  token: BENCH_TOKEN,
}
const sandboxMain = `
const [entry, options] = process.argv.slice(1)
const {startSandbox} = await import(entry)
const sandbox = await startSandbox(JSON.parse(options))
process.send({port: sandbox.port, type: 'listening'})
// The harness going away (even abruptly) ends the sandbox.
process.on('disconnect', () => sandbox.stop())
`
const server = spawn(process.execPath, ['--input-type=module', '-e', sandboxMain, pathToFileURL(join(root, 'dist', 'src', 'sandbox', 'index.js')).href, JSON.stringify(sandboxOptions)], {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
})
const port = await new Promise((resolvePort, reject) => {
  server.once('message', m => (m?.type === 'listening' ? resolvePort(m.port) : reject(new Error('unexpected message'))))
  server.once('exit', code => reject(new Error(`sandbox exited (${code})`)))
})

/** Counts from the sandbox's request log (every request is appended before it is answered). */
function serverStats() {
  const file = join(sandboxDir, 'requests.jsonl')
  const records = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map(line => JSON.parse(line)) : []
  const count = op => records.filter(r => r.op === op).length
  return {
    iam: count('testIamPermissions'),
    other: records.filter(r => r.op === undefined).length,
    reads: count('getPolicy'),
    requests: records.length,
    tokens: records.filter(r => r.api === 'oauth2').length,
    writes: count('updatePolicy'),
  }
}

function closeServer() {
  if (!server.connected) return
  server.disconnect()
}

let cleaned = false
function cleanup() {
  if (cleaned) return
  cleaned = true
  closeServer()
  rmSync(tmp, {force: true, recursive: true})
}

process.on('exit', cleanup)
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    cleanup()
    process.kill(process.pid, signal)
  })
}

// The environment of every child: the caller's, minus what would skew or leak into the measurement.
const baseEnv = {...process.env}
const extraCaWasSet = baseEnv.NODE_EXTRA_CA_CERTS !== undefined
for (const key of Object.keys(baseEnv)) {
  if (
    key === 'NODE_EXTRA_CA_CERTS'
    || key === 'GOOGLE_APPLICATION_CREDENTIALS'
    || key.startsWith('CLOUDSDK_')
    || key.startsWith('BINAUTHZ_')
    || key.startsWith('XDG_')
    || key === 'DEBUG'
    || key === 'NODE_DEBUG'
    || key.startsWith('OCLIF_')
    || key === 'NODE_COMPILE_CACHE'
    || key === 'NODE_DISABLE_COMPILE_CACHE'
    || key === 'XDG_CACHE_HOME'
  ) {
    delete baseEnv[key]
  }
}

Object.assign(baseEnv, {
  CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: 'true',
  CLOUDSDK_CONFIG: cloudsdk,
  CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
  CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: 'true',
  HOME: home,
  // bin/run.js keeps the compile cache in $XDG_CACHE_HOME/binauthz: a fresh one per bench run.
  XDG_CACHE_HOME: join(tmp, 'cache'),
  ...(compileCacheOff ? {NODE_DISABLE_COMPILE_CACHE: '1'} : {}),
})
delete baseEnv.METADATA_SERVER_DETECTION
const cliEnv = {
  ...baseEnv,
  BINAUTHZ_CONFIG_DIR: join(tmp, 'binauthz-config'),
  BINAUTHZ_DATA_DIR: join(tmp, 'binauthz-data'),
  BINAUTHZ_GCLOUD: fakeGcloud,
  CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION: `http://127.0.0.1:${port}/`,
  // The deploy reads the existing Cloud Run service first (src/app/existing.ts), from the same sandbox.
  CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN: `http://127.0.0.1:${port}/`,
  CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: tokenFile,
}
const noCredsEnv = {...cliEnv}
delete noCredsEnv.CLOUDSDK_AUTH_ACCESS_TOKEN_FILE
// Credential sources (issue 14), each for the same no-change deploy: impersonation on top of the token file (binauthz
// asks the sandbox's IAM Credentials generateAccessToken stand-in itself), and a gcloud login (no token file: one
// `gcloud auth print-access-token`).
const BENCH_SA = `deployer@${PROJECT}.iam.gserviceaccount.com`
const impersonatedEnv = {
  ...cliEnv, CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS: `http://127.0.0.1:${port}/`, CLOUDSDK_AUTH_IMPERSONATE_SERVICE_ACCOUNT: BENCH_SA,
}
const gcloudLoginEnv = {...noCredsEnv, CLOUDSDK_CORE_ACCOUNT: 'bench-user@example.com'}
// auth/credential_file_override naming a service-account key the sandbox issued (its public half in keys.json):
// binauthz signs the JWT and exchanges it at auth/token_host (the sandbox's /token) itself, starting no gcloud.
const {issueServiceAccountKey, SandboxState} = await import(pathToFileURL(join(root, 'dist', 'src', 'sandbox', 'index.js')).href)
const keyFile = join(tmp, 'sa-key.json')
writeFileSync(keyFile, JSON.stringify(issueServiceAccountKey(new SandboxState(sandboxDir), `bench-key@${PROJECT}.iam.gserviceaccount.com`, `http://127.0.0.1:${port}/token`)), {mode: 0o600})
const keyFileEnv = {...noCredsEnv, CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE: keyFile, CLOUDSDK_AUTH_TOKEN_HOST: `http://127.0.0.1:${port}/token`}
const keyFileImpersonatedEnv = {
  ...keyFileEnv, CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS: `http://127.0.0.1:${port}/`, CLOUDSDK_AUTH_IMPERSONATE_SERVICE_ACCOUNT: BENCH_SA,
}
// The same key with gcloud's access-token cache warm, as after any gcloud command with the key within the hour (a
// previous deploy): the real gcloud fills <config dir>/access_tokens.db, and binauthz uses that token where Node reads
// SQLite (src/auth/gcloud-token-cache.ts, node:sqlite). The other rows' configuration directory has no cache.
const warmCloudsdk = join(tmp, 'cloudsdk-warm')
mkdirSync(warmCloudsdk)
const warmKeyFileEnv = {...keyFileEnv, CLOUDSDK_CONFIG: warmCloudsdk}
const warmKeyFileImpersonatedEnv = {...keyFileImpersonatedEnv, CLOUDSDK_CONFIG: warmCloudsdk}

const bin = join(root, 'bin', 'run.js')
const deployArgs = ['deploy', 'run', 'x', '--region', REGION, '--project', PROJECT]
// gcloud's arguments: a run deploy needs --source or --image (binauthz refuses neither before any request).
const FROM_SOURCE = ['--', '--source=.']
const realGcloud = which('gcloud')
const cacheWarmed = realGcloud !== undefined && spawnSync(realGcloud, ['auth', 'print-access-token'], {env: warmKeyFileEnv, stdio: 'ignore'}).status === 0
// util-linux script(1) gives a pseudo-terminal, as when a developer runs binauthz by hand (progress renderer on).
const utilLinuxScript = spawnSync('script', ['--version'], {encoding: 'utf8'}).stdout?.includes('util-linux')
const inTerminal = argv => ['script', '-qec', argv.map(arg => shellQuote(arg)).join(' '), '/dev/null']
const scriptedShell = [
  `gcloud container binauthz policy export --project ${PROJECT} --quiet | grep -qF 'namePattern: ${PATTERN}'`,
  `"$BINAUTHZ_GCLOUD" run deploy x --source . --region ${REGION} --project ${PROJECT} --binary-authorization default`,
].join(' && ')

/**
 * A no-change `deploy run` with one credential source (issue 14's rows): the same command, checks and target, the
 * environment naming the source. `extraGcloud`: gcloud processes besides the deploy (print-access-token); `info`: a row
 * the issue sets no target for. A no-change deploy makes no permission check (testIamPermissions) whatever the source.
 */
function credentialRow({env, extraGcloud = 0, info, label, name, source}) {
  return {
    argv: [node, bin, ...deployArgs, ...FROM_SOURCE],
    credential: {extraGcloud, source},
    env,
    expect: {
      exit: 0, gcloud: 1 + extraGcloud, iam: 0, reads: 1, writes: 0,
    },
    label: `\`binauthz deploy run x\` → fake gcloud${label === '' ? ' (allowlisted)' : label}`,
    name,
    // The issue's measure: "a `deploy run` that needs no policy change, up to spawning gcloud".
    target: {
      ...(info ? {info: true} : {}), ratio: 3, rss: 60, upToGcloud: true,
    },
  }
}

/**
 * name, label, argv, env, target, expect: the single-run check (exit code, requests, gcloud calls).
 * target.ratio: ≤ ratio × floor median (of the time up to the deploying gcloud's start with target.upToGcloud, else of
 * the whole run); target.rss: MiB.
 */
const rows = [
  {
    argv: [node, '-e', '0'], env: baseEnv, label: '`node -e 0` (floor)', name: 'floor',
  },
  {
    argv: [node, bin, '--help'],
    env: cliEnv,
    expect: {exit: 0, gcloud: 0, requests: 0},
    label: '`binauthz --help`',
    name: 'help',
    target: {ratio: 1.5, rss: 60},
  },
  {
    argv: [node, bin, ...deployArgs, '--dry-run', ...FROM_SOURCE],
    env: cliEnv,
    expect: {
      exit: 0, gcloud: 0, reads: 1, writes: 0,
    },
    label: '`binauthz deploy run x --dry-run` (allowlisted)',
    name: 'dry-run',
    target: {ratio: 2.5, rss: 60},
  },
  credentialRow({
    env: cliEnv, label: '', name: 'deploy', source: 'token file (auth/access_token_file)',
  }),
  credentialRow({
    env: impersonatedEnv, label: ', impersonating a service account on top of the token file', name: 'deploy-impersonated',
    source: 'token file + impersonation (auth/impersonate_service_account)',
  }),
  credentialRow({
    env: keyFileEnv, label: ', a service-account key in auth/credential_file_override', name: 'deploy-sa-key',
    source: 'credential-file override with a service-account key (auth/credential_file_override)',
  }),
  credentialRow({
    env: keyFileImpersonatedEnv, label: ', impersonating a service account on top of the service-account key', name: 'deploy-sa-key-impersonated',
    source: 'service-account key + impersonation (auth/impersonate_service_account)',
  }),
  ...[
    {
      env: warmKeyFileEnv, label: ', a service-account key, gcloud\'s token cache warm', name: 'deploy-sa-key-warm', source: 'service-account key, gcloud\'s access-token cache warm',
    },
    {
      env: warmKeyFileImpersonatedEnv, label: ', impersonating on top of the service-account key, gcloud\'s token cache warm', name: 'deploy-sa-key-impersonated-warm', source: 'key + impersonation, gcloud\'s access-token cache warm',
    },
  ].map(row => ({...credentialRow(row), skip: cacheWarmed ? undefined : 'no gcloud to warm its token cache'})),
  credentialRow({
    env: gcloudLoginEnv, extraGcloud: 1, info: true, label: ', credentials of a gcloud login (print-access-token)', name: 'deploy-gcloud-login',
    source: 'gcloud login (`gcloud auth print-access-token`)',
  }),
  {
    argv: [node, bin, 'deploy', 'run', 'x', '--region', REGION, '--project', 'Bad!', '--dry-run'],
    env: cliEnv,
    expect: {exit: 2, gcloud: 0, requests: 0},
    label: '`binauthz deploy run x --project Bad!` (usage error: startup to first error)',
    name: 'usage-error',
  },
  {
    argv: [node, bin, ...deployArgs, '--dry-run', ...FROM_SOURCE],
    env: noCredsEnv,
    expect: {
      exit: 7, gcloud: 0, requests: 0, stderr: /NO_CREDENTIALS|credential/i,
    },
    label: '`binauthz deploy run x --dry-run`, no credentials at all',
    name: 'no-creds',
    target: {extraOver: 'usage-error', ms: 50},
  },
  {
    argv: ['sh', '-c', scriptedShell],
    env: {
      ...baseEnv, BINAUTHZ_GCLOUD: fakeGcloud, CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION: `http://127.0.0.1:${port}/`, CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: tokenFile,
    },
    expect: {
      exit: 0, gcloud: 1, reads: 1, writes: 0,
    },
    label: 'scripted: `gcloud container binauthz policy export | grep` + fake deploy',
    name: 'scripted',
    runs: SCRIPTED_RUNS,
    skip: realGcloud === undefined ? 'gcloud is not installed' : undefined,
  },
  {
    argv: inTerminal([node, '-e', '0']),
    env: baseEnv,
    label: '`node -e 0` in a terminal (pty via script(1)): floor of the next row',
    name: 'floor-tty',
    skip: utilLinuxScript ? undefined : 'no util-linux script(1)',
  },
  {
    argv: inTerminal([node, bin, ...deployArgs, ...FROM_SOURCE]),
    env: cliEnv,
    expect: {
      exit: 0, gcloud: 1, reads: 1, writes: 0,
    },
    label: '`binauthz deploy run x` → fake gcloud, in a terminal (progress renderer)',
    name: 'deploy-tty',
    skip: utilLinuxScript ? undefined : 'no util-linux script(1)',
    target: {
      floor: 'floor-tty', info: true, ratio: 3, rss: 60, upToGcloud: true,
    },
  },
].filter(row => {
  if (!opts.only) return true
  const only = opts.only.split(',')
  return row.name === 'floor' || only.includes(row.name) || (row.name === 'usage-error' && only.includes('no-creds'))
    || (row.name === 'floor-tty' && only.includes('deploy-tty'))
})

// ---------------------------------------------------------------------------------------------------------------
// 1. Behaviour and counts: each row once

function gcloudCalls() {
  return existsSync(gcloudLog) ? readFileSync(gcloudLog, 'utf8').split('\n').filter(Boolean).length : 0
}

function runOnce(argv, env) {
  return new Promise(resolveRun => {
    const child = spawn(argv[0], argv.slice(1), {env, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', d => {
      stdout += d
    })
    child.stderr.on('data', d => {
      stderr += d
    })
    child.on('close', (code, signal) => resolveRun({
      code: code ?? 128, signal, stderr, stdout,
    }))
  })
}

async function check(row, argv = row.argv) {
  const before = serverStats()
  const calls = gcloudCalls()
  const run = await runOnce(argv, row.env)
  const after = serverStats()
  const counts = {
    exit: run.code,
    gcloud: gcloudCalls() - calls,
    iam: after.iam - before.iam,
    reads: after.reads - before.reads,
    requests: after.requests - before.requests,
    tokens: after.tokens - before.tokens,
    writes: after.writes - before.writes,
  }
  const problems = []
  for (const [key, want] of Object.entries(row.expect ?? {})) {
    if (key === 'stderr') {
      if (!want.test(run.stderr)) problems.push(`stderr does not match ${want}`)
    } else if (counts[key] !== want) {
      problems.push(`${key} ${counts[key]} (expected ${want})`)
    }
  }

  return {counts, problems, run}
}

const checks = new Map()
console.error(`bench: sandbox on 127.0.0.1:${port}; checking behaviour and counts ...`)
for (const row of rows) {
  if (row.skip || !row.expect) continue
  const result = await check(row)
  checks.set(row.name, result)
  if (result.problems.length > 0) {
    console.error(`bench: ${row.name}: ${result.problems.join('; ')}\n--- stdout\n${result.run.stdout.slice(-2000)}\n--- stderr\n${result.run.stderr.slice(-2000)}`)
  }
}

// A deploy that has to allowlist (another region, --yes): one read, one IAM check, one write, one gcloud.
let writeCheck
if (rows.some(row => row.name === 'deploy')) {
  writeCheck = await check(
    {
      env: cliEnv, expect: {
        exit: 0, gcloud: 1, reads: 1, writes: 1,
      },
    },
    [node, bin, 'deploy', 'run', 'x', '--region', FRESH_REGION, '--project', PROJECT, '--yes', ...FROM_SOURCE],
  )
  if (writeCheck.problems.length > 0) console.error(`bench: deploy needing a write: ${writeCheck.problems.join('; ')}\n${writeCheck.run.stderr.slice(-2000)}`)
}

// ---------------------------------------------------------------------------------------------------------------
// 2. Wall time

const timed = rows.filter(row => !row.skip)
const wall = new Map(timed.map(row => [row.name, []]))
const toGcloud = new Map(timed.map(row => [row.name, []]))

/** Epoch ms, to the microsecond (the clock bash's $EPOCHREALTIME reads). */
const epochMs = () => performance.timeOrigin + performance.now()

/** When the deploying gcloud of the lines logged since `offset` began (epoch ms), if the fake could tell. */
function deployStartSince(offset) {
  const logged = existsSync(gcloudLog) ? readFileSync(gcloudLog, 'utf8').slice(offset) : ''
  const deploying = logged.split('\n').map(line => line.split('\t')).find(([stamp, args = '']) => /^\d+[.,]\d+$/.test(stamp) && !args.startsWith('auth '))
  return deploying ? Number(deploying[0].replace(',', '.')) * 1000 : undefined
}

/** One run: its whole wall time and, when it started a deploying gcloud, the time up to that gcloud's first line. */
function timeOnce(row) {
  const offset = existsSync(gcloudLog) ? readFileSync(gcloudLog, 'utf8').length : 0
  const startEpoch = epochMs()
  const start = process.hrtime.bigint()
  const r = spawnSync(row.argv[0], row.argv.slice(1), {env: row.env, stdio: 'ignore'})
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  if (r.error) throw r.error
  const deployStart = row.expect?.gcloud ? deployStartSince(offset) : undefined
  return {ms, toGcloud: deployStart === undefined ? undefined : deployStart - startEpoch}
}

const method = `Node harness (spawnSync, rows interleaved round robin), ${WARMUP} warm-up round(s)`
for (let round = 0; round < WARMUP; round++) for (const row of timed) timeOnce(row)
const maxRuns = Math.max(...timed.map(row => row.runs ?? RUNS))
for (let i = 0; i < maxRuns; i++) {
  for (const row of timed) {
    if (i >= (row.runs ?? RUNS)) continue
    const run = timeOnce(row)
    wall.get(row.name).push(run.ms)
    if (run.toGcloud !== undefined) toGcloud.get(row.name).push(run.toGcloud)
  }

  if ((i + 1) % 5 === 0) console.error(`bench: timing round ${i + 1}/${maxRuns}`)
}

// ---------------------------------------------------------------------------------------------------------------
// 3. CPU time and peak RSS

const gnuTime = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined
const cpu = new Map(timed.map(row => [row.name, []]))
const rss = new Map(timed.map(row => [row.name, []]))
const rusageFile = join(tmp, 'rusage.jsonl')
const resourceMethod = gnuTime
  ? '/usr/bin/time -f "%U %S %M" (peak RSS of the largest process in the tree)'
  : 'process.resourceUsage() at exit via a preload (Node rows only)'
for (let i = 0; i < RESOURCE_RUNS; i++) {
  for (const row of timed) {
    if (i >= Math.min(RESOURCE_RUNS, row.runs ?? RUNS)) continue
    if (gnuTime) {
      const r = spawnSync(gnuTime, ['-f', '@@rusage %U %S %M', ...row.argv], {encoding: 'utf8', env: row.env, stdio: ['ignore', 'ignore', 'pipe']})
      const m = /@@rusage ([\d.]+) ([\d.]+) (\d+)/.exec(r.stderr ?? '')
      if (m) {
        cpu.get(row.name).push((Number(m[1]) + Number(m[2])) * 1000)
        rss.get(row.name).push(Number(m[3]) / 1024)
      }
    } else if (row.argv[0] === node) {
      rmSync(rusageFile, {force: true})
      const env = {...row.env, BENCH_RUSAGE_FILE: rusageFile, NODE_OPTIONS: `${row.env.NODE_OPTIONS ?? ''} --import=${rusagePreload}`.trim()}
      spawnSync(row.argv[0], row.argv.slice(1), {env, stdio: 'ignore'})
      if (existsSync(rusageFile)) {
        const usages = readFileSync(rusageFile, 'utf8').split('\n').filter(Boolean).map(l => JSON.parse(l))
        cpu.get(row.name).push(usages.reduce((sum, u) => sum + ((u.userCPUTime + u.systemCPUTime) / 1000), 0))
        rss.get(row.name).push(Math.max(...usages.map(u => u.maxRSS)) / 1024)
      }
    }
  }
}

const loadAfterTiming = loadavg()
closeServer()

// ---------------------------------------------------------------------------------------------------------------
// 4. The table

const fmt = (n, digits = 0) => (n === undefined || Number.isNaN(n) ? 'n/a' : n.toFixed(digits))
const stat = new Map()
for (const row of timed) {
  const w = wall.get(row.name)
  const g = toGcloud.get(row.name)
  stat.set(row.name, {
    cpu: cpu.get(row.name).length > 0 ? mean(cpu.get(row.name)) : undefined,
    median: median(w),
    min: Math.min(...w),
    rss: rss.get(row.name).length > 0 ? Math.max(...rss.get(row.name)) : undefined,
    runs: w.length,
    // Only when every timed run told when its gcloud began (a run that did not would bias the median).
    toGcloud: g.length > 0 && g.length === w.length ? median(g) : undefined,
  })
}

const floor = stat.get('floor')
const lines = []
const verdicts = []
lines.push(
  '| command | median ms | min ms | × floor | up to gcloud\'s start: median ms | × floor | CPU ms (user+sys) | CPU × floor | peak RSS MiB | target | met? |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|',
)
for (const row of rows) {
  if (row.skip) {
    lines.push(`| ${row.label} | skipped: ${row.skip} | | | | | | | | | |`)
    continue
  }

  const s = stat.get(row.name)
  const base = stat.get(row.target?.floor ?? 'floor') ?? floor
  const ratio = s.median / base.median
  const gcloudRatio = s.toGcloud === undefined ? undefined : s.toGcloud / base.median
  const cpuRatio = s.cpu !== undefined && base.cpu ? s.cpu / base.cpu : undefined
  let target = ''
  let met = ''
  if (row.target?.ratio) {
    // Up to gcloud's start where the target says so; without a bash that tells the moment, the whole run (stricter).
    const measured = row.target.upToGcloud ? (gcloudRatio ?? ratio) : ratio
    const ok = measured <= row.target.ratio && (s.rss === undefined || s.rss <= row.target.rss)
    const what = row.target.upToGcloud ? (gcloudRatio === undefined ? ' (whole run)' : ' up to gcloud\'s start') : ''
    target = `≤ ${row.target.ratio}× ${row.target.floor ?? 'floor'}${what}, ≤ ${row.target.rss} MiB${row.target.info ? ' (not in the issue: for information)' : ''}`
    met = ok ? 'yes' : 'NO'
    if (!row.target.info) verdicts.push({name: row.name, ok})
  } else if (row.target?.extraOver) {
    const startup = stat.get(row.target.extraOver)
    const extra = s.median - startup.median
    const ok = extra <= row.target.ms
    const cpuExtra = s.cpu !== undefined && startup.cpu !== undefined ? `, CPU ${fmt(s.cpu - startup.cpu)} ms` : ''
    target = `≤ ${row.target.ms} ms after startup (median ${fmt(extra, 1)} ms more than the usage error${cpuExtra})`
    met = ok ? 'yes' : 'NO'
    verdicts.push({name: row.name, ok})
  }

  const problems = checks.get(row.name)?.problems ?? []
  if (problems.length > 0) met = `NO (${problems.join('; ')})`
  const upTo = s.toGcloud === undefined ? '| ' : `${fmt(s.toGcloud, 1)} | ${fmt(gcloudRatio, 2)}`
  lines.push(`| ${row.label} | ${fmt(s.median, 1)} | ${fmt(s.min, 1)} | ${fmt(ratio, 2)} | ${upTo} | ${fmt(s.cpu)} | ${fmt(cpuRatio, 2)} | ${fmt(s.rss, 1)} | ${target} | ${met} |`)
}

const countLines = ['| command | exit | policy reads | writes | IAM checks | other requests | gcloud processes | as expected? |', '|---|---:|---:|---:|---:|---:|---:|---|']
function countLine(name, check) {
  const k = check.counts
  const other = k.requests - k.reads - k.writes - k.iam
  const ok = check.problems.length === 0 ? 'yes' : check.problems.join('; ')
  return `| ${name} | ${k.exit} | ${k.reads} | ${k.writes} | ${k.iam} | ${other} | ${k.gcloud} | ${ok} |`
}

for (const row of rows) {
  if (checks.has(row.name)) countLines.push(countLine(row.name, checks.get(row.name)))
}

if (writeCheck) countLines.push(countLine('deploy needing a write (--yes, another region: not yet allowlisted)', writeCheck))

// Issue 14: one line per credential source of the no-change deploy, gcloud processes besides the deploy's own.
const credentialLines = [
  '| credential source | gcloud processes besides the deploy | expected | token endpoint requests | no-change deploy up to gcloud\'s start: median ms | × floor | whole run: median ms | × floor | within 3×? |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---|',
]
for (const row of rows) {
  if (!row.credential || row.skip || !checks.has(row.name)) continue
  const extra = checks.get(row.name).counts.gcloud - 1
  const s = stat.get(row.name)
  const ratio = s.median / floor.median
  const gcloudRatio = s.toGcloud === undefined ? undefined : s.toGcloud / floor.median
  const within = (gcloudRatio ?? ratio) <= 3 ? 'yes' : 'NO'
  credentialLines.push(`| ${row.credential.source} | ${extra} | ${row.credential.extraGcloud} | ${checks.get(row.name).counts.tokens} | ${fmt(s.toGcloud, 1)} | ${fmt(gcloudRatio, 2)} | ${fmt(s.median, 1)} | ${fmt(ratio, 2)} | ${within} |`)
}

let commit = 'unknown'
try {
  commit = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']}).trim()
} catch {}

const allCountsOk = [...checks.values()].every(c => c.problems.length === 0) && (writeCheck?.problems.length ?? 0) === 0
const loads = values => values.map(l => l.toFixed(2)).join(' ')
const compileCacheNote = hasCompileCache
  ? (compileCacheOff ? 'off (NODE_DISABLE_COMPILE_CACHE=1)' : 'on (bin/run.js: module.enableCompileCache(), warmed by the warm-up rounds)')
  : 'not available (module.enableCompileCache needs Node ≥ 22.1)'
const extraCaNote = extraCaWasSet ? 'it IS set in this environment and was removed' : 'it was not set here'
const TARGETS = [
  'Targets: `--help` ≤ 1.5×, `deploy run --dry-run` ≤ 2.5× and `deploy run` up to gcloud\'s start ≤ 3× the floor, peak RSS ≤ 60 MiB, no gcloud process besides the deploy itself,',
  'one policy read and at most one write per command, and the no-credentials error within 50 ms of startup.',
].join(' ')
const missed = [...verdicts.filter(v => !v.ok).map(v => v.name), ...(allCountsOk ? [] : ['counts'])]
const verdictNote = missed.length === 0 ? 'All met in this run.' : `Not met in this run: ${missed.join(', ')}.`
const md = [
  '# binauthz benchmark results',
  '',
  `Written by \`npm run bench\` (bench/run.js) on ${new Date().toISOString()} at commit ${commit}.`,
  '',
  `- Machine: ${cpus().length} × ${cpus()[0]?.model?.trim() ?? 'unknown CPU'}; load average ${loads(loadBefore)} before, ${loads(loadAfterTiming)} after the runs.`,
  `- Node ${nodeVersion} (${node}); compile cache ${compileCacheNote}.`,
  `- \`NODE_EXTRA_CA_CERTS\` unset for every measured command (${extraCaNote}; on Node 20 it adds ~36 ms to each start).`,
  `- Wall time: ${method}; ${RUNS} runs per row (scripted gcloud row: ${Math.min(SCRIPTED_RUNS, RUNS)}). Ratios compare medians from this one run.`,
  `- CPU time and peak RSS: ${resourceMethod}; mean CPU (GNU time counts in 10 ms steps) and max RSS of ${RESOURCE_RUNS} further runs.`,
  `- Policy API: the sandbox (src/sandbox) on 127.0.0.1 in its own process; the pattern \`${PATTERN}\` is already allowlisted; gcloud is a ${bash5 ? 'bash' : 'sh'} script that logs when it began${bash5 ? '' : ' (no bash ≥ 5 here: not known, so targets apply to whole runs)'} and its arguments, and exits 0.`,
  '',
  ...lines,
  '',
  '## Counts per command (one checked run each)',
  '',
  ...countLines,
  '',
  '## Credential sources (no-change deploy)',
  '',
  ...credentialLines,
  '',
  `${TARGETS} ${verdictNote}`,
  '',
]
const text = md.join('\n')
writeFileSync(opts.out, text)

// README.md: the table between <!-- bench:start --> and <!-- bench:end --> (when both markers are there) becomes
// this run's, with a pointer to the full results.
const readme = join(root, 'README.md')
const START = '<!-- bench:start -->'
const END = '<!-- bench:end -->'
const readmeText = existsSync(readme) ? readFileSync(readme, 'utf8') : ''
if (opts.out === join(root, 'bench', 'RESULTS.md') && readmeText.includes(START) && readmeText.indexOf(END) > readmeText.indexOf(START)) {
  const summary = [START, '', `Measured by \`npm run bench\` at ${commit} (Node ${nodeVersion}, compile cache ${compileCacheNote}, ${cpus().length} CPUs; details in bench/RESULTS.md):`, '', ...lines, '', END]
  writeFileSync(readme, readmeText.slice(0, readmeText.indexOf(START)) + summary.join('\n') + readmeText.slice(readmeText.indexOf(END) + END.length))
  console.error('bench: updated the table in README.md')
}

console.log(text)
cleanup()
