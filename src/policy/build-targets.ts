// What a deploy will build and deploy, as gcloud 528 decides it, and therefore the narrowest allowlist entries it
// needs. Pure: no I/O. The existing service / function (read by the deploy before planning) is an input.
//
// Rules, each mirroring gcloud 528 (SDK lib/surface/run/deploy.py, lib/googlecloudsdk/...):
//   run (per region):
//   - which containers build: deploy.py _ValidateAndGetBuildFromSource — a container builds from source when it has
//     --source, or has no --image; at most one may (else gcloud refuses); the others deploy their prebuilt --image.
//   - where the build pushes: deploy.py _GetArtifactRegistryRepository — the source container's --image if given,
//     else the existing service's `run.googleapis.com/build-image-uri` annotation (api_lib/run/service.py
//     run_functions_annotations), else DockerRepo(core/project, region, 'cloud-run-source-deploy'). A given value is
//     parsed by _ValidateArRepository: re.match(r'([\w-]+)-docker\.pkg\.dev/([\w-]+)/([\w-]+)') → the repository's
//     docker string; the image is `{docker string}/{service}` (deploy.py _BuildFromSource), deployed by digest.
//   - the default repository's docker string is DockerRepo.GetDockerString() (command_lib/artifacts/docker_util.py):
//     `{location}-docker.pkg.dev/{project}/{repo}` with the RAW project ID (a domain-scoped `example.com:proj` keeps
//     its colon). A domain-scoped ID never matches `[\w-]+`, so gcloud itself refuses a given or annotated one.
//   jobs and worker pools (per region): surface/run/jobs/deploy.py Deploy.Run and surface/run/worker_pools/deploy.py
//   _ValidateAndGetBuildFromSource / _BuildFromSource — the container without --image builds (at most one, else gcloud
//   refuses); --image and --source are one mutually exclusive group (command_lib/run/flags.py SourceAndImageFlags,
//   mutex=True), so `--source --image` is refused by gcloud's parser and here; the build ALWAYS pushes to
//   DockerRepo(core/project, RepoRegion(args), 'cloud-run-source-deploy') as `{docker string}/{name}`: neither reads
//   an existing job's / worker pool's annotations nor takes the repository from --image, so a redeploy builds where the
//   first deploy did, and binauthz reads nothing before planning (no existing-resource read for these kinds).
//   functions (per region): command_lib/functions/v2/deploy/command.py _SetDockerRepositoryConfig — the existing
//   function's buildConfig.dockerRepository unless --docker-repository / --clear-docker-repository is given; none =
//   Google's gcf-artifacts in the function's region. Cloud Functions builds and names the image server-side
//   (`{repo}/{project}__{region}__{function}` with "-" doubled, tagged version_N: google-cloud-facts §4.2).
//
// Least privilege: the two default repositories get Google's documented `REPO/**`
// (https://cloud.google.com/run/docs/securing/binary-authorization); any other repository gets only the image the
// build pushes, as a pattern naming that image without tag or digest (it admits its tags and digests:
// policy-yaml-reference "To allowlist a specific image:").

import {UserError} from '../errors.js'
import {
  displayValue, registryProjectPath, validateProjectId, validateRegion,
} from './names.js'
import {
  type BuildRepository, type DeployKind, FUNCTIONS_REPOSITORY, parseDockerRepository, parseImageRepository, RUN_SOURCE_REPOSITORY,
} from './repository.js'

/** What the deploy read of the service (run) or function before planning, per region. */
export interface ExistingResource {
  /** run: the service's `run.googleapis.com/build-image-uri` annotation. */
  buildImageUri?: string
  /** functions: buildConfig.dockerRepository (`projects/P/locations/L/repositories/R`). */
  dockerRepository?: string
  /** false: not found (a first deploy). */
  exists: boolean
}

/** The per-container flags of a run deploy (gcloud/passthrough.ts ContainerArgs). */
export interface ContainerInput {
  image?: string
  name: string
  source?: string
}

export interface BuildInput {
  /** functions: --clear-docker-repository. */
  clearDockerRepository?: boolean
  /** run, job, worker-pool: the containers (one named '' without --container). */
  containers?: readonly ContainerInput[]
  /** functions: --docker-repository. */
  dockerRepository?: string
  /** The existing service/function per region (absent: treated as not found). */
  existing: Readonly<Record<string, ExistingResource>>
  kind: DeployKind
  /** The service or function name. */
  name: string
  project: string
  regions: readonly string[]
}

/** Why this entry was chosen: gcloud's source of the repository. */
export type RepositorySource = 'annotation' | 'default' | 'existing-function' | 'flag'

