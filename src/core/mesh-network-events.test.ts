import { describe, expect, it } from 'vitest'
import type { NetworkChange } from './mesh-types.ts'
import { FakeClock } from './testing/fake-clock.ts'
import { encodeWire } from './wire.ts'
import { META_HOLD_MS } from './mesh.ts'
import { MeshSim, lonelyMesh, SimLibrary, simHash, simTrack } from './testing/mesh-sim.ts'

/** How far the sim's delivery and the 5 ms steps may move a change in time. */
const NETWORK_SLACK_MS = 60

describe('Mesh network events', () => {
  it('tell the first change after a quiet spell in the next task, and coalesce what follows for 50 ms', async () => {
    const clock = new FakeClock()
    const [a, b, c] = ['a', 'b', 'c'].map((label) => simTrack(simHash(label)))
    const local = new SimLibrary()
    local.set([a!])
    const mesh = lonelyMesh(clock, local)
    const changes: NetworkChange[] = []
    mesh.events.on('network', (change) => changes.push(change))
    await mesh.start('manual')
    // The first change (a node's first tracks, or a first link's) waits for no coalescing period.
    await clock.advance(0)
    expect(changes).toEqual(['all'])

    // Changes right after it are held until 50 ms after it, and told as one.
    local.set([a!, b!])
    await clock.advance(10)
    local.set([a!, b!, c!])
    await clock.advance(39)
    expect(changes).toHaveLength(1)
    await clock.advance(1)
    expect(changes).toHaveLength(2)
    expect(changes[1]).toEqual({ hashes: expect.arrayContaining([b!.contentHash, c!.contentHash]) })

    // After a quiet spell, the next change goes out at once again.
    await clock.advance(500)
    local.set([a!])
    await clock.advance(0)
    expect(changes).toHaveLength(3)
    expect(changes[2]).toEqual({ hashes: expect.arrayContaining([b!.contentHash, c!.contentHash]) })
    await mesh.stop()
  })

  it('tell a first link’s rows once, with their titles, as soon as the titles are checked', async () => {
    const sim = new MeshSim({ degree: 0 })
    await sim.populate(2, (i) => (i === 0 ? [simTrack(simHash('t0'), 'Zero'), simTrack(simHash('t1'))] : []))
    const [a, b] = sim.nodes as [(typeof sim.nodes)[0], (typeof sim.nodes)[0]]
    // A's metadata answer is held back: it lands 10 ms after its record, as a round trip does.
    const held: Uint8Array[] = []
    a.behaviour = (msg) => (msg.type === 'tracks-res' ? (held.push(encodeWire(msg)), []) : [msg])
    const changes: { at: number; described: boolean }[] = []
    const start = sim.clock.now()
    b.mesh.events.on('network', () =>
      changes.push({
        at: sim.clock.now() - start,
        described: b.mesh.network.length === 2 && b.mesh.network.every((t) => t.described),
      }),
    )
    await sim.clock.advance(0)
    changes.length = 0
    void a.mesh.linked(a.links.get(b.peerId)!)
    void b.mesh.linked(b.links.get(a.peerId)!)
    await sim.settle()
    sim.clock.advance(0)
    // A's holder counts wait for the titles already asked for (rows of bare hashes would be
    // rendered, then rendered again a round trip later)…
    expect(changes).toEqual([])
    expect(held).toHaveLength(1)
    sim.clock.advance(10)
    for (const frame of held.splice(0)) b.links.get(a.peerId)!.deliver(frame)
    await sim.settle()
    sim.clock.advance(0)
    // …and go out with them as soon as they are checked.
    expect(changes).toEqual([{ at: 10, described: true }])
    await Promise.all([a.mesh.stop(), b.mesh.stop()])
  })

  it('tell a first link’s rows without titles once META_HOLD_MS has passed and the titles have not come', async () => {
    const sim = new MeshSim({ degree: 0 })
    await sim.populate(2, (i) => (i === 0 ? [simTrack(simHash('t0'), 'Zero')] : []))
    const [a, b] = sim.nodes as [(typeof sim.nodes)[0], (typeof sim.nodes)[0]]
    // A never answers the metadata request (a lost message, a slow holder).
    a.behaviour = (msg) => (msg.type === 'tracks-res' ? [] : [msg])
    await sim.clock.advance(0)
    const changes: { at: number; listed: number; described: boolean }[] = []
    b.mesh.events.on('network', () =>
      changes.push({
        at: sim.clock.now(),
        listed: b.mesh.network.length,
        described: b.mesh.network.some((t) => t.described),
      }),
    )
    void a.mesh.linked(a.links.get(b.peerId)!)
    void b.mesh.linked(b.links.get(a.peerId)!)
    // From the moment B holds A's record (its counts are known)…
    for (let t = 0; t < 1_000 && !b.mesh.directory.get(a.peerId); t++) await sim.clock.advance(1)
    const askedAt = sim.clock.now()
    expect(b.mesh.directory.get(a.peerId)).toBeDefined()
    for (let t = 0; t < 2_000 && changes.length === 0; t += 5) await sim.clock.advance(5)
    // Held for the titles (not told as soon as the counts were in), then told without them.
    expect(changes).toEqual([{ at: expect.any(Number), listed: 1, described: false }])
    const heldMs = changes[0]!.at - askedAt
    expect(heldMs).toBeGreaterThanOrEqual(META_HOLD_MS - NETWORK_SLACK_MS)
    expect(heldMs).toBeLessThanOrEqual(META_HOLD_MS + NETWORK_SLACK_MS)
    await Promise.all([a.mesh.stop(), b.mesh.stop()])
  })
})
