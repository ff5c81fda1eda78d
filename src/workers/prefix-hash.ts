/**
 * The whole-file SHA-256 of a download, computed as it arrives: the hash covers the contiguous
 * prefix of written pieces and advances whenever the piece after it is written, so completion
 * finds it ready instead of reading the whole file again. A piece written ahead of the prefix is
 * held in memory within a small bound and otherwise read back from the file when the gap fills;
 * a resumed download (the hash state is not persisted) reads back what is on disk once.
 */
import type { IHasher } from 'hash-wasm'
import { takeHasher } from './digest.ts'

/** Pieces written past the prefix are kept in memory up to this many bytes, then read back. */
export const AHEAD_BYTES = 4 * 1024 * 1024
/** Bytes read back and hashed per step, with a yield between steps (other calls run meanwhile). */
const READ_CHUNK = 4 * 1024 * 1024

export type PrefixHashDeps = {
  size: number
  pieceSize: number
  /** Whether piece `index` is written (its bytes are in the file). */
  isWritten(index: number): boolean
  /** Read bytes of the file at `at` into `into`, whole. */
  readBack(into: Uint8Array, at: number): void
  /** Let other calls run between steps. */
  yieldToEvents(): Promise<void>
  aheadBytes?: number
}

/** See the module comment. */
export class PrefixHash {
  readonly #deps: PrefixHashDeps
  readonly #hasher: IHasher
  readonly #count: number
  readonly #ahead = new Map<number, Uint8Array>()
  readonly #aheadLimit: number
  /** The first piece not yet hashed. */
  #next = 0
  #aheadBytes = 0
  #running = false
  #stopped = false
  #loop: Promise<void> = Promise.resolve()
  #buffer: Uint8Array | undefined

  private constructor(deps: PrefixHashDeps, hasher: IHasher) {
    this.#deps = deps
    this.#hasher = hasher
    this.#count = Math.max(1, Math.ceil(deps.size / deps.pieceSize))
    this.#aheadLimit = deps.aheadBytes ?? AHEAD_BYTES
  }

  /** A hash over nothing yet; pieces already written (a resume) are read back in the background. */
  static async start(deps: PrefixHashDeps): Promise<PrefixHash> {
    const hasher = await takeHasher()
    const prefix = new PrefixHash(deps, hasher)
    prefix.#kick()
    return prefix
  }

  /** Pieces hashed so far (the prefix's length). */
  get hashed(): number {
    return this.#next
  }

  /**
   * Piece `index` was just written with `bytes` (already marked written): hash it now if it is
   * next. True if `bytes` are kept for later (the caller must not reuse them), false if done with.
   */
  written(index: number, bytes: Uint8Array): boolean {
    if (this.#stopped || index < this.#next || this.#ahead.has(index)) return false
    if (index === this.#next && !this.#running) {
      this.#hasher.update(bytes)
      this.#next++
      this.#kick()
      return false
    }
    if (this.#aheadBytes + bytes.length > this.#aheadLimit) return false
    this.#ahead.set(index, bytes)
    this.#aheadBytes += bytes.length
    return true
  }

  /** The file's SHA-256 (hex) once every piece is written and hashed; undefined if some are missing. */
  async digest(): Promise<string | undefined> {
    await this.#loop
    this.#kick()
    await this.#loop
    return this.#next === this.#count ? this.#hasher.digest('hex') : undefined
  }

  /** The download closed: stop reading from its file. */
  stop(): void {
    this.#stopped = true
    this.#ahead.clear()
    this.#aheadBytes = 0
  }

  /** Advance over whatever is written after the prefix, unless that is already under way. */
  #kick(): void {
    if (this.#running || this.#stopped || !this.#ready()) return
    this.#running = true
    this.#loop = this.#advance()
    this.#loop.catch(() => {}) // told by digest(), which awaits it
  }

  #ready(): boolean {
    return this.#next < this.#count && this.#deps.isWritten(this.#next)
  }

  async #advance(): Promise<void> {
    try {
      // `#running` drops in the same turn as the last check, so a write right after hashes inline.
      while (!this.#stopped && this.#ready()) {
        if (this.#step() && this.#ready()) await this.#deps.yieldToEvents()
      }
    } finally {
      this.#running = false
    }
  }

  /** Hash the next held piece, or read back a run of written pieces; true after a read-back. */
  #step(): boolean {
    const held = this.#ahead.get(this.#next)
    if (held) {
      this.#ahead.delete(this.#next)
      this.#aheadBytes -= held.length
      this.#hasher.update(held)
      this.#next++
      return false
    }
    const { size, pieceSize } = this.#deps
    let end = this.#next + 1
    while (
      end < this.#count &&
      (end + 1 - this.#next) * pieceSize <= READ_CHUNK &&
      this.#deps.isWritten(end) &&
      !this.#ahead.has(end)
    )
      end++
    const from = this.#next * pieceSize
    const length = Math.min(size, end * pieceSize) - from
    this.#buffer ??= new Uint8Array(Math.min(Math.max(READ_CHUNK, pieceSize), Math.max(1, size)))
    const view = this.#buffer.subarray(0, length)
    this.#deps.readBack(view, from)
    this.#hasher.update(view)
    this.#next = end
    return true
  }
}
