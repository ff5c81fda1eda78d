/**
 * Downloads in progress as OPFS files, run in the content worker: each download is one file,
 * `partial/<hash>`, sized up front and written at piece offsets through a sync access handle kept
 * open for the download's life, beside a sidecar `partial/<hash>.state` (a header and a bitmap of
 * the pieces whose bytes are flushed). Each piece is verified here against the digest its write
 * carries, and written only if it matches; the whole-file hash grows as the written prefix does
 * (prefix-hash.ts), so completion only compares it and, if it is the content hash, moves the file
 * to its shard path `content/<ab>/<hash>`: no second pass, no join, no copy. Written against the
 * small part of the OPFS API it uses, so unit tests run it over a fake.
 */
import { toHex } from '../core/bytes.ts'
import { DcmxError } from '../core/errors.ts'
import { pieceMismatch } from '../core/partial.ts'
import { PrefixHash } from './prefix-hash.ts'

/** A FileSystemSyncAccessHandle, as used here. */
export interface SyncHandle {
  read(buffer: Uint8Array, options: { at: number }): number
  write(buffer: Uint8Array, options: { at: number }): number
  truncate(size: number): void
  getSize(): number
  flush(): void
  close(): void
}

/** A FileSystemFileHandle, as used here (OPFS only: sync handles and move). */
export interface FileEntry {
  createSyncAccessHandle(): Promise<SyncHandle>
  move(destination: DirEntry, name: string): Promise<void>
}

/** A FileSystemDirectoryHandle, as used here. */
export interface DirEntry {
  getDirectoryHandle(name: string, options?: { create?: boolean }): Promise<DirEntry>
  getFileHandle(name: string, options?: { create?: boolean }): Promise<FileEntry>
  removeEntry(name: string): Promise<void>
  keys(): AsyncIterable<string>
}

/** What the main thread asks of the worker for partial downloads (see OpfsPartialStore). */
export interface PartialFilesApi {
  /** Open or resume `hash`'s download; resolves with the pieces held (flushed before a reload). */
  open(hash: string, size: number, pieceSize: number): Promise<number[]>
  /** Pieces held now: flushed ones and those written since open. */
  have(hash: string): Promise<number[]>
  /**
   * Verify a piece against `expected` (its SHA-256, hex, from the verified piece list) and write
   * it at its offset; a mismatch writes nothing and rejects with DcmxError HASH_MISMATCH. The
   * bytes are the worker's (transferred, not copied); they are handed back once nothing here
   * holds them (a piece kept for the whole-file hash is not), for the next piece to arrive in.
   */
  write(hash: string, index: number, bytes: Uint8Array, expected: string): Promise<Uint8Array | undefined>
  /** Bytes [start, end), all inside pieces held. */
  read(hash: string, start: number, end: number): Promise<Uint8Array>
  /** Check the whole-file hash; move the file to its shard path if it matches, else delete it. */
  complete(hash: string): Promise<boolean>
  /** Delete the download. */
  discard(hash: string): Promise<void>
  /** Flush, record what is held and close the handle (the download stays resumable). */
  close(hash: string): Promise<void>
  /** Hashes with a download on disk. */
  list(): Promise<string[]>
}

export const PARTIAL_DIR = 'partial'
/** The content store's layout (src/platform/opfs-store.ts owns it): `content/<ab>/<hash>`. */
const CONTENT_DIR = 'content'
const STATE_SUFFIX = '.state'
const HASH = /^[0-9a-f]{64}$/

/**
 * Flushed bytes are recorded as held in batches: after this many bytes or this long after the
 * first unrecorded write, whichever comes first. A flush per 256 KiB piece would cost a disk sync
 * each; what a crash loses is at most one batch, fetched again after the reload.
 */
const RECORD_BYTES = 8 * 1024 * 1024
const RECORD_MS = 500
/**
 * A handle the tab before a reload held may take a moment to close (its worker is torn down
 * after the page): opening retries that long before giving up.
 */
const OPEN_RETRY_MS = 3_000
const OPEN_RETRY_STEP_MS = 100

/** Sidecar layout: magic, format version, size (float64), piece size (uint32), then the bitmap. */
const MAGIC = 0x44435058 // "DCPX"
const VERSION = 1
const HEADER = 4 + 4 + 8 + 4

