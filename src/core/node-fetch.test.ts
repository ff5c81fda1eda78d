import { createHash, randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { startSignaling, type SignalingServer } from '../../signaling/server.ts'
import type { Track } from './catalog.ts'
import { Emitter } from './emitter.ts'
import type { LocalTracks } from './mesh-types.ts'
import { DcmxNode, type NodeConfig } from './node.ts'
import { DEFAULT_SESSION_CONFIG } from './peer-session.ts'
import { nodeCrypto, testIdentity } from './testing/crypto.ts'
import { waitFor } from './testing/fake-clock.ts'
import { memoryLinkNetwork } from './testing/memory-link.ts'
import { MemoryPartialStore } from './testing/memory-partial.ts'
import { MemoryStore, referenceDigest } from './testing/memory-store.ts'
import { realClock, testSignaling } from './testing/ws-socket.ts'

/** Fetching over the real node, signaling server and codec, with in-memory links and stores. */
const FAST: Partial<NodeConfig> = {
  refillMs: 150,
  session: { ...DEFAULT_SESSION_CONFIG, pingIntervalMs: 100, deadAfterMs: 2_000, handshakeTimeoutMs: 3_000 },
  mesh: { gossip: { intervalMs: 100 } },
  fetch: { locateTimeoutMs: 1_500 },
}

class Library implements LocalTracks {
  readonly events = new Emitter<{ tracks: [] }>()
  tracks: Track[] = []
  add(track: Track) {
    this.tracks = [...this.tracks, track]
    this.events.emit('tracks')
  }
}

type TestNode = { node: DcmxNode; store: MemoryStore; partials: MemoryPartialStore; library: Library }

let server: SignalingServer | undefined
const nodes: DcmxNode[] = []
const network = memoryLinkNetwork()

afterEach(async () => {
  for (const node of nodes.splice(0)) node.stop()
  await server?.close()
  server = undefined
})

async function startNode(room: string): Promise<TestNode> {
  const identity = await testIdentity()
  const store = new MemoryStore()
  const partials = new MemoryPartialStore(store)
  const library = new Library()
  const node = new DcmxNode({
    identity,
    crypto: nodeCrypto,
    clock: realClock,
    random: Math.random,
    signaling: testSignaling(server!.wsUrl, room, identity.peerId),
    createLink: network.factory(identity.peerId),
    local: library,
    content: {
      read: (hash, start, end) => store.read(hash, start, end),
      partials,
      adopt: async (track) => library.add(track),
    },
    config: FAST,
  })
  nodes.push(node)
  node.start()
  return { node, store, partials, library }
}

/** Put `bytes` in a node's store and library, as an import would. */
async function hold(n: TestNode, bytes: Uint8Array, title: string): Promise<Track> {
  const staged = await n.store.ingest(new Blob([bytes as BlobPart]))
  await staged.commit()
  const d = referenceDigest(bytes)
  const track: Track = {
    contentHash: d.contentHash,
    size: d.size,
    mime: 'audio/mpeg',
    container: 'MPEG',
    title,
    pieceSize: 256 * 1024,
    pieces: d.pieces,
    piecesRoot: d.piecesRoot,
    fileName: `${title}.mp3`,
    addedAt: 0,
    source: 'local',
  }
  n.library.add(track)
  return track
}

/** Compare large byte arrays by digest: deep equality over megabytes is slow in the test runner. */
const digest = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

const described = (n: TestNode, hash: string) =>
  n.node.network.some((t) => t.contentHash === hash && t.described)

describe('fetching a track from peers', () => {
  it('streams a range first, completes byte-identical, adopts the track, and then serves it too', async () => {
    server = await startSignaling({ port: 0, host: '127.0.0.1', log: () => {}, heartbeatMs: 60_000 })
    const a = await startNode('fetch')
    const b = await startNode('fetch')
    const bytes = new Uint8Array(randomBytes(3 * 256 * 1024 + 12_345))
    const track = await hold(a, bytes, 'Remote Song')
    await waitFor(() => described(b, track.contentHash))

    // A range near the end arrives before the download is complete (a seek to 80 %).
    const start = Math.floor(bytes.length * 0.8)
    const range = await b.node.fetcher!.read(track.contentHash, start, start + 1000)
    expect(digest(range)).toBe(digest(bytes.subarray(start, start + 1000)))

    await b.node.fetcher!.fetch(track.contentHash).finished
    expect(digest(await b.store.read(track.contentHash, 0, bytes.length))).toBe(digest(bytes))
    expect(b.library.tracks[0]).toMatchObject({
      contentHash: track.contentHash,
      title: 'Remote Song',
      pieces: track.pieces,
      piecesRoot: track.piecesRoot,
    })
    // B now announces it: a third node counts two holders and fetches from both.
    const c = await startNode('fetch')
    await waitFor(() => c.node.network.find((t) => t.contentHash === track.contentHash)?.holders === 2)
    await c.node.fetcher!.fetch(track.contentHash).finished
    expect(digest(await c.store.read(track.contentHash, 0, bytes.length))).toBe(digest(bytes))
  })

  it('bans a holder that serves corrupt pieces and completes from an honest one; no bad byte is written', async () => {
    server = await startSignaling({ port: 0, host: '127.0.0.1', log: () => {}, heartbeatMs: 60_000 })
    const liar = await startNode('corrupt')
    const honest = await startNode('corrupt')
    const bytes = new Uint8Array(randomBytes(8 * 256 * 1024))
    const track = await hold(liar, bytes, 'Contested')
    await hold(honest, bytes, 'Contested')
    liar.node.server.corrupt = true
    const b = await startNode('corrupt')
    await waitFor(() => b.node.network.find((t) => t.contentHash === track.contentHash)?.holders === 2)
    await b.node.fetcher!.fetch(track.contentHash).finished
    expect(digest(await b.store.read(track.contentHash, 0, bytes.length))).toBe(digest(bytes))
    for (const { index, bytes: written } of b.partials.written) {
      expect(digest(written)).toBe(digest(bytes.subarray(index * 256 * 1024, (index + 1) * 256 * 1024)))
    }
    expect(b.node.log.some((e) => e.message.includes(liar.node.peerId.slice(0, 8)))).toBe(true)
  })

  it('tells the user within a bounded time when no holder is reachable', async () => {
    server = await startSignaling({ port: 0, host: '127.0.0.1', log: () => {}, heartbeatMs: 60_000 })
    const a = await startNode('gone')
    const b = await startNode('gone')
    const track = await hold(a, new Uint8Array(randomBytes(300_000)), 'Vanishing')
    await waitFor(() => described(b, track.contentHash))
    a.node.stop()
    const started = Date.now()
    await expect(b.node.fetcher!.fetch(track.contentHash).finished).rejects.toThrow(/No peer/)
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(b.node.fetcher!.downloads[0]).toMatchObject({ state: 'failed' })
  })
})
