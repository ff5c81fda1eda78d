import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { Track } from '../core/catalog.ts'
import { PIECE_SIZE } from '../core/content.ts'
import { Fetcher } from '../core/fetcher.ts'
import {
  hexDigest,
  nodeSha256,
  randomTrack,
  signedHolder,
  type SignedHolder,
} from '../core/testing/signed-holder.ts'
import { realClock } from '../core/testing/ws-socket.ts'
import type { TrackMeta } from '../core/wire.ts'
import { PartialFiles } from '../workers/partial-files.ts'
import { memoryOpfs, type MemoryDir } from '../workers/testing/memory-opfs.ts'
import { OpfsPartialStore } from './opfs-partial-store.ts'
import { OpfsStore } from './opfs-store.ts'

/**
 * The fetcher over the OPFS partial store (the content worker's logic, called directly, over an
 * in-memory OPFS): what a download looks like on disk while it runs, when it fails, and when two
 * tabs of one origin want the same track.
 */

const digestOf = hexDigest
const noWait = { sleep: async () => {} }

function tab(root: MemoryDir, holders: SignedHolder[], meta: TrackMeta, penalties: string[][] = []) {
  const store = new OpfsStore(async () => root as unknown as FileSystemDirectoryHandle)
  const partials = new OpfsPartialStore(new PartialFiles(async () => root, noWait))
  const adopted: Track[] = []
  const byId = new Map(holders.map((h) => [h.peerId, h]))
  const fetcher = new Fetcher({
    clock: realClock,
    random: Math.random,
    sha256: nodeSha256,
    partials,
    meta: () => meta,
    holders: () => [...byId.keys()],
    descriptor: (peerId) => byId.get(peerId)?.signed,
    linked: (peerId) => byId.get(peerId),
    connect: () => {},
    readStored: (hash, start, end) => store.read(hash, start, end),
    adopt: async (track) => void adopted.push(track),
    penalise: (peerId, reason) => void penalties.push([peerId, reason]),
    config: { locateTimeoutMs: 1_000, transfer: { noSourceTimeoutMs: 300, pieceTimeoutMs: 200 } },
  })
  return { store, partials, fetcher, adopted, byId }
}

/** A fresh track per test: a download's lock is named by its hash, so tests never share one. */
function fixture() {
  return randomTrack(5 * PIECE_SIZE + 777, 'Received')
}
const paths = (root: MemoryDir) => [...root.files().keys()].sort()

describe('OpfsPartialStore under the fetcher', () => {
  it('receives into partial/<hash>, invisible to the store and the library, then moves it to content/<ab>/<hash>', async () => {
    const { bytes, hash, meta } = fixture()
    const root = memoryOpfs()
    let open!: () => void
    const last = new Promise<void>((resolve) => (open = resolve))
    const a = await signedHolder('a'.repeat(32), bytes, meta, (i) => (i === 5 ? last : Promise.resolve()))
    const { store, fetcher, adopted } = tab(root, [a], meta)
    const download = fetcher.fetch(hash)
    // Streaming reads come from the partial file while the last piece is still missing.
    expect(digestOf(await fetcher.read(hash, PIECE_SIZE - 5, 2 * PIECE_SIZE))).toBe(
      digestOf(bytes.subarray(PIECE_SIZE - 5, 2 * PIECE_SIZE)),
    )
    await expect.poll(() => download.view.have).toBe(5)
    expect(paths(root)).toEqual([`partial/${hash}`, `partial/${hash}.state`])
    expect(await store.has(hash)).toBe(false)
    expect(await store.list()).toEqual([])
    expect(adopted).toEqual([])
    open()
    await download.finished
    expect(paths(root)).toEqual([`content/${hash.slice(0, 2)}/${hash}`])
    expect(digestOf(await store.read(hash, 0, bytes.length))).toBe(hash)
    expect(adopted.map((t) => t.contentHash)).toEqual([hash])
  })

  it('corrupt pieces are caught as the worker writes them: their sender is charged, the pieces come from another holder', async () => {
    const { bytes, hash, meta } = fixture()
    const root = memoryOpfs()
    const liar = await signedHolder('e'.repeat(32), bytes, meta)
    const honestFetch = liar.fetchPiece
    liar.fetchPiece = async (...args) => {
      const piece = await honestFetch(...args)
      piece[100]! ^= 0xff
      return piece
    }
    const honest = await signedHolder('f'.repeat(32), bytes, meta, async () => {
      await new Promise((resolve) => setTimeout(resolve, 5))
    })
    const penalties: string[][] = []
    const { store, fetcher, adopted } = tab(root, [liar, honest], meta, penalties)
    await fetcher.fetch(hash).finished
    expect(penalties.length).toBeGreaterThan(0)
    expect(penalties.every(([id, reason]) => id === liar.peerId && /failed its hash/.test(reason!))).toBe(
      true,
    )
    expect(digestOf(await store.read(hash, 0, bytes.length))).toBe(hash)
    expect(adopted).toHaveLength(1)
  })

  it('a list whose pieces verify but whose file does not is thrown away whole; only the honest file is committed', async () => {
    const { bytes, hash, meta } = fixture()
    const root = memoryOpfs()
    const fake = new Uint8Array(randomBytes(bytes.length))
    const sybils = [
      await signedHolder('b'.repeat(32), fake, meta),
      await signedHolder('c'.repeat(32), fake, meta),
    ]
    const honest = await signedHolder('d'.repeat(32), bytes, meta)
    const { store, fetcher, adopted } = tab(root, [...sybils, honest], meta)
    await fetcher.fetch(hash).finished
    expect(paths(root)).toEqual([`content/${hash.slice(0, 2)}/${hash}`])
    expect(digestOf(await store.read(hash, 0, bytes.length))).toBe(hash)
    expect(adopted).toHaveLength(1)
  })

  it('a failed download closes its file and frees it: what it held resumes in another tab', async () => {
    const { bytes, hash, meta } = fixture()
    const root = memoryOpfs()
    const links = { drop: () => {} }
    const gone = signedHolder('e'.repeat(32), bytes, meta, async (i) => {
      if (i < 3) return
      links.drop() // the holder's link closes: no source is left
      throw new Error('link closed')
    })
    const first = tab(root, [await gone], meta)
    links.drop = () => first.byId.clear()
    const download = first.fetcher.fetch(hash)
    await expect(download.finished).rejects.toThrow()
    const second = tab(root, [await signedHolder('f'.repeat(32), bytes, meta)], meta)
    const reopened = await second.partials.open(hash, bytes.length, PIECE_SIZE)
    const held = await reopened.have()
    expect(held.length).toBeGreaterThan(0)
    expect(held.length).toBe(download.view.have)
    await reopened.close()
    await second.fetcher.fetch(hash).finished
    expect(digestOf(await second.store.read(hash, 0, bytes.length))).toBe(hash)
  })

  it('two tabs opening one download: the second waits for the first (one writer), then resumes what it wrote', async () => {
    const { bytes, hash, meta } = fixture()
    const root = memoryOpfs()
    const one = tab(root, [], meta).partials
    const two = tab(root, [], meta).partials
    const a = await one.open(hash, bytes.length, PIECE_SIZE)
    const first = bytes.slice(0, PIECE_SIZE)
    await a.write(0, first, hexDigest(first))
    let opened = false
    const b = two.open(hash, bytes.length, PIECE_SIZE).then((p) => ((opened = true), p))
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(opened).toBe(false)
    await a.close()
    expect(await (await b).have()).toEqual([0])
  })
})
