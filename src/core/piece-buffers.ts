/**
 * Buffers for assembling received pieces, used again instead of allocating (and zeroing) a fresh
 * one per piece: the link layer takes one per piece it is sent, and a store that is done with a
 * piece's bytes (the content worker hands each buffer back after writing it) gives it back. A
 * buffer handed out holds whatever its last piece left in it: a taker must overwrite all of it
 * before anyone reads it (PieceRequests settles a piece only once its frames covered every byte).
 */
export class PieceBuffers {
  readonly #free: ArrayBuffer[] = []

  /** At most `capacity` idle buffers are kept; more are left to the garbage collector. */
  constructor(private readonly capacity = DEFAULT_CAPACITY) {}

  /** Idle buffers kept now. */
  get idle(): number {
    return this.#free.length
  }

  /** A buffer of exactly `length` bytes: a returned one if any fits, else a new (zeroed) one. */
  take(length: number): Uint8Array {
    for (let i = this.#free.length - 1; i >= 0; i--) {
      const buffer = this.#free[i]!
      if (buffer.byteLength !== length) continue
      this.#free.splice(i, 1)
      return new Uint8Array(buffer)
    }
    return new Uint8Array(length)
  }

  /**
   * Give back a piece's bytes that nobody holds any more. Only a view of a whole, non-empty,
   * attached ArrayBuffer is kept.
   */
  give(bytes: Uint8Array): void {
    const buffer = bytes.buffer
    if (!(buffer instanceof ArrayBuffer) || buffer.byteLength === 0) return // detached reads as 0
    if (bytes.byteOffset !== 0 || bytes.byteLength !== buffer.byteLength) return
    if (this.#free.length >= this.capacity || this.#free.includes(buffer)) return
    this.#free.push(buffer)
  }
}

/** 16 × 256 KiB = 4 MiB idle at most: a window of pieces in flight, as transfer.ts sizes them. */
const DEFAULT_CAPACITY = 16

/** The buffers this page's (or process's) downloads share. */
export const sharedPieceBuffers = new PieceBuffers()