export type PartialFilesOptions = {
  recordBytes?: number
  recordMs?: number
  /** A timer (setTimeout by default); tests drive it by hand. */
  setTimer?: (fn: () => void, ms: number) => () => void
  sleep?: (ms: number) => Promise<void>
  /** Let other calls run between steps of hashing read-back pieces (a macrotask by default). */
  yieldToEvents?: () => Promise<void>
  /** SHA-256 of one piece (WebCrypto by default: native, and off this thread's JS). */
  digest?: (bytes: Uint8Array) => Promise<ArrayBuffer>
  /** Bytes of pieces past the hashed prefix kept in memory (see prefix-hash.ts). */
  aheadBytes?: number
}

type Open = {
  hash: string
  size: number
  pieceSize: number
  count: number
  data: SyncHandle
  state: SyncHandle
  /** Pieces recorded in the sidecar (their bytes flushed before the record). */
  bitmap: Uint8Array
  /** Pieces written this session: readable now, held across a reload only once recorded. */
  written: Set<number>
  /** The whole-file hash over the written prefix. */
  prefix: PrefixHash
  unrecorded: number[]
  unrecordedBytes: number
  cancelTimer: (() => void) | undefined
}

/** The partial downloads of this origin, driven by the content worker (see the module comment). */
export class PartialFiles implements PartialFilesApi {
  readonly #root: () => Promise<DirEntry>
  readonly #open = new Map<string, Open>()
  readonly #recordBytes: number
  readonly #recordMs: number
  readonly #setTimer: NonNullable<PartialFilesOptions['setTimer']>
  readonly #sleep: NonNullable<PartialFilesOptions['sleep']>
  readonly #yield: NonNullable<PartialFilesOptions['yieldToEvents']>
  readonly #digest: NonNullable<PartialFilesOptions['digest']>
  readonly #aheadBytes: number | undefined

