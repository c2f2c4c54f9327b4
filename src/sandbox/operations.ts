// Long-running operations shared by Artifact Registry, Cloud Build and Cloud Functions, stored in operations.json by
// full name. An operation can show `pending` intermediate states (one per GET) before its final form.
import {type Reply, type SandboxContext, apiError, ok} from './api.js'
import {type JsonObject, STATE_FILES, isRecord} from './state.js'

interface StoredOperation {
  pending: JsonObject[]
  final: JsonObject
}

export function putOperation(ctx: SandboxContext, name: string, final: JsonObject, pending: JsonObject[] = []): void {
  ctx.state.putEntry(STATE_FILES.operations, name, {pending, final} satisfies StoredOperation as unknown as JsonObject)
}

/** GET of an operation: the next pending state if any (consumed), else the final one. */
export function readOperation(ctx: SandboxContext, name: string): Reply {
  const stored = ctx.state.getEntry(STATE_FILES.operations, name)
  if (!stored || !isRecord(stored.final)) return apiError(404, `Operation "${name}" not found.`)
  const pending = Array.isArray(stored.pending) ? (stored.pending as JsonObject[]) : []
  const [next, ...rest] = pending
  if (next) {
    ctx.state.putEntry(STATE_FILES.operations, name, {pending: rest, final: stored.final})
    return ok(next)
  }

  return ok(stored.final)
}
