import type { PartialContent, PartialStore } from '../core/partial.ts'
import { sharedPieceBuffers, type PieceBuffers } from '../core/piece-buffers.ts'
import type { PartialFilesApi } from '../workers/partial-files.ts'
import { partialFilesInWorker } from './content-worker.ts'
import { holdLock } from './locks.ts'

/** The Web Lock a tab holds while it has a download open: one writer per download per origin. */
export const partialLockName = (hash: string): string => `dcmx-partial-${hash}`

/**
 * Partial downloads in OPFS, written by the content worker (src/workers/partial-files.ts): each
 * download is one file sized up front, every piece is handed to the worker (its buffer
 * transferred, not copied) with its expected digest, verified there and written at its offset
 * through a sync access handle kept open for the download's life; streaming reads come from the
 * same handle, and completion compares the whole-file hash the worker kept as the pieces came
 * and moves the file in place. A tab holds the download's Web Lock from open to complete, discard
 * or close, so a second tab fetching the same track waits for the first instead of writing the
 * same file (sync handles are exclusive; the lock makes the second tab wait rather than fail).
 */
export class OpfsPartialStore implements PartialStore {
  constructor(
    private readonly files: PartialFilesApi = partialFilesInWorker,
    private readonly lock: (name: string) => Promise<() => Promise<void>> = holdLock,
    private readonly buffers: PieceBuffers = sharedPieceBuffers,
  ) {}

  async open(hash: string, size: number, pieceSize: number): Promise<PartialContent> {
    const release = await this.lock(partialLockName(hash))
    try {
      await this.files.open(hash, size, pieceSize)
    } catch (error) {
      await release()
      throw error
    }
    return new OpfsPartial(hash, size, pieceSize, this.files, this.buffers, release)
  }

  list(): Promise<string[]> {
    return this.files.list()
  }
}

class OpfsPartial implements PartialContent {
  #released = false

  constructor(
    readonly hash: string,
    readonly size: number,
    readonly pieceSize: number,
    private readonly files: PartialFilesApi,
    private readonly buffers: PieceBuffers,
    private readonly release: () => Promise<void>,
  ) {}

  have(): Promise<number[]> {
    return this.files.have(this.hash)
  }

  /**
   * Verified in the worker as it writes (a mismatch rejects with HASH_MISMATCH, writing nothing);
   * the buffer it hands back goes to the shared piece buffers, for the next piece to arrive in.
   */
  async write(index: number, bytes: Uint8Array, expected: string): Promise<void> {
    const back = await this.files.write(this.hash, index, bytes, expected)
    if (back) this.buffers.give(back)
  }

  read(start: number, end: number): Promise<Uint8Array> {
    return this.files.read(this.hash, start, end)
  }

  async complete(): Promise<boolean> {
    // A missing piece keeps the download open; a verdict (stored, or deleted) ends it.
    const count = Math.max(1, Math.ceil(this.size / this.pieceSize))
    if ((await this.have()).length !== count) return false
    return this.#finally(() => this.files.complete(this.hash))
  }

  discard(): Promise<void> {
    return this.#finally(() => this.files.discard(this.hash))
  }

  close(): Promise<void> {
    return this.#finally(() => this.files.close(this.hash))
  }

  async #finally<T>(step: () => Promise<T>): Promise<T> {
    try {
      return await step()
    } finally {
      await this.#release()
    }
  }

  async #release() {
    if (this.#released) return
    this.#released = true
    await this.release()
  }
}
