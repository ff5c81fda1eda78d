// The receiver's side of a download, on the real platform code: pieces written to a partial store
// with their expected digests (the store verifies them) and completed into the content store
// (tests/bench/receive.ts drives it).
import { PIECE_SIZE } from '../../../src/core/content.ts'
import type { PartialStore } from '../../../src/core/partial.ts'
import { OpfsPartialStore } from '../../../src/platform/opfs-partial-store.ts'
import { OpfsStore } from '../../../src/platform/opfs-store.ts'
import { IdbPartialStore } from '../../../src/platform/partial-store.ts'

/** Writes in flight at once, as a transfer with several requests outstanding has. */
const WRITE_WINDOW = 8

let prepared: { bytes: Uint8Array; hash: string; digests: string[] } | undefined

const hex = (buffer: ArrayBuffer) =>
  [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, '0')).join('')

let cut: Uint8Array[] = []

/** The pieces `cut()` made (a store may take their buffers: each run cuts them again). */
function pieces(): Uint8Array[] {
  const all = cut
  cut = []
  if (all.length === 0) throw new Error('cut() the pieces first')
  return all
}

const receiveBench = {
  /** `mib` MiB of pseudo-random bytes unlike any earlier run's, their SHA-256 and their piece list. */
  async prepare(mib: number, seed: number) {
    const bytes = new Uint8Array(mib * 1024 * 1024)
    const words = new Uint32Array(bytes.buffer)
    let x = (seed * 2654435761) >>> 0 || 1
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13
      x ^= x >>> 17
      x ^= x << 5
      words[i] = x >>> 0
    }
    const count = Math.ceil(bytes.length / PIECE_SIZE)
    const digests = await Promise.all(
      Array.from({ length: count }, async (_, i) =>
        hex(await crypto.subtle.digest('SHA-256', bytes.subarray(i * PIECE_SIZE, (i + 1) * PIECE_SIZE))),
      ),
    )
    prepared = { bytes, hash: hex(await crypto.subtle.digest('SHA-256', bytes)), digests }
    return prepared.hash
  },

  /** Fresh pieces of the prepared bytes, each in a buffer of its own, as the link layer assembles them. */
  cut() {
    const { bytes } = prepared!
    const count = Math.ceil(bytes.length / PIECE_SIZE)
    cut = Array.from({ length: count }, (_, i) => bytes.slice(i * PIECE_SIZE, (i + 1) * PIECE_SIZE))
    return count
  },

  /**
   * Write every prepared piece, with its digest, to the `kind` partial store (which verifies it),
   * then complete it; the blob is deleted after.
   */
  async receive(kind: 'idb' | 'opfs') {
    const { bytes, hash, digests } = prepared!
    const store = new OpfsStore()
    const partials: PartialStore = kind === 'opfs' ? new OpfsPartialStore() : new IdbPartialStore(store)
    const all = pieces()
    const t0 = performance.now()
    const partial = await partials.open(hash, bytes.length, PIECE_SIZE)
    let next = 0
    const lane = async () => {
      for (let i = next++; i < all.length; i = next++) await partial.write(i, all[i]!, digests[i]!)
    }
    await Promise.all(Array.from({ length: WRITE_WINDOW }, lane))
    const writeMs = performance.now() - t0
    const stored = await partial.complete()
    const totalMs = performance.now() - t0
    if (!stored || !(await store.has(hash))) throw new Error(`${kind}: the download did not commit`)
    await store.delete(hash)
    return { writeMs, completeMs: totalMs - writeMs, totalMs }
  },

  /** The ceiling: the same bytes through a bare OPFS sync access handle in a worker (no pieces, no hashing). */
  async rawWrite() {
    const worker = new Worker(new URL('./raw-opfs.worker.ts', import.meta.url), { type: 'module' })
    const result = await new Promise<{ writeMs: number }>((resolve, reject) => {
      worker.onmessage = (e) => resolve(e.data)
      worker.onerror = (e) => reject(new Error(e.message))
      worker.postMessage({ file: new Blob([prepared!.bytes as BlobPart]) })
    })
    worker.terminate()
    return { ms: result.writeMs }
  },

  /** Verify every prepared piece with WebCrypto on this thread, as the IndexedDB fallback does, one arrival at a time. */
  async verifyPieces() {
    const all = pieces()
    const t0 = performance.now()
    const digests: Promise<ArrayBuffer>[] = []
    for (const piece of all) {
      digests.push(crypto.subtle.digest('SHA-256', piece as BufferSource))
      await new Promise((resolve) => setTimeout(resolve, 0))
    }
    await Promise.all(digests)
    return { ms: performance.now() - t0 }
  },

  /** The same arrivals with no hashing: the timers' own cost, subtracted from the figure above. */
  async idlePieces() {
    const all = pieces()
    const t0 = performance.now()
    for (let i = 0; i < all.length; i++) await new Promise((resolve) => setTimeout(resolve, 0))
    return { ms: performance.now() - t0 }
  },
}

Object.assign(window, { receiveBench })
