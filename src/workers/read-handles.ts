/**
 * Serving reads of stored blobs through read-only sync access handles, run in the content
 * worker: a holder reads `content/<ab>/<hash>` with a plain `read(buffer, { at })` on a handle it
 * keeps open, instead of a Blob slice per batch (which goes through the browser process: a file
 * read on its thread pool and a data pipe through its IO thread). Handles are few (an LRU), closed
 * after a while unused, and closed on request before anything needs the file exclusively (a
 * delete). Read-only handles share a file; where the browser ignores the mode (older Chromium
 * opens an exclusive handle), `supported` says no and the store keeps its Blob path.
 * Written against the small part of the OPFS API it uses, so unit tests run it over a fake.
 */
import { DcmxError } from '../core/errors.ts'
import { Lru } from '../core/lru.ts'

/** A FileSystemSyncAccessHandle opened read-only, as used here. */
export interface ReadHandle {
  read(buffer: Uint8Array, options: { at: number }): number
  close(): void
}

/** A FileSystemFileHandle, as used here. */
export interface ReadableEntry {
  createSyncAccessHandle(options?: { mode?: 'read-only' | 'readwrite' }): Promise<ReadHandle>
}

/** A FileSystemDirectoryHandle, as used here. */
export interface ReadableDir {
  getDirectoryHandle(name: string, options?: { create?: boolean }): Promise<ReadableDir>
  getFileHandle(name: string, options?: { create?: boolean }): Promise<ReadableEntry>
  removeEntry(name: string): Promise<void>
}

/** What the content store asks of the worker for serving reads (see OpfsStore). */
export interface HandleReads {
  /** Whether read-only handles really share a file here (probed once on `tmp/<probeName>`). */
  supported(probeName: string): Promise<boolean>
  /**
   * Bytes [start, end) of the stored blob `hash`, clipped to its end like a Blob slice: read into
   * the start of `into`'s buffer when it is large enough (the caller gives it up), else a fresh one.
   */
  read(hash: string, start: number, end: number, into?: Uint8Array): Promise<Uint8Array>
  /** Close `hash`'s handle now (before a delete); a later read opens it again. */
  release(hash: string): Promise<void>
}

/** The content store's layout (src/platform/opfs-store.ts owns it). */
const CONTENT_DIR = 'content'
const TMP_DIR = 'tmp'
const HASH = /^[0-9a-f]{64}$/

/**
 * Handles kept open: a holder serves a few tracks to a few peers at once. Each open handle holds
 * a shared lock on its file, so fewer is kinder to other tabs that want to delete one.
 */
export const OPEN_HANDLES = 16
/**
 * A handle unused this long is closed: a read-only handle stops another tab deleting the file
 * (it asks over a channel, see the content worker, but a tab that is gone cannot be asked).
 */
export const IDLE_MS = 5_000

export type ReadHandlesOptions = {
  capacity?: number
  idleMs?: number
  /** A timer (setTimeout by default); tests drive it by hand. */
  setTimer?: (fn: () => void, ms: number) => () => void
}

type Open = { handle: Promise<ReadHandle>; cancelIdle: () => void }

const isNamed = (error: unknown, ...names: string[]) =>
  names.includes((error as { name?: string })?.name ?? '')

/** Read-only sync handles on stored blobs, driven by the content worker (see the module comment). */
export class ReadHandles implements HandleReads {
  readonly #root: () => Promise<ReadableDir>
  readonly #idleMs: number
  readonly #setTimer: NonNullable<ReadHandlesOptions['setTimer']>
  readonly #open: Lru<string, Open>
  #supported: Promise<boolean> | undefined

  constructor(root: () => Promise<ReadableDir>, options: ReadHandlesOptions = {}) {
    this.#root = root
    this.#idleMs = options.idleMs ?? IDLE_MS
    this.#setTimer =
      options.setTimer ??
      ((fn, ms) => {
        const timer = setTimeout(fn, ms)
        return () => clearTimeout(timer)
      })
    this.#open = new Lru(options.capacity ?? OPEN_HANDLES, (_, open) => shut(open))
  }

  /** Handles open now (or opening). */
  get size(): number {
    return this.#open.size
  }

  /**
   * Two read-only handles on one scratch file: both open only if the mode is honoured. A browser
   * that ignores it opens the first exclusively and refuses the second. Nothing is ever written,
   * and no content file is touched.
   */
  supported(probeName: string): Promise<boolean> {
    this.#supported ??= this.#probe(probeName)
    return this.#supported
  }

