import { randomBytes } from 'node:crypto'
import { createReadStream, openAsBlob } from 'node:fs'
import { mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises'
import { dirname, join } from 'node:path'
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
import { fsyncDir } from './atomic.ts'
import { NodeDigester } from './node-digest.ts'

/**
 * Read and write in 8 MiB chunks: on a busy machine each syscall is a chance to lose the CPU, and
 * copying 1 GiB in 8 MiB chunks measured 3–5× faster here than in 1 MiB ones (see docs/benchmarks.md).
 */
const CHUNK = 8 * 1024 * 1024
const DISK_PATH = Symbol('dcmx.diskPath')

/** A file on disk as an import source: a lazy, disk-backed Blob with its name (and path, for fast reads). */
export type DiskFile = Blob & { readonly name: string; readonly [DISK_PATH]: string }

export async function diskFile(path: string, name: string): Promise<DiskFile> {
  const blob = await openAsBlob(path)
  return Object.assign(blob, { name, [DISK_PATH]: path }) as DiskFile
}

/** The bytes of a source, as chunks: straight from disk for a DiskFile, else through the Blob. */
function chunksOf(source: Blob): AsyncIterable<Uint8Array> {
  const path = (source as Partial<DiskFile>)[DISK_PATH]
  if (path) return createReadStream(path, { highWaterMark: CHUNK, end: source.size - 1 })
  return source.stream() as unknown as AsyncIterable<Uint8Array>
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException)?.code === 'ENOENT'
}

function storeError(error: unknown): never {
  const code = (error as NodeJS.ErrnoException)?.code
  if (code === 'ENOSPC' || code === 'EDQUOT') throw new DcmxError('QUOTA', 'The disk is full.')
  throw error
}

/**
 * Blobs as files under `<home>/content/<first two hex>/<hash>`. An ingest streams into
 * `<home>/tmp/<random>` while hashing, fsyncs it, and only `commit` renames it into place (then
 * fsyncs the shard folder), so a blob is visible complete or not at all, whatever kills the process.
 */
export class FsContentStore implements ContentStore {
  readonly kind = 'fs' as const
  /** Temporaries this process is writing: `sweep` leaves them alone. */
  #active = new Set<string>()

  constructor(
    private readonly contentDir: string,
    private readonly tmpDir: string,
  ) {}

  pathOf(hash: string): string {
    return join(dirname(this.contentDir), shardPath(hash))
  }

  ingest(source: Blob, options: IngestOptions = {}): Promise<Staged> {
    const path = (source as Partial<DiskFile>)[DISK_PATH]
    if (path)
      return this.#stage((tmp, digester) => copyFile(path, source.size, tmp, digester, options), source.size)
    return this.ingestChunks(chunksOf(source), options, source.size)
  }

