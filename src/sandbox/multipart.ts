// Parses the `multipart/related` bodies gcloud sends to the Cloud Storage JSON API upload endpoint. gcloud's
// apitools writes them with Python's email generator: the boundary is quoted with SINGLE quotes
// (boundary='===============123=='), and lines end with LF, not CRLF. Both forms (and CRLF) are accepted.

export interface MultipartPart {
  body: Buffer
  /** Lower-case header names. */
  headers: Record<string, string>
}

/** Extracts the boundary from a Content-Type value, removing single or double quotes. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined
  const match = /;\s*boundary=("([^"]*)"|'([^']*)'|([^;\s]+))/i.exec(contentType)
  if (!match) return undefined
  return match[2] ?? match[3] ?? match[4]
}

function indexOfLineEnd(buffer: Buffer, from: number): undefined | {at: number; length: number} {
  const lf = buffer.indexOf(0x0A, from)
  if (lf === -1) return undefined
  return lf > from && buffer[lf - 1] === 0x0D ? {at: lf - 1, length: 2} : {at: lf, length: 1}
}

/** Splits a multipart body into parts. Returns [] when the boundary never occurs. */
export function parseMultipart(body: Buffer, boundary: string): MultipartPart[] {
  const delimiter = Buffer.from(`--${boundary}`)
  const parts: MultipartPart[] = []
  let start = body.indexOf(delimiter)
  while (start !== -1) {
    const afterDelimiter = start + delimiter.length
    // "--boundary--" closes the body.
    if (body[afterDelimiter] === 0x2D && body[afterDelimiter + 1] === 0x2D) break
    const firstLineEnd = indexOfLineEnd(body, afterDelimiter)
    if (!firstLineEnd) break
    const partStart = firstLineEnd.at + firstLineEnd.length
    const next = body.indexOf(delimiter, partStart)
    if (next === -1) break
    // The line break before the next delimiter belongs to the delimiter.
    let partEnd = next
    if (partEnd > partStart && body[partEnd - 1] === 0x0A) partEnd--
    if (partEnd > partStart && body[partEnd - 1] === 0x0D) partEnd--
    parts.push(parsePart(body.subarray(partStart, partEnd)))
    start = next
  }

  return parts
}

function parsePart(part: Buffer): MultipartPart {
  const headers: Record<string, string> = {}
  let offset = 0
  for (;;) {
    const end = indexOfLineEnd(part, offset)
    if (!end) {
      return {body: Buffer.alloc(0), headers}
    }

    const line = part.subarray(offset, end.at).toString('latin1')
    offset = end.at + end.length
    if (line === '') break
    const colon = line.indexOf(':')
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }

  return {body: part.subarray(offset), headers}
}
