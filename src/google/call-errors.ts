// Errors for Binary Authorization calls that got no usable answer: the network, timeouts, the deadline, an
// interruption, and answers that are not the API's (wrong content type, malformed or oversized). Pure.

import {ExternalError, InterruptedError} from '../errors.js'
import {DOING, type Operation} from './google-errors.js'

const ENDPOINT_HINT = 'Check CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION; the endpoint in use is'
const POLICY_STATUS_HINT = 'Check whether the entry is there before retrying: binauthz policy status'

export function timeoutError(op: Operation, timeoutMs: number, cause: unknown): ExternalError {
  return new ExternalError(`The Binary Authorization API did not answer within ${timeoutMs} ms while trying to ${DOING[op]}.`, {
    cause,
    code: 'TIMEOUT',
    suggestions: ['Check your network connection and run the command again'],
  })
}

/** Nothing listens on this machine's port: a stopped sandbox, not a network glitch. */
export function sandboxNotAnswering(endpoint: URL, suggestions: readonly string[], cause: unknown): ExternalError {
  const [first] = suggestions
  return new ExternalError(`No sandbox answers at ${endpoint.href}${first === undefined ? '' : `: ${first}`}`, {
    cause,
    code: 'SANDBOX_NOT_ANSWERING',
    suggestions: [...suggestions],
  })
}

/** `detail` is the (redacted) `code: message` of the connection failure. */
export function networkError(op: Operation, endpoint: URL, detail: string, cause: unknown): ExternalError {
  return new ExternalError(`Could not reach the Binary Authorization API at ${endpoint.origin} while trying to ${DOING[op]} (${detail}).`, {
    cause,
    code: 'NETWORK_ERROR',
    suggestions: [
      'Check your network connection (and HTTPS_PROXY) and run the command again',
      `${ENDPOINT_HINT} ${endpoint.href}`,
    ],
  })
}

export function tooLargeError(op: Operation, endpoint: URL, maxResponseBytes: number): ExternalError {
  return new ExternalError(
    `The Binary Authorization API answer was larger than ${maxResponseBytes} bytes while trying to ${DOING[op]}; refusing to read it.`,
    {code: 'RESPONSE_TOO_LARGE', suggestions: [`${ENDPOINT_HINT} ${endpoint.href}`]},
  )
}

export function contentTypeError(op: Operation, endpoint: URL, status: number, contentType: string | undefined): ExternalError {
  return new ExternalError(
    `The Binary Authorization API answered with ${contentType ?? 'no content type'} instead of JSON while trying to ${DOING[op]} `
    + `(HTTP ${status} from ${endpoint.origin}). A proxy, captive portal or wrong endpoint may be in the way.`,
    {
      code: 'UNEXPECTED_CONTENT_TYPE',
      suggestions: [`Check CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION and HTTPS_PROXY; the endpoint in use is ${endpoint.href}`],
    },
  )
}

export function malformedError(op: Operation, endpoint: URL, why: string, cause?: unknown): ExternalError {
  return new ExternalError(`The Binary Authorization API answered with malformed JSON while trying to ${DOING[op]}: ${why}.`, {
    cause,
    code: 'MALFORMED_RESPONSE',
    suggestions: [
      `Check that the endpoint ${endpoint.href} is the Binary Authorization API (CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION)`,
      'Retry the command; if it persists, report it with --verbose output',
    ],
  })
}

/** The answer parsed as JSON but is not the project's policy (parsePolicy's error, with where it came from). */
export function notAPolicyError(error: ExternalError, endpoint: URL, project: string): ExternalError {
  return new ExternalError(`${error.message} (endpoint ${endpoint.origin}, project ${project})`, {
    cause: error,
    code: error.code,
    suggestions: [
      ...error.suggestions,
      'Check that CLOUDSDK_API_ENDPOINT_OVERRIDES_BINARYAUTHORIZATION (or gcloud config api_endpoint_overrides/binaryauthorization) points at the Binary Authorization API',
    ],
  })
}

export function deadlineError(op: Operation, last?: Error): ExternalError {
  const after = last === undefined ? '' : ` Last error: ${last.message}`
  // A write whose answer was lost may still have been applied: say so, and how to find out.
  const maybeApplied = op === 'updatePolicy' && last !== undefined
    ? ' The last write may have reached the server before its answer was lost.'
    : ''
  return new ExternalError(`Ran out of time trying to ${DOING[op]}: the overall deadline passed.${after}${maybeApplied}`, {
    cause: last,
    code: 'DEADLINE_EXCEEDED',
    suggestions: [
      ...(maybeApplied ? [POLICY_STATUS_HINT] : []),
      'Retry the command later, or allow more time with --deadline',
    ],
  })
}

/**
 * The call was stopped by its AbortSignal. `writeSent`: an update's request had been sent and no answer came back,
 * so the write may have landed.
 */
export function interruptedError(op: Operation, project: string, writeSent: boolean): InterruptedError {
  if (writeSent) {
    return new InterruptedError(
      `Interrupted while trying to ${DOING[op]} of project ${project}: the write had already been sent, so it may have landed.`,
      {suggestions: [POLICY_STATUS_HINT]},
    )
  }

  return new InterruptedError(`Interrupted while trying to ${DOING[op]} of project ${project}; nothing was changed by this request.`)
}

/** The signal aborted while waiting to re-read the policy after an etag conflict (the rejected write changed nothing). */
export function interruptedBeforeReread(): InterruptedError {
  return new InterruptedError('Interrupted while waiting to re-read the Binary Authorization policy after a conflict; the rejected write changed nothing.')
}
