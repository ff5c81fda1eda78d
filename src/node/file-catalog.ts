import { readFile, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import * as v from 'valibot'
import type { Catalog, Cover, Track, TrackPatch } from '../core/catalog.ts'
import { isContentHash } from '../core/content.ts'
import { writeFileAtomic } from './atomic.ts'

const Hash = v.pipe(v.string(), v.check(isContentHash))
const Text = v.pipe(v.string(), v.maxLength(1000))
const Count = v.pipe(v.number(), v.integer(), v.minValue(0))
const Moment = v.pipe(v.number(), v.finite())

/** A catalog entry as tracks.json may hold it: checked on load, since anything may be in a file. */
const TrackSchema = v.object({
  contentHash: Hash,
  size: Count,
  mime: Text,
  container: Text,
  codec: v.exactOptional(Text),
  title: Text,
  artist: v.exactOptional(Text),
  album: v.exactOptional(Text),
  trackNo: v.exactOptional(Count),
  durationS: v.exactOptional(v.pipe(v.number(), v.finite(), v.minValue(0))),
  coverHash: v.exactOptional(Hash),
  pieceSize: v.pipe(Count, v.minValue(1)),
  pieces: v.array(Hash),
  piecesRoot: Hash,
  fileName: Text,
  addedAt: Moment,
  source: Text,
  pinned: v.exactOptional(v.boolean()),
  lastPlayedAt: v.exactOptional(Moment),
})

const FileSchema = v.object({
  version: v.literal(1),
  tracks: v.array(v.unknown()),
  covers: v.exactOptional(v.record(Hash, Text), {}),
})

/**
 * The catalog as `metadata/tracks.json`, kept in memory and rewritten whole (atomically) after
 * changes, bursts of them coalesced; cover images under `metadata/covers/<hash>`. Only the process holding the home's lock
 * writes it; any process may read it, since a rename never shows a half-written file.
 */
export class FileCatalog implements Catalog {
  #tracks = new Map<string, Track>()
  #covers = new Map<string, string>()
  #loaded: Promise<void> | undefined
  #writes: Promise<void> = Promise.resolve()
  /** The write that has not started yet: later changes ride on it. */
  #queued: Promise<void> | undefined
  /** Entries of tracks.json that failed their schema at load (reported by `dcmx verify`). */
  invalid = 0

  constructor(
    private readonly path: string,
    private readonly coversDir: string,
    private readonly write: (path: string, text: string) => Promise<void> = writeFileAtomic,
  ) {}

  async list(): Promise<Track[]> {
    await this.#load()
    return [...this.#tracks.values()]
  }

  async get(hash: string): Promise<Track | undefined> {
    await this.#load()
    return this.#tracks.get(hash)
  }

  async add(track: Track, cover?: Cover): Promise<boolean> {
    await this.#load()
    if (this.#tracks.has(track.contentHash)) return false
    if (cover && !this.#covers.has(cover.hash)) {
      await writeFileAtomic(join(this.coversDir, cover.hash), new Uint8Array(await cover.data.arrayBuffer()))
      this.#covers.set(cover.hash, cover.mime)
    }
    this.#tracks.set(track.contentHash, track)
    await this.#save().catch((error) => {
      // Not on disk, so not in the catalog: memory must say what the file says.
      this.#tracks.delete(track.contentHash)
      throw error
    })
    return true
  }

  async remove(hash: string): Promise<Track | undefined> {
    await this.#load()
    const track = this.#tracks.get(hash)
    if (!track) return undefined
    this.#tracks.delete(hash)
    const cover = track.coverHash
    const orphan = cover && ![...this.#tracks.values()].some((t) => t.coverHash === cover)
    const mime = cover ? this.#covers.get(cover) : undefined
    if (orphan) this.#covers.delete(cover)
    await this.#save().catch((error) => {
      this.#tracks.set(hash, track)
      if (orphan) this.#covers.set(cover, mime!)
      throw error
    })
    if (orphan) await unlink(join(this.coversDir, cover)).catch(() => {})
    return track
  }

  async update(hash: string, patch: TrackPatch): Promise<Track | undefined> {
    await this.#load()
    const track = this.#tracks.get(hash)
    if (!track) return undefined
    const updated = { ...track, ...patch }
    this.#tracks.set(hash, updated)
    await this.#save().catch((error) => {
      this.#tracks.set(hash, track)
      throw error
    })
    return updated
  }

  async getCover(hash: string): Promise<Cover | undefined> {
    await this.#load()
    const mime = this.#covers.get(hash)
    if (!mime) return undefined
    const data = await readFile(join(this.coversDir, hash)).catch(() => undefined)
    return data && { hash, mime, data: new Blob([data], { type: mime }) }
  }

  #load(): Promise<void> {
    this.#loaded ??= (async () => {
      let text: string
      try {
        text = await readFile(this.path, 'utf8')
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
        throw error
      }
      const file = v.parse(FileSchema, JSON.parse(text))
      for (const entry of file.tracks) {
        const parsed = v.safeParse(TrackSchema, entry)
        if (parsed.success) this.#tracks.set(parsed.output.contentHash, parsed.output as Track)
        else this.invalid++
      }
      for (const [hash, mime] of Object.entries(file.covers)) this.#covers.set(hash, mime)
    })()
    return this.#loaded
  }

  /**
   * Writes are serialised, each one the whole state as it is when that write starts. A change made
   * while a write runs joins the one queued after it, so a burst of changes (an import of many
   * files) costs two writes, not one each.
   */
  #save(): Promise<void> {
    if (this.#queued) return this.#queued
    const run = this.#writes.then(() => {
      this.#queued = undefined
      return this.write(
        this.path,
        JSON.stringify({
          version: 1,
          tracks: [...this.#tracks.values()],
          covers: Object.fromEntries(this.#covers),
        }),
      )
    })
    this.#queued = run
    this.#writes = run.catch(() => {})
    return run
  }
}