/** One region's build: where it pushes and the entry that admits it. */
export interface BuildTarget {
  /** The repository is in another project than the deploy. */
  crossProject: boolean
  /** One of Google's default build repositories (cloud-run-source-deploy / gcf-artifacts) of this project and region. */
  defaultRepository: boolean
  /** The image the build pushes, without tag or digest (run: exact; functions: Cloud Functions' naming). */
  image: string
  /** The allowlist entry: `REPO/**` for a default repository, else the image name. */
  pattern: string
  region: string
  /** The repository's Docker path, e.g. `us-central1-docker.pkg.dev/p/cloud-run-source-deploy`. */
  repository: string
  /** The project that owns the repository (as in the path). */
  repositoryProject: string
  source: RepositorySource
}

/** A prebuilt image a container deploys (run): evaluated against the policy, never allowlisted. */
export interface PrebuiltImage {
  container: string
  image: string
}

export interface BuildTargets {
  /** Allowlist patterns needed, deduplicated, in region order. */
  patterns: string[]
  /** Prebuilt images (run containers with --image and no --source). */
  prebuilt: PrebuiltImage[]
  /** One per region with a build; empty when nothing is built. */
  targets: BuildTarget[]
}

/** deploy.py _ValidateArRepository's regex (re.match: anchored at the start only). */
const GCLOUD_AR_REPOSITORY = /^([\w-]+)-docker\.pkg\.dev\/([\w-]+)\/([\w-]+)/

function refuse(message: string, suggestions: string[], code: 'GCLOUD_WOULD_REFUSE' | 'INVALID_IMAGE' = 'GCLOUD_WOULD_REFUSE'): UserError {
  return new UserError(message, {code, suggestions})
}

/**
 * The repository docker string gcloud derives from an --image value or the build-image-uri annotation
 * (deploy.py _ValidateArRepository), or a refusal saying why gcloud would refuse it.
 */
function gcloudRepositoryOf(value: string, from: string): {location: string; path: string; project: string; repository: string} {
  const match = GCLOUD_AR_REPOSITORY.exec(value)
  if (match === null) {
    const domainScoped = /^[\w-]+-docker\.pkg\.dev\/[\w-]+\.[\w.-]*[/:]/.test(value)
    throw refuse(
      `gcloud 528 cannot deploy from source into ${displayValue(value)} (${from}): it accepts only REGION-docker.pkg.dev/PROJECT-ID/REPOSITORY`
      + ' with PROJECT-ID of letters, digits, "_" and "-" (surface/run/deploy.py _ValidateArRepository)'
      + `${domainScoped ? ', so a domain-scoped project (example.com:proj) cannot be redeployed from source by gcloud' : ''}. Nothing was changed.`,
      [
        'Deploy a prebuilt image instead: binauthz deploy run NAME -- --image=IMAGE',
        ...(from.startsWith('the existing service') ? ['Or delete the service and deploy it again (a first deploy does not read the annotation).'] : []),
      ],
    )
  }

  const [, location = '', project = '', repository = ''] = match
  return {
    location, path: `${location}-docker.pkg.dev/${project}/${repository}`, project, repository,
  }
}

/** deploy.py _ValidateServiceNameFromImage: an image name after the repository must be the service name. */
function checkServiceName(image: string, service: string): void {
  const match = /^[\w-]+-docker\.pkg\.dev\/[\w-]+\/[\w-]+\/([\w-]+)(?:\/(.+))?$/.exec(image)
  const named = match?.[1]
  if (named !== undefined && named !== service) {
    throw refuse(`--image ${displayValue(image)} names the image ${named}, but gcloud 528 builds source deploys as the service name ${service} and refuses this (surface/run/deploy.py _ValidateServiceNameFromImage). Nothing was changed.`, [
      `Use --image=${image.split('/').slice(0, 3).join('/')}/${service}, or only the repository: --image=${image.split('/').slice(0, 3).join('/')}.`,
    ], 'INVALID_IMAGE')
  }
}

function runTarget(input: BuildInput, container: ContainerInput, region: string): BuildTarget {
  const existing = input.existing[region]
  const annotated = existing?.exists === true ? existing.buildImageUri : undefined
  let repo: {location: string; path: string; project: string; repository: string}
  let source: RepositorySource
  if (container.image !== undefined) {
    // Validated as an Artifact Registry image first (our own checks: clearer messages), then as gcloud reads it.
    parseImageRepository(container.image, '--image (after --)')
    repo = gcloudRepositoryOf(container.image, '--image')
    checkServiceName(container.image, input.name)
    source = 'flag'
  } else if (annotated !== undefined && annotated !== '') {
    repo = gcloudRepositoryOf(annotated, `the existing service's run.googleapis.com/build-image-uri annotation in ${region}`)
    source = 'annotation'
  } else {
    // DockerRepo(project_id=core/project, location_id=RepoRegion(args), repo_id='cloud-run-source-deploy').
    repo = {
      location: region, path: `${region}-docker.pkg.dev/${input.project}/${RUN_SOURCE_REPOSITORY}`, project: input.project, repository: RUN_SOURCE_REPOSITORY,
    }
    source = 'default'
  }

  const isDefault = repo.repository === RUN_SOURCE_REPOSITORY && repo.project === input.project && repo.location === region
  const image = `${repo.path}/${input.name}`
  return {
    crossProject: repo.project !== input.project,
    defaultRepository: isDefault,
    image,
    pattern: isDefault ? `${repo.path}/**` : image,
    region,
    repository: repo.path,
    repositoryProject: repo.project,
    source,
  }
}

