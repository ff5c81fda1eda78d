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
import { hashInWorker, ingestInWorker } from './content-worker.ts'
import { holdLock, tmpLockName, tryLock } from './locks.ts'

const CONTENT_DIR = 'content'
/** Temporaries; content.worker.ts writes them under the same name. */
const TMP_DIR = 'tmp'

// FileSystemHandle.move() is in Chromium (and in OPFS in Firefox and Safari) but not yet in the DOM lib.
type Movable = { move(destination: FileSystemDirectoryHandle, name: string): Promise<void> }

/**
 * Stored files kept open for reading (their File snapshots): a holder serving a few tracks to a
 * few peers reads each from a snapshot it already has instead of walking the directories again.
 */
const OPEN_FILES = 16

const isNamed = (error: unknown, ...names: string[]) =>
  names.includes((error as { name?: string })?.name ?? '')
const quota = (error: unknown) =>
  isNamed(error, 'QuotaExceededError')
    ? new DcmxError('QUOTA', 'There is not enough storage space left for this file.')
    : error

/**
 * Content blobs in the origin private file system: `content/<2 hex>/<hash>`, written by the
 * content worker through a sync access handle under `tmp/<random>` and moved into place on commit.
 */
export class OpfsStore implements ContentStore {
  readonly kind = 'opfs'
  readonly #getRoot: () => Promise<FileSystemDirectoryHandle>
  #root: Promise<FileSystemDirectoryHandle> | undefined
  /** Snapshots of stored files (immutable blobs, so a snapshot stays right until deleted). */
  readonly #open = new Lru<string, Promise<Blob | undefined>>(OPEN_FILES)

  constructor(getRoot: () => Promise<FileSystemDirectoryHandle> = () => navigator.storage.getDirectory()) {
    this.#getRoot = getRoot
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

  async #commit(name: string, hash: string) {
    const tmp = await (await this.#dir(TMP_DIR)).getFileHandle(name)
    if (await this.has(hash)) return this.#removeTmp(name)
    const [, shard] = shardPath(hash).split('/') as [string, string, string]
    const shardDir = await (await this.#dir(CONTENT_DIR)).getDirectoryHandle(shard, { create: true })
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

  async delete(hash: string): Promise<void> {
    this.#open.delete(hash)
    const [, shard] = shardPath(hash).split('/') as [string, string, string]
    try {
      const shardDir = await (await this.#dir(CONTENT_DIR)).getDirectoryHandle(shard)
      await shardDir.removeEntry(hash)
    } catch (error) {
      if (!isNamed(error, 'NotFoundError')) throw error
    }
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

  async #dir(name: string): Promise<FileSystemDirectoryHandle> {
    this.#root ??= this.#getRoot()
    return (await this.#root).getDirectoryHandle(name, { create: true })
  }

  async #file(hash: string): Promise<FileSystemFileHandle | undefined> {
    const [, shard] = shardPath(hash).split('/') as [string, string, string]
    try {
      const shardDir = await (await this.#dir(CONTENT_DIR)).getDirectoryHandle(shard)
      return await shardDir.getFileHandle(hash)
    } catch (error) {
      if (isNamed(error, 'NotFoundError', 'TypeMismatchError')) return undefined
      throw error
    }
  }

  /** Every stored blob's handle (files named by a content hash, in their right shard). */
  async #blobHandles(): Promise<FileSystemFileHandle[]> {
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
