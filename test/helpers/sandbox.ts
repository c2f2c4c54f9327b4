// The sandbox (src/sandbox) started in this process for tests, in a temporary state directory: the one Binary
// Authorization stand-in every test uses. Seed policies per project, provoke faults with `fault()` / `setFaults()`,
// read what arrived with `requests()`, and `reset()` between tests.
import {rmSync} from 'node:fs'

import {type Sandbox, type SandboxOptions, startSandbox} from '../../src/sandbox/index.js'
import {tempDir} from './tmp.js'

export interface TestSandbox extends Sandbox {
  /** The base URL (trailing slash) as a URL: what BinauthzClient and the endpoint override take. */
  readonly endpoint: URL
}

/** Starts a sandbox in a fresh temp state dir; `stop()` also removes the dir. */
export async function startTestSandbox(options: Omit<SandboxOptions, 'stateDir'> = {}): Promise<TestSandbox> {
  const stateDir = tempDir('binauthz-sandbox-')
  const sandbox = await startSandbox({...options, stateDir})
  return {
    ...sandbox,
    endpoint: new URL(sandbox.url),
    async stop() {
      await sandbox.stop()
      rmSync(stateDir, {force: true, recursive: true})
    },
  }
}
