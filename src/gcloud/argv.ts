import type {DeployKind} from '../policy/repository.js'

// PURE: gcloud argument arrays for the deploys binauthz runs. Running them is src/gcloud/runner.ts's job.
import {UserError} from '../errors.js'

export interface DeployArgvInput {
  /** Cloud Run service / function name (validated with validateDeployName). */
  name: string
  /** Checked passthrough arguments (parsePassthrough().args). */
  passthrough: readonly string[]
  project: string
  region: string
}

/** The flag binauthz always adds (the passthrough never carries another value of it). */
export const BINARY_AUTHORIZATION_DEFAULT = '--binary-authorization=default'

/** Whether `arg` starts a `--container NAME` group (`--container` or `--container=NAME`). */
function isContainerFlag(arg: string): boolean {
  return arg === '--container' || arg.startsWith('--container=')
}

/**
 * `gcloud run deploy NAME --project=P --region=R ...passthrough --binary-authorization=default` (without "gcloud").
 * With `--container` groups the flag goes before the first one: gcloud 528 gives every argument after
 * `--container NAME` to that container's parser (command_lib/run/container_parser.py ParseKnownArgs), which does not
 * know --binary-authorization ("unrecognized arguments"); before it, the service-level parser takes it.
 */
export function runDeployArgv(input: DeployArgvInput): string[] {
  return cloudRunArgv(['run', 'deploy'], input)
}

/** The passthrough with --binary-authorization=default before the first --container group (see runDeployArgv). */
function cloudRunArgv(command: readonly string[], input: DeployArgvInput): string[] {
  const first = input.passthrough.findIndex(arg => isContainerFlag(arg))
  const passthrough = first === -1
    ? [...input.passthrough, BINARY_AUTHORIZATION_DEFAULT]
    : [...input.passthrough.slice(0, first), BINARY_AUTHORIZATION_DEFAULT, ...input.passthrough.slice(first)]
  return [...command, input.name, `--project=${input.project}`, `--region=${input.region}`, ...passthrough]
}

/**
 * `gcloud run jobs deploy NAME …` (GA in gcloud 528: surface/run/jobs/deploy.py, same container parser and
 * --binary-authorization flag as services, so the same placement before the first --container).
 */
export function jobDeployArgv(input: DeployArgvInput): string[] {
  return cloudRunArgv(['run', 'jobs', 'deploy'], input)
}

/**
 * `gcloud beta run worker-pools deploy NAME …`: gcloud 528 has worker-pools deploy only in the BETA and ALPHA tracks
 * (surface/run/worker_pools/deploy.py `@base.ReleaseTracks(base.ReleaseTrack.BETA)`; `gcloud run worker-pools`
 * answers "Invalid choice"), so binauthz runs the beta one.
 */
export function workerPoolDeployArgv(input: DeployArgvInput): string[] {
  return cloudRunArgv(['beta', 'run', 'worker-pools', 'deploy'], input)
}

/** `gcloud functions deploy NAME --gen2 --project=P --region=R ...passthrough --binary-authorization=default` (without "gcloud"). */
export function functionDeployArgv(input: DeployArgvInput): string[] {
  return [
    'functions',
    'deploy',
    input.name,
    '--gen2',
    `--project=${input.project}`,
    `--region=${input.region}`,
    ...input.passthrough,
    BINARY_AUTHORIZATION_DEFAULT,
  ]
}

/** The gcloud arguments (without "gcloud") for a deploy of `kind`. */
export function deployArgv(kind: DeployKind, input: DeployArgvInput): string[] {
  switch (kind) {
  case 'function': {
    return functionDeployArgv(input)
  }

  case 'job': {
    return jobDeployArgv(input)
  }

  case 'run': {
    return runDeployArgv(input)
  }

  case 'worker-pool': {
    return workerPoolDeployArgv(input)
  }
  }
}

// Cloud Run service (and worker pool) names: lowercase letters, digits and hyphens, starting with a letter, not ending
// with a hyphen, at most 49 characters. Job names: gcloud 528's own check before a jobs deploy (command_lib/run/
// flags.py ValidateResource, called by surface/run/jobs/deploy.py): lowercase letters, digits and hyphens, not
// starting or ending with a hyphen, at most 63. Cloud Functions (gen2) names: gcloud's regex (api_lib/functions/v1/
// util.py), at most 63.
const NAME_RULES: Record<DeployKind, {pattern: RegExp; rule: string}> = {
  function: {
    pattern: /^[A-Za-z](?:[-_A-Za-z0-9]{0,61}[A-Za-z0-9])?$/,
    rule: 'function names use letters, digits, hyphens and underscores, start with a letter, do not end with a hyphen or underscore, and have at most 63 characters',
  },
  job: {
    pattern: /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/,
    rule: 'Cloud Run job names use lowercase letters, digits and hyphens, do not start or end with a hyphen, and have at most 63 characters',
  },
  run: {
    pattern: /^[a-z](?:[-a-z0-9]{0,47}[a-z0-9])?$/,
    rule: 'Cloud Run service names use lowercase letters, digits and hyphens, start with a letter, do not end with a hyphen, and have at most 49 characters',
  },
  'worker-pool': {
    pattern: /^[a-z](?:[-a-z0-9]{0,47}[a-z0-9])?$/,
    rule: 'Cloud Run worker pool names use lowercase letters, digits and hyphens, start with a letter, do not end with a hyphen, and have at most 49 characters',
  },
}

