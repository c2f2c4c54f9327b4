import type {SandboxContext} from './api.js'

// Admission enforcement: a deploy with Binary Authorization "default" is admitted only when every image it runs is
// admitted by the stored project policy, decided by the same evaluateImage() the CLI uses for its checks.
import {evaluateImage} from '../policy/coverage.js'
import {currentPolicy} from './binauthz.js'

export interface AdmissionDecision {
  admitted: boolean
  /** The first denied image and why, when denied. */
  deniedImage?: string
  reason?: string
  /** One line per image, for the request log / debugging. */
  verdicts: {admitted: boolean; image: string; reason: string}[]
}

export function admitImages(ctx: SandboxContext, images: readonly string[]): AdmissionDecision {
  const policy = currentPolicy(ctx)
  const verdicts = images.map(image => {
    const verdict = evaluateImage(policy, image)
    return {admitted: verdict.admitted, image, reason: verdict.reason}
  })
  const first = verdicts.find(v => !v.admitted)
  return first
    ? {
      admitted: false, deniedImage: first.image, reason: first.reason, verdicts,
    }
    : {admitted: true, verdicts}
}

/** The denial text both Cloud Run and Cloud Functions carry (names Binary Authorization, the image and the policy). */
export function denialText(ctx: SandboxContext, decision: AdmissionDecision): string {
  const image = decision.deniedImage ?? '(unknown image)'
  return `Image ${image} denied by Binary Authorization policy projects/${ctx.identity.project}/policy: ${decision.reason ?? 'not admitted'}`
}
