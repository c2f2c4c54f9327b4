/**
 * Shared assertion helpers. Use these instead of asserting inside `catch` blocks:
 * a test whose assertions live in a catch block passes silently when nothing throws.
 */
import {UserError} from '../../src/errors.js'

/** Resolves with the rejection reason of `p`; throws if `p` resolves. */
export async function rejectionOf(p: Promise<unknown>): Promise<unknown> {
  let value: unknown
  try {
    value = await p
  } catch (error: unknown) {
    return error
  }

  throw new Error(`expected the promise to reject, but it resolved with ${describe(value)}`)
}

/** Returns what `fn` throws; throws if `fn` returns normally. */
export function thrownBy(fn: () => unknown): unknown {
  let value: unknown
  try {
    value = fn()
  } catch (error: unknown) {
    return error
  }

  throw new Error(`expected the function to throw, but it returned ${describe(value)}`)
}

/** Returns the UserError `fn` throws; throws if `fn` returns normally or throws anything else. */
export function userErrorThrownBy(fn: () => unknown): UserError {
  const error = thrownBy(fn)
  if (!(error instanceof UserError)) throw new Error(`expected a UserError, but got ${error instanceof Error ? `${error.name}: ${error.message}` : describe(error)}`)
  return error
}

function describe(value: unknown): string {
  try {
    const text = JSON.stringify(value)
    if (text === undefined) return String(value)
    return text.length > 200 ? `${text.slice(0, 200)}…` : text
  } catch {
    return String(value)
  }
}
