import type {DeployKind} from '../policy/repository.js'

// PURE: reads and polices the arguments given after `--`, which go to gcloud unchanged.
//
// We pass them to gcloud as an argument array (never a shell), so metacharacters are not dangerous by themselves;
// we still refuse arguments that only make sense in a shell (`&&`, `$(...)`, newlines, NUL bytes) because they mean
// the caller pasted a shell line and gcloud would receive something they did not intend. Everything that would
// undo or bypass what this tool guarantees (--binary-authorization default on the right project and region) is refused
// with a UserError (exit 2) before anything is read or changed.
import {UserError} from '../errors.js'

export interface PassthroughContext {
  kind: DeployKind
  project: string
  regions: readonly string[]
}

export interface Passthrough {
  /**
   * The arguments to give gcloud (a new array; flags this tool sets itself — --project, --region, --gen2,
   *  --binary-authorization=default — are removed when they merely repeat our values).
   */
  args: string[]
  /** --clear-docker-repository was given (functions: back to gcf-artifacts). */
  clearDockerRepository: boolean
  /** --docker-repository value (functions). */
  dockerRepository?: string
  /** --image value. */
  image?: string
  /** --source value (run: build from source). */
  source?: string
}

const COMMAND = {function: 'gcloud functions deploy', run: 'gcloud run deploy'} as const

/** Flags whose value we read; a repeated one is refused (gcloud silently keeps the last). */
type ReadFlag = '--docker-repository' | '--image' | '--source'

/** Shell operators as whole arguments: the caller pasted a shell line. */
const SHELL_OPERATORS = new Set(['2>', '2>&1', '&', '&&', '&>', '(', ')', ';', '<', '<<', '>', '>>', '`', '|', '||'])

function refusal(message: string, suggestions: string[], code = 'PASSTHROUGH_REFUSED'): UserError {
  return new UserError(message, {code, suggestions})
}

/** gcloud would print help and deploy nothing, after binauthz had already changed the policy. */
function helpRefusal(command: string): UserError {
  return refusal('--help after -- would make gcloud print its help instead of deploying, after binauthz had changed the policy.', [
    `For gcloud's flags: ${command} --help`,
    'For binauthz: binauthz deploy run --help / binauthz deploy function --help',
  ])
}

function printable(arg: string): string {
  return JSON.stringify(arg)
}

/** Refuses arguments that only make sense to a shell. */
function checkShellSafety(arg: string, index: number): void {
  const where = `gcloud argument ${index + 1} (${printable(arg)})`
  if (arg.includes('\0')) throw refusal(`${where} contains a NUL byte, which no process can receive.`, ['Remove the NUL byte from the arguments after --.'])
  if (/[\n\r]/.test(arg)) {
    throw refusal(`${where} contains a line break; gcloud would receive a multi-line argument.`, [
      'Pass each gcloud argument as its own word after --, without line breaks.',
    ])
  }

  if (SHELL_OPERATORS.has(arg)) {
    throw refusal(`${where} is a shell operator, but arguments after -- go to gcloud directly, not to a shell.`, [
      'Run other commands separately; put only gcloud flags after --.',
    ])
  }

  if (arg.includes('$(') || arg.includes('`') || arg.includes('${')) {
    throw refusal(`${where} contains shell substitution syntax, which is not expanded: gcloud would receive it literally.`, [
      'Let your shell expand the value before calling binauthz (use double quotes in the shell, not single quotes).',
    ])
  }

  if (arg.startsWith('--')) {
    const name = flagName(arg)
    if (/\s/.test(name)) {
      throw refusal(`${where} is a flag name containing whitespace: it looks like "flag value" was quoted as one word.`, [
        'Write --flag=value, or the flag and its value as two separate words.',
      ])
    }
  }
}

function flagName(arg: string): string {
  const eq = arg.indexOf('=')
  return eq === -1 ? arg : arg.slice(0, eq)
}

/**
 * Parses and checks the arguments after `--`. Throws UserError (exit 2, code PASSTHROUGH_REFUSED) for anything that
 * conflicts with what binauthz sets: another Binary Authorization policy, clearing it, breakglass, a different
 * project or region, 1st gen functions, a GKE platform, a flags file, a second `--`, or shell syntax.
 */