/** jobs / worker pools: always the default repository of the region, image `{repo}/{name}` (see the rules above). */
function sourceDeployTarget(input: BuildInput, region: string): BuildTarget {
  // DockerRepo(...).GetDockerString(): the raw project ID, as for services (command_lib/artifacts/docker_util.py).
  const path = `${region}-docker.pkg.dev/${input.project}/${RUN_SOURCE_REPOSITORY}`
  return {
    crossProject: false,
    defaultRepository: true,
    image: `${path}/${input.name}`,
    pattern: `${path}/**`,
    region,
    repository: path,
    repositoryProject: input.project,
    source: 'default',
  }
}

function doubled(text: string): string {
  return text.toLowerCase().replaceAll('-', '--')
}

/** Cloud Functions' image name inside the repository: project, region and function with "-" doubled. */
function functionImageName(project: string, region: string, name: string): string {
  return `${doubled(project)}__${doubled(region)}__${doubled(name)}`
}

function functionTarget(input: BuildInput, region: string): BuildTarget {
  const existing = input.existing[region]
  let repo: BuildRepository | undefined
  let source: RepositorySource = 'default'
  if (input.dockerRepository !== undefined) {
    repo = parseDockerRepository(input.dockerRepository, '--docker-repository (after --)')
    source = 'flag'
  } else if (input.clearDockerRepository !== true && existing?.exists === true && existing.dockerRepository !== undefined && existing.dockerRepository !== '') {
    repo = parseDockerRepository(existing.dockerRepository, `the existing function's buildConfig.dockerRepository in ${region}`)
    source = 'existing-function'
  }

  repo ??= {location: region, project: input.project, repository: FUNCTIONS_REPOSITORY}
  // Artifact Registry paths (built server-side) spell a domain-scoped project as example.com/proj.
  const path = `${repo.location}-docker.pkg.dev/${registryProjectPath(repo.project)}/${repo.repository}`
  const isDefault = repo.repository === FUNCTIONS_REPOSITORY && repo.project === input.project && repo.location === region
  const image = `${path}/${functionImageName(input.project, region, input.name)}`
  return {
    crossProject: repo.project !== input.project,
    defaultRepository: isDefault,
    image,
    pattern: isDefault ? `${path}/**` : image,
    region,
    repository: path,
    repositoryProject: repo.project,
    source,
  }
}

/** At most one container builds from source (gcloud 528 refuses more); `where` is the surface file that says so. */
function refuseSeveralBuilds(building: readonly ContainerInput[], where: string): void {
  if (building.length <= 1) return
  const needImage = building.filter(c => c.source === undefined).map(c => c.name || '(primary)')
  throw refuse(
    needImage.length > 0
      ? `Containers ${needImage.join(', ')} have neither --image nor --source; gcloud 528 builds at most one container from source and refuses this (${where}). Nothing was changed.`
      : 'More than one container has --source; gcloud 528 refuses this ("At most one container can be deployed from source"). Nothing was changed.',
    ['Give every container but one a prebuilt --image.'],
  )
}

type Builds = Pick<BuildTargets, 'prebuilt' | 'targets'>

