import 'fake-indexeddb/auto'
import { openDB } from 'idb'
import { beforeEach, describe, expect, it } from 'vitest'
import type { Playlist, QueueSnapshot } from '../core/playlist.ts'
import { DB_NAME, DB_VERSION, dcmxConnection } from './db.ts'
import { IdbPlaylistStore, IdbQueueStore, QUEUE_KEY } from './player-db.ts'

const hash = (n: number) => n.toString(16).padStart(64, '0')
const playlist = (id: string, createdAt: number): Playlist => ({
  id,
  name: `List ${id}`,
  tracks: [{ contentHash: hash(1), title: 'One', mime: 'audio/wav' }],
  createdAt,
  updatedAt: createdAt,
})

beforeEach(() => {
  indexedDB.deleteDatabase(DB_NAME)
})

describe('version 5: playlists', () => {
  it('upgrades a version-4 database, keeping its tracks and settings, and adds the playlists store', async () => {
    const v4 = await openDB(DB_NAME, 4, {
      upgrade(db) {
        db.createObjectStore('identities')
        db.createObjectStore('tracks', { keyPath: 'contentHash' })
        db.createObjectStore('config')
        db.createObjectStore('downloads', { keyPath: 'hash' })
      },
    })
    await v4.put('tracks', { contentHash: hash(7), title: 'Kept' })
    await v4.put('config', { saved: true }, 'some-setting')
    v4.close()

    const connect = dcmxConnection()
    const db = await connect()
    expect(db.version).toBe(DB_VERSION)
    expect(DB_VERSION).toBe(5)
    expect(db.objectStoreNames.contains('playlists')).toBe(true)
    expect(await db.get('tracks', hash(7))).toEqual({ contentHash: hash(7), title: 'Kept' })
    expect(await db.get('config', 'some-setting')).toEqual({ saved: true })

    const store = new IdbPlaylistStore(connect)
    await store.put(playlist('b', 20))
    await store.put(playlist('a', 10))
    expect((await store.list()).map((p) => p.id)).toEqual(['a', 'b'])
    db.close()
  })

  it('puts, replaces and deletes playlists; each survives a new connection (a reload)', async () => {
    const store = new IdbPlaylistStore(dcmxConnection())
    await store.put(playlist('x', 1))
    await store.put({ ...playlist('x', 1), name: 'Renamed' })
    await store.put(playlist('y', 2))
    await store.delete('y')
    const reopened = new IdbPlaylistStore(dcmxConnection())
    expect(await reopened.list()).toEqual([{ ...playlist('x', 1), name: 'Renamed' }])
  })
})

describe('IdbQueueStore', () => {
  it('saves the queue snapshot under one config key and reads it back after a reload', async () => {
    const snapshot: QueueSnapshot = {
      tracks: [{ contentHash: hash(3), title: 'Three', mime: 'audio/ogg' }],
      index: 0,
      repeat: 'all',
      positionS: 12.5,
      volume: 0.7,
    }
    const connect = dcmxConnection()
    await new IdbQueueStore(connect).save(snapshot)
    expect(await (await connect()).get('config', QUEUE_KEY)).toEqual(snapshot)
    expect(await new IdbQueueStore(dcmxConnection()).load()).toEqual(snapshot)
  })
})
