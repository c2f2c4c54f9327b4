// THE way binauthz reads a file it is pointed at (gcloud's configuration files, saved defaults, the access-token
// file, credential files, backups and `policy restore --file`): only a regular file, only up to a bound, and never
// blocking. The file is opened with O_NONBLOCK (a FIFO then opens at once instead of waiting for a writer), checked
// with fstat on the open descriptor (no race between the check and the read), and read at most `maxBytes` + 1.
// A FIFO, a device (/dev/zero), a socket, a directory or a file beyond the bound is a UserError naming the file
// and what it is for, raised within the time of one open and one stat.

import {
  closeSync, constants, fstatSync, openSync, readSync, type Stats, statSync,
} from 'node:fs'

import {UserError} from '../errors.js'

export interface RegularFileOptions {
  /** The most bytes the file may hold; one more byte makes it "too large". */
  maxBytes: number
  /** What the file is, for the error message: e.g. "The gcloud configuration file". */
  what: string
}

/** The outcome of a read that did not throw: the text, or why there is none (missing, unreadable). */
export type RegularFileRead = {code: string; kind: 'missing' | 'unreadable'} | {kind: 'text'; text: string}

/** O_NONBLOCK where the platform has it (not on Windows, where there are no FIFOs to block on). */
// Distinct single-bit flags: their sum is their union.
const OPEN_FLAGS = constants.O_RDONLY + (constants.O_NONBLOCK ?? 0) + (constants.O_NOCTTY ?? 0)

function kindOf(stat: Stats): string {
  if (stat.isDirectory()) return 'a directory'
  if (stat.isFIFO()) return 'a FIFO (named pipe)'
  if (stat.isCharacterDevice()) return 'a character device'
  if (stat.isBlockDevice()) return 'a block device'
  if (stat.isSocket()) return 'a socket'
  return 'not a regular file'
}

function notRegular(file: string, what: string, kind: string): UserError {
  return new UserError(`${what} ${file} is ${kind}, not a regular file; binauthz reads only regular files.`, {
    code: 'FILE_NOT_REGULAR',
    suggestions: [`Point it at a regular file (see \`ls -l ${file}\`)`],
  })
}

function tooLarge(file: string, what: string, maxBytes: number): UserError {
  return new UserError(`${what} ${file} is larger than ${maxBytes} bytes, more than such a file can hold; binauthz does not read it.`, {
    code: 'FILE_TOO_LARGE',
    suggestions: [`Check that ${file} is the right file (see \`ls -l ${file}\`)`],
  })
}

/**
 * Reads a regular file of at most `maxBytes` bytes as UTF-8. Missing (ENOENT, ENOTDIR) and unreadable (EACCES, ...)
 * files are results, so each caller keeps its own rule for them; anything that is not a regular file, and a file
 * larger than the bound, throw UserError FILE_NOT_REGULAR / FILE_TOO_LARGE.
 */
export function readRegularFile(file: string, options: RegularFileOptions): RegularFileRead {
  let fd: number
  try {
    fd = openSync(file, OPEN_FLAGS)
  } catch (error: unknown) {
    const code = (error as NodeJS.ErrnoException).code ?? 'EIO'
    // EISDIR: Windows (and some systems) refuse to open a directory at all.
    if (code === 'EISDIR') throw notRegular(file, options.what, 'a directory')
    return {code, kind: code === 'ENOENT' || code === 'ENOTDIR' ? 'missing' : 'unreadable'}
  }

  try {
    const stat = fstatSync(fd)
    if (!stat.isFile()) throw notRegular(file, options.what, kindOf(stat))
    if (stat.size > options.maxBytes) throw tooLarge(file, options.what, options.maxBytes)
    // Read one byte beyond the bound: a file that grew since fstat is caught as well.
    const buffer = Buffer.alloc(Math.min(options.maxBytes + 1, stat.size + 4096))
    let length = 0
    while (length < buffer.length) {
      const n = readSync(fd, buffer, length, buffer.length - length, null)
      if (n === 0) break
      length += n
    }

    if (length > options.maxBytes) throw tooLarge(file, options.what, options.maxBytes)
    return {kind: 'text', text: buffer.subarray(0, length).toString('utf8')}
  } catch (error: unknown) {
    if (error instanceof UserError) throw error
    return {code: (error as NodeJS.ErrnoException).code ?? 'EIO', kind: 'unreadable'}
  } finally {
    closeSync(fd)
  }
}

/** readRegularFile's text, or undefined when the file is missing or unreadable (special and huge files still throw). */
export function readRegularFileText(file: string, options: RegularFileOptions): string | undefined {
  const read = readRegularFile(file, options)
  return read.kind === 'text' ? read.text : undefined
}

/** Whether `file` names a file (a link to one counts): the cheap check before a source is chosen, no read. */
export function isFile(file: string): boolean {
  try {
    return statSync(file).isFile()
  } catch {
    return false
  }
}
