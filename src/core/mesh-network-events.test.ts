import { describe, expect, it } from 'vitest'
import { Mesh } from './mesh.ts'
import type { NetworkChange } from './mesh-types.ts'
import { FakeClock } from './testing/fake-clock.ts'
import {
  mulberry32,
  SimLibrary,
  simHash,
  simSha256,
  simSigner,
  simTrack,
  simVerifier,
} from './testing/mesh-sim.ts'

describe('Mesh network events', () => {
  it('tell the first change after a quiet spell in the next task, and coalesce what follows for 50 ms', async () => {
    const clock = new FakeClock()
    const [a, b, c] = ['a', 'b', 'c'].map((label) => simTrack(simHash(label)))
    const local = new SimLibrary()
    local.set([a!])
    const mesh = new Mesh({
      signer: simSigner(),
      sha256: simSha256,
      verify: simVerifier,
      clock,
      random: mulberry32(1),
      local,
      peers: () => [],
      strike: () => {},
    })
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
})
