// PURE: recognises why a gcloud deploy failed, from the tail of its stderr, and explains the fix with exact commands.
// The texts matched are gcloud 528's own (cited per rule) and Google's API error answers as gcloud prints them
// (`ERROR: (gcloud.run.deploy) STATUS: message`, then the error's details as YAML, e.g. a google.rpc.ErrorInfo).
// Google's wording is not fully stable, so we match distinctive substrings, case-insensitively, and never replace
// gcloud's text: the explanation is appended to it.

import {evaluateImage} from '../policy/coverage.js'
import {memberOf} from '../policy/handoff.js'
import {imageNameOf} from '../policy/pattern.js'
import {formatCommand} from '../policy/shell.js'

export type DenialKind
  = | 'api-disabled'
    | 'binauthz-denied'
    | 'build-failed'
    | 'build-service-account'
    | 'gen1-function'
    | 'org-policy'
    | 'repository-missing'
    | 'repository-permission'

export interface Denial {
  /** binauthz-denied: the allowlist entry this deploy relied on that matches the image (so it should have been admitted). */
  coveredBy?: string
  /** What to do, each entry an exact command or flag. */
  fixes: string[]
  /** The image named in gcloud's message, when there is one. */
  image?: string
  kind: DenialKind
  /** repository-missing / repository-permission: the Artifact Registry repository (`L-docker.pkg.dev/P/R`). */
  repository?: string
  /** binauthz-denied: the rule that denied the image, as Google's message names it (e.g. "default admission rule ALWAYS_DENY"). */
  rule?: string
  /** api-disabled: the API to enable (e.g. artifactregistry.googleapis.com). */
  service?: string
  /** One line: what happened. */
  summary: string
}

export interface DenialContext {
  /** Who gcloud deploys as (the account / service account), for the IAM grant commands; absent: a placeholder. */
  account?: string
  /** The allowlist patterns the deploy relied on (may be empty for a plain --image deploy). */
  patterns: readonly string[]
  project: string
  /** The region of this deploy (build logs, repository location). */
  region?: string
}

