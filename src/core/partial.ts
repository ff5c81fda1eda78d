/**
 * Downloads in progress: the pieces of a blob fetched so far, kept so a reload resumes where it
 * stopped. Only verified pieces are ever written; the whole-file hash is checked before the bytes
 * become a stored blob. src/platform implements this with one OPFS file per download written in
 * the content worker (IndexedDB as the fallback), src/node with files, tests in memory.
 */

export interface PartialContent {
  readonly hash: string
  readonly size: number
  readonly pieceSize: number
  /** Indexes of the pieces held. */
  have(): Promise<number[]>
  /**
   * Store one verified piece. Takes ownership of `bytes` (a store may transfer its buffer to a
   * worker): the caller must not use them afterwards. Throws DcmxError QUOTA when the disk is full.
   */
  write(index: number, bytes: Uint8Array): Promise<void>
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
