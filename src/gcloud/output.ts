// PURE: recognises why a gcloud deploy failed, from the tail of its stderr, and explains the fix.
// Google's exact wording is not stable or fully documented, so we match distinctive substrings, case-insensitively.
// The explanation is appended to gcloud's own output; gcloud's text is never replaced.

export type DenialKind = 'api-disabled' | 'binauthz-denied' | 'gen1-function' | 'org-policy'

export interface Denial {
  /** What to do, each entry an exact command or flag. */
  fixes: string[]
  /** The image named in gcloud's message, when there is one. */
  image?: string
  kind: DenialKind
  /** One line: what happened. */
  summary: string
}

export interface DenialContext {
  /** The allowlist patterns the deploy relied on (may be empty for a plain --image deploy). */
  patterns: readonly string[]
  project: string
}

const ORG_POLICY = /constraints\/run\.allowedBinaryAuthorizationPolicies/i
const API_DISABLED = /binaryauthorization\.googleapis\.com[\s\S]{0,400}(SERVICE_DISABLED|not been used|is disabled)|(SERVICE_DISABLED|has not been used|is disabled)[\s\S]{0,400}binaryauthorization\.googleapis\.com/i
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

/** Recognises a Binary Authorization related failure in gcloud's stderr, or returns undefined. */
export function recognizeDenial(stderr: string, context: DenialContext): Denial | undefined {
  const {project} = context
  if (ORG_POLICY.test(stderr)) {
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

  if (GEN1.test(stderr)) {
    return {
      fixes: ['Deploy under a new name (2nd gen), or delete the 1st gen function first: gcloud functions delete NAME --region=REGION'],
      kind: 'gen1-function',
      summary: 'The function already exists as a 1st gen Cloud Function, and 1st gen functions do not support Binary Authorization.',
    }
  }

  if (API_DISABLED.test(stderr)) {
    return {
      fixes: [`gcloud services enable binaryauthorization.googleapis.com --project=${project}`],
      kind: 'api-disabled',
      summary: `The Binary Authorization API is not enabled in project ${project}.`,
    }
  }

  if (DENIED.some(re => re.test(stderr))) {
    const image = findImage(stderr)
    const fixes = [
      image === undefined ? `binauthz policy status --project=${project}` : `binauthz policy status --project=${project} --image=${image}`,
    ]
    if (context.patterns.length > 0) {
      fixes.push(`The allowlist now contains ${context.patterns.join(', ')}; policy changes can take a minute to apply: wait and run the same binauthz command again.`)
    } else {
      fixes.push('The image does not come from a repository binauthz allowlists (plain --image deploy): have it attested, or allowlist its repository with binauthz policy allow.')
    }

    return {
      kind: 'binauthz-denied',
      summary:
        image === undefined
          ? 'Binary Authorization denied the deploy: the image is not admitted by the project policy.'
          : `Binary Authorization denied the deploy: image ${image} is not admitted by the project policy.`,
      ...(image === undefined ? {} : {image}),
      fixes,
    }
  }

  return undefined
}

/** The text binauthz appends after gcloud's own output for a recognised denial. */
export function explainDenial(denial: Denial): string {
  return [`binauthz: ${denial.summary}`, ...denial.fixes.map(fix => `  fix: ${fix}`)].join('\n')
}
