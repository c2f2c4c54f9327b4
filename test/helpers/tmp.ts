import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

/**
 * Creates a fresh directory under os.tmpdir() whose name starts with `prefix`.
 * The caller removes it (e.g. `rmSync(dir, {recursive: true, force: true})` in after()).
 */
export function tempDir(prefix: string): string {
  const safe = prefix.replaceAll(/[^\w.-]/g, '-') || 'binauthz-test-'
  return mkdtempSync(join(tmpdir(), safe.endsWith('-') ? safe : `${safe}-`))
}