/** `gcloud run deploy`: the one container without --image (or with --source) builds; --source with --image builds too. */
function serviceBuilds(input: BuildInput): Builds {
  const containers = input.containers ?? [{name: ''}]
  const building = containers.filter(c => c.source !== undefined || c.image === undefined)
  refuseSeveralBuilds(building, 'surface/run/deploy.py _ValidateAndGetBuildFromSource')
  const prebuilt = containers.filter(c => c.image !== undefined && c.source === undefined).map(c => ({container: c.name, image: c.image as string}))
  const [builder] = building
  // The one container to build has no --source: gcloud 528 prompts for a source location only when it can prompt
  // (console_io.CanPrompt: stdin AND stderr are terminals), and binauthz pipes gcloud's stderr to keep its tail
  // (src/gcloud/runner.ts), so gcloud always answers `Missing required argument [--image]` (surface/run/deploy.py
  // _ValidateAndGetBuildFromSource). Refused here, before the policy is written.
  if (builder !== undefined && builder.source === undefined) {
    const which = builder.name === '' ? '' : `Container ${builder.name} `
    throw refuse(
      `${which}${which === '' ? 'Neither' : 'has neither'} --source nor --image ${which === '' ? 'was given after --' : 'after --'}: gcloud 528 would stop with "Missing required argument [--image]: ${which === '' ? 'Requires' : 'requires'} a container image to deploy (e.g. \`gcr.io/cloudrun/hello:latest\`) if no build source is provided." Nothing was changed.`,
      ['Deploy the current directory from source: add `-- --source .` (or --source=DIR)', 'Or deploy a prebuilt image: `-- --image=IMAGE`'],
    )
  }

  return {prebuilt, targets: builder === undefined ? [] : input.regions.map(region => runTarget(input, builder, region))}
}

/** `gcloud run jobs deploy` / `gcloud beta run worker-pools deploy`: --source and --image exclude each other. */
function sourceDeployBuilds(input: BuildInput & {kind: 'job' | 'worker-pool'}): Builds {
  const containers = input.containers ?? [{name: ''}]
  const both = containers.find(c => c.source !== undefined && c.image !== undefined)
  if (both !== undefined) {
    throw refuse(
      `${both.name === '' ? '' : `Container ${both.name}: `}--source and --image were both given; gcloud 528 takes them as one mutually exclusive group for ${input.kind === 'job' ? 'jobs' : 'worker pools'} (command_lib/run/flags.py SourceAndImageFlags) and refuses this. Nothing was changed.`,
      ['Give --source to build (into cloud-run-source-deploy), or --image to deploy a prebuilt image — not both.'],
    )
  }

  const building = containers.filter(c => c.image === undefined)
  refuseSeveralBuilds(building, `surface/run/${input.kind === 'job' ? 'jobs' : 'worker_pools'}/deploy.py`)
  // gcloud 528 crashes on a job built from source with sidecars, after the build: DeployJob's _AddDigestToImageChange
  // (command_lib/run/serverless_operations.py) reads `template.image`, which for a job with several containers raises
  // "the target job has multiple containers" (api_lib/run/container_resource.py `container`). Refused before any write.
  if (input.kind === 'job' && building.length === 1 && containers.length > 1) {
    throw refuse(
      'gcloud 528 cannot deploy a job from source with more than one container: after the build it crashes with "the target job has multiple containers, a container name must be specified via --container flag" (command_lib/run/serverless_operations.py _AddDigestToImageChange). Nothing was changed.',
      [
        'Build the image first (binauthz deploy job NAME -- --source . with one container), then deploy the containers with prebuilt --image values.',
      ],
    )
  }

  const prebuilt = containers.filter(c => c.image !== undefined).map(c => ({container: c.name, image: c.image as string}))
  return {prebuilt, targets: building.length === 1 ? input.regions.map(region => sourceDeployTarget(input, region)) : []}
}

/**
 * The builds of a deploy and the entries they need (see the rules at the top of this file). Throws UserError when
 * gcloud 528 would refuse the deploy (more than one container to build, a repository it cannot parse, an image name
 * that is not the service name), so nothing is written for a deploy that cannot run.
 */
export function deriveBuildTargets(input: BuildInput): BuildTargets {
  const project = validateProjectId(input.project, 'project')
  const regions = input.regions.map(region => validateRegion(region, 'region'))
  const normalized: BuildInput = {...input, project, regions}
  const {kind} = normalized
  const {prebuilt, targets} = kind === 'run'
    ? serviceBuilds(normalized)
    : (kind === 'function'
      ? {prebuilt: [], targets: regions.map(region => functionTarget(normalized, region))}
      : sourceDeployBuilds({...normalized, kind}))
  return {patterns: [...new Set(targets.map(t => t.pattern))], prebuilt, targets}
}

/** One line per target for the plan: where the build pushes, which entry admits it and why that one. */
export function describeTarget(target: BuildTarget): string {
  const from: Record<RepositorySource, string> = {
    annotation: 'the existing service\'s build-image-uri annotation (gcloud reuses it)',
    default: 'gcloud\'s default repository',
    'existing-function': 'the existing function\'s buildConfig.dockerRepository (gcloud keeps it)',
    flag: 'the flag given',
  }
  const scope = target.defaultRepository
    ? `${target.pattern} (Google's documented entry for this default build repository)`
    : `only the image ${target.pattern} (its tags and digests), not the whole repository ${target.repository}`
  return `[${target.region}] the build pushes ${target.image} into ${target.repository}, from ${from[target.source]}: allowlist ${scope}`
}
