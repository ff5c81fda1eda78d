/**
 * HTTP byte ranges (RFC 9110 §14) for one representation of known size: what a `Range` header
 * asks for, resolved to half-open [start, end).
 */

export type RangeSpec =
  /** No usable Range header: absent, another unit, unparseable, or several ranges (which we may ignore). */
  | { kind: 'none' }
  /**
   * Bytes [start, end). `open` when the client left the end to us (`bytes=a-`): we may answer with
   * less than the rest of the file, and the client asks again from where we stopped.
   */
  | { kind: 'range'; start: number; end: number; open: boolean }
  /** A well-formed range that selects nothing in this file: 416. */
  | { kind: 'unsatisfiable' }

const RANGES = /^bytes\s*=\s*(.*)$/i
const FROM_TO = /^(\d+)\s*-\s*(\d*)$/
const SUFFIX = /^-\s*(\d+)$/

/**
 * The one byte range a header asks for (`a-b`, `a-` or `-n`, trimmed); undefined for no header,
 * another unit, or several ranges (media elements ask for one; answering several needs
 * multipart/byteranges, and a server may ignore them).
 */
function singleSpec(header: string | null | undefined): string | undefined {
  const specs = (header ? RANGES.exec(header.trim()) : null)?.[1]?.split(',')
  return specs?.length === 1 ? (specs[0] ?? '').trim() : undefined
}

/** Parse a Range header against a file of `size` bytes. Never throws. */
export function parseRange(header: string | null | undefined, size: number): RangeSpec {
  const spec = singleSpec(header)
  if (spec === undefined) return { kind: 'none' }

  const suffix = SUFFIX.exec(spec)
  if (suffix) {
    const length = Number(suffix[1])
    if (length === 0 || size === 0) return { kind: 'unsatisfiable' }
    return { kind: 'range', start: Math.max(0, size - Math.min(length, size)), end: size, open: false }
  }

  const fromTo = FROM_TO.exec(spec)
  if (!fromTo) return { kind: 'none' }
  const start = Number(fromTo[1])
  if (!Number.isSafeInteger(start) || start >= size) return { kind: 'unsatisfiable' }
  if (!fromTo[2]) return { kind: 'range', start, end: size, open: true }
  const last = Number(fromTo[2])
  if (last < start) return { kind: 'unsatisfiable' }
  return { kind: 'range', start, end: Math.min(last + 1, size), open: false }
}

/**
 * Where a `bytes=a-` or `bytes=a-b` header starts, and the end it asks for (b + 1; undefined when
 * left open), without the file's size; undefined for anything else (no header, a suffix, several
 * ranges, a reversed or unparseable one), whose meaning needs the size first.
 */
export function rangeFrom(header: string | null | undefined): { start: number; end?: number } | undefined {
  const fromTo = FROM_TO.exec(singleSpec(header) ?? '')
  if (!fromTo) return undefined
  const start = Number(fromTo[1])
  if (!Number.isSafeInteger(start)) return undefined
  if (!fromTo[2]) return { start }
  const last = Number(fromTo[2])
  return Number.isSafeInteger(last) && last >= start ? { start, end: last + 1 } : undefined
}

/** The `Content-Range` value for bytes [start, end) of `size`. */
export const contentRange = (start: number, end: number, size: number): string =>
  `bytes ${start}-${end - 1}/${size}`

/** The `Content-Range` value of a 416: the size the client should have asked within. */
export const unsatisfiedRange = (size: number): string => `bytes */${size}`