  constructor(root: () => Promise<DirEntry>, options: PartialFilesOptions = {}) {
    this.#root = root
    this.#recordBytes = options.recordBytes ?? RECORD_BYTES
    this.#recordMs = options.recordMs ?? RECORD_MS
    this.#setTimer =
      options.setTimer ??
      ((fn, ms) => {
        const timer = setTimeout(fn, ms)
        return () => clearTimeout(timer)
      })
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)))
    this.#yield = options.yieldToEvents ?? (() => this.#sleep(0))
    this.#digest = options.digest ?? ((bytes) => crypto.subtle.digest('SHA-256', bytes as BufferSource))
    this.#aheadBytes = options.aheadBytes
  }

  async open(hash: string, size: number, pieceSize: number): Promise<number[]> {
    if (!HASH.test(hash)) throw new DcmxError('NOT_FOUND', 'not a content hash')
    if (!Number.isSafeInteger(size) || size < 0 || !Number.isSafeInteger(pieceSize) || pieceSize <= 0)
      throw new RangeError(`bad size ${size} or piece size ${pieceSize}`)
    const current = this.#open.get(hash)
    if (current) {
      if (current.size === size && current.pieceSize === pieceSize) return [...current.written]
      // The same content cannot have two sizes: what was kept came from a liar. Start again.
      await this.discard(hash)
    }
    const dir = await this.#partialDir()
    const count = Math.max(1, Math.ceil(size / pieceSize))
    const state = await this.#handle(dir, hash + STATE_SUFFIX)
    let data: SyncHandle | undefined
    try {
      data = await this.#handle(dir, hash)
      let bitmap = readState(state, size, pieceSize, count)
      if (!bitmap || data.getSize() !== size) {
        // Fresh, or not ours to trust (another size, a torn header, a file of the wrong length).
        bitmap = new Uint8Array(Math.ceil(count / 8))
        data.truncate(size) // reserves the space now: a full disk fails here, before any fetch
        data.flush()
        state.truncate(0)
        writeAll(state, stateBytes(size, pieceSize, bitmap), 0)
        state.flush()
      }
      const written = new Set<number>()
      for (let i = 0; i < count; i++) if (bitmap[i >> 3]! & (1 << (i & 7))) written.add(i)
      const file = data
      const prefix = await PrefixHash.start({
        size,
        pieceSize,
        isWritten: (i) => written.has(i),
        readBack: (into, at) => readAll(file, into, at),
        yieldToEvents: this.#yield,
        ...(this.#aheadBytes !== undefined ? { aheadBytes: this.#aheadBytes } : {}),
      })
      this.#open.set(hash, {
        ...{ hash, size, pieceSize, count, data, state, bitmap, written, prefix },
        ...{ unrecorded: [], unrecordedBytes: 0, cancelTimer: undefined },
      })
      return [...written]
    } catch (error) {
      data?.close()
      state.close()
      // A file the disk had no room for holds nothing: leave nothing behind.
      if (isNamed(error, 'QuotaExceededError')) await removeBoth(dir, hash)
      throw error
    }
  }

  async have(hash: string): Promise<number[]> {
    return [...this.#get(hash).written]
  }

  async write(
    hash: string,
    index: number,
    bytes: Uint8Array,
    expected: string,
  ): Promise<Uint8Array | undefined> {
    const d = this.#get(hash)
    if (!Number.isInteger(index) || index < 0 || index >= d.count)
      throw new RangeError(`piece ${index} of ${d.count}`)
    const length = Math.min(d.pieceSize, d.size - index * d.pieceSize)
    if (bytes.length !== length)
      throw new RangeError(`piece ${index} is ${length} bytes, not ${bytes.length}`)
    if (!HASH.test(expected)) throw new RangeError(`not a piece digest: ${expected}`)
    if (d.written.has(index)) return bytes
    if (toHex(new Uint8Array(await this.#digest(bytes))) !== expected) throw pieceMismatch(index)
    // Closed or discarded while the piece was hashed: nothing may be written any more.
    if (this.#open.get(hash) !== d) throw new DcmxError('NOT_FOUND', 'This download is not open.')
    if (d.written.has(index)) return bytes
    writeAll(d.data, bytes, index * d.pieceSize)
    d.written.add(index)
    const kept = d.prefix.written(index, bytes)
    d.unrecorded.push(index)
    d.unrecordedBytes += bytes.length
    if (d.unrecordedBytes >= this.#recordBytes) this.#record(d)
    else d.cancelTimer ??= this.#setTimer(() => this.#recordLater(d), this.#recordMs)
    return kept ? undefined : bytes
  }

  async read(hash: string, start: number, end: number): Promise<Uint8Array> {
    const d = this.#get(hash)
    if (!(
      Number.isSafeInteger(start) &&
      Number.isSafeInteger(end) &&
      0 <= start &&
      start <= end &&
      end <= d.size
    ))
      throw new RangeError(`bad range ${start}-${end} of ${d.size}`)
    if (start === end) return new Uint8Array(0)
    const last = Math.floor((end - 1) / d.pieceSize)
    for (let i = Math.floor(start / d.pieceSize); i <= last; i++) {
      if (!d.written.has(i)) throw new DcmxError('NOT_FOUND', `piece ${i} is not downloaded yet`)
    }
    const out = new Uint8Array(end - start)
    readAll(d.data, out, start)
    return out
  }

  async complete(hash: string): Promise<boolean> {
    const d = this.#get(hash)
    if (d.written.size !== d.count) return false
    let matches = false
    try {
      matches = (await d.prefix.digest()) === hash
    } finally {
      // A match is recorded whole, so a move that fails resumes with every piece held.
      this.#close(d, matches)
    }
    const dir = await this.#partialDir()
    if (!matches) {
      await removeBoth(dir, hash)
      return false
    }
    const file = await dir.getFileHandle(hash)
    const shard = await (
      await (await this.#root()).getDirectoryHandle(CONTENT_DIR, { create: true })
    ).getDirectoryHandle(hash.slice(0, 2), { create: true })
    // The same bytes already stored (another tab finished first): keep that copy.
    if (await exists(shard, hash)) await dir.removeEntry(hash)
    else await file.move(shard, hash)
    await dir.removeEntry(hash + STATE_SUFFIX).catch(ignoreMissing)
    return true
  }

  async discard(hash: string): Promise<void> {
    const d = this.#open.get(hash)
    if (d) this.#close(d, false)
    await removeBoth(await this.#partialDir(), hash)
  }

  async close(hash: string): Promise<void> {
    const d = this.#open.get(hash)
    if (d) this.#close(d, true)
  }

  async list(): Promise<string[]> {
    const names: string[] = []
    for await (const name of (await this.#partialDir()).keys()) if (HASH.test(name)) names.push(name)
    return names
  }

  #get(hash: string): Open {
    const d = this.#open.get(hash)
    if (!d) throw new DcmxError('NOT_FOUND', 'This download is not open.')
    return d
  }

  /** Flush the bytes, then (never before) record their pieces as held. */
  #record(d: Open): void {
    d.cancelTimer?.()
    d.cancelTimer = undefined
    if (d.unrecorded.length === 0) return
    d.data.flush()
    for (const i of d.unrecorded) d.bitmap[i >> 3]! |= 1 << (i & 7)
    writeAll(d.state, d.bitmap, HEADER)
    d.state.flush()
    d.unrecorded = []
    d.unrecordedBytes = 0
  }

  #recordLater(d: Open): void {
    d.cancelTimer = undefined
    if (this.#open.get(d.hash) !== d) return
    try {
      this.#record(d)
    } catch {
      // A flush that failed records nothing: those pieces are fetched again after a reload.
    }
  }

  #close(d: Open, record: boolean): void {
    this.#open.delete(d.hash)
    d.prefix.stop()
    try {
      if (record) this.#record(d)
    } finally {
      d.cancelTimer?.()
      d.data.close()
      d.state.close()
    }
  }

  async #partialDir(): Promise<DirEntry> {
    return (await this.#root()).getDirectoryHandle(PARTIAL_DIR, { create: true })
  }

  /** A sync handle on `dir/name` (created if missing), waiting out one a closing tab still holds. */
  async #handle(dir: DirEntry, name: string): Promise<SyncHandle> {
    const file = await dir.getFileHandle(name, { create: true })
    for (let waited = 0; ; waited += OPEN_RETRY_STEP_MS) {
      try {
        return await file.createSyncAccessHandle()
      } catch (error) {
        if (!isNamed(error, 'NoModificationAllowedError') || waited >= OPEN_RETRY_MS) throw busy(error)
        await this.#sleep(OPEN_RETRY_STEP_MS)
      }
    }
  }
}

/** The sidecar's bitmap if its header is this download's, else undefined. */
function readState(
  state: SyncHandle,
  size: number,
  pieceSize: number,
  count: number,
): Uint8Array | undefined {
  const length = HEADER + Math.ceil(count / 8)
  if (state.getSize() !== length) return undefined
  const bytes = new Uint8Array(length)
  readAll(state, bytes, 0)
  const view = new DataView(bytes.buffer)
  if (view.getUint32(0) !== MAGIC || view.getUint32(4) !== VERSION) return undefined
  if (view.getFloat64(8) !== size || view.getUint32(16) !== pieceSize) return undefined
  const bitmap = bytes.slice(HEADER)
  // Bits past the last piece are never set by this code: a file that has them is not ours.
  const spare = count & 7
  if (spare && bitmap[bitmap.length - 1]! >> spare) return undefined
  return bitmap
}

function stateBytes(size: number, pieceSize: number, bitmap: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(HEADER + bitmap.length)
  const view = new DataView(bytes.buffer)
  view.setUint32(0, MAGIC)
  view.setUint32(4, VERSION)
  view.setFloat64(8, size)
  view.setUint32(16, pieceSize)
  bytes.set(bitmap, HEADER)
  return bytes
}

function writeAll(handle: SyncHandle, bytes: Uint8Array, at: number): void {
  const written = handle.write(bytes, { at })
  // Chromium throws QuotaExceededError; a short write can only mean the same thing.
  if (written !== bytes.length)
    throw new DOMException(`wrote ${written} of ${bytes.length} bytes`, 'QuotaExceededError')
}

function readAll(handle: SyncHandle, into: Uint8Array, at: number): void {
  for (let done = 0; done < into.length;) {
    const n = handle.read(into.subarray(done), { at: at + done })
    if (n <= 0) throw new DcmxError('NOT_FOUND', 'The partial download is shorter than it should be.')
    done += n
  }
}

async function exists(dir: DirEntry, name: string): Promise<boolean> {
  try {
    await dir.getFileHandle(name)
    return true
  } catch (error) {
    if (isNamed(error, 'NotFoundError', 'TypeMismatchError')) return false
    throw error
  }
}

async function removeBoth(dir: DirEntry, hash: string): Promise<void> {
  await dir.removeEntry(hash).catch(ignoreMissing)
  await dir.removeEntry(hash + STATE_SUFFIX).catch(ignoreMissing)
}

function ignoreMissing(error: unknown): void {
  if (!isNamed(error, 'NotFoundError')) throw error
}

function busy(error: unknown): unknown {
  return isNamed(error, 'NoModificationAllowedError')
    ? new DcmxError('UNSUPPORTED', 'Another tab is writing this download; close it or wait for it to finish.')
    : error
}

const isNamed = (error: unknown, ...names: string[]) =>
  names.includes((error as { name?: string })?.name ?? '')
