// PURE: reads and polices the arguments given after `--`, which go to gcloud unchanged.
//
// We pass them to gcloud as an argument array (never a shell), so metacharacters are not dangerous by themselves;
// we still refuse arguments that only make sense in a shell (`&&`, `$(...)`, newlines, NUL bytes) because they mean
// the caller pasted a shell line and gcloud would receive something they did not intend. Everything that would
// undo or bypass what this tool guarantees (--binary-authorization default on the right project and region) is refused
// with a UserError (exit 2) before anything is read or changed.
import {UserError} from '../errors.js'
import {type DeployKind, isCloudRunKind} from '../policy/repository.js'

export interface PassthroughContext {
  kind: DeployKind
  project: string
  regions: readonly string[]
}

/** The per-container flags binauthz reads, for one `--container NAME` group (name '' = flags before any --container). */
export interface ContainerArgs {
  image?: string
  name: string
  source?: string
}

export interface Passthrough {
  /**
   * The arguments to give gcloud (a new array; flags this tool sets itself — --project, --region, --gen2,
   *  --binary-authorization=default — are removed when they merely repeat our values).
   */
  args: string[]
  /** --clear-docker-repository was given (functions: back to gcf-artifacts). */
  clearDockerRepository: boolean
  /**
   * run, job, worker-pool: the containers as gcloud 528 groups them (command_lib/run/container_parser.py ContainerParser.ParseKnownArgs:
   * every argument after `--container NAME` belongs to that container until the next one; the same name twice is one
   * container). Without --container: one entry named '' holding --image/--source. With --container: one entry per
   * named container (the '' group holds no per-container flag: gcloud refuses that). functions: empty.
   */
  containers: ContainerArgs[]
  /** --docker-repository value (functions). */
  dockerRepository?: string
  /** --image value (functions; for run, of the only container when no --container is given). */
  image?: string
  /** --source value (functions; for run, of the only container when no --container is given). */
  source?: string
}

const COMMAND = {
  function: 'gcloud functions deploy', job: 'gcloud run jobs deploy', run: 'gcloud run deploy', 'worker-pool': 'gcloud beta run worker-pools deploy',
} as const

/** Shell operators as whole arguments: the caller pasted a shell line. */
const SHELL_OPERATORS = new Set(['2>', '2>&1', '&', '&&', '&>', '(', ')', ';', '<', '<<', '>', '>>', '`', '|', '||'])

function refusal(message: string, suggestions: string[], code: 'PASSTHROUGH_CONFLICT' | 'PASSTHROUGH_REFUSED' = 'PASSTHROUGH_REFUSED'): UserError {
  return new UserError(message, {code, suggestions})
}

/**
 * gcloud would print help or documentation, exit 0 and deploy nothing, after binauthz had already changed the policy.
 * gcloud 528 gives every command `-h` (ShortHelpAction), `--help` and the hidden `--document=ATTRIBUTES`
 * (RenderDocumentAction) (calliope/backend.py _CommandCommon); flag abbreviations are off (parser_extensions.py
 * _get_option_tuples) and `-v/--version` exists only at the top level (cli.py, do_not_propagate).
 */