const ORG_POLICY_BINAUTHZ = /constraints\/run\.allowedBinaryAuthorizationPolicies/i
const ORG_POLICY = /constraints\/([\w.]+)/i
const GEN1 = /binary authorization is not supported for 1st gen/i
const DENIED = [
  /not authorized by (?:the )?(?:binary authorization )?policy/i,
  /denied by (?:the )?binary authorization/i,
  /binary authorization[^\n]{0,200}(?:denied|blocked|reject|violat|not (?:authorized|allowed|admitted))/i,
  /(?:denied|blocked|rejected)[^\n]{0,200}binary authorization/i,
  /(?:default )?admission rule[^\n]{0,200}(?:denied|deny)/i,
  /breakglass/i,
]
const IMAGE = [
  /image\s+'([^'\s]+)'/i,
  /image\s+"([^"\s]+)"/i,
  /image\s+\[([^\]\s]+)\]/i,
  /image\s+([\w.-]+\.[\w.-]+\/[^\s,;'"]+)/i,
]

/**
 * A disabled API, as Google answers (403 PERMISSION_DENIED, ErrorInfo reason SERVICE_DISABLED, metadata.service) and
 * as gcloud parses it (googlecloudsdk/api_lib/util/api_enablement.py API_ENABLEMENT_REGEX: "Enable it by visiting
 * https://console.developers.google.com/apis/api/SERVICE/overview?project=P then retry"), or gcloud's own prompt text
 * ("API [SERVICE] not enabled on project [P]", same file).
 */
const API_DISABLED = /SERVICE_DISABLED|has not been used in project|before or it is disabled|not enabled on project/i
const SERVICE_NAME = [
  /\bservice:\s*'?([\w.-]+\.googleapis\.com)/i,
  /\/apis\/api\/([\w.-]+\.googleapis\.com)\/overview/i,
  /API \[([\w.-]+\.googleapis\.com)\] (?:is required to continue, but is )?not enabled/i,
  /\b([\w.-]+\.googleapis\.com)\b[^\n]{0,200}(?:has not been used|is disabled|SERVICE_DISABLED)/i,
]

/**
 * A missing Artifact Registry repository: surface/run/deploy.py _ValidateArRepository ("The artifact repository
 * provided does not exist: IMAGE. Please create the repository and try again."), Artifact Registry's NOT_FOUND on a
 * repository resource, or the Docker registry's push answer ("name unknown: Repository ... not found").
 */
const REPOSITORY_MISSING = [
  /artifact repository provided does not exist:\s*([^\s,;'"]+?)\.?(?:\s|$)/i,
  /repository\s+"?(projects\/[^/\s"]+\/locations\/[^/\s"]+\/repositories\/[^\s"'.,]+)"?\s+(?:was )?not found/i,
  /name unknown:\s*repository\s+"?([^\s"]+?)"?\s+not found/i,
]

/**
 * The deployer may not use the build repository: command_lib/run/artifact_registry.py ShouldCreateRepository
 * ("Permission denied while accessing Artifact Registry. Artifact Registry access is required to deploy from
 * source."), or Google's "Permission 'artifactregistry.…' denied on resource 'projects/P/locations/L/repositories/R'".
 */
const REPOSITORY_PERMISSION = /Permission denied while accessing Artifact Registry|Permission '?artifactregistry\.[\w.]+'? denied/i
const REPOSITORY_RESOURCE = /projects\/([^/\s'"]+)\/locations\/([^/\s'"]+)\/repositories\/([\w-]+)/i
// A domain-scoped project (example.com:p) is the path example.com/p.
const DOCKER_PATH = /\b([a-z0-9-]+)-docker\.pkg\.dev\/((?:[\w-]+\.[\w.-]+\/)?[\w-]+)\/([a-z][a-z0-9-]*)\b/i

/**
 * The build's service account lacks a role or is unusable: the push of the built image refused
 * ("artifactregistry.repositories.uploadArtifacts" denied), Cloud Functions' "missing permission on the build service
 * account", Cloud Run's "missing required IAM permissions", or command_lib/run/build_util.py ValidateBuildServiceAccount
 * ("Build service account SA does not exist." / "disabled service account used by Cloud Build").
 */
const BUILD_SA = [
  /uploadArtifacts["']?\s+denied/i,
  /missing permission on the build service account/i,
  /(?:default|build) service account is missing required IAM permissions/i,
  /Build service account \S+ does not exist/i,
  /disabled service account used by Cloud Build/i,
]
const SERVICE_ACCOUNT = /\b([\w.-]+@(?:[\w-]+\.iam|developer|cloudbuild)\.gserviceaccount\.com)\b/i

/** gcloud's words for a failed build (the trace: "Build failed; check build logs for details"). */
const BUILD_FAILED = /Build failed|Building Container\.+failed|Build did not succeed/i

/** The rule a Binary Authorization refusal names, as Google words it (or the sandbox, which words it the same way). */
const DENYING_RULE = [
  /(default ?admission ?rule[\s:]*(?:ALWAYS_DENY|REQUIRE_ATTESTATION|ALWAYS_ALLOW)?)/i,
  /\b(ALWAYS_DENY|REQUIRE_ATTESTATION)\b/,
  /((?:cluster|kubernetes service account|istio service identity|kubernetes namespace)[- ]specific (?:admission )?rule)/i,
]

function firstMatch(text: string, patterns: readonly RegExp[]): string | undefined {
  for (const re of patterns) {
    const match = re.exec(text)
    if (match?.[1]) return match[1]
  }

  return undefined
}

/**
 * The denied image: looked for in the lines that report the denial first, then anywhere. gcloud's metavariables are
 * skipped: a source deploy first prints "…equivalent to running `gcloud builds submit --pack image=[IMAGE] .` and
 * `gcloud run jobs deploy J --image [IMAGE]`" (command_lib/run/messages_util.py GetBuildEquivalentForSourceRunMessage).
 */
function findImage(text: string): string | undefined {
  const denialLines = text.split('\n').filter(line => DENIED.some(re => re.test(line))).join('\n')
  for (const where of [denialLines, text]) {
    for (const re of IMAGE) {
      for (const match of where.matchAll(new RegExp(re.source, 'gi'))) {
        const image = match[1]?.replace(/[.)]+$/, '')
        if (image !== undefined && image !== '' && !/^[A-Z_]+$/.test(image)) return image
      }
    }
  }

  return undefined
}

/** The repository a text names, as {location, project, repository} (Docker path or resource name). */
function repositoryIn(text: string): undefined | {location: string; project: string; repository: string} {
  const resource = REPOSITORY_RESOURCE.exec(text)
  if (resource) return {location: resource[2] ?? '', project: resource[1] ?? '', repository: resource[3] ?? ''}
  const docker = DOCKER_PATH.exec(text)
  if (docker) return {location: docker[1] ?? '', project: (docker[2] ?? '').replace('/', ':'), repository: docker[3] ?? ''}
  return undefined
}

function dockerPath(repo: {location: string; project: string; repository: string}): string {
  return `${repo.location}-docker.pkg.dev/${repo.project.replace(':', '/')}/${repo.repository}`
}

function apiDisabled(stderr: string, context: DenialContext): Denial | undefined {
  if (!API_DISABLED.test(stderr)) return undefined
  const service = firstMatch(stderr, SERVICE_NAME)
  if (service === undefined) return undefined
  return {
    fixes: [
      formatCommand(['gcloud', 'services', 'enable', service, `--project=${context.project}`]),
      'Then run the same binauthz command again (an API just enabled can take a few minutes to be usable).',
    ],
    kind: 'api-disabled',
    service,
    summary: `The ${service} API is not enabled in project ${context.project}, and the deploy needs it.`,
  }
}

function orgPolicy(stderr: string, context: DenialContext): Denial | undefined {
  const {project} = context
  if (ORG_POLICY_BINAUTHZ.test(stderr)) {
    return {
      fixes: [
        `gcloud resource-manager org-policies describe run.allowedBinaryAuthorizationPolicies --project=${project} --effective`,
        'Ask an organization policy administrator to allow the value "default" for this project (or its folder).',
      ],
      kind: 'org-policy',
      summary:
        'An organization policy (constraints/run.allowedBinaryAuthorizationPolicies) restricts which Binary Authorization policies Cloud Run services may use, and it does not allow "default" here.',
    }
  }

  const constraint = ORG_POLICY.exec(stderr)?.[1]
  if (constraint === undefined || !/violat|constraint|organi[sz]ation polic/i.test(stderr)) return undefined
  return {
    fixes: [
      `gcloud resource-manager org-policies describe ${constraint} --project=${project} --effective`,
      `Ask an organization policy administrator about constraints/${constraint} for project ${project}: binauthz cannot change it.`,
    ],
    kind: 'org-policy',
    summary: `An organization policy (constraints/${constraint}) refused the deploy.`,
  }
}

function repositoryMissing(stderr: string, context: DenialContext): Denial | undefined {
  const named = firstMatch(stderr, REPOSITORY_MISSING)
  if (named === undefined) return undefined
  const repo = repositoryIn(named)
  if (repo === undefined) {
    return {
      fixes: [`gcloud artifacts repositories list --project=${context.project}`],
      kind: 'repository-missing',
      summary: `The Artifact Registry repository of ${named} does not exist.`,
    }
  }

  const path = dockerPath(repo)
  return {
    fixes: [
      formatCommand(['gcloud', 'artifacts', 'repositories', 'create', repo.repository, '--repository-format=docker', `--location=${repo.location}`, `--project=${repo.project}`]),
      'Or build into an existing repository: gcloud artifacts repositories list --project=' + repo.project,
    ],
    kind: 'repository-missing',
    repository: path,
    summary: `The Artifact Registry repository ${path} does not exist, and gcloud does not create it for this deploy.`,
  }
}

function repositoryPermission(stderr: string, context: DenialContext): Denial | undefined {
  if (!REPOSITORY_PERMISSION.test(stderr)) return undefined
  const repo = repositoryIn(stderr)
  const who = memberOf(context.account)
  const fixes = repo === undefined
    ? []
    : [formatCommand(['gcloud', 'artifacts', 'repositories', 'add-iam-policy-binding', repo.repository, `--location=${repo.location}`, `--project=${repo.project}`, `--member=${who}`, '--role=roles/artifactregistry.writer'])]
  // Google: a source deploy needs roles/run.sourceDeveloper on the project (it creates the build repository, too).
  fixes.push(formatCommand(['gcloud', 'projects', 'add-iam-policy-binding', context.project, `--member=${who}`, '--role=roles/run.sourceDeveloper']))
  return {
    fixes,
    kind: 'repository-permission',
    ...(repo === undefined ? {} : {repository: dockerPath(repo)}),
    summary: `${context.account ?? 'The account gcloud deploys as'} may not use the build repository${repo === undefined ? '' : ` ${dockerPath(repo)}`} in Artifact Registry (an administrator runs the grant below).`,
  }
}

function buildServiceAccount(stderr: string, context: DenialContext): Denial | undefined {
  if (!BUILD_SA.some(re => re.test(stderr))) return undefined
  const account = SERVICE_ACCOUNT.exec(stderr)?.[1] ?? 'PROJECT_NUMBER-compute@developer.gserviceaccount.com'
  return {
    fixes: [
      // Google: "grant the Cloud Run Builder (roles/run.builder) role to the Cloud Build service account on the project".
      formatCommand(['gcloud', 'projects', 'add-iam-policy-binding', context.project, `--member=serviceAccount:${account}`, '--role=roles/run.builder']),
      ...(account.startsWith('PROJECT_NUMBER') ? [formatCommand(['gcloud', 'projects', 'describe', context.project, '--format=value(projectNumber)'])] : []),
      'Or build as another service account that has it: add --build-service-account=projects/PROJECT/serviceAccounts/SA after `--`.',
    ],
    kind: 'build-service-account',
    summary: `The build's service account ${account} lacks a role the build needs (pushing the image to Artifact Registry), or is not usable.`,
  }
}

function binauthzDenied(stderr: string, context: DenialContext): Denial | undefined {
  if (!DENIED.some(re => re.test(stderr))) return undefined
  const {project} = context
  const image = findImage(stderr)
  const rule = firstMatch(stderr, DENYING_RULE)?.replaceAll(/\s+/g, ' ').trim()
  // Should one of the entries this deploy relied on have admitted the image? (Judged as coverage.ts judges images.)
  const verdict = image === undefined ? undefined : evaluateImage({admissionWhitelistPatterns: context.patterns.map(namePattern => ({namePattern}))}, image)
  const coveredBy = verdict?.rule === 'allowlist' ? verdict.pattern : undefined
  const fixes = [
    image === undefined ? `binauthz policy status --project=${project}` : `binauthz policy status --project=${project} --image=${image}`,
  ]
  if (coveredBy !== undefined) {
    fixes.push(`The allowlist entry ${coveredBy} matches this image, so the policy should admit it: a policy change takes up to a minute to apply. Wait, then run the same binauthz command again.`)
  } else if (context.patterns.length > 0) {
    fixes.push(`The image is outside every entry this deploy relied on (${context.patterns.join(', ')}): gcloud built or took it from elsewhere. `
      + (image === undefined ? 'Check --image / --docker-repository after `--`.' : `Allowlist its repository if you trust it: ${formatCommand(['binauthz', 'policy', 'allow', `--project=${project}`, '--pattern', `${imageNameOf(image).split('/').slice(0, -1).join('/')}/**`])}`))
  } else {
    fixes.push('The image does not come from a repository binauthz allowlists (plain --image deploy): have it attested, or allowlist its repository with binauthz policy allow.')
  }

  const by = rule === undefined ? 'the project policy' : `the ${rule} of the project policy`
  return {
    kind: 'binauthz-denied',
    summary: image === undefined
      ? `Binary Authorization denied the deploy: ${by} does not admit the image.`
      : `Binary Authorization denied the deploy: image ${image} is not admitted by ${by}${coveredBy === undefined ? '' : ` (although the entry ${coveredBy} matches it)`}.`,
    ...(image === undefined ? {} : {image}),
    ...(rule === undefined ? {} : {rule}),
    ...(coveredBy === undefined ? {} : {coveredBy}),
    fixes,
  }
}

function buildFailed(stderr: string, context: DenialContext): Denial | undefined {
  if (!BUILD_FAILED.test(stderr)) return undefined
  const region = context.region === undefined ? [] : [`--region=${context.region}`]
  return {
    fixes: [
      formatCommand(['gcloud', 'builds', 'list', `--project=${context.project}`, ...region, '--limit=3']),
      formatCommand(['gcloud', 'builds', 'log', 'BUILD_ID', `--project=${context.project}`, ...region]),
    ],
    kind: 'build-failed',
    summary: 'The build of your source failed (Cloud Build): its log says why.',
  }
}

/**
 * Recognises why a gcloud deploy failed in gcloud's stderr, or returns undefined. Most specific first: a disabled
 * API or a missing repository also reads as a permission problem; a Binary Authorization refusal may mention a build.
 */
export function recognizeDenial(stderr: string, context: DenialContext): Denial | undefined {
  if (GEN1.test(stderr)) {
    return {
      fixes: ['Deploy under a new name (2nd gen), or delete the 1st gen function first: gcloud functions delete NAME --region=REGION'],
      kind: 'gen1-function',
      summary: 'The function already exists as a 1st gen Cloud Function, and 1st gen functions do not support Binary Authorization.',
    }
  }

  return orgPolicy(stderr, context)
    ?? apiDisabled(stderr, context)
    ?? repositoryMissing(stderr, context)
    ?? buildServiceAccount(stderr, context)
    ?? repositoryPermission(stderr, context)
    ?? binauthzDenied(stderr, context)
    ?? buildFailed(stderr, context)
}
