/**
 * The content worker: reads a file once, hashing it (whole-file and per-piece SHA-256) and, for an
 * ingest, writing it to an OPFS temporary through a synchronous access handle in the same pass;
 * receives downloads into OPFS files (partial-files.ts); and reads audio tags. The main thread
 * reaches it through src/platform/content-worker.ts.
 */
import { expose, releaseProxy, transfer } from 'comlink'
import type { Tags } from '../core/catalog.ts'
import type { Digest } from '../core/content.ts'
import { createDigester, warmHasher } from './digest.ts'
import { KeptDirs } from './kept-dirs.ts'
import { PartialFiles, type DirEntry } from './partial-files.ts'
import { ReadHandles, RELEASE_CHANNEL, releasingAcrossTabs, type ReadableDir } from './read-handles.ts'
import { readTags } from './tags.ts'
import { encodeWorkerError } from './worker-errors.ts'

/** Bytes read, hashed and written per step: large enough to amortise each call, small enough to cancel promptly. */
const CHUNK_BYTES = 4 * 1024 * 1024
/** Progress goes out at most this often (by bytes or by time), so the channel is not flooded. */
const PROGRESS_BYTES = 1024 * 1024
const PROGRESS_MS = 100
/** Temporaries live here; src/platform/opfs-store.ts owns the layout. */
const TMP_DIR = 'tmp'

type Progress = (bytesDone: number) => void

// The app's type-check sees this file with the DOM lib, which lacks sync handles (worker-only).
type SyncHandle = {
  write(buffer: Uint8Array, options: { at: number }): number
  truncate(size: number): void
  flush(): void
  close(): void
}
type SyncCapable = { createSyncAccessHandle(): Promise<SyncHandle> }

/** Jobs running now, and those asked to stop at their next chunk. */
const running = new Set<number>()
const cancelled = new Set<number>()

/** Downloads in progress: one OPFS file each, its sync handle open here for the download's life. */
const partials = new PartialFiles(
  async () => (await navigator.storage.getDirectory()) as unknown as DirEntry,
  {
    yieldToEvents: () => yieldToEvents(),
  },
)

/** Serving reads of stored blobs: read-only handles kept open here (read-handles.ts). */
const reads = releasingAcrossTabs(
  new ReadHandles(async () => (await navigator.storage.getDirectory()) as unknown as ReadableDir),
  typeof BroadcastChannel === 'function' ? new BroadcastChannel(RELEASE_CHANNEL) : undefined,
)

const api = {
  /** Copy `file` to OPFS `tmp/<tmpName>` while hashing it; on any failure the temporary is deleted. */
  ingest(jobId: number, file: Blob, tmpName: string, onProgress?: Progress): Promise<Digest> {
    return job(jobId, onProgress, async () => {
      const { dir, file: fileHandle } = await createTmp(tmpName)
      try {
        const handle = await (fileHandle as unknown as SyncCapable).createSyncAccessHandle()
        try {
          handle.truncate(0)
          const digest = await pass(jobId, file, onProgress, (chunk, at) => {
            const written = handle.write(chunk, { at })
            // Chromium throws QuotaExceededError; a short write can only mean the same thing.
            if (written !== chunk.length)
              throw new DOMException(`wrote ${written} of ${chunk.length} bytes`, 'QuotaExceededError')
          })
          handle.flush()
          return digest
        } finally {
          handle.close()
        }
      } catch (error) {
        await dir.removeEntry(tmpName).catch(() => {})
        throw error
      }
    })
  },

  /** The same pass without writing: for the IndexedDB store and for re-verifying stored blobs. */
  hash(jobId: number, file: Blob, onProgress?: Progress): Promise<Digest> {
    return job(jobId, onProgress, () => pass(jobId, file, onProgress))
  },

  /** Stop a running ingest or hash at its next chunk; it rejects with an AbortError. */
  cancel(jobId: number): void {
    if (running.has(jobId)) cancelled.add(jobId)
  },

  /** Tags and audio check by content (see tags.ts). */
  async readTags(file: Blob): Promise<Tags> {
    try {
      return await readTags(file)
    } catch (error) {
      throw encodeWorkerError(error)
    }
  },

  partialOpen: (hash: string, size: number, pieceSize: number) =>
    worker(() => partials.open(hash, size, pieceSize)),
  partialHave: (hash: string) => worker(() => partials.have(hash)),
  /**
   * `bytes` arrives transferred (its buffer is this worker's now), is verified here against
   * `expected`, and goes back transferred once written, unless it is kept for the file's hash.
   */
  partialWrite: (hash: string, index: number, bytes: Uint8Array, expected: string) =>
    worker(async () => {
      const back = await partials.write(hash, index, bytes, expected)
      return back && transfer(back, [back.buffer])
    }),
  /** Read from the download's own handle; the bytes go back transferred. */
  partialRead: (hash: string, start: number, end: number) =>
    worker(async () => {
      const bytes = await partials.read(hash, start, end)
      return transfer(bytes, [bytes.buffer])
    }),
  partialComplete: (hash: string) => worker(() => partials.complete(hash)),
  partialDiscard: (hash: string) => worker(() => partials.discard(hash)),
  partialClose: (hash: string) => worker(() => partials.close(hash)),
  partialList: () => worker(() => partials.list()),

  readSupported: (probeName: string) => reads.supported(probeName),
  /** A stored blob's bytes through a read-only handle; they go back transferred. */
  readBytes: (hash: string, start: number, end: number, into?: Uint8Array) =>
    worker(async () => {
      const bytes = await reads.read(hash, start, end, into)
      return transfer(bytes, [bytes.buffer])
    }),
  readRelease: (hash: string) => worker(() => reads.release(hash)),

  /** Whether OPFS sync access handles work here: create, write and delete `tmp/<tmpName>`. */
  async probe(tmpName: string): Promise<boolean> {
    let dir: FileSystemDirectoryHandle | undefined
    try {
      const created = await createTmp(tmpName)
      dir = created.dir
      const fileHandle = created.file
      const handle = await (fileHandle as unknown as SyncCapable).createSyncAccessHandle()
      try {
        handle.write(new Uint8Array([1]), { at: 0 })
        handle.flush()
      } finally {
        handle.close()
      }
      return true
    } catch {
      return false
    } finally {
      await dir?.removeEntry(tmpName).catch(() => {})
      warmOnce()
    }
  },
}

