import type { ContentStore } from '../content.ts'
import { DcmxError } from '../errors.ts'
import { pieceMismatch, type PartialContent, type PartialStore } from '../partial.ts'
import { hexDigest } from './signed-holder.ts'

/**
 * Partial downloads in memory, verifying each piece as it is written and completing into a
 * ContentStore through `ingest` (which hashes), as the IndexedDB one does. `written` records every
 * piece stored, so a test can prove that no unverified byte was ever stored.
 */
export class MemoryPartialStore implements PartialStore {
  readonly downloads = new Map<string, { size: number; pieceSize: number; pieces: Map<number, Uint8Array> }>()
  readonly written: { hash: string; index: number; bytes: Uint8Array }[] = []

  constructor(private readonly store: ContentStore) {}

  async open(hash: string, size: number, pieceSize: number): Promise<PartialContent> {
    let entry = this.downloads.get(hash)
    if (!entry || entry.size !== size || entry.pieceSize !== pieceSize) {
      entry = { size, pieceSize, pieces: new Map() }
      this.downloads.set(hash, entry)
    }
    const pieces = entry.pieces
    const clear = async () => void this.downloads.delete(hash)
    return {
      hash,
      size,
      pieceSize,
      have: async () => [...pieces.keys()],
      write: async (index, bytes, expected) => {
        if (hexDigest(bytes) !== expected) throw pieceMismatch(index)
        this.written.push({ hash, index, bytes: bytes.slice() })
        pieces.set(index, bytes.slice())
      },
      read: async (start, end) => {
        const out = new Uint8Array(end - start)
        for (let at = start; at < end;) {
          const index = Math.floor(at / pieceSize)
          const piece = pieces.get(index)
          if (!piece) throw new DcmxError('NOT_FOUND', `piece ${index} is not downloaded yet`)
          const from = at - index * pieceSize
          const n = Math.min(piece.length - from, end - at)
          out.set(piece.subarray(from, from + n), at - start)
          at += n
        }
        return out
      },
      complete: async () => {
        const count = Math.max(1, Math.ceil(size / pieceSize))
        if (pieces.size !== count) return false
        const parts = [...pieces.entries()].sort((a, b) => a[0] - b[0]).map(([, b]) => b as BlobPart)
        const staged = await this.store.ingest(new Blob(parts))
        await clear()
        if (staged.digest.contentHash !== hash) {
          await staged.discard()
          return false
        }
        await staged.commit()
        return true
      },
      discard: clear,
      close: async () => {},
    }
  }

  async list(): Promise<string[]> {
    return [...this.downloads.keys()]
  }
}
