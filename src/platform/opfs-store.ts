import { stagedOnce } from './staged.ts'
import {
  isContentHash,
  shardPath,
  type ContentStore,
  type Digest,
  type IngestOptions,
  type Staged,
  type StoreUsage,
} from '../core/content.ts'
import { DcmxError } from '../core/errors.ts'
import { Lru } from '../core/lru.ts'
import { KeptDirs } from '../workers/kept-dirs.ts'
import type { HandleReads } from '../workers/read-handles.ts'
import { hashInWorker, ingestInWorker, readHandlesInWorker } from './content-worker.ts'
import { holdLock, tmpLockName, tryLock } from './locks.ts'

const CONTENT_DIR = 'content'
/** Temporaries; content.worker.ts writes them under the same name. */
const TMP_DIR = 'tmp'

// FileSystemHandle.move() is in Chromium (and in OPFS in Firefox and Safari) but not yet in the DOM lib.
type Movable = { move(destination: FileSystemDirectoryHandle, name: string): Promise<void> }

/**
 * Stored files kept open for reading (their File snapshots), where read-only sync handles are
 * missing: a holder serving a few tracks to a few peers reads each from a snapshot it already has
 * instead of walking the directories again.
 */
const OPEN_FILES = 16
/**
 * A delete waits this long, in steps, for other tabs to close their read handles on the file:
 * they are asked over a channel and answer within a task or two, and a tab that missed the
 * question closes an idle handle within 5 s (read-handles.ts IDLE_MS).
 */
const DELETE_WAIT_MS = 6_000
const DELETE_STEP_MS = 50
/**
 * Buffers of served reads kept to read into again (each up to the content server's 1 MiB batch):
 * a holder reading a MiB into a fresh buffer each time pays its allocation and collection.
 */
const SPARE_BUFFERS = 4

const isNamed = (error: unknown, ...names: string[]) =>
  names.includes((error as { name?: string })?.name ?? '')
const quota = (error: unknown) =>
  isNamed(error, 'QuotaExceededError')
    ? new DcmxError('QUOTA', 'There is not enough storage space left for this file.')
    : error

/** A serving read through a handle; a failure is one read's, with a sentence that says so. */
async function readThrough(
  reads: HandleReads,
  hash: string,
  start: number,
  end: number,
  into: Uint8Array | undefined,
) {
  try {
    return await reads.read(hash, start, end, into)
  } catch (error) {
    if (error instanceof DcmxError) throw error
    const { name, message } = error as { name?: string; message?: string }
    throw new DcmxError('UNREADABLE', `This track’s audio could not be read (${name}: ${message}).`)
  }
}

/**
 * Content blobs in the origin private file system: `content/<2 hex>/<hash>`, written by the
 * content worker through a sync access handle under `tmp/<random>` and moved into place on commit.
 * Serving reads (`read`) go through read-only sync handles that the worker keeps open, where the
 * browser has them (`handles`); elsewhere through Blob slices of File snapshots.
 */
export class OpfsStore implements ContentStore {
  readonly kind = 'opfs'
  readonly #getRoot: () => Promise<FileSystemDirectoryHandle>
  #root: Promise<FileSystemDirectoryHandle> | undefined
  /** Directory handles looked up before (see kept-dirs.ts). */
  readonly #dirs = new KeptDirs()
  /** Snapshots of stored files (immutable blobs, so a snapshot stays right until deleted). */
  readonly #open = new Lru<string, Promise<Blob | undefined>>(OPEN_FILES)
  readonly #handles: HandleReads | null
  /** The handle reads, once they are known to work here; undefined: the Blob path. */
  #reads: Promise<HandleReads | undefined> | undefined
  /** Buffers given back (`recycle`), whole, for the next handle reads (kept only once those are in use). */
  readonly #spare: ArrayBuffer[] = []
  #readingThroughHandles = false
  /** Blobs being deleted here: a read now would open a handle again and hold the delete up. */
  readonly #deleting = new Set<string>()

  constructor(
    getRoot: () => Promise<FileSystemDirectoryHandle> = () => navigator.storage.getDirectory(),
    /** Read-only sync handles (the content worker's); null: always the Blob path. */
    handles: HandleReads | null = readHandlesInWorker,
  ) {
    this.#getRoot = getRoot
    this.#handles = handles
  }

