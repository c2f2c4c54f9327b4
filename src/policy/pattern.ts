// Allowlist patterns (`admissionWhitelistPatterns[].namePattern`): validation, matching an image, and coverage of one
// pattern by another. Pure: no I/O. (The repositories patterns stand for are in repository.ts.)
//
// Matching semantics (google-cloud-facts §2.2), applied to the trimmed pattern and image:
//   - pattern ending in `**`:  prefix + any characters, including `/` (and the empty string);
//   - pattern ending in one `*`: prefix + any characters except `/` (and the empty string);
//   - otherwise: the exact string. A `*` anywhere else is an ordinary character (the API rejects such
//     patterns; validatePattern() does too).

import {UserError} from '../errors.js'
import {displayValue, unsafeCharacterProblem, urlSchemeOf} from './names.js'

const MAX_PATTERN_LENGTH = 1024

function invalidPattern(value: string, problem: string, extra: string[] = []): UserError {
  return new UserError(`Invalid allowlist pattern ${displayValue(value)}: ${problem}.`, {
    code: 'INVALID_PATTERN',
    suggestions: [...extra, 'Use the form REGISTRY/PATH/TO/IMAGE, optionally ending in * or **, e.g. us-central1-docker.pkg.dev/my-project/cloud-run-source-deploy/**.'],
  })
}

/** The registry host (before the first '/') must be a literal, lowercase host name with an optional port. */
function checkRegistryHost(text: string, slash: number): void {
  const host = text.slice(0, slash)
  if (host.includes('*')) throw invalidPattern(text, 'wildcards are only allowed after "registry/"; the registry host must be literal')
  if (!/^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::[0-9]{1,5})?$/.test(host)) {
    const lower = host.toLowerCase()
    const extra = lower !== host && /^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::[0-9]{1,5})?$/.test(lower) ? [`Did you mean ${displayValue(lower + text.slice(slash))}?`] : []
    throw invalidPattern(text, `${displayValue(host)} is not a registry host name (lowercase)`, extra)
  }
}

/** The path after the host: image-name characters only, no empty, "." or ".." segments. */
function checkPatternPath(text: string, path: string): void {
  const bad = /[^A-Za-z0-9._/:@+-]/.exec(path)
  if (bad) throw invalidPattern(text, `it contains the character ${JSON.stringify(bad[0])}, which never appears in an image name`)
  const segments = path.split('/')
  // The last segment may be empty (a wildcard right after '/', or an exact pattern ending in '/': see below).
  for (const [index, segment] of segments.entries()) {
    if (segment === '' && index < segments.length - 1) throw invalidPattern(text, 'it contains an empty path segment ("//")')
    if (segment === '.' || segment === '..') throw invalidPattern(text, 'it contains a "." or ".." path segment')
  }
}

/**
 * Checks that `pattern` is something the Binary Authorization API accepts as an allowlist entry and this tool
 * can reason about: non-empty, printable ASCII without whitespace, no URL scheme, a literal registry host, a
 * path after it, and `*`/`**` only as a trailing suffix after `registry/`. Returns the trimmed pattern.
 * Throws UserError INVALID_PATTERN.
 */
