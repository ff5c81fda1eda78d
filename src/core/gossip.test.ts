import { describe, expect, it } from 'vitest'
import type { Track } from './catalog.ts'
import { META_LIMITS, metaBytes, type GossipPeer } from './gossip.ts'
import { packEntries, type TrackEntry } from './records.ts'
import { MeshSim, simHash, simTrack, type SimNode } from './testing/mesh-sim.ts'
import {
  encodeWire,
  MAX_FRAME,
  MAX_TEXT,
  MAX_TRACKS_PAGE,
  ENTRY_BYTES,
  PAGE_ENTRIES,
  type TrackMeta,
  type Wire,
  type WireOf,
} from './wire.ts'

/**
 * Gossip in detail, on two to four simulated nodes: paging of metadata and of large track sets,
 * what a node does with answers it did not ask for, and how it recovers from a missed version.
 */

const tracks = (prefix: string, n: number, title?: (i: number) => string): Track[] =>
  Array.from({ length: n }, (_, i) => simTrack(simHash(`${prefix}${i}`), title?.(i)))

/** Nodes linked in a line (0 - 1 - 2 …), each already announced to its neighbours. */
async function line(n: number, tracksOf: (i: number) => Track[] = () => []): Promise<MeshSim> {
  const sim = new MeshSim({ degree: 0 })
  await sim.populate(n, tracksOf)
  if (n > 2) sim.unlink(sim.nodes[0]!, sim.nodes[n - 1]!)
  for (const node of sim.nodes) for (const peer of node.links.values()) void node.mesh.linked(peer)
  await sim.settle()
  return sim
}

/** Record the messages a node sends (to one peer or all), passing them on unchanged. */
function spy(node: SimNode, to?: SimNode): Wire[] {
  const seen: Wire[] = []
  node.behaviour = (msg, dest) => {
    if (!to || dest === to) seen.push(msg)
    return [msg]
  }
  return seen
}

/** A stand-in link that keeps what the node sends back on it. */
function capture(peerId: string): GossipPeer & { sent: Wire[] } {
  const sent: Wire[] = []
  return {
    peerId,
    sent,
    send: (msg) => void sent.push(msg),
    request: () => Promise.reject(new Error('not in this test')),
  }
}

const of = <T extends Wire['type']>(msgs: Wire[], type: T) =>
  msgs.filter((m): m is WireOf<T> => m.type === type)