  async ingest(source: Blob, options: IngestOptions = {}): Promise<Staged> {
    const name = crypto.randomUUID()
    const release = await holdLock(tmpLockName(name))
    let digest: Digest
    try {
      digest = await ingestInWorker(source, name, options)
    } catch (error) {
      await release()
      throw error
    }
    return stagedOnce(digest, {
      commit: () => this.#commit(name, digest.contentHash),
      discard: () => this.#removeTmp(name),
      release,
    })
  }

  #commit(name: string, hash: string) {
    return this.#dirs.again(() => this.#commitOnce(name, hash))
  }

  async #commitOnce(name: string, hash: string) {
    const tmp = await (await this.#dir(TMP_DIR)).getFileHandle(name)
    if (await this.has(hash)) return this.#removeTmp(name)
    const [, shard] = shardPath(hash).split('/') as [string, string, string]
    const shardDir = await this.#shard(shard, true)
    try {
      await (tmp as unknown as Movable).move(shardDir, hash)
    } catch (error) {
      throw quota(error)
    }
  }

  async #removeTmp(name: string) {
    await (await this.#dir(TMP_DIR)).removeEntry(name).catch((error: unknown) => {
      if (!isNamed(error, 'NotFoundError')) throw error
    })
  }

  async has(hash: string): Promise<boolean> {
    return (await this.#file(hash)) !== undefined
  }

  /** The stored file: a disk-backed File, read lazily by whoever consumes it. */
  async get(hash: string): Promise<Blob | undefined> {
    return (await this.#file(hash))?.getFile()
  }

  async read(hash: string, start: number, end: number): Promise<Uint8Array> {
    const reads = await this.#handleReads()
    if (this.#deleting.has(hash)) throw new DcmxError('NOT_FOUND', 'This track’s audio is being removed.')
    if (reads) {
      const at = this.#spare.findIndex((buffer) => buffer.byteLength >= end - start)
      const into = at === -1 ? undefined : new Uint8Array(this.#spare.splice(at, 1)[0]!)
      return readThrough(reads, hash, start, end, into)
    }
    try {
      return await this.#readOnce(hash, start, end)
    } catch (error) {
      // A snapshot goes stale if the file was deleted (or replaced) since: look it up afresh, once.
      if (!isNamed(error, 'NotReadableError', 'NotFoundError')) throw error
      this.#open.delete(hash)
      return this.#readOnce(hash, start, end)
    }
  }

  async #readOnce(hash: string, start: number, end: number): Promise<Uint8Array> {
    let file = this.#open.get(hash)
    if (!file) {
      file = this.get(hash)
      this.#open.set(hash, file)
      // Not stored (yet): nothing to keep; a commit may add it later.
      void file.then(
        (f) => f ?? this.#open.delete(hash),
        () => this.#open.delete(hash),
      )
    }
    const snapshot = await file
    if (!snapshot) throw new DcmxError('NOT_FOUND', 'This track’s audio is not in storage.')
    return new Uint8Array(await snapshot.slice(start, end).arrayBuffer())
  }

  /** Only where reads go through handles: there a buffer given back is read into again. */
  recycle(bytes: Uint8Array): void {
    const buffer = bytes.buffer
    if (!this.#readingThroughHandles || !(buffer instanceof ArrayBuffer) || buffer.byteLength === 0) return
    if (this.#spare.includes(buffer)) return
    if (this.#spare.length < SPARE_BUFFERS) this.#spare.push(buffer)
  }

  async delete(hash: string): Promise<void> {
    this.#deleting.add(hash)
    try {
      await this.#delete(hash)
    } finally {
      this.#deleting.delete(hash)
    }
  }

  async #delete(hash: string): Promise<void> {
    this.#open.delete(hash)
    // A read-only handle (ours, or another tab's: the worker asks them too) keeps the file locked.
    await (await this.#handleReads())?.release(hash).catch(() => {}) // a lock left is waited for below
    const [, shard] = shardPath(hash).split('/') as [string, string, string]
    for (let waited = 0; ; waited += DELETE_STEP_MS) {
      try {
        const shardDir = await this.#shard(shard, false)
        await shardDir.removeEntry(hash)
        return
      } catch (error) {
        if (isNamed(error, 'NotFoundError')) return
        if (!isNamed(error, 'NoModificationAllowedError')) throw error
        if (waited >= DELETE_WAIT_MS)
          throw new DcmxError(
            'TIMEOUT',
            'Another DCMX tab is still using this track’s file. Try again in a moment.',
          )
      }
      await new Promise((resolve) => setTimeout(resolve, DELETE_STEP_MS))
    }
  }

  /** Whether serving reads go through read-only handles here: probed once, on a locked temporary. */
  #handleReads(): Promise<HandleReads | undefined> {
    this.#reads ??= (async () => {
      const handles = this.#handles
      if (!handles) return undefined
      const name = `probe-${crypto.randomUUID()}`
      const release = await holdLock(tmpLockName(name))
      try {
        this.#readingThroughHandles = await handles.supported(name)
        return this.#readingThroughHandles ? handles : undefined
      } catch {
        return undefined
      } finally {
        await release()
      }
    })()
    return this.#reads
  }

  async usage(): Promise<StoreUsage> {
    let bytes = 0
    let blobs = 0
    for (const handle of await this.#blobHandles()) {
      bytes += (await handle.getFile()).size
      blobs++
    }
    return { bytes, blobs }
  }

  async list(): Promise<string[]> {
    return (await this.#blobHandles()).map((h) => h.name)
  }

  async verify(hash: string, options: IngestOptions = {}): Promise<boolean> {
    const file = await this.get(hash)
    if (!file) return false
    return (await hashInWorker(file, options)).contentHash === hash
  }

  async sweep(): Promise<number> {
    const tmp = await this.#dir(TMP_DIR)
    const names: string[] = []
    for await (const name of tmp.keys()) names.push(name)
    let swept = 0
    for (const name of names) {
      const outcome = await tryLock(tmpLockName(name), async () => {
        // An open sync handle (a probe, or a worker mid-write) makes this fail: then it is not stale.
        await tmp.removeEntry(name)
      }).catch(() => ({ ran: false as const }))
      if (outcome.ran) swept++
    }
    return swept
  }

  #dir(name: string): Promise<FileSystemDirectoryHandle> {
    return this.#dirs.get(name, async () => {
      this.#root ??= this.#getRoot()
      return (await this.#root).getDirectoryHandle(name, { create: true })
    })
  }

  /** `content/<shard>`; without `create`, a shard not made yet rejects with NotFoundError. */
  #shard(shard: string, create: boolean): Promise<FileSystemDirectoryHandle> {
    const path = `${CONTENT_DIR}/${shard}`
    const lookUp = async () =>
      (await this.#dir(CONTENT_DIR)).getDirectoryHandle(shard, create ? { create: true } : {})
    const known = this.#dirs.known(path)
    // A lookup without `create` still on its way may yet fail: then one that creates looks again.
    if (create && known) return known.catch(() => this.#dirs.get(path, lookUp))
    return this.#dirs.get(path, lookUp)
  }

  async #file(hash: string): Promise<FileSystemFileHandle | undefined> {
    const [, shard] = shardPath(hash).split('/') as [string, string, string]
    try {
      const shardDir = await this.#shard(shard, false)
      return await shardDir.getFileHandle(hash)
    } catch (error) {
      if (isNamed(error, 'NotFoundError', 'TypeMismatchError')) return undefined
      throw error
    }
  }

  /** Every stored blob's handle (files named by a content hash, in their right shard). */
  #blobHandles(): Promise<FileSystemFileHandle[]> {
    return this.#dirs.again(() => this.#blobHandlesOnce())
  }

  async #blobHandlesOnce(): Promise<FileSystemFileHandle[]> {
    const handles: FileSystemFileHandle[] = []
    for await (const [shard, dir] of (await this.#dir(CONTENT_DIR)).entries()) {
      if (dir.kind !== 'directory') continue
      for await (const [name, file] of dir.entries()) {
        if (file.kind === 'file' && isContentHash(name) && name.startsWith(shard)) handles.push(file)
      }
    }
    return handles
  }
}
