// Long-running operations shared by Artifact Registry, Cloud Build and Cloud Functions, stored in operations.json by
// full name. An operation can show `pending` intermediate states (one per GET) before its final form.
import {
  apiError, ok, type Reply, type SandboxContext,
} from './api.js'
import {isRecord, type JsonObject, STATE_FILES} from './state.js'

interface StoredOperation {
  final: JsonObject
  pending: JsonObject[]
}

export function putOperation(ctx: SandboxContext, name: string, final: JsonObject, pending: JsonObject[] = []): void {
  ctx.state.putEntry(STATE_FILES.operations, name, {final, pending} satisfies StoredOperation as unknown as JsonObject)
}

/** GET of an operation: the next pending state if any (consumed), else the final one. */
export function readOperation(ctx: SandboxContext, name: string): Reply {
  const stored = ctx.state.getEntry(STATE_FILES.operations, name)
  if (!stored || !isRecord(stored.final)) return apiError(404, `Operation "${name}" not found.`)
  const pending = Array.isArray(stored.pending) ? (stored.pending as JsonObject[]) : []
  const [next, ...rest] = pending
  if (next) {
    ctx.state.putEntry(STATE_FILES.operations, name, {final: stored.final, pending: rest})
    return ok(next)
  }

  return ok(stored.final)
}
