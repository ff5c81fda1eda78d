import { describe, expect, it } from 'vitest'
import type { NetworkChange } from './mesh-types.ts'
import { FakeClock } from './testing/fake-clock.ts'
import { encodeWire } from './wire.ts'
import { MeshSim, lonelyMesh, SimLibrary, simHash, simTrack } from './testing/mesh-sim.ts'

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

  it('tell a first link’s titles in the next task, not at the end of its holder counts’ period', async () => {
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
    // A's holder counts are told at once (their rows say "details pending")…
    expect(changes).toEqual([{ at: 0, described: false }])
    expect(held).toHaveLength(1)
    sim.clock.advance(10)
    for (const frame of held.splice(0)) b.links.get(a.peerId)!.deliver(frame)
    await sim.settle()
    sim.clock.advance(0)
    // …and its titles as soon as they are checked, not 50 ms after the counts.
    expect(changes).toEqual([
      { at: 0, described: false },
      { at: 10, described: true },
    ])
    await Promise.all([a.mesh.stop(), b.mesh.stop()])
  })
})
