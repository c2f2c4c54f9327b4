// Which allowlist patterns a project needs: one per region and deploy path (Cloud Run source deploys of services,
// jobs and worker pools → cloud-run-source-deploy, Cloud Functions 2nd gen → gcf-artifacts), plus a custom build
// repository. Pure. Services, jobs and worker pools share one repository, hence one entry: `--kind job` and
// `--kind worker-pool` name the same pattern as `--kind run` (labelled with their own path), and `all` is run +
// function (the job and worker-pool entries would only repeat run's).

import {validatePattern} from '../policy/pattern.js'
import {
  defaultRepository,
  type DeployKind,
  parseDockerRepository,
  repositoryPattern,
  repositoryResourceName,
} from '../policy/repository.js'

/** `all` means every deploy path (run + function: jobs and worker pools need run's entry). */
export type KindChoice = 'all' | DeployKind

/** A build repository this tool would allowlist, and why. */
export interface Target {
  /** `run` / `function` for the default repositories, `custom` for --docker-repository, `pattern` for --pattern. */
  kind: 'custom' | 'pattern' | DeployKind
  pattern: string
  region?: string
  repository?: string
}

export function kindsOf(choice: KindChoice): DeployKind[] {
  return choice === 'all' ? ['run', 'function'] : [choice]
}

export function describeKind(kind: Target['kind']): string {
  switch (kind) {
  case 'custom': {
    return 'custom build repository (--docker-repository)'
  }

  case 'function': {
    return 'Cloud Functions 2nd gen (gcloud functions deploy)'
  }

  case 'job': {
    return 'Cloud Run jobs (gcloud run jobs deploy --source)'
  }

  case 'pattern': {
    return 'explicit pattern (--pattern)'
  }

  case 'run': {
    return 'Cloud Run services and functions (gcloud run deploy --source)'
  }

  case 'worker-pool': {
    return 'Cloud Run worker pools (gcloud beta run worker-pools deploy --source)'
  }
  }
}

export interface TargetInput {
  dockerRepository?: string
  kinds: readonly DeployKind[]
  patterns?: readonly string[]
  project: string
  regions: readonly string[]
}

/** The targets for the given project, regions and kinds, in a stable order, deduplicated by pattern. */
export function requiredTargets(input: TargetInput): Target[] {
  const out: Target[] = []
  const seen = new Set<string>()
  const push = (target: Target): void => {
    if (seen.has(target.pattern)) return
    seen.add(target.pattern)
    out.push(target)
  }

  for (const region of input.regions) {
    for (const kind of input.kinds) {
      const repo = defaultRepository(kind, input.project, region)
      push({
        kind, pattern: repositoryPattern(repo), region, repository: repositoryResourceName(repo),
      })
    }
  }

  if (input.dockerRepository !== undefined) {
    const repo = parseDockerRepository(input.dockerRepository, '--docker-repository')
    push({
      kind: 'custom', pattern: repositoryPattern(repo), region: repo.location, repository: repositoryResourceName(repo),
    })
  }

  for (const pattern of input.patterns ?? []) {
    push({kind: 'pattern', pattern: validatePattern(pattern)})
  }

  return out
}
