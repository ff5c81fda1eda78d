import type { IDBPDatabase } from 'idb'
import type { Catalog, Cover, Track, TrackPatch } from '../core/catalog.ts'
import { sharedDcmxDb, transact, type DcmxDb, type LogEntry, type LogLevel, type LogTopic } from './db.ts'

/** Logs kept per topic: enough to read back a session's story, small enough to never matter for quota. */
export const MAX_LOGS_PER_TOPIC = 1000
/** Longer log messages are cut (a peer's bad input can end up quoted in one). */
const MAX_LOG_MESSAGE = 2000

export type CatalogDbOptions = {
  db?: () => Promise<IDBPDatabase<DcmxDb>>
  now?: () => number
}

/**
 * The catalog, covers, settings and logs in the shared `dcmx` IndexedDB database. Every change is
 * one transaction, so two tabs writing at once each see a consistent catalog.
 */
export class CatalogDb implements Catalog {
  readonly #db: () => Promise<IDBPDatabase<DcmxDb>>
  readonly #now: () => number

  constructor(options: CatalogDbOptions = {}) {
    this.#db = options.db ?? sharedDcmxDb
    this.#now = options.now ?? (() => Date.now())
  }

  /** Every track, oldest first. */
  async list(): Promise<Track[]> {
    return (await this.#db()).getAllFromIndex('tracks', 'addedAt')
  }

  async get(hash: string): Promise<Track | undefined> {
    return (await this.#db()).get('tracks', hash)
  }

  async add(track: Track, cover?: Cover): Promise<boolean> {
    const tx = (await this.#db()).transaction(['tracks', 'covers'], 'readwrite')
    return transact(tx, async () => {
      const tracks = tx.objectStore('tracks')
      if ((await tracks.getKey(track.contentHash)) !== undefined) return false
      const covers = tx.objectStore('covers')
      if (cover && (await covers.getKey(cover.hash)) === undefined) await covers.add(cover)
      await tracks.add(track)
      return true
    })
  }

  async remove(hash: string): Promise<Track | undefined> {
    const tx = (await this.#db()).transaction(['tracks', 'covers'], 'readwrite')
    return transact(tx, async () => {
      const tracks = tx.objectStore('tracks')
      const track = await tracks.get(hash)
      if (!track) return undefined
      await tracks.delete(hash)
      const cover = track.coverHash
      if (cover !== undefined && (await tracks.index('coverHash').count(cover)) === 0)
        await tx.objectStore('covers').delete(cover)
      return track
    })
  }

  async update(hash: string, patch: TrackPatch): Promise<Track | undefined> {
    const tx = (await this.#db()).transaction('tracks', 'readwrite')
    return transact(tx, async () => {
      const track = await tx.store.get(hash)
      if (!track) return undefined
      const next = { ...track, ...patch }
      await tx.store.put(next)
      return next
    })
  }

  async getCover(hash: string): Promise<Cover | undefined> {
    return (await this.#db()).get('covers', hash)
  }

  async getConfig<T>(key: string): Promise<T | undefined> {
    return (await (await this.#db()).get('config', key)) as T | undefined
  }

  async setConfig(key: string, value: unknown): Promise<void> {
    await (await this.#db()).put('config', value, key)
  }

  /** Append a log line; the oldest lines of its topic go once it has more than MAX_LOGS_PER_TOPIC. */
  async appendLog(topic: LogTopic, level: LogLevel, message: string): Promise<void> {
    const tx = (await this.#db()).transaction('logs', 'readwrite')
    await transact(tx, async () => {
      await tx.store.add({ topic, level, message: message.slice(0, MAX_LOG_MESSAGE), at: this.#now() })
      const byTopic = tx.store.index('topic')
      let excess = (await byTopic.count(topic)) - MAX_LOGS_PER_TOPIC
      // Within one topic the index runs in key order, and keys increase: oldest first.
      for (let cursor = await byTopic.openCursor(topic); cursor && excess > 0; excess--) {
        await cursor.delete()
        cursor = await cursor.continue()
      }
    })
  }

  /** A topic's log lines, oldest first (the last `limit` of them). */
  async logs(topic: LogTopic, limit = MAX_LOGS_PER_TOPIC): Promise<LogEntry[]> {
    const all = await (await this.#db()).getAllFromIndex('logs', 'topic', topic)
    return all.slice(-limit)
  }
}