export function parsePassthrough(input: readonly string[], context: PassthroughContext): Passthrough {
  const {kind, project, regions} = context
  const command = COMMAND[kind]
  const args: string[] = []
  const read: Partial<Record<ReadFlag, string>> = {}
  let clearDockerRepository = false

  for (const [index, arg] of input.entries()) checkShellSafety(arg, index)

  for (let i = 0; i < input.length; i++) {
    const arg = input[i] as string
    if (arg === '--') {
      throw refusal('A second -- was given: gcloud would treat every later flag, including --binary-authorization=default, as a plain argument.', [
        'Put all gcloud flags after a single --.',
      ])
    }

    if (arg === '-h') throw helpRefusal(command)
    if (!arg.startsWith('--')) {
      args.push(arg)
      continue
    }

    const eq = arg.indexOf('=')
    const name = eq === -1 ? arg : arg.slice(0, eq)
    const inlineValue = eq === -1 ? undefined : arg.slice(eq + 1)
    /** The flag's value, consuming the next argument when not given inline. */
    const takeValue = (): string => {
      if (inlineValue !== undefined) return inlineValue
      const next = input[i + 1]
      if (next === undefined || next.startsWith('--')) {
        throw refusal(`${name} needs a value.`, [`Write ${name}=VALUE after --.`])
      }

      i++
      return next
    }

    switch (name) {
    case '--binary-authorization': {
      const value = takeValue()
      if (value !== 'default') {
        throw refusal(`--binary-authorization=${value} was passed to gcloud, but binauthz always deploys with --binary-authorization=default (the project policy it manages).`, [
          `Remove --binary-authorization=${value} from the arguments after --.`,
          `To use another policy, run ${command} yourself.`,
        ])
      }

      continue // we add it ourselves, last
    }

    case '--clear-binary-authorization':
    case '--no-binary-authorization': {
      throw refusal(`${name} would deploy without Binary Authorization, which is what binauthz exists to prevent.`, [
        `Remove ${name} from the arguments after --.`,
      ])
    }

    case '--breakglass': {
      throw refusal('--breakglass bypasses Binary Authorization enforcement; binauthz does not run break-glass deploys.', [
        `Run ${command} --breakglass=JUSTIFICATION yourself for an emergency deploy.`,
      ])
    }

    case '--help': {
      throw helpRefusal(command)
    }

    case '--flags-file': {
      throw refusal('--flags-file can set any gcloud flag (including --binary-authorization and --project) out of sight.', [
        'Write the flags themselves after --.',
      ])
    }

    case '--project': {
      const value = takeValue()
      if (value !== project) {
        throw refusal(`--project=${value} after -- differs from the project binauthz resolved (${project}); the policy would be checked in one project and the deploy made in another.`, [
          `Use binauthz's own flag: --project=${value} (before --).`,
        ], 'PASSTHROUGH_CONFLICT')
      }

      continue
    }

    case '--region':
    case '--regions': {
      const value = takeValue()
      if (name === '--regions' || regions.length !== 1 || value !== regions[0]) {
        throw refusal(`${name}=${value} after -- conflicts with the region(s) binauthz deploys to (${regions.join(', ')}).`, [
          `Use binauthz's own flag: --region=${value} (before --; repeat it or use a comma list for several regions).`,
        ], 'PASSTHROUGH_CONFLICT')
      }

      continue
    }

    case '--platform': {
      const value = takeValue()
      if (value !== 'managed') {
        throw refusal(`--platform=${value}: Binary Authorization with --binary-authorization=default only applies to fully managed Cloud Run.`, [
          'Remove --platform, or use --platform=managed.',
        ])
      }

      args.push(`--platform=${value}`)
      continue
    }

    case '--gen2': {
      if (kind === 'function') continue // we add it ourselves
      args.push(arg)
      continue
    }

    case '--no-gen2': {
      throw refusal('--no-gen2 selects 1st gen Cloud Functions, which do not support Binary Authorization.', [
        'Remove --no-gen2: binauthz deploys 2nd gen functions (--gen2).',
      ])
    }

    case '--docker-repository':
    case '--image':
    case '--source': {
      const value = takeValue()
      if (value === '') throw refusal(`${name} has an empty value.`, [`Write ${name}=VALUE after --.`])
      if (read[name] !== undefined) {
        throw refusal(`${name} was given twice (${printable(read[name])} and ${printable(value)}); gcloud would silently use the last one.`, [
          `Give ${name} once.`,
        ])
      }

      read[name] = value
      args.push(`${name}=${value}`)
      continue
    }

    case '--clear-docker-repository': {
      clearDockerRepository = true
      args.push(arg)
      continue
    }

    default: {
      if (name.startsWith('--binary-authorization') || name.startsWith('--no-binary-auth')) {
        throw refusal(`${name} is not a flag binauthz can pass on: it touches Binary Authorization, which binauthz sets itself.`, [
          `Remove ${name} from the arguments after --.`,
        ])
      }

      args.push(arg)
    }
    }
  }

  if (kind === 'function' && read['--docker-repository'] !== undefined && clearDockerRepository) {
    throw refusal('--docker-repository and --clear-docker-repository were both given.', ['Give only one of them.'])
  }

  return {
    args,
    clearDockerRepository,
    ...(read['--source'] === undefined ? {} : {source: read['--source']}),
    ...(read['--image'] === undefined ? {} : {image: read['--image']}),
    ...(read['--docker-repository'] === undefined ? {} : {dockerRepository: read['--docker-repository']}),
  }
}
