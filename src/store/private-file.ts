// Files only the user may read (binauthz's saved defaults, policy backups), replaced whole or not at all.

import {randomBytes} from 'node:crypto'
import {
  chmod, open, rename, rm,
} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'

/**
 * Creates `file` (it must not exist) with `text`, synced to disk and mode 0600 whatever the umask: the first half of
 * an atomic write (the caller renames or links it into place).
 */
export async function writeNewPrivateFile(file: string, text: string): Promise<void> {
  const handle = await open(file, 'wx', 0o600)
  try {
    await handle.writeFile(text, 'utf8')
    await handle.sync()
  } finally {
    await handle.close()
  }

  await chmod(file, 0o600)
}

/**
 * Writes `text` to `file` atomically with mode 0600: a temp file in the same directory (created exclusively, synced,
 * set to 0600 whatever the umask) is renamed over `file`. The directory must exist. On failure the temp file is
 * removed and the error is rethrown unchanged, so the caller can say what the file was for.
 */
export async function writePrivateFile(file: string, text: string): Promise<void> {
  const temp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  try {
    await writeNewPrivateFile(temp, text)
    await rename(temp, file)
  } catch (error: unknown) {
    await rm(temp, {force: true}).catch(() => {})
    throw error
  }
}
