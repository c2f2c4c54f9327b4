// Files only the user may read (binauthz's saved defaults, policy backups), replaced whole or not at all.

import {randomBytes} from 'node:crypto'
import {
  chmod, open, rename, rm,
} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'

/**
 * Writes `text` to `file` atomically with mode 0600: a temp file in the same directory (created exclusively, synced,
 * set to 0600 whatever the umask) is renamed over `file`. The directory must exist. On failure the temp file is
 * removed and the error is rethrown unchanged, so the caller can say what the file was for.
 */
export async function writePrivateFile(file: string, text: string): Promise<void> {
  const temp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  try {
    const handle = await open(temp, 'wx', 0o600)
    try {
      await handle.writeFile(text, 'utf8')
      await handle.sync()
    } finally {
      await handle.close()
    }

    await chmod(temp, 0o600)
    await rename(temp, file)
  } catch (error: unknown) {
    await rm(temp, {force: true}).catch(() => {})
    throw error
  }
}