describe('gossip', () => {
  it('fetches a large library’s metadata a page of hashes at a time', async () => {
    const sim = new MeshSim({ degree: 0 })
    await sim.populate(2, (i) => (i === 0 ? tracks('lib', 100) : []))
    const [a, b] = sim.nodes as [SimNode, SimNode]
    const asked = spy(b, a)
    for (const node of sim.nodes) for (const peer of node.links.values()) void node.mesh.linked(peer)
    await sim.settle()
    const requests = of(asked, 'tracks-req')
    expect(requests.length).toBe(Math.ceil(100 / MAX_TRACKS_PAGE))
    for (const r of requests) expect(r.hashes.length).toBeLessThanOrEqual(MAX_TRACKS_PAGE)
    expect(new Set(requests.flatMap((r) => r.hashes)).size).toBe(100)
    for (const t of a.library.tracks) expect(b.mesh.gossip.meta.get(t.contentHash)?.title).toBe(t.title)
  })

  it('keeps metadata within its byte cap, however long the titles peers write', async () => {
    const saved = { ...META_LIMITS }
    META_LIMITS.bytes = 200 * 1024
    try {
      const long = (i: number) => `${i} ${'x'.repeat(MAX_TEXT - 8)}`
      const sim = new MeshSim({ degree: 0 })
      await sim.populate(2, (i) => (i === 0 ? tracks('long', 300, long) : []))
      const [a, b] = sim.nodes as [SimNode, SimNode]
      for (const node of sim.nodes) for (const peer of node.links.values()) void node.mesh.linked(peer)
      await sim.settle()
      const { meta } = b.mesh.gossip
      const total = [...meta.values()].reduce((sum, m) => sum + metaBytes(m), 0)
      expect(a.library.tracks.length * metaBytes(meta.values().next().value!)).toBeGreaterThan(
        META_LIMITS.bytes,
      )
      expect(b.mesh.gossip.metaBytes).toBe(total)
      expect(total).toBeLessThanOrEqual(META_LIMITS.bytes)
      expect(meta.size).toBeGreaterThan(0)
      expect(meta.size).toBeLessThan(300)
      // What is kept is what was heard, text intact.
      for (const [hash, m] of meta)
        expect(a.library.tracks.find((t) => t.contentHash === hash)?.title).toBe(m.title)
    } finally {
      Object.assign(META_LIMITS, saved)
    }
  })

  it('drops metadata of tracks nobody announces before that of announced ones', async () => {
    const saved = { ...META_LIMITS }
    META_LIMITS.entries = 100
    try {
      const sim = new MeshSim({ degree: 0 })
      await sim.populate(2, (i) => (i === 0 ? tracks('kept', 60) : []))
      const [a, b] = sim.nodes as [SimNode, SimNode]
      for (const node of sim.nodes) for (const peer of node.links.values()) void node.mesh.linked(peer)
      await sim.settle()
      const { meta } = b.mesh.gossip
      const sample = meta.get(a.library.tracks[0]!.contentHash)!
      // Metadata for 60 more tracks that nobody announces (as a track removed here keeps its own).
      for (const t of tracks('gone', 60))
        b.mesh.gossip.keepMeta({ ...sample, hash: t.contentHash, title: t.title })
      expect(meta.size).toBeLessThanOrEqual(100)
      for (const t of a.library.tracks) expect(meta.has(t.contentHash)).toBe(true)
    } finally {
      Object.assign(META_LIMITS, saved)
    }
  })

  it('caps a tracks answer to one frame and lists the rest as missing', async () => {
    // Titles of 256 three-byte characters: 32 such tracks would need ~150 KB, over a frame.
    const long = (i: number) => `${i} ${'€'.repeat(MAX_TEXT - 4)}`
    const sim = new MeshSim({ degree: 0 })
    await sim.populate(1, () =>
      tracks('wide', MAX_TRACKS_PAGE, long).map((t) => ({
        ...t,
        artist: t.title,
        album: t.title,
        codec: t.title,
      })),
    )
    const node = sim.nodes[0]!
    const hashes = node.library.tracks.map((t) => t.contentHash)
    const unknown = simHash('nobody has this')
    const peer = capture('0'.repeat(32))
    await node.mesh.receive(peer, { type: 'tracks-req', id: 9, hashes: [...hashes.slice(0, -1), unknown] })
    const [res] = of(peer.sent, 'tracks-res')
    expect(res?.id).toBe(9)
    expect(encodeWire(res!).length).toBeLessThanOrEqual(MAX_FRAME)
    expect(res!.tracks.length).toBeGreaterThan(0)
    expect(res!.tracks.length).toBeLessThan(MAX_TRACKS_PAGE - 1)
    const answered = [...res!.tracks.map((t) => t.hash), ...res!.missing]
    expect(new Set(answered)).toEqual(new Set([...hashes.slice(0, -1), unknown]))
    expect(res!.missing).toContain(unknown)
  })

  it('still gets every page of metadata when answers are cut short', async () => {
    const long = (i: number) => `${i} ${'€'.repeat(MAX_TEXT - 4)}`
    const sim = await line(2, (i) =>
      i === 0 ? tracks('wide', 40, long).map((t) => ({ ...t, artist: t.title, album: t.title })) : [],
    )
    const [a, b] = sim.nodes as [SimNode, SimNode]
    for (let r = 0; r < 6; r++) await sim.round()
    for (const t of a.library.tracks) expect(b.mesh.gossip.meta.get(t.contentHash)?.title).toBe(t.title)
  })

  it('strikes a peer that answers with metadata it was not asked for, and keeps none of it', async () => {
    const sim = new MeshSim({ degree: 0 })
    await sim.populate(2, (i) => (i === 0 ? tracks('x', 3) : []))
    const [liar, victim] = sim.nodes as [SimNode, SimNode]
    const planted = simHash('planted')
    const extra: TrackMeta = {
      hash: planted,
      size: 1,
      mime: 'audio/mpeg',
      title: 'Totally real track',
      pieceSize: 1024,
      piecesRoot: planted,
    }
    liar.behaviour = (msg) => [msg.type === 'tracks-res' ? { ...msg, tracks: [...msg.tracks, extra] } : msg]
    for (const node of sim.nodes) for (const peer of node.links.values()) void node.mesh.linked(peer)
    await sim.settle()
    expect(victim.strikes.get(liar.peerId)).toBeGreaterThanOrEqual(1)
    expect(victim.mesh.gossip.meta.has(planted)).toBe(false)
    // Honest answers on the same link are not struck.
    expect(liar.strikes.get(victim.peerId) ?? 0).toBe(0)
  })

  it('sends a set of more than one page in pages, reassembled one and two hops away', async () => {
    // 2,000 entries: three pages, and more than one push budget (128 KB > 96 KB).
    const big = tracks('big', 2_000)
    const sim = await line(3, (i) => (i === 0 ? big : []))
    const [a, b, c] = sim.nodes as [SimNode, SimNode, SimNode]
    const relayed = spy(b, c)
    expect(b.mesh.directory.get(a.peerId)?.tracks.size).toBe(2_000)
    for (let r = 0; r < 4 && c.mesh.directory.get(a.peerId) === undefined; r++) await sim.round()
    expect(c.mesh.directory.get(a.peerId)?.tracks.size).toBe(2_000)
    expect(c.mesh.directory.holders(big[1_999]!.contentHash).has(a.peerId)).toBe(true)
    const pages = of(relayed, 'discover').filter((m) => m.rec.peer === a.peerId && m.mode === 'full')
    expect(pages.map((p) => [p.page, p.pages])).toEqual([
      [0, 3],
      [1, 3],
      [2, 3],
    ])
    expect(pages.every((p) => (p.body?.length ?? 0) <= PAGE_ENTRIES * ENTRY_BYTES)).toBe(true)
    expect([...sim.banned.values()].every((s) => s.size === 0)).toBe(true)
  })

  it.each([
    // The liar's page lands between the honest sender's pages and the honest one completes the set.
    ['overwrites a page', ['h0', 'h1', 'l1*', 'h2']],
    // The liar completes a set first (with a bad page), then the honest sender finishes its own.
    ['completes first', ['h0', 'l0', 'h1', 'l1*', 'l2', 'h2']],
  ])('keeps pages of one set from two senders apart when a liar %s', async (_what, order) => {
    const big = tracks('big', 2 * PAGE_ENTRIES + 10)
    const sim = new MeshSim({ degree: 0 })
    await sim.populate(4, (i) => (i === 0 ? big : []))
    const [a, honest, liar, victim] = sim.nodes as [SimNode, SimNode, SimNode, SimNode]
    sim.unlink(a, victim)
    sim.unlink(liar, honest)
    sim.link(victim, honest)
    const own = a.mesh.own!
    const all = [...own.tracks]
    const fake = tracks('fake', PAGE_ENTRIES).map((t): TrackEntry => [t.contentHash, t.piecesRoot])
    const page = (index: number, bad: boolean): WireOf<'discover'> => ({
      type: 'discover',
      rec: own.rec,
      mode: 'full',
      adds: 0,
      page: index,
      pages: 3,
      body: packEntries(bad ? fake : all.slice(index * PAGE_ENTRIES, (index + 1) * PAGE_ENTRIES)),
    })
    for (const step of order) {
      const from = step[0] === 'h' ? honest : liar
      await victim.mesh.receive(victim.links.get(from.peerId)!, page(Number(step[1]), step.endsWith('*')))
    }
    expect(victim.strikes.get(honest.peerId) ?? 0).toBe(0)
    expect(victim.mesh.directory.get(a.peerId)?.tracks.size).toBe(big.length)
  })

  it('pulls the whole set when a delta arrives on a version it missed', async () => {
    const sim = await line(3, (i) => (i === 0 ? tracks('v1-', 3) : []))
    const [a, b, c] = sim.nodes as [SimNode, SimNode, SimNode]
    for (let r = 0; r < 3; r++) await sim.round()
    const v1 = a.mesh.own!.rec.ver
    expect(c.mesh.directory.version(a.peerId)).toBe(v1)
    // c misses v2 (b does not pass it on), then gets the delta v2 → v3 on a base it lacks.
    b.behaviour = (msg, to) => (to === c && msg.type === 'discover' ? undefined : [msg])
    a.library.set(tracks('v2-', 4))
    await sim.settle()
    a.library.set(tracks('v3-', 5))
    await sim.settle()
    const v3 = a.mesh.directory.get(a.peerId)!
    expect(b.mesh.directory.version(a.peerId)).toBe(v3.rec.ver)
    expect(c.mesh.directory.version(a.peerId)).toBe(v1)
    const delta = v3.delta!
    expect(delta.base).not.toBe(v1)
    const sent = spy(c, b)
    const answered = spy(b, c)
    await c.mesh.receive(c.links.get(b.peerId)!, {
      type: 'discover',
      rec: v3.rec,
      mode: 'delta',
      base: delta.base,
      adds: delta.adds.length,
      page: 0,
      pages: 1,
      body: packEntries([...delta.adds, ...delta.dels]),
    })
    await sim.settle()
    expect(of(sent, 'peers-req').map((r) => r.have)).toContainEqual([[a.peerId, v1]])
    expect(of(answered, 'discover').some((m) => m.rec.ver === v3.rec.ver && m.mode === 'full')).toBe(true)
    expect(c.mesh.directory.get(a.peerId)?.tracks).toEqual(v3.tracks)
    expect(c.strikes.get(b.peerId) ?? 0).toBe(0)
  })
})
