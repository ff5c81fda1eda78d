import { describe, expect, it } from 'vitest'
import { MAX_PER_SOURCE } from './peer-manager.ts'
import { MeshSim, mulberry32, simHash, simTrack, type SimNode } from './testing/mesh-sim.ts'
import { announcement, freshEntries } from './testing/sybil.ts'
import type { SignedRecord, Wire, WireOf } from './wire.ts'

/**
 * A simulated mesh in which 10 % of the nodes are hostile and stay linked as long as they can:
 * Sybil floods (valid records of fresh identities with large track sets, long ttls), forged
 * records, ghost ids and forged goodbyes in peers answers, lying metadata. Honest nodes must still
 * converge on every honest track, keep at least one honest link each, and keep their directories
 * within the configured bounds; no ghost or forgery reaches a passive view.
 */

const N = 60
/** Bounds small enough for the flood to reach them within the run. */
const BOUNDS = { maxOrigins: 600, maxEntries: 6_000, maxTombstones: 600, establishedMs: 60_000 }

describe('a mesh with 10 % hostile nodes', { timeout: 180_000 }, () => {
  it('converges, keeps honest links and stays within its memory bounds', async () => {
    const sim = new MeshSim({ degree: 3, random: mulberry32(11), mesh: { directory: BOUNDS } })
    await sim.populate(N, (i) => (i < N / 10 ? [] : [simTrack(simHash(`honest-${i}`))]))
    await sim.warm()
    // The mesh has been up a while before the attack: its members are established.
    for (let r = 0; r < 8; r++) await sim.round()
    const hostile = sim.nodes.slice(0, N / 10)
    const honest = sim.nodes.slice(N / 10)
    const bad = new Set<SimNode>(hostile)

    // Sybils: valid records of fresh identities, 100 tracks each, valid for a day.
    const sybils: WireOf<'discover'>[] = []
    for (let i = 0; i < 1_500; i++) {
      const { frames } = await announcement(freshEntries(100), { ver: sim.clock.now(), ttl: 86_400 })
      sybils.push(frames[0]!)
    }
    let nextSybil = 0
    const flood = (msg: Wire): Wire[] =>
      msg.type === 'peers-req' ? [...sybils.slice(nextSybil, (nextSybil += 6)), msg] : [msg]
    // Ghosts: well-signed records nobody ever announced, and forged goodbyes of honest peers.
    const ghosts: SignedRecord[] = []
    for (let i = 0; i < 256; i++)
      ghosts.push((await announcement([], { ver: sim.clock.now(), ttl: 600 })).rec)
    const ghostIds = new Set(ghosts.map((g) => g.peer))
    let g = 0
    const ghostly = (msg: Wire): Wire[] => {
      if (msg.type !== 'peers-res') return [msg]
      const goodbye = (rec: SignedRecord): SignedRecord => ({ ...rec, ver: rec.ver + 1, ttl: 0, count: 0 })
      const fakes = ghosts.slice(g, (g += 24)).map((rec) => ({ rec, seen: 0 }))
      if (g >= ghosts.length) g = 0
      return [
        { ...msg, peers: [...fakes, ...msg.peers.map((p) => ({ ...p, rec: goodbye(p.rec) }))].slice(0, 32) },
      ]
    }
    // Liars about metadata: every size they relay is wrong.
    const lying = (msg: Wire): Wire[] =>
      msg.type === 'tracks-res'
        ? [{ ...msg, tracks: msg.tracks.map((t) => ({ ...t, size: t.size + 1 })) }]
        : [msg]
    // Forgers: other peers' records rewritten (their signatures no longer hold).
    const forging = (msg: Wire): Wire[] =>
      msg.type === 'discover' && !bad.has(sim.nodes.find((n) => n.peerId === msg.rec.peer)!)
        ? [{ ...msg, rec: { ...msg.rec, ttl: msg.rec.ttl + 1 } }]
        : [msg]
    const roles = [flood, flood, ghostly, lying, forging, forging]
    hostile.forEach((node, i) => (node.behaviour = roles[i]!))

    const source = honest[5]!
    const fresh = simHash('fresh')
    const withinBounds = () =>
      honest.every((n) => {
        const s = n.mesh.directory.stats
        return (
          s.origins <= BOUNDS.maxOrigins &&
          s.entries <= BOUNDS.maxEntries &&
          s.tombstones <= BOUNDS.maxTombstones
        )
      })
    let peakEntries = 0
    for (let r = 0; r < 14; r++) {
      if (r === 4) source.library.set([...source.library.tracks, simTrack(fresh)])
      await sim.round()
      expect(withinBounds()).toBe(true)
      peakEntries = Math.max(peakEntries, ...honest.map((n) => n.mesh.directory.stats.entries))
    }
    // The flood did reach the bound: this run tested it.
    expect(peakEntries).toBeGreaterThan(BOUNDS.maxEntries / 2)

    for (const node of honest) {
      // At least one honest link each.
      expect([...node.links.values()].some((l) => !bad.has(l.to))).toBe(true)
      // Every honest origin and track, the new one included.
      for (const other of honest) {
        for (const t of other.library.tracks)
          expect(node.mesh.directory.holders(t.contentHash).has(other.peerId)).toBe(true)
      }
      // Metadata is what the holders signed, whatever the liars relayed.
      for (const other of honest) {
        for (const t of other.library.tracks) {
          const meta = node.mesh.gossip.meta.get(t.contentHash)
          if (meta) expect(meta.size).toBe(t.size)
        }
      }
      // No ghost and no forged goodbye in the passive view; no source beyond its share.
      const passive = node.passive.snapshot().map((p) => p.peerId)
      expect(passive.filter((id) => ghostIds.has(id))).toEqual([])
    }
    // Nobody honest was banned; the forgers were, by their honest neighbours.
    expect(sim.bans.filter((b) => !bad.has(b.other))).toEqual([])
    for (const forger of hostile.slice(4)) expect(sim.bans.some((b) => b.other === forger)).toBe(true)
    expect(MAX_PER_SOURCE).toBeLessThan(256)
  })
})