  async #probe(probeName: string): Promise<boolean> {
    let dir: ReadableDir | undefined
    const opened: ReadHandle[] = []
    try {
      dir = await (await this.#root()).getDirectoryHandle(TMP_DIR, { create: true })
      const file = await dir.getFileHandle(probeName, { create: true })
      opened.push(await file.createSyncAccessHandle({ mode: 'read-only' }))
      opened.push(await file.createSyncAccessHandle({ mode: 'read-only' }))
      return true
    } catch {
      return false
    } finally {
      for (const handle of opened) handle.close()
      await dir?.removeEntry(probeName).catch(() => {})
    }
  }

  async read(hash: string, start: number, end: number, into?: Uint8Array): Promise<Uint8Array> {
    if (!HASH.test(hash)) throw new DcmxError('NOT_FOUND', 'not a content hash')
    if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && 0 <= start && start <= end))
      throw new RangeError(`bad range ${start}-${end}`)
    const length = end - start
    const out = into && into.buffer.byteLength >= length ? new Uint8Array(into.buffer, 0, length) : undefined
    try {
      return await this.#readOnce(hash, start, out ?? new Uint8Array(length))
    } catch (error) {
      // A handle closed under us (evicted between open and read, or by the browser): open it again, once.
      if (!isNamed(error, 'InvalidStateError')) throw error
      this.#forget(hash)
      return this.#readOnce(hash, start, out ?? new Uint8Array(length))
    }
  }

  async release(hash: string): Promise<void> {
    const open = this.#forget(hash)
    if (open) await open.handle.then((h) => h.close()).catch(() => {})
  }

  /** Close every handle (the worker is going away, or a test ends). */
  async releaseAll(): Promise<void> {
    for (const hash of [...this.#open.keys()]) await this.release(hash)
  }

  async #readOnce(hash: string, start: number, out: Uint8Array): Promise<Uint8Array> {
    const open = this.#get(hash)
    const handle = await open.handle
    let done = 0
    while (done < out.length) {
      const n = handle.read(out.subarray(done), { at: start + done })
      if (n <= 0) break // the end of the file: what is there, as a Blob slice would give
      done += n
    }
    return done === out.length ? out : out.subarray(0, done)
  }

  /** The open handle for `hash` (opened now if need be), its idle timer restarted. */
  #get(hash: string): Open {
    let open = this.#open.get(hash)
    if (open) {
      open.cancelIdle()
    } else {
      const handle = this.#openHandle(hash)
      open = { handle, cancelIdle: () => {} }
      this.#open.set(hash, open)
      const opened = open
      // Not stored, or not openable: nothing to keep, the next read tries afresh.
      handle.catch(() => this.#open.get(hash) === opened && this.#forget(hash))
    }
    const current = open
    current.cancelIdle = this.#setTimer(() => {
      if (this.#open.get(hash) === current) void this.release(hash)
    }, this.#idleMs)
    return current
  }

  #forget(hash: string): Open | undefined {
    const open = this.#open.delete(hash)
    open?.cancelIdle()
    return open
  }

  async #openHandle(hash: string): Promise<ReadHandle> {
    let file: ReadableEntry
    try {
      const content = await (await this.#root()).getDirectoryHandle(CONTENT_DIR)
      file = await (await content.getDirectoryHandle(hash.slice(0, 2))).getFileHandle(hash)
    } catch (error) {
      if (isNamed(error, 'NotFoundError', 'TypeMismatchError'))
        throw new DcmxError('NOT_FOUND', 'This track’s audio is not in storage.')
      throw error
    }
    return file.createSyncAccessHandle({ mode: 'read-only' })
  }
}

function shut(open: Open): void {
  open.cancelIdle()
  open.handle.then((h) => h.close()).catch(() => {})
}

/** A BroadcastChannel, as used here: one per worker, the same name in every tab. */
export interface ReleaseChannel {
  postMessage(message: unknown): void
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void
}

/** Every tab's content worker listens here, and closes its handle on a hash another tab is deleting. */
export const RELEASE_CHANNEL = 'dcmx-read-handles'

/**
 * `reads` whose `release` also asks the other tabs' workers (on `channel`) to close their handle
 * on the file, and which closes its own when another tab asks.
 */
export function releasingAcrossTabs(reads: HandleReads, channel: ReleaseChannel | undefined): HandleReads {
  channel?.addEventListener('message', ({ data }) => {
    if (typeof data === 'string' && HASH.test(data)) void reads.release(data)
  })
  return {
    supported: (probeName) => reads.supported(probeName),
    read: (hash, start, end, into) => reads.read(hash, start, end, into),
    async release(hash) {
      await reads.release(hash)
      channel?.postMessage(hash)
    },
  }
}
