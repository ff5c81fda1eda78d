import { stagedOnce } from './staged.ts'
import type { IDBPDatabase } from 'idb'
import type { ContentStore, Digest, IngestOptions, Staged, StoreUsage } from '../core/content.ts'
import { DcmxError } from '../core/errors.ts'
import { Lru } from '../core/lru.ts'
import { hashInWorker } from './content-worker.ts'
import { sharedDcmxDb, transact, type DcmxDb } from './db.ts'
import { holdLock, tmpLockName, tryLock } from './locks.ts'

/** Stored blobs kept at hand for reading: serving a piece then costs no IndexedDB transaction. */
const OPEN_BLOBS = 16

/**
 * Content blobs in IndexedDB, for browsers without OPFS sync access handles. An ingest hashes the
 * file in the worker, then stages the Blob under a temporary name; commit moves it to `blobs`
 * (keyed by hash, with its size beside it) in one transaction, so a blob is visible whole or not at all.
 */
export class IdbStore implements ContentStore {
  readonly kind = 'indexeddb'
  readonly #db: () => Promise<IDBPDatabase<DcmxDb>>
  readonly #open = new Lru<string, Blob>(OPEN_BLOBS)

  constructor(db: () => Promise<IDBPDatabase<DcmxDb>> = sharedDcmxDb) {
    this.#db = db
  }

  async ingest(source: Blob, options: IngestOptions = {}): Promise<Staged> {
    const name = crypto.randomUUID()
    const release = await holdLock(tmpLockName(name))
    let digest: Digest
    try {
      digest = await hashInWorker(source, options)
      options.signal?.throwIfAborted()
      // A File is a snapshot: if it changes on disk after hashing, reading it fails instead of
      // storing other bytes. The slice drops the file's name and declared type.
      const blob = source.slice(0, source.size)
      const tx = (await this.#db()).transaction('staging', 'readwrite')
      await transact(tx, () => tx.store.put({ name, hash: digest.contentHash, size: digest.size, blob }))
    } catch (error) {
      await release()
      throw error
    }
    return stagedOnce(digest, {
      commit: () => this.#commit(name, digest),
      discard: () => this.#unstage(name),
      release,
    })
  }

  async #commit(name: string, digest: Digest) {
    const tx = (await this.#db()).transaction(['staging', 'blobs'], 'readwrite')
    await transact(tx, async () => {
      const staging = tx.objectStore('staging')
      const blobs = tx.objectStore('blobs')
      const staged = await staging.get(name)
      if (!staged) throw new DcmxError('NOT_FOUND', 'The imported copy was gone before it could be saved.')
      if ((await blobs.getKey(digest.contentHash)) === undefined)
        await blobs.add({ hash: digest.contentHash, size: digest.size, blob: staged.blob })
      await staging.delete(name)
    })
  }

  async #unstage(name: string) {
    await (await this.#db()).delete('staging', name)
  }

  async has(hash: string): Promise<boolean> {
    return (await (await this.#db()).getKey('blobs', hash)) !== undefined
  }

  async get(hash: string): Promise<Blob | undefined> {
    return (await (await this.#db()).get('blobs', hash))?.blob
  }

  async read(hash: string, start: number, end: number): Promise<Uint8Array> {
    const held = this.#open.get(hash)
    if (held) {
      try {
        return new Uint8Array(await held.slice(start, end).arrayBuffer())
      } catch {
        // Deleted meanwhile (by another tab, say): ask the database again.
        this.#open.delete(hash)
      }
    }
    const blob = await this.get(hash)
    if (!blob) throw new DcmxError('NOT_FOUND', 'This track’s audio is not in storage.')
    this.#open.set(hash, blob)
    return new Uint8Array(await blob.slice(start, end).arrayBuffer())
  }

  async delete(hash: string): Promise<void> {
    this.#open.delete(hash)
    await (await this.#db()).delete('blobs', hash)
  }

  /** Sums the size index's keys: no record, and so no blob, is read. */
  async usage(): Promise<StoreUsage> {
    const tx = (await this.#db()).transaction('blobs')
    return transact(tx, async () => {
      let bytes = 0
      let blobs = 0
      for (
        let cursor = await tx.store.index('size').openKeyCursor();
        cursor;
        cursor = await cursor.continue()
      ) {
        bytes += cursor.key
        blobs++
      }
      return { bytes, blobs }
    })
  }

  async list(): Promise<string[]> {
    return (await this.#db()).getAllKeys('blobs')
  }

  async verify(hash: string, options: IngestOptions = {}): Promise<boolean> {
    const blob = await this.get(hash)
    if (!blob) return false
    return (await hashInWorker(blob, options)).contentHash === hash
  }

  async sweep(): Promise<number> {
    const names = await (await this.#db()).getAllKeys('staging')
    let swept = 0
    for (const name of names) {
      const outcome = await tryLock(tmpLockName(name), () => this.#unstage(name)).catch(() => ({
        ran: false as const,
      }))
      if (outcome.ran) swept++
    }
    return swept
  }
}