let warmed = false
/**
 * Once the start-up probe has answered (the page waits for nothing else from this worker then),
 * get the hashing code optimised in the next task, before a download's first piece or an import
 * needs it (digest.ts, WARM_BYTES).
 */
function warmOnce() {
  if (warmed) return
  warmed = true
  setTimeout(() => void warmHasher().catch(() => {}), 0)
}

/** The worker's API as the main thread sees it through Comlink (import the type only). */
export type ContentWorkerApi = typeof api

expose(api)

/** `tmp/`, looked up once (see kept-dirs.ts). */
const dirs = new KeptDirs()

const tmpDirectory = () =>
  dirs.get(TMP_DIR, async () =>
    (await navigator.storage.getDirectory()).getDirectoryHandle(TMP_DIR, { create: true }),
  )

/** Create `tmp/<name>`, in `tmp/` looked up again if it was removed since. */
const createTmp = (name: string) =>
  dirs.again(async () => {
    const dir = await tmpDirectory()
    return { dir, file: await dir.getFileHandle(name, { create: true }) }
  })

/** Run a call; its errors leave in a form that survives Comlink. */
async function worker<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (error) {
    throw encodeWorkerError(error)
  }
}

/** Run a cancellable job; errors leave in a form that survives Comlink, and the progress proxy is freed. */
async function job<T>(jobId: number, onProgress: Progress | undefined, run: () => Promise<T>): Promise<T> {
  running.add(jobId)
  try {
    return await run()
  } catch (error) {
    throw encodeWorkerError(error)
  } finally {
    running.delete(jobId)
    cancelled.delete(jobId)
    release(onProgress)
  }
}

/**
 * Read `file` in CHUNK_BYTES slices, always fetching the next slice while the current one is
 * hashed and written (double buffering, so disk and hashing overlap), feed each to the digester
 * and to `write`, report progress, and stop at the next slice once the job is cancelled. Memory
 * holds two slices whatever the file size.
 */
async function pass(
  jobId: number,
  file: Blob,
  onProgress: Progress | undefined,
  write?: (chunk: Uint8Array, at: number) => void,
): Promise<Digest> {
  const digester = await createDigester()
  const report = throttled(onProgress)
  const fetchSlice = (from: number) => {
    const slice = file.slice(from, from + CHUNK_BYTES).arrayBuffer()
    slice.catch(() => {}) // a prefetch abandoned by a cancel must not surface as unhandled
    return slice
  }
  let next = file.size > 0 ? fetchSlice(0) : undefined
  let at = 0
  try {
    while (next) {
      const chunk = new Uint8Array(await next)
      if (cancelled.has(jobId)) throw new DOMException('The job was cancelled.', 'AbortError')
      if (chunk.length === 0)
        throw new DOMException('The file changed while it was read.', 'NotReadableError')
      const end = at + chunk.length
      next = end < file.size ? fetchSlice(end) : undefined
      write?.(chunk, at)
      digester.update(chunk)
      at = end
      report(at, at === file.size)
      await yieldToEvents()
    }
    return await digester.finish()
  } catch (error) {
    digester.release()
    throw error
  }
}

/**
 * Let queued messages run. Reads of buffered stream data resolve as microtasks, so without this
 * a `cancel` message would wait until the whole file was read. A message round trip is a task
 * without the 4 ms clamp that nested timers get.
 */
const tick = new MessageChannel()
const ticking: (() => void)[] = []
tick.port1.onmessage = () => ticking.shift()?.()
function yieldToEvents(): Promise<void> {
  return new Promise((resolve) => {
    ticking.push(resolve)
    tick.port2.postMessage(null)
  })
}

function throttled(onProgress: Progress | undefined) {
  let lastBytes = 0
  let lastTime = performance.now()
  return (bytes: number, final: boolean) => {
    if (!onProgress) return
    const now = performance.now()
    if (!final && bytes - lastBytes < PROGRESS_BYTES && now - lastTime < PROGRESS_MS) return
    lastBytes = bytes
    lastTime = now
    // Through Comlink this returns a promise; a closed channel must not become an unhandled rejection.
    const sent: unknown = onProgress(bytes)
    if (sent instanceof Promise) sent.catch(() => {})
  }
}

/** Free the MessagePort behind a Comlink-proxied callback. */
function release(callback: Progress | undefined) {
  const free = (callback as unknown as Record<symbol, unknown> | undefined)?.[releaseProxy]
  if (typeof free === 'function') (free as () => void).call(callback)
}
