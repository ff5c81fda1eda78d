import 'fake-indexeddb/auto'
import { openDB, type IDBPDatabase } from 'idb'
import { beforeEach, describe, expect, it } from 'vitest'
import type { StoredPeer } from '../core/mesh-types.ts'
import { DB_NAME, DB_VERSION, dcmxConnection, type DcmxDb } from './db.ts'
import { IdbPeerStore, MAX_STORED_PEERS } from './peer-store.ts'

// IndexedDB in Node comes from fake-indexeddb, so the upgrade code and transactions run for real.

const id = (n: number) => n.toString(16).padStart(32, '0')
const peer = (n: number, extra: Partial<StoredPeer> = {}): StoredPeer => ({
  peerId: id(n),
  alg: 'Ed25519',
  publicKey: 'MCowBQYDK2VwAyEA' + 'A'.repeat(44),
  lastSeen: 1_000 + n,
  failures: 0,
  ...extra,
})
const ids = (peers: StoredPeer[]) => peers.map((p) => p.peerId)

/** Raw access to the store, for writing records the PeerStore itself never would. */
async function putRaw(records: unknown[]) {
  const db = (await dcmxConnection()()) as unknown as IDBPDatabase
  const tx = db.transaction('peers', 'readwrite')
  await Promise.all([...records.map((r) => tx.store.put(r)), tx.done])
  db.close()
}

beforeEach(async () => {
  await new Promise((resolve) => (indexedDB.deleteDatabase(DB_NAME).onsuccess = resolve))
})

describe('dcmx database upgrade to the peers store', () => {
  const stores = [
    'blobs',
    'config',
    'covers',
    'downloads',
    'identities',
    'logs',
    'peers',
    'pieces',
    'playlists',
    'staging',
    'tracks',
  ]

  // Each fixture builds a database as that version of db.ts left it, with some data in it.
  const fixtures: Record<number, () => Promise<void>> = {
    1: async () => {
      const db = await openDB(DB_NAME, 1, { upgrade: (d) => void d.createObjectStore('identities') })
      await db.put('identities', { alg: 'Ed25519', keys: 'kept' }, 0)
      db.close()
    },
    2: async () => {
      const db = await openDB(DB_NAME, 2, {
        upgrade(d) {
          d.createObjectStore('identities')
          const tracks = d.createObjectStore('tracks', { keyPath: 'contentHash' })
          tracks.createIndex('addedAt', 'addedAt')
          tracks.createIndex('coverHash', 'coverHash')
          d.createObjectStore('covers', { keyPath: 'hash' })
          d.createObjectStore('config')
          const logs = d.createObjectStore('logs', { keyPath: 'id', autoIncrement: true })
          logs.createIndex('at', 'at')
          logs.createIndex('topic', 'topic')
          d.createObjectStore('blobs', { keyPath: 'hash' }).createIndex('size', 'size')
          d.createObjectStore('staging', { keyPath: 'name' })
        },
      })
      await db.put('identities', { alg: 'Ed25519', keys: 'kept' }, 0)
      await db.put('config', { links: 4 }, 'linkBudget')
      db.close()
    },
  }

  it.each([1, 2])('upgrades a version-%i database to the current one, keeping its data', async (from) => {
    await fixtures[from]!()
    const db: IDBPDatabase<DcmxDb> = await dcmxConnection()()
    expect(db.version).toBe(DB_VERSION)
    expect([...db.objectStoreNames].sort()).toEqual(stores)
    expect(await db.get('identities', 0)).toEqual({ alg: 'Ed25519', keys: 'kept' })
    if (from >= 2) expect(await db.get('config', 'linkBudget')).toEqual({ links: 4 })
    const store = new IdbPeerStore(async () => db)
    await store.save([peer(1)])
    expect(await store.load()).toEqual([peer(1)])
    db.close()
  })

  it('creates the peers store in a new database', async () => {
    const store = new IdbPeerStore(dcmxConnection())
    expect(await store.load()).toEqual([])
  })
})

describe('IdbPeerStore', () => {
  it('loads what was saved, most recently seen first, optional fields as they were', async () => {
    const store = new IdbPeerStore(dcmxConnection())
    const saved = [peer(1), peer(3, { rttMs: 42.5, failures: 2, alg: 'ECDSA-P256' }), peer(2)]
    await store.save(saved)
    const loaded = await new IdbPeerStore(dcmxConnection()).load()
    expect(loaded).toEqual([saved[1], saved[2], saved[0]])
    expect('rttMs' in loaded[1]!).toBe(false)
  })

  it('replaces the stored set on every save, whole, even when saves race', async () => {
    const store = new IdbPeerStore(dcmxConnection())
    await store.save([peer(1), peer(2)])
    await store.save([peer(3)])
    expect(ids(await store.load())).toEqual([id(3)])
    await Promise.all([store.save([peer(4), peer(5)]), store.save([peer(6), peer(7)])])
    expect(ids(await store.load())).toEqual([id(7), id(6)])
    await store.save([])
    expect(await store.load()).toEqual([])
  })

  it(`keeps the ${MAX_STORED_PEERS} most recently seen peers, one record per peer id`, async () => {
    const store = new IdbPeerStore(dcmxConnection())
    // Oldest first, so a cap that kept the first N would keep the wrong ones.
    const many = Array.from({ length: MAX_STORED_PEERS + 44 }, (_, i) => peer(i))
    await store.save([...many, peer(5, { lastSeen: 1 })])
    const loaded = await store.load()
    expect(loaded).toHaveLength(MAX_STORED_PEERS)
    expect(loaded[0]).toEqual(many.at(-1))
    expect(loaded.at(-1)).toEqual(many[44])
    expect(new Set(ids(loaded)).size).toBe(MAX_STORED_PEERS)
  })

  it('drops stored records that do not validate and keeps the rest', async () => {
    const good = peer(1)
    const bad: unknown[] = [
      { ...peer(2), peerId: 'ABCDEF' + id(2).slice(6) },
      { ...peer(3), peerId: 'NOT-A-PEER-ID' },
      { ...peer(4), alg: 'RSA' },
      { ...peer(5), publicKey: 'A'.repeat(513) },
      { ...peer(6), publicKey: '<script>' },
      { ...peer(7), publicKey: '' },
      { ...peer(8), lastSeen: Number.NaN },
      { ...peer(9), lastSeen: Infinity },
      { ...peer(10), lastSeen: '1000' },
      { ...peer(11), rttMs: -Infinity },
      { ...peer(12), failures: -1 },
      { ...peer(13), failures: 0.5 },
      { peerId: id(14) },
    ]
    await putRaw([good, ...bad, { ...peer(15), extra: 'ignored' }])
    expect(await new IdbPeerStore(dcmxConnection()).load()).toEqual([peer(15), good])
  })

  it('does not store invalid peers it is asked to save', async () => {
    const store = new IdbPeerStore(dcmxConnection())
    await store.save([peer(1), { ...peer(2), lastSeen: Number.NaN }])
    expect(ids(await store.load())).toEqual([id(1)])
  })
})
