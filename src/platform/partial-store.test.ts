import 'fake-indexeddb/auto'
import { createHash, randomBytes } from 'node:crypto'
import { beforeEach, describe, expect, it } from 'vitest'
import { MemoryStore } from '../core/testing/memory-store.ts'
import { DB_NAME, dcmxConnection } from './db.ts'
import { IdbPartialStore } from './partial-store.ts'

// IndexedDB from fake-indexeddb; the content store is the in-memory one (its ingest hashes too).

const PIECE = 1024
const hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')
const piece = (bytes: Uint8Array, i: number) => bytes.subarray(i * PIECE, (i + 1) * PIECE)
/** A piece and the digest its (here honest) list gives it. */
const ok = (bytes: Uint8Array) => [bytes, hex(bytes)] as const

beforeEach(async () => {
  await new Promise((resolve) => (indexedDB.deleteDatabase(DB_NAME).onsuccess = resolve))
})

function setup() {
  const store = new MemoryStore()
  const db = dcmxConnection()
  return { store, partials: new IdbPartialStore(store, db, () => 1) }
}

describe('IdbPartialStore', () => {
  it('keeps verified pieces across a reopen (a reload) and reads ranges across them', async () => {
    const bytes = new Uint8Array(randomBytes(3 * PIECE + 100))
    const hash = hex(bytes)
    const first = setup()
    const partial = await first.partials.open(hash, bytes.length, PIECE)
    await partial.write(0, ...ok(piece(bytes, 0)))
    await partial.write(2, ...ok(piece(bytes, 2)))

    const again = new IdbPartialStore(first.store, dcmxConnection())
    expect(await again.list()).toEqual([hash])
    const resumed = await again.open(hash, bytes.length, PIECE)
    expect((await resumed.have()).sort()).toEqual([0, 2])
    expect(await resumed.read(PIECE - 10, PIECE)).toEqual(bytes.subarray(PIECE - 10, PIECE))
    await expect(resumed.read(PIECE - 10, PIECE + 10)).rejects.toThrow(/piece 1/)
  })

  it('completes into the content store only when the whole file hashes to its name', async () => {
    const bytes = new Uint8Array(randomBytes(2 * PIECE + 7))
    const hash = hex(bytes)
    const { store, partials } = setup()
    const partial = await partials.open(hash, bytes.length, PIECE)
    for (let i = 0; i < 3; i++) await partial.write(i, ...ok(piece(bytes, i)))
    expect(await partial.complete()).toBe(true)
    expect(await store.read(hash, 0, bytes.length)).toEqual(bytes)
    expect(await partials.list()).toEqual([])
  })

  it('refuses to complete with a missing piece, and discards a set whose whole hash is wrong', async () => {
    const bytes = new Uint8Array(randomBytes(2 * PIECE))
    const hash = hex(bytes)
    const { store, partials } = setup()
    const partial = await partials.open(hash, bytes.length, PIECE)
    await partial.write(0, ...ok(piece(bytes, 0)))
    expect(await partial.complete()).toBe(false)
    await partial.write(1, ...ok(new Uint8Array(PIECE)))
    expect(await partial.complete()).toBe(false)
    expect(await store.has(hash)).toBe(false)
    expect(await partials.list()).toEqual([])
  })

  it('starts over when the same hash is opened with another size (what was kept came from a liar)', async () => {
    const { partials } = setup()
    const hash = 'ab'.repeat(32)
    const partial = await partials.open(hash, 5 * PIECE, PIECE)
    await partial.write(0, ...ok(new Uint8Array(PIECE)))
    const other = await partials.open(hash, 3 * PIECE, PIECE)
    expect(await other.have()).toEqual([])
  })
})