/** Validates the NAME argument so it can never be mistaken for a flag or a path. */
export function validateDeployName(kind: DeployKind, name: string): string {
  const {pattern, rule} = NAME_RULES[kind]
  if (!pattern.test(name)) {
    const example = {
      function: 'my_function or my-function', job: 'my-job', run: 'my-service', 'worker-pool': 'my-pool',
    } as const
    throw new UserError(`Invalid name ${JSON.stringify(name)}: ${rule}.`, {
      code: 'INVALID_NAME',
      suggestions: [`Use a name like ${example[kind]}.`],
    })
  }

  return name
}

/**
 * The operating system's limits on what exec(2) takes, as a fixed, documented bound (README "Limits"): on Linux each
 * argument and environment string must be shorter than MAX_ARG_STRLEN (32 pages: 131072 bytes, its NUL included) and
 * everything together (strings, NULs and one pointer each) must fit ARG_MAX (`getconf ARG_MAX`: a quarter of the 8 MiB
 * default stack, 2 MiB); macOS has a 1 MiB ARG_MAX and no per-string limit; Windows a 32767-character command line.
 * gcloud's launcher (a shell script) re-executes Python with a few more arguments and variables: 64 KiB are kept for it.
 */
export const EXEC_LIMITS = {
  darwin: {perString: Infinity, total: 1024 * 1024},
  linux: {perString: 131_072, total: 2 * 1024 * 1024},
  win32: {perString: 32_767, total: 32_767},
} as const
export const LAUNCHER_HEADROOM_BYTES = 64 * 1024
const POINTER_BYTES = 8

/** Why `argv` (with `env` beside it) would not start on `platform`, or undefined when it fits. */
export function execLimitProblem(argv: readonly string[], env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): string | undefined {
  const limits = platform === 'darwin' ? EXEC_LIMITS.darwin : (platform === 'win32' ? EXEC_LIMITS.win32 : EXEC_LIMITS.linux)
  const envStrings = Object.entries(env).filter(([, value]) => value !== undefined).map(([key, value]) => `${key}=${value}`)
  if (platform === 'win32') {
    const length = argv.reduce((sum, arg) => sum + arg.length + 3, 0) // quotes and a space around each
    return length > limits.total ? `the command line would be ${length} characters; Windows allows ${limits.total}` : undefined
  }

  for (const [what, strings] of [['argument', argv], ['environment variable', envStrings]] as const) {
    for (const text of strings) {
      const bytes = Buffer.byteLength(text) + 1
      if (bytes > limits.perString) {
        const label = what === 'argument' ? `${text.slice(0, 40)}…` : `${text.slice(0, Math.max(1, text.indexOf('=')))}`
        return `the ${what} "${label}" is ${bytes} bytes; the kernel takes at most ${limits.perString} per string (MAX_ARG_STRLEN)`
      }
    }
  }

  const total = [...argv, ...envStrings].reduce((sum, text) => sum + Buffer.byteLength(text) + 1 + POINTER_BYTES, 0)
  const allowed = limits.total - LAUNCHER_HEADROOM_BYTES
  return total > allowed
    ? `arguments and environment would take ${total} bytes; the limit is ${allowed} (ARG_MAX ${limits.total} minus ${LAUNCHER_HEADROOM_BYTES} for gcloud's launcher)`
    : undefined
}

/** Throws ARGV_TOO_LONG (exit 2) when a region's gcloud command could not be started. */
export function assertExecFits(argv: readonly string[], env: NodeJS.ProcessEnv, region: string, platform: NodeJS.Platform = process.platform): void {
  const problem = execLimitProblem(argv, env, platform)
  if (problem === undefined) return
  throw new UserError(`The gcloud command for ${region} cannot be started: ${problem}. Nothing was changed.`, {
    code: 'ARGV_TOO_LONG',
    suggestions: [
      'Shorten the arguments after `--` (environment variables can go in a file: --env-vars-file=FILE)',
      'Or unset large environment variables before running binauthz',
    ],
  })
}
