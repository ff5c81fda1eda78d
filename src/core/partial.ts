/**
 * Downloads in progress: the pieces of a blob fetched so far, kept so a reload resumes where it
 * stopped. A store verifies every piece against its expected digest as it writes it, and writes
 * only what matches; the whole-file hash is checked before the bytes become a stored blob.
 * src/platform implements this with one OPFS file per download, verified and written in the
 * content worker (IndexedDB as the fallback, verified on the calling thread), src/node with files,
 * tests in memory.
 */
import { toHex } from './bytes.ts'
import { DcmxError } from './errors.ts'
import type { Sha256 } from './records.ts'

export interface PartialContent {
  readonly hash: string
  readonly size: number
  readonly pieceSize: number
  /** Indexes of the pieces held. */
  have(): Promise<number[]>
  /**
   * Store piece `index` if its SHA-256 is `expected` (lower-case hex, from the verified piece
   * list); otherwise store nothing and reject with `pieceMismatch` (DcmxError HASH_MISMATCH).
   * Takes ownership of `bytes` (a store may transfer its buffer to a worker): the caller must not
   * use them afterwards. Throws DcmxError QUOTA when the disk is full.
   */
  write(index: number, bytes: Uint8Array, expected: string): Promise<void>
  /** Bytes [start, end) — only from pieces already held (the caller checks). */
  read(start: number, end: number): Promise<Uint8Array>
  /**
   * Every piece is in: hash the whole, and if it is `hash`, move it into the content store
   * (atomically, as an import would). Returns false, and keeps nothing, if the bytes do not match.
   */
  complete(): Promise<boolean>
  /** Throw the partial download away. */
  discard(): Promise<void>
  /** Stop writing for now (a failed download): what is held stays, resumable by the next `open`. */
  close(): Promise<void>
}

export interface PartialStore {
  /** Open (or resume) the partial download of `hash`. */
  open(hash: string, size: number, pieceSize: number): Promise<PartialContent>
  /** Hashes with a partial download on disk (resumable after a reload). */
  list(): Promise<string[]>
}

/** The error a store's `write` rejects with when a piece's bytes are not the ones its list names. */
export function pieceMismatch(index: number): DcmxError {
  return new DcmxError('HASH_MISMATCH', `Piece ${index} does not match its hash.`)
}

/** Whether a `write` failed because the piece was bad (the sender's fault), not the store. */
export function isPieceMismatch(error: unknown): boolean {
  return error instanceof DcmxError && error.code === 'HASH_MISMATCH'
}

/** For stores that verify on the calling thread: resolve if `bytes` hash to `expected`, else reject. */
export async function checkPiece(
  sha256: Sha256,
  index: number,
  bytes: Uint8Array,
  expected: string,
): Promise<void> {
  if (toHex(await sha256(bytes)) !== expected) throw pieceMismatch(index)
}
