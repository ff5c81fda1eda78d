import { createHash } from 'node:crypto'
import type { Track } from '../core/catalog.ts'
import { DcmxError } from '../core/errors.ts'

/** Reads stored bytes [start, end) of a blob. */
export type RangeRead = (hash: string, start: number, end: number) => Promise<Uint8Array>

/**
 * Reads that check what they return; every piece a range touches is read whole and compared with
 * the catalog's piece hash before any of its bytes leave, so a blob damaged on disk is never served
 * to a peer or a player (HASH_MISMATCH, and `onDamage` says which blob). A blob without a catalog
 * entry is not served at all.
 */
export function verifiedRead(
  track: (hash: string) => Track | undefined,
  read: RangeRead,
  onDamage: (hash: string, piece: number) => void,
): RangeRead {
  return async (hash, start, end) => {
    const t = track(hash)
    if (!t) throw new DcmxError('NOT_FOUND', 'This track is not in the library.')
    end = Math.min(end, t.size)
    if (start >= end) return new Uint8Array(0)
    const first = Math.floor(start / t.pieceSize)
    const last = Math.floor((end - 1) / t.pieceSize)
    const from = first * t.pieceSize
    const bytes = await read(hash, from, Math.min(t.size, (last + 1) * t.pieceSize))
    for (let i = first; i <= last; i++) {
      const piece = bytes.subarray((i - first) * t.pieceSize, (i - first + 1) * t.pieceSize)
      if (createHash('sha256').update(piece).digest('hex') !== t.pieces[i]) {
        onDamage(hash, i)
        throw new DcmxError('HASH_MISMATCH', `Stored piece ${i} of this track is damaged; run "dcmx verify".`)
      }
    }
    return bytes.subarray(start - from, end - from)
  }
}
