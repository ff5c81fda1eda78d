import 'fake-indexeddb/auto'
import { openDB } from 'idb'
import { beforeEach, describe, expect, it } from 'vitest'
import type { Track } from '../core/catalog.ts'
import { CatalogDb, MAX_LOGS_PER_TOPIC } from './catalog-db.ts'
import { DB_NAME, DB_VERSION, dcmxConnection } from './db.ts'

// IndexedDB in Node comes from fake-indexeddb: the same schema code and the same `idb` calls as
// in the browser, so migrations and transactions are exercised for real.

const hash = (n: number) => n.toString(16).padStart(64, '0')
const track = (n: number, extra: Partial<Track> = {}): Track => ({
  contentHash: hash(n),
  size: 1000 + n,
  mime: 'audio/wav',
  container: 'WAVE',
  title: `Track ${n}`,
  pieceSize: 262144,
  pieces: [hash(n)],
  piecesRoot: hash(n + 1),
  fileName: `t${n}.wav`,
  addedAt: 1000 + n,
  source: 'local',
  ...extra,
})

beforeEach(async () => {
  indexedDB.deleteDatabase(DB_NAME)
})

describe('dcmx database migrations', () => {
  it('upgrades a version-1 database (identities only) and keeps its identities', async () => {
    const v1 = await openDB(DB_NAME, 1, { upgrade: (db) => void db.createObjectStore('identities') })
    await v1.put('identities', { alg: 'Ed25519', keys: 'kept' }, 0)
    v1.close()

    const db = await dcmxConnection()()
    expect(db.version).toBe(DB_VERSION)
    expect([...db.objectStoreNames].sort()).toEqual(
      [
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
      ].sort(),
    )
    expect(await db.get('identities', 0)).toEqual({ alg: 'Ed25519', keys: 'kept' })
    db.close()
  })

  it('creates the current schema from nothing', async () => {
    const catalog = new CatalogDb({ db: dcmxConnection() })
    expect(await catalog.list()).toEqual([])
  })
})

describe('CatalogDb', () => {
  it('adds once per content hash, atomically, and lists oldest first', async () => {
    const catalog = new CatalogDb({ db: dcmxConnection() })
    const results = await Promise.all([catalog.add(track(2)), catalog.add(track(2)), catalog.add(track(1))])
    expect(results.filter(Boolean)).toHaveLength(2)
    expect((await catalog.list()).map((t) => t.title)).toEqual(['Track 1', 'Track 2'])
  })

  it('removes a cover only with the last track that uses it', async () => {
    const catalog = new CatalogDb({ db: dcmxConnection() })
    const cover = { hash: hash(99), mime: 'image/png', data: new Blob(['png']) }
    await catalog.add(track(1, { coverHash: cover.hash }), cover)
    await catalog.add(track(2, { coverHash: cover.hash }), { ...cover, data: new Blob(['other']) })
    // A cover already stored is kept, not replaced.
    expect(await (await catalog.getCover(cover.hash))?.data.text()).toBe('png')
    await catalog.remove(hash(1))
    expect(await catalog.getCover(cover.hash)).toBeDefined()
    expect((await catalog.remove(hash(2)))?.title).toBe('Track 2')
    expect(await catalog.getCover(cover.hash)).toBeUndefined()
    expect(await catalog.list()).toEqual([])
  })

  it('updates a track’s pin and last play in place, and the change outlives the connection', async () => {
    const catalog = new CatalogDb({ db: dcmxConnection() })
    await catalog.add(track(1))
    expect(await catalog.update(hash(1), { pinned: true })).toMatchObject({ title: 'Track 1', pinned: true })
    expect(await catalog.update(hash(1), { lastPlayedAt: 5000 })).toMatchObject({
      pinned: true,
      lastPlayedAt: 5000,
    })
    const again = new CatalogDb({ db: dcmxConnection() })
    expect(await again.get(hash(1))).toEqual({ ...track(1), pinned: true, lastPlayedAt: 5000 })
    // An unknown track is not created by an update.
    expect(await again.update(hash(2), { pinned: true })).toBeUndefined()
    expect(await again.list()).toHaveLength(1)
  })

  it('keeps settings across connections', async () => {
    await new CatalogDb({ db: dcmxConnection() }).setConfig('linkBudget', { links: 4 })
    expect(await new CatalogDb({ db: dcmxConnection() }).getConfig('linkBudget')).toEqual({ links: 4 })
    expect(await new CatalogDb({ db: dcmxConnection() }).getConfig('missing')).toBeUndefined()
  })

  it('keeps logs bounded per topic, dropping the oldest', async () => {
    const catalog = new CatalogDb({ db: dcmxConnection() })
    for (let i = 0; i < MAX_LOGS_PER_TOPIC + 5; i++) await catalog.appendLog('network', 'info', `line ${i}`)
    await catalog.appendLog('errors', 'error', 'kept')
    const network = await catalog.logs('network')
    expect(network).toHaveLength(MAX_LOGS_PER_TOPIC)
    expect(network.some((l) => l.message === 'line 0')).toBe(false)
    expect((await catalog.logs('errors')).map((l) => l.message)).toEqual(['kept'])
  })
})
