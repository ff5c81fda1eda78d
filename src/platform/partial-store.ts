import type { IDBPDatabase } from 'idb'
import type { ContentStore } from '../core/content.ts'
import { DcmxError } from '../core/errors.ts'
import { checkPiece, type PartialContent, type PartialStore } from '../core/partial.ts'
import { webCryptoSha256, type Sha256 } from '../core/records.ts'
import { sharedDcmxDb, transact, type DcmxDb } from './db.ts'

/**
 * Partial downloads in IndexedDB: each piece is verified here (WebCrypto, on the calling thread)
 * and kept as a Blob under [hash, index], so a reload resumes with what was fetched. Completing joins the pieces into one (disk-backed) Blob and
 * ingests it like an import — the content store hashes it as it copies, and only bytes whose hash
 * is the content hash are committed. Works the same over the OPFS and the IndexedDB store.
 */
export class IdbPartialStore implements PartialStore {
  constructor(
    private readonly store: ContentStore,
    private readonly db: () => Promise<IDBPDatabase<DcmxDb>> = sharedDcmxDb,
    private readonly now: () => number = Date.now,
    private readonly sha256: Sha256 = webCryptoSha256(crypto.subtle),
  ) {}

  async open(hash: string, size: number, pieceSize: number): Promise<PartialContent> {
    const db = await this.db()
    const existing = await db.get('downloads', hash)
    if (existing && (existing.size !== size || existing.pieceSize !== pieceSize)) {
      // The same content cannot have two sizes: what was kept came from a liar. Start again.
      await this.#clear(hash)
    }
    if (!existing || existing.size !== size || existing.pieceSize !== pieceSize) {
      const tx = db.transaction('downloads', 'readwrite')
      await transact(tx, () => tx.store.put({ hash, size, pieceSize, startedAt: this.now() }))
    }
    const clear = () => this.#clear(hash)
    return new IdbPartial(hash, size, pieceSize, this.db, this.store, this.sha256, clear)
  }

  async list(): Promise<string[]> {
    return (await this.db()).getAllKeys('downloads')
  }

  async #clear(hash: string) {
    const db = await this.db()
    const tx = db.transaction(['downloads', 'pieces'], 'readwrite')
    await transact(tx, async () => {
      await tx.objectStore('pieces').delete(IDBKeyRange.bound([hash, 0], [hash, Infinity]))
      await tx.objectStore('downloads').delete(hash)
    })
  }
}

class IdbPartial implements PartialContent {
  constructor(
    readonly hash: string,
    readonly size: number,
    readonly pieceSize: number,
    private readonly db: () => Promise<IDBPDatabase<DcmxDb>>,
    private readonly store: ContentStore,
    private readonly sha256: Sha256,
    private readonly clear: () => Promise<void>,
  ) {}

  async have(): Promise<number[]> {
    const keys = await (await this.db()).getAllKeys('pieces', this.#range())
    return keys.map(([, index]) => index)
  }

  async write(index: number, bytes: Uint8Array, expected: string): Promise<void> {
    await checkPiece(this.sha256, index, bytes, expected)
    const tx = (await this.db()).transaction('pieces', 'readwrite')
    const blob = new Blob([bytes as BlobPart])
    await transact(tx, () => tx.store.put({ hash: this.hash, index, blob }))
  }

  async read(start: number, end: number): Promise<Uint8Array> {
    const first = Math.floor(start / this.pieceSize)
    const last = Math.floor((end - 1) / this.pieceSize)
    const db = await this.db()
    const parts: Blob[] = []
    for (let i = first; i <= last; i++) {
      const piece = await db.get('pieces', [this.hash, i])
      if (!piece) throw new DcmxError('NOT_FOUND', `piece ${i} is not downloaded yet`)
      parts.push(piece.blob)
    }
    const offset = first * this.pieceSize
    const joined = new Blob(parts).slice(start - offset, end - offset)
    return new Uint8Array(await joined.arrayBuffer())
  }

  async complete(): Promise<boolean> {
    const db = await this.db()
    const pieces = await db.getAll('pieces', this.#range())
    const count = Math.max(1, Math.ceil(this.size / this.pieceSize))
    if (pieces.length !== count) return false
    pieces.sort((a, b) => a.index - b.index)
    const staged = await this.store.ingest(new Blob(pieces.map((p) => p.blob)))
    if (staged.digest.contentHash !== this.hash) {
      await staged.discard()
      await this.clear()
      return false
    }
    await staged.commit()
    await this.clear()
    return true
  }

  discard(): Promise<void> {
    return this.clear()
  }

  /** Every piece is already committed as it is written: nothing to flush or release. */
  async close(): Promise<void> {}

  #range() {
    return IDBKeyRange.bound([this.hash, 0], [this.hash, Infinity])
  }
}