  /** Copy a stream of chunks into a temporary, hashing as it goes. */
  ingestChunks(
    chunks: AsyncIterable<Uint8Array>,
    options: IngestOptions = {},
    sizeHint = 0,
  ): Promise<Staged> {
    return this.#stage(async (tmp, digester) => {
      const handle = await open(tmp, 'wx', 0o600).catch(storeError)
      try {
        for await (const chunk of chunks) {
          options.signal?.throwIfAborted()
          await Promise.all([digester.update(chunk), handle.write(chunk).catch(storeError)])
          options.onProgress?.(digester.bytes)
        }
        await handle.sync()
      } finally {
        await handle.close()
      }
    }, sizeHint)
  }

  /** Write a temporary with `write`, hash it on the way, and hand it back staged (or remove it). */
  async #stage(
    write: (tmp: string, digester: NodeDigester) => Promise<void>,
    sizeHint: number,
  ): Promise<Staged> {
    const tmp = join(this.tmpDir, randomBytes(8).toString('hex'))
    this.#active.add(tmp)
    const digester = new NodeDigester(sizeHint)
    let digest: Digest
    try {
      await write(tmp, digester)
      digest = await digester.finish()
    } catch (error) {
      digester.release()
      this.#active.delete(tmp)
      await unlink(tmp).catch(() => {})
      throw error
    }
    const done = () => this.#active.delete(tmp)
    return {
      digest,
      commit: async () => {
        const target = this.pathOf(digest.contentHash)
        try {
          if (await exists(target)) return await unlink(tmp)
          await mkdir(dirname(target), { recursive: true, mode: 0o700 })
          await rename(tmp, target)
          await fsyncDir(dirname(target))
        } finally {
          done()
        }
      },
      discard: async () => {
        await unlink(tmp).catch(() => {})
        done()
      },
    }
  }

  async has(hash: string): Promise<boolean> {
    return isContentHash(hash) && exists(this.pathOf(hash))
  }

  async get(hash: string): Promise<Blob | undefined> {
    if (!(await this.has(hash))) return undefined
    return openAsBlob(this.pathOf(hash))
  }

  async read(hash: string, start: number, end: number): Promise<Uint8Array> {
    let handle
    try {
      handle = await open(this.pathOf(hash), 'r')
    } catch (error) {
      if (isMissing(error)) throw new DcmxError('NOT_FOUND', 'This track’s audio is not in storage.')
      throw error
    }
    try {
      const out = new Uint8Array(Math.max(0, end - start))
      let done = 0
      while (done < out.length) {
        const { bytesRead } = await handle.read(out, done, out.length - done, start + done)
        if (bytesRead === 0) break
        done += bytesRead
      }
      return done === out.length ? out : out.subarray(0, done)
    } finally {
      await handle.close()
    }
  }

  async delete(hash: string): Promise<void> {
    await unlink(this.pathOf(hash)).catch((error) => {
      if (!isMissing(error)) throw error
    })
  }

  async usage(): Promise<StoreUsage> {
    let bytes = 0
    const hashes = await this.list()
    for (const hash of hashes)
      bytes += await stat(this.pathOf(hash)).then(
        (s) => s.size,
        () => 0,
      )
    return { bytes, blobs: hashes.length }
  }

  async list(): Promise<string[]> {
    const hashes: string[] = []
    for (const shard of await readdir(this.contentDir).catch(() => [] as string[])) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue
      for (const name of await readdir(join(this.contentDir, shard)).catch(() => [] as string[]))
        if (isContentHash(name) && name.startsWith(shard)) hashes.push(name)
    }
    return hashes
  }

  /** The full digest of a stored blob (re-hashing every byte), or undefined if it is missing. */
  async digestOf(hash: string, options: IngestOptions = {}): Promise<Digest | undefined> {
    if (!(await this.has(hash))) return undefined
    const path = this.pathOf(hash)
    const digester = new NodeDigester((await stat(path)).size)
    try {
      for await (const chunk of createReadStream(path, { highWaterMark: CHUNK })) {
        options.signal?.throwIfAborted()
        await digester.update(chunk as Buffer)
        options.onProgress?.(digester.bytes)
      }
      return await digester.finish()
    } catch (error) {
      digester.release()
      throw error
    }
  }

  async verify(hash: string, options: IngestOptions = {}): Promise<boolean> {
    return (await this.digestOf(hash, options))?.contentHash === hash
  }

  /** Temporaries left by a process that died mid-write (this one holds the home's lock, so no other writes). */
  async sweep(): Promise<number> {
    let swept = 0
    for (const name of await readdir(this.tmpDir).catch(() => [] as string[])) {
      const path = join(this.tmpDir, name)
      if (this.#active.has(path)) continue
      await unlink(path).then(
        () => swept++,
        () => {},
      )
    }
    return swept
  }
}

/** Shared-memory slots a copy cycles through: one being read, one being hashed and written, one spare. */
const SLOTS = 3

/**
 * Copy `size` bytes of `from` into a new file `to`, feeding the digester: each chunk is read into
 * one of SLOTS fixed slots of shared memory, hashed whole here and by pieces in the digester's
 * worker from the same memory (no copies), and written at its offset while the next one is read.
 * Memory stays SLOTS × CHUNK whatever the size. The file is fsynced before this resolves.
 */
async function copyFile(
  from: string,
  size: number,
  to: string,
  digester: NodeDigester,
  options: IngestOptions,
) {
  const input = await open(from, 'r')
  try {
    const output = await open(to, 'wx', 0o600).catch(storeError)
    try {
      const memory = new SharedArrayBuffer(SLOTS * CHUNK)
      const busy: Promise<unknown>[] = Array.from({ length: SLOTS }, () => Promise.resolve())
      for (let position = 0, slot = 0; position < size; slot = (slot + 1) % SLOTS) {
        options.signal?.throwIfAborted()
        await busy[slot]
        const view = new Uint8Array(memory, slot * CHUNK, Math.min(CHUNK, size - position))
        const { bytesRead } = await input.read(view, 0, view.length, position)
        if (bytesRead === 0)
          throw new DcmxError('UNREADABLE', 'The file got shorter while it was being read.')
        const chunk = view.subarray(0, bytesRead)
        const done = Promise.all([
          digester.update(chunk),
          output.write(chunk, 0, bytesRead, position).catch(storeError),
        ])
        // Awaited on the slot's next turn or at the end; a copy that stops early must not leave it unhandled.
        done.catch(() => {})
        busy[slot] = done
        position += bytesRead
        options.onProgress?.(position)
      }
      await Promise.all(busy)
      await output.sync()
    } finally {
      await output.close()
    }
  } finally {
    await input.close()
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  )
}
