import { describe, expect, it } from 'vitest'
import { packEntries, trackSetRoot } from './records.ts'
import { MeshSim, mulberry32, simHash, simSha256, simTrack, type SimNode } from './testing/mesh-sim.ts'
import { encodeWire, MAX_FRAME, type Wire } from './wire.ts'

/**
 * Bad actors in a warm simulated mesh: one forges other peers' announcements, one sends malformed
 * and oversized frames, one floods. Each is cut off and banned by every honest neighbour; honest
 * nodes keep every link among themselves and still agree on who holds what.
 */

const N = 60
const FAKE = simHash('a track nobody has')

describe('mesh under attack', { timeout: 60_000 }, () => {
  it('cuts off forgers, senders of garbage and flooders, and converges without them', async () => {
    const sim = new MeshSim({ degree: 3, random: mulberry32(99) })
    // The bad nodes are ordinary members (valid records) with no tracks of their own.
    await sim.populate(N, (i) => (i < 3 ? [] : [simTrack(simHash(`honest-${i}`))]))
    await sim.warm()
    const [forger, garbler, flooder] = sim.nodes as [SimNode, SimNode, SimNode]
    const bad = new Set<SimNode>([forger, garbler, flooder])
    const honest = sim.nodes.filter((n) => !bad.has(n))
    const honestLinks = new Set<string>()
    for (const a of honest)
      for (const b of a.links.values()) if (!bad.has(b.to)) honestLinks.add(a.peerId + b.peerId)
    const badNeighbours = new Map(
      [...bad].map((b) => [b, [...b.links.values()].map((p) => p.to).filter((n) => !bad.has(n))]),
    )

    // Other peers' track lists, rewritten: alternately with the root left alone (it no longer
    // matches) and with root and count fixed up to the fake list (the signature no longer holds).
    const fakeRoot = await trackSetRoot(simSha256, [[FAKE, FAKE]])
    let lie = 0
    forger.behaviour = (msg) => {
      if (msg.type !== 'discover' || msg.rec.peer === forger.peerId) return [msg]
      const body = packEntries([[FAKE, FAKE]])
      if (msg.mode === 'delta') return [{ ...msg, adds: 1, body }]
      const rec = lie++ % 2 ? msg.rec : { ...msg.rec, root: fakeRoot, count: 1 }
      return [{ ...msg, rec, page: 0, pages: 1, body }]
    }
    // Frames no encoder would make: random bytes, another version, a header past the end,
    // a header over its type's cap, a frame over the size cap.
    const rand = mulberry32(5)
    const garbage = [
      () => new Uint8Array(40).map(() => Math.floor(rand() * 256)),
      () => encodeWire({ type: 'ping', id: 1 }).map((b, i) => (i === 0 ? 2 : b)),
      () => encodeWire({ type: 'peers-req', id: 1, have: [], max: 1 }).subarray(0, 10),
      () => {
        const frame = new Uint8Array(4 + 9_000)
        frame.set([1, 6, 9_000 >> 8, 9_000 & 0xff])
        return frame
      },
      () => new Uint8Array(MAX_FRAME + 1),
    ]
    let g = 0
    garbler.behaviour = (msg) => [msg, garbage[g++ % garbage.length]!()]
    // Hundreds of frames per round on every link: replays of its own record (each one cheap to
    // refuse, but the budget counts frames, not their worth).
    const own = flooder.mesh.own!
    const replay: Wire = { type: 'discover', rec: own.rec, mode: 'full', adds: 0, page: 0, pages: 1 }
    flooder.behaviour = (msg) => [msg, ...Array<Wire>(150).fill(replay)]

    // Meanwhile an honest node publishes a new track.
    const source = honest[7]!
    const fresh = simHash('fresh')
    source.library.set([...source.library.tracks, simTrack(fresh)])
    let rounds = 0
    const cutOff = () => [...bad].every((b) => badNeighbours.get(b)!.every((n) => !n.links.has(b.peerId)))
    while (!cutOff() && rounds < 20) {
      await sim.round()
      rounds++
    }
    expect(cutOff()).toBe(true)
    for (let r = 0; r < 4; r++) await sim.round()

    // Every honest neighbour banned each bad node, for what it did; nobody honest was banned.
    for (const [node, neighbours] of badNeighbours) {
      const by = new Set(sim.bans.filter((b) => b.other === node).map((b) => b.by))
      for (const n of neighbours) expect(by.has(n)).toBe(true)
    }
    expect(sim.bans.filter((b) => !bad.has(b.other))).toEqual([])
    const reasons = (node: SimNode) =>
      new Set(sim.bans.filter((b) => b.other === node).map((b) => b.reason.split(':')[0]))
    expect([...reasons(forger)].every((r) => /forged|does not match/.test(r!))).toBe(true)
    expect(reasons(garbler)).toEqual(new Set(['malformed frame']))
    expect(reasons(flooder)).toEqual(new Set(['flooding']))
    expect(badNeighbours.get(flooder)!.every((n) => (n.mesh.received['throttled']?.messages ?? 0) > 0)).toBe(
      true,
    )

    // Honest links all stand; honest nodes agree on every honest track and never heard the fake.
    for (const a of honest) for (const b of a.links.values()) honestLinks.delete(a.peerId + b.peerId)
    expect(honestLinks.size).toBe(0)
    for (const node of honest) {
      for (const other of honest) {
        for (const t of other.library.tracks)
          expect(node.mesh.directory.holders(t.contentHash).has(other.peerId)).toBe(true)
      }
      expect(node.mesh.directory.holders(FAKE).size).toBe(0)
      expect(node.mesh.directory.holders(fresh).has(source.peerId)).toBe(true)
    }
  })
})
