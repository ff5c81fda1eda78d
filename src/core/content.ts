/**
 * Content addressing: blobs are named by the SHA-256 of their bytes and split into fixed pieces
 * whose hashes let a receiver verify each piece on arrival. The interfaces below are what the
 * core needs from storage and hashing; src/platform implements them with OPFS, IndexedDB and a
 * hashing worker, and tests with in-memory fakes.
 */

/** Fixed piece size: every honest holder computes the same piece list for the same bytes. */
export const PIECE_SIZE = 256 * 1024

const HASH = /^[0-9a-f]{64}$/

/** A lower-case hex SHA-256. */
export const isContentHash = (s: string): boolean => HASH.test(s)

/** Where a blob lives in the store: `content/<first two hex>/<hash>`. */
export function shardPath(hash: string): string {
  if (!isContentHash(hash)) throw new RangeError(`not a content hash: ${hash.slice(0, 80)}`)
  return `content/${hash.slice(0, 2)}/${hash}`
}

/** What one pass over a blob's bytes yields. */
export type Digest = {
  contentHash: string
  size: number
  /** SHA-256 of each PIECE_SIZE piece, in order. */
  pieces: string[]
  /** SHA-256 over the concatenated raw piece hashes: binds the piece list to one value. */
  piecesRoot: string
}

export type Progress = (bytesDone: number) => void
export type IngestOptions = { signal?: AbortSignal; onProgress?: Progress }

/** Bytes written under a temporary name, hashed, and not yet visible to anyone. */
export interface Staged {
  readonly digest: Digest
  /** Make the bytes visible at their shard path; if that hash is already stored, drop the copy. */
  commit(): Promise<void>
  /** Throw the temporary away. */
  discard(): Promise<void>
}

export type StoreUsage = { bytes: number; blobs: number }

/** Immutable blobs by content hash. Writes are atomic: a blob is visible complete or not at all. */
export interface ContentStore {
  readonly kind: 'opfs' | 'indexeddb' | 'memory' | 'fs'
  /** Copy `source` into a temporary, hashing it in the same pass. */
  ingest(source: Blob, options?: IngestOptions): Promise<Staged>
  has(hash: string): Promise<boolean>
  /** The stored bytes (disk-backed where the platform allows), or undefined. */
  get(hash: string): Promise<Blob | undefined>
  /** Bytes [start, end) of a stored blob; throws NOT_FOUND if it is not stored. */
  read(hash: string, start: number, end: number): Promise<Uint8Array>
  /**
   * Bytes `read` returned that their reader is done with (nothing refers to them any more): the
   * store may read into their buffer again. Optional; a store without it lets them be collected.
   */
  recycle?(bytes: Uint8Array): void
  delete(hash: string): Promise<void>
  usage(): Promise<StoreUsage>
  /** Re-hash a stored blob: false if it is missing or its bytes no longer match its name. */
  verify(hash: string, options?: IngestOptions): Promise<boolean>
  list(): Promise<string[]>
  /** Remove temporaries that no running import owns (left by a crash or a closed tab). */
  sweep(): Promise<number>
}
