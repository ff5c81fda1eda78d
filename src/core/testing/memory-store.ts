import { createHash } from 'node:crypto'
import type { Catalog, Cover, TagReader, Tags, Track, TrackPatch } from '../catalog.ts'
import {
  PIECE_SIZE,
  shardPath,
  type ContentStore,
  type Digest,
  type IngestOptions,
  type Staged,
} from '../content.ts'
import { DcmxError } from '../errors.ts'

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest()

/** A digest computed the obvious way, as a reference for tests. */
export function referenceDigest(bytes: Uint8Array): Digest {
  const pieces: Buffer[] = []
  for (let at = 0; at < bytes.length; at += PIECE_SIZE)
    pieces.push(sha256(bytes.subarray(at, at + PIECE_SIZE)))
  return {
    contentHash: sha256(bytes).toString('hex'),
    size: bytes.length,
    pieces: pieces.map((p) => p.toString('hex')),
    piecesRoot: sha256(Buffer.concat(pieces)).toString('hex'),
  }
}

/**
 * A ContentStore in memory, keyed by shard path like the real stores. Faults can be injected:
 * `quotaBytes` makes writes past that total fail as a full disk does; `failAfterBytes` makes an
 * ingest die part-way, as a crash or closed tab would.
 */
export class MemoryStore implements ContentStore {
  readonly kind = 'memory'
  readonly files = new Map<string, Uint8Array>()
  quotaBytes = Infinity
  failAfterBytes = Infinity
  /** While set, an ingest waits here before each chunk (to catch it mid-write). */
  pause: Promise<void> | undefined
  #tmp = 0

  async ingest(source: Blob, options: IngestOptions = {}): Promise<Staged> {
    const bytes = new Uint8Array(await source.arrayBuffer())
    const name = `tmp/${this.#tmp++}`
    const chunk = 64 * 1024
    this.files.set(name, new Uint8Array(0))
    try {
      for (let at = 0; at < bytes.length; at += chunk) {
        await this.pause
        options.signal?.throwIfAborted()
        const end = Math.min(bytes.length, at + chunk)
        if (this.#used() + (end - at) > this.quotaBytes) {
          throw new DcmxError('QUOTA', 'the store is full')
        }
        if (end > this.failAfterBytes) throw new Error('simulated crash mid-write')
        this.files.set(name, bytes.slice(0, end))
        options.onProgress?.(end)
        await new Promise((resolve) => setImmediate(resolve))
      }
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith('simulated crash'))) this.files.delete(name)
      throw error
    }
    const digest = referenceDigest(bytes)
    return {
      digest,
      commit: async () => {
        const data = this.files.get(name)
        this.files.delete(name)
        if (data && !this.files.has(shardPath(digest.contentHash)))
          this.files.set(shardPath(digest.contentHash), data)
      },
      discard: async () => void this.files.delete(name),
    }
  }

  async has(hash: string) {
    return this.files.has(shardPath(hash))
  }

  async get(hash: string) {
    const data = this.files.get(shardPath(hash))
    return data ? new Blob([data as BlobPart]) : undefined
  }

  async read(hash: string, start: number, end: number) {
    const data = this.files.get(shardPath(hash))
    if (!data) throw new DcmxError('NOT_FOUND', 'not stored')
    return data.slice(start, end)
  }

  async delete(hash: string) {
    this.files.delete(shardPath(hash))
  }

  async usage() {
    const blobs = [...this.files].filter(([k]) => k.startsWith('content/'))
    return { bytes: blobs.reduce((n, [, v]) => n + v.length, 0), blobs: blobs.length }
  }

  async verify(hash: string) {
    const data = this.files.get(shardPath(hash))
    return data !== undefined && sha256(data).toString('hex') === hash
  }

  async list() {
    return [...this.files.keys()].filter((k) => k.startsWith('content/')).map((k) => k.split('/')[2]!)
  }

  async sweep() {
    const stale = [...this.files.keys()].filter((k) => k.startsWith('tmp/'))
    for (const k of stale) this.files.delete(k)
    return stale.length
  }

  #used() {
    return [...this.files.values()].reduce((n, v) => n + v.length, 0)
  }
}

/** A Catalog in memory. */
export class MemoryCatalog implements Catalog {
  readonly tracks = new Map<string, Track>()
  readonly covers = new Map<string, Cover>()

  async list() {
    return [...this.tracks.values()]
  }
  async get(hash: string) {
    return this.tracks.get(hash)
  }
  async add(track: Track, cover?: Cover) {
    if (this.tracks.has(track.contentHash)) return false
    if (cover && !this.covers.has(cover.hash)) this.covers.set(cover.hash, cover)
    this.tracks.set(track.contentHash, track)
    return true
  }
  async remove(hash: string) {
    const track = this.tracks.get(hash)
    this.tracks.delete(hash)
    const cover = track?.coverHash
    if (cover && ![...this.tracks.values()].some((t) => t.coverHash === cover)) this.covers.delete(cover)
    return track
  }
  async update(hash: string, patch: TrackPatch) {
    const track = this.tracks.get(hash)
    if (!track) return undefined
    const next = { ...track, ...patch }
    this.tracks.set(hash, next)
    return next
  }
  async getCover(hash: string) {
    return this.covers.get(hash)
  }
}

/**
 * Tags from a tiny fake format: a file whose text starts with "AUDIO|title|artist|album|seconds|cover"
 * is audio (cover: the cover image's bytes as text); "BROKEN" is damaged audio; anything else is not audio.
 */
export const fakeTags: TagReader = {
  async read(source: Blob): Promise<Tags> {
    const head = new TextDecoder().decode(await source.slice(0, 256).arrayBuffer())
    if (head.startsWith('BROKEN')) throw new DcmxError('UNREADABLE', 'This audio file looks damaged.')
    if (!head.startsWith('AUDIO|')) throw new DcmxError('NOT_AUDIO', 'This is not an audio file.')
    const [, title, artist, album, seconds, cover] = (head.split('\n')[0] ?? '').split('|')
    return {
      mime: 'audio/x-fake',
      container: 'FAKE',
      ...(title ? { title } : {}),
      ...(artist ? { artist } : {}),
      ...(album ? { album } : {}),
      ...(seconds ? { durationS: Number.parseFloat(seconds) } : {}),
      ...(cover
        ? {
            cover: {
              hash: sha256(Buffer.from(cover)).toString('hex'),
              mime: 'image/png',
              data: new Blob([cover]),
            },
          }
        : {}),
    }
  },
}

/** A file for the fake tag format, padded to `size` bytes. */
export function fakeAudio(name: string, tags: string, size = 1000): Blob & { name: string } {
  const head = new TextEncoder().encode(`AUDIO|${tags}\n`)
  const bytes = new Uint8Array(Math.max(size, head.length)).fill(42)
  bytes.set(head)
  return Object.assign(new Blob([bytes]), { name })
}

/** An in-process mutex map standing in for Web Locks. */
export function memoryLocks() {
  const tails = new Map<string, Promise<unknown>>()
  return async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const previous = tails.get(name) ?? Promise.resolve()
    const run = previous.then(fn, fn)
    tails.set(
      name,
      run.catch(() => {}),
    )
    return run
  }
}
