import { mkdir, readdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { isContentHash } from '../core/content.ts'
import { DcmxError } from '../core/errors.ts'
import { checkPiece, type PartialContent, type PartialStore } from '../core/partial.ts'
import { webCryptoSha256, type Sha256 } from '../core/records.ts'
import { writeFileAtomic } from './atomic.ts'
import type { FsContentStore } from './fs-store.ts'

/**
 * Downloads in progress under `<home>/partial/<hash>/`: `meta.json` (size, piece size) and one file
 * per piece, verified here (WebCrypto) and written atomically, so a restart resumes with what was
 * fetched.
 * Completing streams the pieces in order through the content store's ingest, which hashes them as
 * it copies; only bytes whose hash is the content hash are committed.
 */
export class FsPartialStore implements PartialStore {
  constructor(
    private readonly dir: string,
    private readonly store: FsContentStore,
    private readonly sha256: Sha256 = webCryptoSha256(globalThis.crypto.subtle),
  ) {}

  async open(hash: string, size: number, pieceSize: number): Promise<PartialContent> {
    if (!isContentHash(hash)) throw new DcmxError('NOT_FOUND', 'not a content hash')
    const dir = join(this.dir, hash)
    const meta = await readFile(join(dir, 'meta.json'), 'utf8')
      .then((t) => JSON.parse(t) as { size: number; pieceSize: number })
      .catch(() => undefined)
    // The same content cannot have two sizes: what was kept came from a liar. Start again.
    if (meta && (meta.size !== size || meta.pieceSize !== pieceSize))
      await rm(dir, { recursive: true, force: true })
    if (!meta || meta.size !== size || meta.pieceSize !== pieceSize) {
      await mkdir(dir, { recursive: true, mode: 0o700 })
      await writeFileAtomic(join(dir, 'meta.json'), JSON.stringify({ size, pieceSize }))
    }
    return new FsPartial(hash, size, pieceSize, dir, this.store, this.sha256)
  }

  async list(): Promise<string[]> {
    return (await readdir(this.dir).catch(() => [] as string[])).filter(isContentHash)
  }
}

class FsPartial implements PartialContent {
  constructor(
    readonly hash: string,
    readonly size: number,
    readonly pieceSize: number,
    private readonly dir: string,
    private readonly store: FsContentStore,
    private readonly sha256: Sha256,
  ) {}

  get #count(): number {
    return Math.max(1, Math.ceil(this.size / this.pieceSize))
  }

  async have(): Promise<number[]> {
    const names = await readdir(this.dir).catch(() => [] as string[])
    return names
      .filter((n) => /^\d+$/.test(n))
      .map(Number)
      .filter((i) => i < this.#count)
  }

  async write(index: number, bytes: Uint8Array, expected: string): Promise<void> {
    await checkPiece(this.sha256, index, bytes, expected)
    // Not fsynced: a piece lost to a power cut only fails the whole-file check, which starts the
    // download again; an fsync per 256 KiB piece would halve a download's speed on a busy disk.
    await writeFileAtomic(join(this.dir, String(index)), bytes, 0o600, false).catch((error) => {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ENOSPC' || code === 'EDQUOT') throw new DcmxError('QUOTA', 'The disk is full.')
      throw error
    })
  }

  async read(start: number, end: number): Promise<Uint8Array> {
    const first = Math.floor(start / this.pieceSize)
    const last = Math.floor((end - 1) / this.pieceSize)
    const out = new Uint8Array(end - start)
    for (let i = first; i <= last; i++) {
      const piece = await readFile(join(this.dir, String(i))).catch(() => undefined)
      if (!piece) throw new DcmxError('NOT_FOUND', `piece ${i} is not downloaded yet`)
      const offset = i * this.pieceSize
      const from = Math.max(start, offset) - offset
      const to = Math.min(end, offset + piece.length) - offset
      out.set(piece.subarray(from, to), offset + from - start)
    }
    return out
  }

  async complete(): Promise<boolean> {
    const have = new Set(await this.have())
    for (let i = 0; i < this.#count; i++) if (!have.has(i)) return false
    const dir = this.dir
    const count = this.#count
    async function* pieces() {
      for (let i = 0; i < count; i++) yield await readFile(join(dir, String(i)))
    }
    const staged = await this.store.ingestChunks(pieces(), {}, this.size)
    if (staged.digest.contentHash !== this.hash) {
      await staged.discard()
      await this.discard()
      return false
    }
    await staged.commit()
    await this.discard()
    return true
  }

  async discard(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true })
  }

  /** Each piece is its own file, written whole: nothing to flush or release. */
  async close(): Promise<void> {}
}
