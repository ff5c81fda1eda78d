/**
 * The big-library seeder, bundled into an init script (build-seed.ts) for a test page. It runs
 * no code path of its own inside the app:
 * - library tracks are what imports leave behind: valid WAV bytes (with their tags) written where
 *   the OPFS store keeps them (`shardPath`), and catalog entries built by the core's `trackFrom`
 *   from those bytes' hashes, written to the app's own database; the page lists them after a reload;
 * - network tracks come from simulated origins, each with its own key pair, a real Announcer and
 *   signed record, whose discover pages (and answers to the node's metadata requests) pass
 *   through the real codec and are handed to the node's gossip (`mesh.receive`), which verifies
 *   signatures, roots and descriptors as it does for any link.
 */
import { Announcer, type Announcement } from '../../src/core/announcer.ts'
import { trackFrom, type Track } from '../../src/core/catalog.ts'
import { PIECE_SIZE, shardPath } from '../../src/core/content.ts'
import { describeTrack } from '../../src/core/descriptors.ts'
import { fullPages, type GossipPeer } from '../../src/core/gossip.ts'
import { generateKeys, loadIdentity } from '../../src/core/identity.ts'
import type { DcmxNode } from '../../src/core/node.ts'
import { packEntries, signerFor, webCryptoSha256, type TrackEntry } from '../../src/core/records.ts'
import { decodeWire, encodeWire, type TrackMeta, type Wire, type WireOf } from '../../src/core/wire.ts'
import { sharedDcmxDb } from '../../src/platform/db.ts'
import { compareTracks, matches } from '../../src/ui/library-helpers.ts'
import { visibleNetwork } from '../../src/ui/network-helpers.ts'
import { systemClock } from '../../src/platform/clock.ts'
import {
  TRACKS_PER_ORIGIN,
  libraryTags,
  libraryWav,
  networkHash,
  networkSize,
  networkTags,
} from './seed-data.ts'

const subtle = crypto.subtle
const sha256 = webCryptoSha256(subtle)
const hex = (bytes: ArrayBuffer | Uint8Array) =>
  [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('')

/** Run `fn` over `items`, `width` at a time. */
async function pool<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>) {
  let next = 0
  const lane = async () => {
    while (next < items.length) await fn(items[next++]!)
  }
  await Promise.all(Array.from({ length: width }, lane))
}

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i)

/** What a link does to a message: encode it and decode it again, refusing what the codec refuses. */
function overTheWire<T extends Wire>(msg: T): T {
  const decoded = decodeWire(encodeWire(msg))
  if (!decoded.ok) throw new Error(`the codec refused a seeded ${msg.type}: ${JSON.stringify(decoded.error)}`)
  return decoded.value as T
}

/**
 * Library tracks `from`…`from + count - 1`: their bytes in the content store, their entries in the
 * catalog (the app's own database, in batches of one transaction each: a transaction per track
 * would make seeding 10,000 a matter of minutes).
 */
async function seedLibrary(count: number, from = 0): Promise<void> {
  const root = await navigator.storage.getDirectory()
  const content = await root.getDirectoryHandle('content', { create: true })
  const addedAt = Date.now()
  const tracks: Track[] = []
  await pool(range(from, count), 64, async (n) => {
    const bytes = libraryWav(n)
    // One piece (the file is under PIECE_SIZE): its hash is the file's, the root hashes that.
    const digest = new Uint8Array(await subtle.digest('SHA-256', bytes))
    const contentHash = hex(digest)
    const piecesRoot = hex(await subtle.digest('SHA-256', digest))
    const [, shard, name] = shardPath(contentHash).split('/') as [string, string, string]
    const file = await (
      await content.getDirectoryHandle(shard, { create: true })
    ).getFileHandle(name, {
      create: true,
    })
    const writable = await file.createWritable()
    await writable.write(bytes)
    await writable.close()
    const track = trackFrom(
      { contentHash, size: bytes.length, pieces: [contentHash], piecesRoot },
      { mime: 'audio/wav', container: 'WAVE', codec: 'PCM', ...libraryTags(n) },
      `song-${n}.wav`,
      addedAt + n,
    )
    if (PIECE_SIZE < bytes.length) throw new Error('a seeded track must fit one piece')
    tracks.push(track)
  })
  // In the library's order (by addedAt), as imports one after another would have added them.
  tracks.sort((a, b) => a.addedAt - b.addedAt)
  const db = await sharedDcmxDb()
  for (let i = 0; i < tracks.length; i += 1000) {
    const tx = db.transaction('tracks', 'readwrite')
    await Promise.all([...tracks.slice(i, i + 1000).map((t) => tx.store.add(t)), tx.done])
  }
}

/** A simulated origin: a peer with its own key, its tracks' metadata, and its announcer. */
type Origin = { peer: GossipPeer; announcer: Announcer; metas: Map<string, TrackMeta>; entries: TrackEntry[] }

const origins: Origin[] = []

function networkMeta(n: number): TrackMeta {
  return {
    hash: networkHash(n),
    size: networkSize(n),
    mime: 'audio/mpeg',
    container: 'MPEG',
    ...networkTags(n),
    pieceSize: PIECE_SIZE,
    piecesRoot: networkHash(n + 1e9),
  }
}