export function validatePattern(pattern: string): string {
  const text = typeof pattern === 'string' ? pattern.trim() : String(pattern)
  if (text.length === 0) throw invalidPattern(text, 'it is empty')
  if (text.length > MAX_PATTERN_LENGTH) throw invalidPattern(text, `it is longer than ${MAX_PATTERN_LENGTH} characters`)
  const unsafe = unsafeCharacterProblem(text)
  if (unsafe) throw invalidPattern(text, unsafe)
  const scheme = urlSchemeOf(text)
  if (scheme !== undefined) {
    throw invalidPattern(text, `it starts with the URL scheme ${displayValue(scheme)}`, [`Did you mean ${displayValue(text.slice(scheme.length))}?`])
  }

  const slash = text.indexOf('/')
  if (slash === -1) throw invalidPattern(text, 'it has no "/" after the registry host', [`Did you mean ${displayValue(`${text}/**`)}?`])
  checkRegistryHost(text, slash)

  const body = text.endsWith('**') ? text.slice(0, -2) : (text.endsWith('*') ? text.slice(0, -1) : text)
  if (body.includes('*')) {
    throw invalidPattern(text, 'a wildcard may only appear once, as a trailing "*" or "**"')
  }

  checkPatternPath(text, body.slice(slash + 1))

  if (body === text && text.endsWith('/')) {
    throw invalidPattern(text, 'it ends with "/" and no wildcard, so it matches no image', [`Did you mean ${displayValue(`${text}**`)}?`])
  }

  return text
}

type ParsedPattern = {kind: 'any' | 'segment'; prefix: string} | {kind: 'exact'; text: string} | {kind: 'none'}

/**
 * A wildcard is allowed "only in text after the `registry/` part" (REST AdmissionWhitelistPattern): a wildcard
 * pattern whose prefix has no registry and "/" (a local reference such as `loc-ref*`) matches nothing.
 */
function parsePattern(pattern: string): ParsedPattern {
  const text = pattern.trim()
  const wildcard = text.endsWith('**') ? 'any' : (text.endsWith('*') ? 'segment' : undefined)
  if (wildcard === undefined) return {kind: 'exact', text}
  const prefix = text.slice(0, wildcard === 'any' ? -2 : -1)
  if (prefix.includes('*') || prefix.indexOf('/') <= 0) return {kind: 'none'}
  return {kind: wildcard, prefix}
}

/** True when `rest` is in the language of a single `*`: any characters but `/`. */
function noSlash(rest: string): boolean {
  return !rest.includes('/')
}

/** The image name of a reference NAME[:TAG][@DIGEST] (a ":" before the last "/" is a registry port). */
export function imageNameOf(reference: string): string {
  const at = reference.indexOf('@')
  const beforeDigest = at === -1 ? reference : reference.slice(0, at)
  const colon = beforeDigest.lastIndexOf(':')
  return colon > beforeDigest.lastIndexOf('/') ? beforeDigest.slice(0, colon) : beforeDigest
}

/** `reference` is `name` plus a tag and/or digest (`:TAG`, `@DIGEST`, `:TAG@DIGEST`; never a "/"). */
function isTagOrDigestOf(reference: string, name: string): boolean {
  const rest = reference.slice(name.length)
  return reference.startsWith(name) && (rest.startsWith(':') || rest.startsWith('@')) && !rest.includes('/') && imageNameOf(reference) === name
}

/** Whether an exact pattern names an image without tag or digest ("To allowlist a specific image:"). */
export function namesWholeImage(text: string): boolean {
  return text.length > 0 && imageNameOf(text) === text && !text.endsWith('/')
}

/**
 * Whether the allowlist `pattern` admits `image` (both trimmed), under Google's documented rules
 * (policy-yaml-reference): `**` = any characters including `/`; trailing `*` = any characters except `/`; a
 * wildcard only after `registry/` (otherwise the pattern admits nothing); no wildcard = the exact reference, and a
 * pattern naming an image without tag or digest also admits every tag and digest of exactly that image ("To
 * allowlist a specific image:" is listed apart from the tag and digest forms). Case-sensitive, no registry aliases.
 */
export function patternMatchesImage(pattern: string, image: string): boolean {
  const parsed = parsePattern(pattern)
  const target = image.trim()
  switch (parsed.kind) {
  case 'any': {
    return target.startsWith(parsed.prefix)
  }

  case 'exact': {
    if (target === parsed.text) return true
    return namesWholeImage(parsed.text) && isTagOrDigestOf(target, parsed.text)
  }

  case 'none': {
    return false
  }

  case 'segment': {
    return target.startsWith(parsed.prefix) && noSlash(target.slice(parsed.prefix.length))
  }
  }
}

/**
 * Whether every image matched by `required` is also matched by `existing` (language inclusion under the
 * semantics of patternMatchesImage). Examples: `a/b/**` covers `a/b/c/**`; `a/**` covers `a/b/**`; `a/b*`
 * covers `a/bc*` but not `a/b/**`; `a/b/*` does not cover `a/b/**`; `r/p/app` covers `r/p/app`, `r/p/app:1` and
 * `r/p/app@sha256:…`; `r/p/app:1` covers only itself. A pattern that matches nothing is covered by anything.
 */
export function patternCovers(existing: string, required: string): boolean {
  const e = parsePattern(existing)
  const r = parsePattern(required)
  if (r.kind === 'none') return true
  if (e.kind === 'none') return false
  if (e.kind === 'exact') {
    if (r.kind !== 'exact') return false // a wildcard pattern matches infinitely many names
    if (r.text === e.text) return true
    // A whole-image entry admits each tag/digest reference of that image (and `required` then names one).
    return namesWholeImage(e.text) && !namesWholeImage(r.text) && isTagOrDigestOf(r.text, e.text)
  }

  // The shortest image `required` matches: its literal text / its prefix (the wildcard matching nothing).
  const shortest = r.kind === 'exact' ? r.text : r.prefix
  if (!shortest.startsWith(e.prefix)) return false
  if (e.kind === 'any') return true
  // `existing` = prefix + [^/]*: everything `required` can add must stay free of '/'. A whole-image `required`
  // adds only ":tag" or "@digest", which never contain "/".
  if (r.kind === 'any') return false // `required` also matches shortest + '/'
  return noSlash(shortest.slice(e.prefix.length))
}
