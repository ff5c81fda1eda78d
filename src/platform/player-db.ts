import type { IDBPDatabase } from 'idb'
import type { Playlist, PlaylistStore, QueueSnapshot, QueueStore } from '../core/playlist.ts'
import { sharedDcmxDb, transact, type DcmxDb } from './db.ts'

/** The `config` key of the saved play queue and position. */
export const QUEUE_KEY = 'player.queue'

/** Playlists in the `dcmx` database's `playlists` store, one transaction per change. */
export class IdbPlaylistStore implements PlaylistStore {
  readonly #db: () => Promise<IDBPDatabase<DcmxDb>>

  constructor(db: () => Promise<IDBPDatabase<DcmxDb>> = sharedDcmxDb) {
    this.#db = db
  }

  async list(): Promise<Playlist[]> {
    return (await this.#db()).getAllFromIndex('playlists', 'createdAt')
  }

  async put(playlist: Playlist): Promise<void> {
    const tx = (await this.#db()).transaction('playlists', 'readwrite')
    await transact(tx, () => tx.store.put(plain(playlist)))
  }

  async delete(id: string): Promise<void> {
    const tx = (await this.#db()).transaction('playlists', 'readwrite')
    await transact(tx, () => tx.store.delete(id))
  }
}

/** The play queue and position, saved as one `config` entry (read back through parseQueueSnapshot). */
export class IdbQueueStore implements QueueStore {
  readonly #db: () => Promise<IDBPDatabase<DcmxDb>>

  constructor(db: () => Promise<IDBPDatabase<DcmxDb>> = sharedDcmxDb) {
    this.#db = db
  }

  async load(): Promise<unknown> {
    return (await this.#db()).get('config', QUEUE_KEY)
  }

  async save(snapshot: QueueSnapshot): Promise<void> {
    await (await this.#db()).put('config', plain(snapshot), QUEUE_KEY)
  }
}

/** A plain copy (structured clone cannot take Svelte's state proxies, and plain data is what is stored). */
function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T
}