async function makeOrigin(): Promise<Origin> {
  const identity = await loadIdentity(subtle, await generateKeys(subtle))
  const metas = new Map<string, TrackMeta>()
  let id = 0
  const peer: GossipPeer = {
    peerId: identity.peerId,
    send: () => {},
    // The node asks its announcer for the metadata, a page at a time, as over a link.
    request: async (msg) => {
      if (msg.type !== 'tracks-req')
        throw new Error(`a seeded origin answers only tracks-req, not ${msg.type}`)
      const found = msg.hashes.map((h) => metas.get(h))
      const res: WireOf<'tracks-res'> = {
        type: 'tracks-res',
        id: ++id,
        tracks: found.filter((m): m is TrackMeta => m !== undefined),
        missing: msg.hashes.filter((h) => !metas.has(h)),
      }
      return overTheWire(res)
    },
  }
  const announcer = new Announcer({
    signer: signerFor(identity),
    sha256,
    clock: systemClock,
    ttlS: () => 3600,
  })
  return { peer, announcer, metas, entries: [] }
}

async function addTracks(origin: Origin, numbers: readonly number[]): Promise<Announcement> {
  for (const n of numbers) {
    const meta = networkMeta(n)
    origin.metas.set(meta.hash, meta)
    origin.entries.push([meta.hash, (await describeTrack(sha256, meta)).digest])
  }
  const own = await origin.announcer.publish(origin.entries)
  if (!own) throw new Error('the announcer published nothing')
  return own
}

const node = () => {
  const dcmx = (window as unknown as { dcmx?: DcmxNode }).dcmx
  if (!dcmx) throw new Error('the app has not started its node')
  return dcmx
}

/** Wait until the node holds metadata for `count` remote tracks (it fetches it after each announcement). */
async function described(count: number, timeoutMs = 300_000) {
  const start = performance.now()
  while (node().mesh.gossip.meta.size < count) {
    if (performance.now() - start > timeoutMs)
      throw new Error(`only ${node().mesh.gossip.meta.size} of ${count} tracks described`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/**
 * Network tracks 0…count - 1, announced by `count / TRACKS_PER_ORIGIN` new origins, each sending
 * its full record (in pages) and answering the metadata requests that follow.
 */
async function seedNetwork(count: number): Promise<void> {
  const mesh = node().mesh
  const base = mesh.gossip.meta.size
  const groups = range(0, Math.ceil(count / TRACKS_PER_ORIGIN))
  await pool(groups, 4, async (g) => {
    const origin = await makeOrigin()
    origins.push(origin)
    const own = await addTracks(
      origin,
      range(g * TRACKS_PER_ORIGIN, Math.min(TRACKS_PER_ORIGIN, count - g * TRACKS_PER_ORIGIN)),
    )
    for (const page of fullPages(own.rec, packEntries([...own.tracks]))) {
      await mesh.receive(origin.peer, overTheWire(page))
    }
  })
  await described(base + count)
}

/** One gossip change: origin `o` announces one more track (number n) as a delta; resolves once it is described. */
async function announceOne(o: number, n: number): Promise<void> {
  const origin = origins[o]
  if (!origin) throw new Error(`no seeded origin ${o}`)
  const mesh = node().mesh
  const before = mesh.gossip.meta.size
  const own = await addTracks(origin, [n])
  if (!own.delta) throw new Error('no delta')
  const msg: WireOf<'discover'> = {
    type: 'discover',
    rec: own.rec,
    mode: 'delta',
    base: own.delta.base,
    adds: own.delta.adds.length,
    page: 0,
    pages: 1,
    body: packEntries([...own.delta.adds, ...own.delta.dels]),
  }
  await mesh.receive(origin.peer, overTheWire(msg))
  await described(before + 1, 30_000)
}

/**
 * What the bench compares the app's index with, run in the same page on the same data: the plain
 * filter, and the filter and full sort the views did on every change before the index.
 */
const plain = {
  filterNetwork: (query: string) => node().network.filter((t) => matches(t, query)),
  sortNetwork: (query: string) => visibleNetwork(node().network, query),
  filterLibrary: (tracks: readonly Track[], query: string) => tracks.filter((t) => matches(t, query)),
  sortLibrary: (tracks: readonly Track[], query: string) =>
    tracks.filter((t) => matches(t, query)).sort(compareTracks('added', 'asc')),
  /** The catalog as the library reads it at startup (the floor under listing it). */
  catalog: async () => (await sharedDcmxDb()).getAllFromIndex('tracks', 'addedAt'),
}

// For the bench: mark when the library's first row reaches the DOM (the observer runs as the
// DOM changes, before the frame is painted).
const firstRow = new MutationObserver(() => {
  if (!document.querySelector('table[aria-labelledby="library-heading"] tbody tr[data-index]')) return
  performance.mark('dcmx-first-row')
  firstRow.disconnect()
})
firstRow.observe(document, { childList: true, subtree: true })

const api = { seedLibrary, seedNetwork, announceOne, plain }
export type SeedApi = typeof api
;(window as unknown as { __dcmxSeed: SeedApi }).__dcmxSeed = api
