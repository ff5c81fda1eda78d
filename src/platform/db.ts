import { openDB, type DBSchema, type IDBPDatabase } from 'idb'
import type { Cover, Track } from '../core/catalog.ts'
import { DcmxError } from '../core/errors.ts'
import type { StoredKeys } from '../core/identity.ts'
import type { StoredPeer } from '../core/mesh-types.ts'
import type { Playlist } from '../core/playlist.ts'

export type LogTopic = 'node' | 'network' | 'errors'
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
export type LogEntry = { id?: number; topic: LogTopic; level: LogLevel; message: string; at: number }

/** A stored blob (IndexedDB content store), with its size beside it so usage never reads bytes. */
export type StoredBlob = { hash: string; size: number; blob: Blob }
/** An ingested blob not yet committed, under its temporary name. */
export type StagedBlob = { name: string; hash: string; size: number; blob: Blob }

/** The node's metadata database. Each version's upgrade step is kept, so any old database migrates. */
export interface DcmxDb extends DBSchema {
  /** Key pairs by slot: one per concurrently open tab, so two tabs are two nodes. */
  identities: { key: number; value: StoredKeys }
  /** v2: the catalog, by content hash. */
  tracks: { key: string; value: Track; indexes: { addedAt: number; coverHash: string } }
  /** v2: cover images by the hash of their bytes, shared by every track that uses them. */
  covers: { key: string; value: Cover }
  /** v2: small settings, key → value. */
  config: { key: string; value: unknown }
  /** v2: the node's logs, oldest first, capped per topic. */
  logs: { key: number; value: LogEntry; indexes: { at: number; topic: LogTopic } }
  /** v2: content blobs where OPFS is unavailable. */
  blobs: { key: string; value: StoredBlob; indexes: { size: number } }
  /** v2: temporaries of the IndexedDB content store. */
  staging: { key: string; value: StagedBlob }
  /** v3: peers remembered across reloads, by peer id (validated on load: see peer-store.ts). */
  peers: { key: string; value: StoredPeer }
  /** v4: downloads in progress, by content hash. */
  downloads: { key: string; value: { hash: string; size: number; pieceSize: number; startedAt: number } }
  /** v4: their verified pieces, by [hash, index]. */
  pieces: { key: [string, number]; value: { hash: string; index: number; blob: Blob } }
  /** v5: the user's playlists, by id (the play queue is a `config` entry). */
  playlists: { key: string; value: Playlist; indexes: { createdAt: number } }
}

export const DB_NAME = 'dcmx'
export const DB_VERSION = 5

export type DcmxDbOptions = {
  /** Called when this connection closes to let another tab upgrade, or is closed by the browser. */
  onClose?: () => void
}

export async function openDcmxDb(options: DcmxDbOptions = {}): Promise<IDBPDatabase<DcmxDb>> {
  const db: IDBPDatabase<DcmxDb> = await openDB<DcmxDb>(DB_NAME, DB_VERSION, {
    upgrade(database, oldVersion) {
      if (oldVersion < 1) database.createObjectStore('identities')
      if (oldVersion < 2) {
        const tracks = database.createObjectStore('tracks', { keyPath: 'contentHash' })
        tracks.createIndex('addedAt', 'addedAt')
        tracks.createIndex('coverHash', 'coverHash')
        database.createObjectStore('covers', { keyPath: 'hash' })
        database.createObjectStore('config')
        const logs = database.createObjectStore('logs', { keyPath: 'id', autoIncrement: true })
        logs.createIndex('at', 'at')
        logs.createIndex('topic', 'topic')
        const blobs = database.createObjectStore('blobs', { keyPath: 'hash' })
        blobs.createIndex('size', 'size')
        database.createObjectStore('staging', { keyPath: 'name' })
      }
      if (oldVersion < 3) database.createObjectStore('peers', { keyPath: 'peerId' })
      if (oldVersion < 4) {
        database.createObjectStore('downloads', { keyPath: 'hash' })
        database.createObjectStore('pieces', { keyPath: ['hash', 'index'] })
      }
      if (oldVersion < 5) {
        const playlists = database.createObjectStore('playlists', { keyPath: 'id' })
        playlists.createIndex('createdAt', 'createdAt')
      }
    },
    // A newer version opened in another tab: step aside so its upgrade can run.
    blocking: () => {
      db.close()
      options.onClose?.()
    },
    terminated: () => options.onClose?.(),
  })
  return db
}

/**
 * A shared, lazily opened connection for long-lived users (catalog, IndexedDB store): opened on
 * first use, and reopened on the next use after it was closed for another tab's upgrade.
 */
export function dcmxConnection(): () => Promise<IDBPDatabase<DcmxDb>> {
  let current: Promise<IDBPDatabase<DcmxDb>> | undefined
  return () => {
    if (!current) {
      const opening = openDcmxDb({
        onClose: () => {
          if (current === opening) current = undefined
        },
      })
      opening.catch(() => {
        if (current === opening) current = undefined
      })
      current = opening
    }
    return current
  }
}

/** The connection this page's catalog and IndexedDB store share. */
export const sharedDcmxDb = dcmxConnection()

/**
 * Run `body` inside `tx` and wait for the transaction to commit. If `body` throws, the transaction
 * is aborted (nothing it wrote stays); if the commit fails, that error is thrown. A full disk
 * becomes DcmxError QUOTA. `body` must only await requests of `tx`, or the transaction auto-commits.
 */
export async function transact<T>(
  tx: { done: Promise<void>; abort(): void },
  body: () => Promise<T>,
): Promise<T> {
  const done = tx.done
  try {
    const value = await body()
    await done
    return value
  } catch (error) {
    try {
      tx.abort()
    } catch {
      // Already committed or aborted.
    }
    await done.catch(() => {})
    throw (error as { name?: string })?.name === 'QuotaExceededError'
      ? new DcmxError('QUOTA', 'There is not enough storage space left for this.')
      : error
  }
}
