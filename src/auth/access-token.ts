// Sources 1 and 2 of gcloud's order: an access token given as such (CLOUDSDK_AUTH_ACCESS_TOKEN, auth/access_token_file),
// and the shape check every token passes before it is used (and registered as a secret).
import {resolve} from 'node:path'

import type {CredentialSource, ResolvedTokenProvider, SourceCredential} from './credential-types.js'

import {type Secrets, UserError} from '../errors.js'
import {isFile, readRegularFileText} from '../store/regular-file.js'

/** Longest access token we accept from a file or from gcloud (real ones are a few hundred to ~2k chars). */
export const MAX_TOKEN_LENGTH = 8192

/** What to do about a token source that holds no token. */
const TOKEN_HINTS = [
  'Write a token there: gcloud auth print-access-token > FILE (or unset it and sign in: gcloud auth login)',
]

/**
 * Checks a token's shape; returns the trimmed token, registered with the run's secrets, or throws a UserError naming
 * `origin` (never the token).
 */
export function validateToken(raw: string, origin: string, secrets: Secrets): string {
  const token = raw.trim()
  if (token === '') {
    throw new UserError(`${origin} holds no access token (it is empty).`, {code: 'INVALID_ACCESS_TOKEN', suggestions: TOKEN_HINTS})
  }

  if (token.length > MAX_TOKEN_LENGTH) {
    throw new UserError(`${origin} does not hold an access token: its content is longer than ${MAX_TOKEN_LENGTH} characters.`, {
      code: 'INVALID_ACCESS_TOKEN',
      suggestions: TOKEN_HINTS,
    })
  }

  if (/[\r\n]/.test(token)) {
    throw new UserError(`${origin} does not hold a single access token: it has more than one line.`, {
      code: 'INVALID_ACCESS_TOKEN',
      suggestions: ['Write just the token on one line, e.g. `gcloud auth print-access-token > FILE`'],
    })
  }

  if (!isPrintableAscii(token)) {
    throw new UserError(`${origin} does not hold an access token: it contains spaces or non-printable characters.`, {
      code: 'INVALID_ACCESS_TOKEN',
      suggestions: ['Write just the token on one line, e.g. `gcloud auth print-access-token > FILE`'],
    })
  }

  secrets.add(token)
  return token
}

/** Visible ASCII only (no spaces, controls or non-ASCII): what OAuth access tokens are made of. */
function isPrintableAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.codePointAt(i) ?? 0
    if (code < 0x21 || code > 0x7E) return false
  }

  return true
}

export function tokenFileProvider(file: string, origin: string, unsetHint: string, secrets: Secrets): ResolvedTokenProvider {
  const path = resolve(file)
  const described = `${origin} (${path})`
  if (!isFile(path)) {
    throw new UserError(`${origin} names ${path}, which does not exist or is not a file.`, {
      code: 'ACCESS_TOKEN_FILE_MISSING',
      suggestions: [`Create it (e.g. \`gcloud auth print-access-token > ${path}\`)`, unsetHint],
    })
  }

  const content = readRegularFileText(path, {maxBytes: (MAX_TOKEN_LENGTH * 2) + 2, what: `The access token file (from ${origin})`})
  if (content === undefined) {
    throw new UserError(`Cannot read the access token file ${path} (from ${origin}).`, {
      code: 'ACCESS_TOKEN_FILE_MISSING',
      suggestions: [`Check its permissions: \`ls -l ${path}\``],
    })
  }

  const token = validateToken(content, `The access token file ${path} (from ${origin})`, secrets)
  return {
    async getToken() {
      return token
    },
    source: {detail: described, isUser: false, kind: 'access-token-file'},
  }
}

export function fixedToken(token: string, source: CredentialSource): SourceCredential {
  return {
    fetch: async () => token, refreshable: false, source,
  }
}
