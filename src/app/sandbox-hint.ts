// What to suggest when a loopback endpoint refuses connections (the sandbox is not running), apart from
// sandbox-control.ts: every command that opens a client needs this hint, and importing it from there would evaluate
// the whole sandbox (server, state, faults, inventory) at the start of every deploy and policy command.
import {formatCommand} from '../policy/shell.js'

/** What to run when a loopback endpoint refuses connections: start the sandbox where the environment expects it. */
export function sandboxRefusedSuggestions(env: NodeJS.ProcessEnv, endpoint: URL): string[] {
  const stateDir = env.BINAUTHZ_SANDBOX_DIR
  return [
    formatCommand([
      'binauthz', 'sandbox', 'start', ...(stateDir ? ['--state-dir', stateDir] : []), ...(endpoint.port ? ['--port', endpoint.port] : []),
    ]),
    'Or stop pointing gcloud and binauthz at the sandbox: eval "$(binauthz sandbox env --unset)"',
  ]
}
