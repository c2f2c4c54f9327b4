// The prebuilt images of a deploy (a plain --image, --container sidecars): each judged against the policy
// (policy/coverage.ts), never allowlisted by binauthz; one the policy blocks stops the deploy with the admin's command.
import type {BinauthzClient} from '../google/binauthz-client.js'
import type {BuildTargets} from '../policy/build-targets.js'
import type {ImageVerdict} from '../policy/coverage.js'
import type {Policy} from '../policy/types.js'
import type {DeployOptions} from './deploy-options.js'
import type {DeployResult} from './deploy-result.js'

import {BinauthzError, InterruptedError, UserError} from '../errors.js'
import {evaluateImage} from '../policy/coverage.js'
import {adminHandoff} from '../policy/handoff.js'
import {imageNameOf} from '../policy/pattern.js'
import {formatCommand} from '../policy/shell.js'

/** The rule that admits or blocks an image, as the plan and --json name it. */
function ruleName(verdict: ImageVerdict): string {
  return verdict.rule === 'allowlist' ? `allowlist: ${verdict.pattern ?? ''}` : `${verdict.rule}: ${verdict.evaluationMode ?? 'unspecified'}`
}

/** A prebuilt image the policy blocks stops the deploy before any write (exit 3), with what an administrator runs. */
function blockedImages(project: string, blocked: DeployResult['images']): UserError {
  const names = [...new Set(blocked.map(b => imageNameOf(b.image)))]
  const lines = blocked.map(b => `  ${b.container === '' ? 'the image' : `container ${b.container}`}: ${b.image} — ${b.reason}`)
  return new UserError(
    `The Binary Authorization policy of ${project} blocks ${blocked.length === 1 ? 'a prebuilt image' : 'prebuilt images'} of this deploy, and binauthz never allowlists prebuilt images itself. Nothing was changed or deployed.\n${lines.join('\n')}\n\n${adminHandoff(project, names)}`,
    {
      code: 'IMAGE_NOT_ADMITTED',
      suggestions: [
        `An administrator can allowlist exactly ${names.length === 1 ? 'that image' : 'those images'}: ${formatCommand(['binauthz', 'policy', 'allow', `--project=${project}`, ...names.flatMap(n => ['--pattern', n])])}`,
      ],
    },
  )
}

/** Prebuilt images (sidecars) next to a build: judged against the policy with the build's entries added. */
export async function checkPrebuilt(options: DeployOptions, result: DeployResult, policy: Policy, targets: BuildTargets): Promise<void> {
  if (targets.prebuilt.length === 0) return
  const view: Policy = {...policy, admissionWhitelistPatterns: [...(policy.admissionWhitelistPatterns ?? []), ...targets.patterns.map(namePattern => ({namePattern}))]}
  result.images = targets.prebuilt.map(({container, image}) => {
    const verdict = evaluateImage(view, image)
    return {
      admitted: verdict.admitted, container, image, reason: verdict.reason, rule: ruleName(verdict),
    }
  })
  for (const image of result.images) await options.report({image, kind: 'sidecar-judged'})

  const blocked = result.images.filter(i => i.admitted === false)
  if (blocked.length > 0) throw blockedImages(result.project, blocked)
}

/** Only prebuilt images (a plain --image, or containers that all have one): nothing is allowlisted; each is judged. */
export async function evaluatePrebuilt(options: DeployOptions, connect: () => Promise<BinauthzClient>, result: DeployResult, prebuilt: BuildTargets['prebuilt']): Promise<void> {
  const {report} = options
  let policy: Policy | undefined
  let unknown = ''
  try {
    const client = await connect()
    policy = await client.getPolicy(result.project)
    result.policy = {...result.policy, etagAfter: policy.etag ?? null, etagBefore: policy.etag ?? null}
  } catch (error) {
    // Reading is only advisory here: nothing is changed for a pre-built image.
    if (!(error instanceof BinauthzError) || error instanceof InterruptedError) throw error
    // Its first line, without the final stop: it is quoted inside parentheses.
    unknown = `could not read the policy (${(error.message.split('\n')[0] ?? '').replace(/\.$/, '')})`
  }

  result.images = prebuilt.map(({container, image}) => {
    if (policy === undefined) return {
      admitted: null, container, image, reason: unknown, rule: 'unknown',
    }
    const verdict = evaluateImage(policy, image)
    return {
      admitted: verdict.admitted, container, image, reason: verdict.reason, rule: ruleName(verdict),
    }
  })
  const [first] = result.images
  if (first !== undefined && prebuilt.length === 1) result.image = {admitted: first.admitted, image: first.image, reason: first.reason}
  for (const image of result.images) await report({image, kind: 'image-judged'})
  await report({kind: 'nothing-to-allowlist'})
  const blocked = result.images.filter(i => i.admitted === false)
  if (blocked.length > 0) throw blockedImages(result.project, blocked)
}