function helpRefusal(command: string, arg: string): UserError {
  return refusal(`${printable(arg)} after -- would make gcloud print its help or documentation instead of deploying (and exit 0), after binauthz had changed the policy.`, [
    `For gcloud's flags: ${command} --help`,
    'For binauthz: binauthz deploy run --help (or deploy job / worker-pool / function --help)',
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

  if (arg.startsWith('--') && /\s/.test(flagName(arg))) {
    throw refusal(`${where} is a flag name containing whitespace: it looks like "flag value" was quoted as one word.`, [
      'Write --flag=value, or the flag and its value as two separate words.',
    ])
  }
}

function flagName(arg: string): string {
  const eq = arg.indexOf('=')
  return eq === -1 ? arg : arg.slice(0, eq)
}

/** What a rule sees of one use of its flag. */
interface FlagUse {
  command: string
  context: PassthroughContext
  /** The flag name as given (e.g. `--regions`). */
  name: string
  /** The value already recorded for this flag, when it is given again. */
  previous?: string
  /** Its value, for a rule that takes one. */
  value: string
}

/** What gcloud receives for a flag: nothing (binauthz sets it itself), the argument as given, or `--flag=value`. */
type Emit = 'drop' | 'normalized' | 'verbatim'

interface FlagRule {
  /** Whole arguments this rule matches exactly (`--`, `-h`), checked before flag names. */
  arguments?: readonly string[]
  /** Emitted form (default 'verbatim'). */
  emit?: Emit
  /** Only for these deploy kinds; for the others the flag goes to gcloud as given. Default: both. */
  kinds?: readonly DeployKind[]
  /** Matches whole arguments by shape (e.g. a short-flag cluster), checked with `arguments`. */
  matches?: (arg: string) => boolean
  /** Flag names (`--name` or `--name=value`). */
  names?: readonly string[]
  /** Flag-name prefixes, matched only when no rule names the flag. */
  prefixes?: readonly string[]
  /** Recorded into the parsed result: a value (given once, non-empty) or the flag's presence. */
  record?: 'clearDockerRepository' | 'container' | ValueField
  /** Why the flag (or this value of it) is refused, and how to fix it; undefined accepts it. A rule that always refuses has no other field. */
  refuse?: (use: FlagUse) => undefined | UserError
  /** Reads a value: inline (`--flag=V`) or the next argument. */
  takesValue?: boolean
}

type ValueField = 'dockerRepository' | 'image' | 'source'

/** Each flag binauthz treats specially; any other argument goes to gcloud as given. */
const RULES: readonly FlagRule[] = [
  {
    arguments: ['--'],
    refuse: () => refusal('A second -- was given: gcloud would treat every later flag, including --binary-authorization=default, as a plain argument.', [
      'Put all gcloud flags after a single --.',
    ]),
  },
  {arguments: ['-h'], names: ['--help', '--document'], refuse: ({command, name}) => helpRefusal(command, name)},
  {
    // gcloud 528 takes no cluster of short flags: `-qh` is "unrecognized arguments" (exit 2, checked with the real
    // gcloud in test/e2e/gcloud-refusals.test.ts), so the deploy would fail after the policy write.
    matches: arg => /^-[a-zA-Z]{2,}$/.test(arg),
    refuse: ({name}) => refusal(`${printable(name)} after -- is a cluster of short flags, which gcloud 528 does not accept ("unrecognized arguments"): the deploy would fail after binauthz had changed the policy.`, [
      'Write each flag on its own (e.g. -q for --quiet), or its long form.',
    ]),
  },
  {
    emit: 'drop', // we add it ourselves, last
    names: ['--binary-authorization'],
    refuse: ({command, value}) => (value === 'default'
      ? undefined
      : refusal(
        `--binary-authorization=${value} was passed to gcloud, but binauthz always deploys with --binary-authorization=default (the project policy it manages).`,
        [`Remove --binary-authorization=${value} from the arguments after --.`, `To use another policy, run ${command} yourself.`],
      )),
    takesValue: true,
  },
  {
    names: ['--clear-binary-authorization', '--no-binary-authorization'],
    refuse: ({name}) => refusal(`${name} would deploy without Binary Authorization, which is what binauthz exists to prevent.`, [
      `Remove ${name} from the arguments after --.`,
    ]),
  },
  {
    names: ['--breakglass'],
    refuse: ({command}) => refusal('--breakglass bypasses Binary Authorization enforcement; binauthz does not run break-glass deploys.', [
      `Run ${command} --breakglass=JUSTIFICATION yourself for an emergency deploy.`,
    ]),
  },
  {
    names: ['--flags-file'],
    refuse: () => refusal('--flags-file can set any gcloud flag (including --binary-authorization and --project) out of sight.', [
      'Write the flags themselves after --.',
    ]),
  },
  {
    emit: 'drop',
    names: ['--project'],
    refuse: ({context: {project}, value}) => (value === project
      ? undefined
      : refusal(
        `--project=${value} after -- differs from the project binauthz resolved (${project}); the policy would be checked in one project and the deploy made in another.`,
        [`Use binauthz's own flag: --project=${value} (before --).`],
        'PASSTHROUGH_CONFLICT',
      )),
    takesValue: true,
  },
  {
    emit: 'drop',
    names: ['--region', '--regions'],
    refuse: ({context: {regions}, name, value}) => (name === '--region' && regions.length === 1 && value === regions[0]
      ? undefined
      : refusal(
        `${name}=${value} after -- conflicts with the region(s) binauthz deploys to (${regions.join(', ')}).`,
        [`Use binauthz's own flag: --region=${value} (before --; repeat it or use a comma list for several regions).`],
        'PASSTHROUGH_CONFLICT',
      )),
    takesValue: true,
  },
  {
    emit: 'normalized',
    names: ['--platform'],
    refuse: ({value}) => (value === 'managed'
      ? undefined
      : refusal(
        `--platform=${value}: Binary Authorization with --binary-authorization=default only applies to fully managed Cloud Run.`,
        ['Remove --platform, or use --platform=managed.'],
      )),
    takesValue: true,
  },
  {emit: 'drop', kinds: ['function'], names: ['--gen2']}, // we add it ourselves
  {
    names: ['--no-gen2'],
    refuse: () => refusal('--no-gen2 selects 1st gen Cloud Functions, which do not support Binary Authorization.', [
      'Remove --no-gen2: binauthz deploys 2nd gen functions (--gen2).',
    ]),
  },
  {
    emit: 'normalized', names: ['--docker-repository'], record: 'dockerRepository', takesValue: true,
  },
  {
    emit: 'normalized', names: ['--image'], record: 'image', takesValue: true,
  },
  {
    emit: 'normalized', names: ['--source'], record: 'source', takesValue: true,
  },
  {names: ['--clear-docker-repository'], record: 'clearDockerRepository'},
  {
    kinds: ['run', 'job', 'worker-pool'], names: ['--container'], record: 'container', takesValue: true,
  },
  {
    prefixes: ['--binary-authorization', '--no-binary-auth'],
    refuse: ({name}) => refusal(`${name} is not a flag binauthz can pass on: it touches Binary Authorization, which binauthz sets itself.`, [
      `Remove ${name} from the arguments after --.`,
    ]),
  },
]

/** A recorded value must be non-empty and given once (gcloud silently keeps the last). */
function recordedValueProblem({name, previous, value}: FlagUse): undefined | UserError {
  if (value === '') return refusal(`${name} has an empty value.`, [`Write ${name}=VALUE after --.`])
  if (previous === undefined) return undefined
  return refusal(`${name} was given twice (${printable(previous)} and ${printable(value)}); gcloud would silently use the last one.`, [
    `Give ${name} once.`,
  ])
}

/** The value given as the next argument (`--flag VALUE`); a missing one, or another flag, is refused. */
function separateValue(name: string, next: string | undefined): string {
  if (next === undefined || next.startsWith('--')) throw refusal(`${name} needs a value.`, [`Write ${name}=VALUE after --.`])
  return next
}

/** What gcloud receives for a flag the rule accepted, or undefined when binauthz sets it itself. */
function emittedForm(rule: FlagRule, arg: string, name: string, value: string): string | undefined {
  switch (rule.emit ?? 'verbatim') {
  case 'drop': {
    return undefined
  }

  case 'normalized': {
    return `${name}=${value}`
  }

  case 'verbatim': {
    return arg
  }
  }
}

/** The rule for `arg`, if any: whole-argument rules first, then flag names, then prefixes. */
function ruleFor(arg: string, kind: DeployKind): FlagRule | undefined {
  const applies = (rule: FlagRule): boolean => rule.kinds === undefined || rule.kinds.includes(kind)
  const whole = RULES.find(rule => rule.arguments?.includes(arg) || rule.matches?.(arg))
  if (whole !== undefined || !arg.startsWith('--')) return whole
  const name = flagName(arg)
  return RULES.find(rule => applies(rule) && rule.names?.includes(name))
    ?? RULES.find(rule => applies(rule) && rule.prefixes?.some(prefix => name.startsWith(prefix)))
}

/**
 * Parses and checks the arguments after `--`. Throws UserError (exit 2, code PASSTHROUGH_REFUSED) for anything that
 * conflicts with what binauthz sets: another Binary Authorization policy, clearing it, breakglass, a different
 * project or region, 1st gen functions, a GKE platform, a flags file, a second `--`, or shell syntax.
 */
export function parsePassthrough(input: readonly string[], context: PassthroughContext): Passthrough {
  for (const [index, arg] of input.entries()) checkShellSafety(arg, index)
  const parsed: Passthrough = {args: [], clearDockerRepository: false, containers: [{name: ''}]}
  for (let i = 0; i < input.length; i++) {
    const arg = input[i] as string
    const rule = ruleFor(arg, context.kind)
    if (rule === undefined) {
      parsed.args.push(arg)
      continue
    }

    const name = flagName(arg)
    const separate = rule.takesValue === true && !arg.includes('=')
    const value = separate ? separateValue(name, input[i + 1]) : arg.slice(name.length + 1)
    if (separate) i++
    apply(rule, {arg, name, value}, context, parsed)
  }

  if (context.kind === 'function' && parsed.dockerRepository !== undefined && parsed.clearDockerRepository) {
    throw refusal('--docker-repository and --clear-docker-repository were both given.', ['Give only one of them.'])
  }

  return isCloudRunKind(context.kind) ? withContainers(parsed) : {...parsed, containers: []}
}

/**
 * With --container, gcloud refuses per-container flags before the first --container ("When --container is specified
 * --image must be specified after --container", container_parser.py _CheckForContainerFlags): refused here too,
 * before the policy is touched. Without it, the one container's --image/--source are also the top-level fields.
 */
function withContainers(parsed: Passthrough): Passthrough {
  const [primary, ...named] = parsed.containers
  if (named.length === 0) {
    return {
      ...parsed,
      ...(primary?.image === undefined ? {} : {image: primary.image}),
      ...(primary?.source === undefined ? {} : {source: primary.source}),
    }
  }

  const early = [primary?.image === undefined ? undefined : '--image', primary?.source === undefined ? undefined : '--source'].filter(f => f !== undefined)
  if (early.length > 0) {
    throw refusal(`${early.join(' and ')} came before the first --container; gcloud refuses per-container flags there ("When --container is specified ${early.join(', ')} must be specified after --container").`, [
      `Move ${early.join(' and ')} after the --container NAME it belongs to.`,
    ])
  }

  return {...parsed, containers: named}
}

/** The container the next per-container flag belongs to: the last `--container` group (gcloud's order). */
function currentContainer(parsed: Passthrough): ContainerArgs {
  return parsed.containers.at(-1) as ContainerArgs
}

/** Applies a rule to one use of its flag: refuses it, or records it into `parsed` and emits what gcloud gets. */
function apply(rule: FlagRule, {arg, name, value}: {arg: string; name: string; value: string}, context: PassthroughContext, parsed: Passthrough): void {
  if (rule.record === 'container') {
    if (value === '') throw refusal('--container has an empty name.', ['Write --container=NAME after --.'])
    // The same name again continues that container (gcloud's defaultdict): it becomes the current one (last).
    const again = parsed.containers.findIndex(c => c.name === value)
    const container = again === -1 ? {name: value} : parsed.containers.splice(again, 1)[0] as ContainerArgs
    parsed.containers.push(container)
    // gcloud takes `--container NAME` in either form; it is passed on as --container=NAME.
    parsed.args.push(`--container=${value}`)
    return
  }

  const field = rule.record === 'clearDockerRepository' ? undefined : rule.record
  // run: --image/--source belong to the current container (the last --container given, or the primary one).
  const current = isCloudRunKind(context.kind) && (field === 'image' || field === 'source') ? currentContainer(parsed) : undefined
  const previous = field === undefined ? undefined : (current === undefined ? parsed[field] : current[field as 'image' | 'source'])
  const use: FlagUse = {
    command: COMMAND[context.kind], context, name, value, ...(previous === undefined ? {} : {previous}),
  }
  const problem = rule.refuse?.(use) ?? (field === undefined ? undefined : recordedValueProblem(use))
  if (problem !== undefined) throw problem
  if (current !== undefined) current[field as 'image' | 'source'] = value
  else if (field !== undefined) parsed[field] = value
  if (rule.record === 'clearDockerRepository') parsed.clearDockerRepository = true
  const emitted = emittedForm(rule, arg, name, value)
  if (emitted !== undefined) parsed.args.push(emitted)
}

/**
 * gcloud's global flags that choose who gcloud is, which configuration it reads and which project it bills, with the
 * environment variable that sets the same property (calliope/base.py + core/properties.py: a flag beats its
 * CLOUDSDK_* variable, which beats the configuration file; core/configurations/named_configs.py: `--configuration`
 * beats CLOUDSDK_ACTIVE_CONFIG_NAME). binauthz's own calls see them through these variables.
 */
export const IDENTITY_FLAGS: Readonly<Record<string, string>> = {
  '--access-token-file': 'CLOUDSDK_AUTH_ACCESS_TOKEN_FILE',
  '--account': 'CLOUDSDK_CORE_ACCOUNT',
  '--billing-project': 'CLOUDSDK_BILLING_QUOTA_PROJECT',
  '--configuration': 'CLOUDSDK_ACTIVE_CONFIG_NAME',
  '--impersonate-service-account': 'CLOUDSDK_AUTH_IMPERSONATE_SERVICE_ACCOUNT',
}

/**
 * PURE: the environment variables equivalent to the identity flags among the arguments after `--` (both `--flag=V`
 * and `--flag V`), so that binauthz's policy calls act as, read the configuration of and bill what gcloud's deploy
 * does. A flag given twice or without a value is refused (gcloud would silently take the last one).
 */
export function identityEnvOf(input: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {}
  const seen = new Map<string, string>()
  for (let i = 0; i < input.length; i++) {
    const arg = input[i] as string
    if (arg === '--') break
    if (!arg.startsWith('--')) continue
    const name = flagName(arg)
    const variable = IDENTITY_FLAGS[name]
    if (variable === undefined) continue
    let value: string
    if (arg.includes('=')) {
      value = arg.slice(name.length + 1)
    } else {
      value = separateValue(name, input[i + 1])
      i++
    }

    if (value.trim() === '') throw refusal(`${name} has an empty value.`, [`Write ${name}=VALUE after --.`])
    const previous = seen.get(name)
    if (previous !== undefined) {
      throw refusal(`${name} was given twice (${printable(previous)} and ${printable(value)}); gcloud would silently use the last one.`, [
        `Give ${name} once.`,
      ])
    }

    seen.set(name, value)
    out[variable] = value
  }

  return out
}
