import { describe, expect, it } from 'vitest'
import type { Track } from './catalog.ts'
import { Emitter } from './emitter.ts'
import type { LocalTracks } from './mesh-types.ts'
import { DcmxNode } from './node.ts'
import { nodeCrypto, testIdentity } from './testing/crypto.ts'
import { memoryLinkNetwork } from './testing/memory-link.ts'
import { simHash, simTrack } from './testing/mesh-sim.ts'
import { realClock, testSignaling } from './testing/ws-socket.ts'

/** A library whose track list counts how often it is read. */
class CountedTracks implements LocalTracks {
  readonly events = new Emitter<{ tracks: [] }>()
  reads = 0
  #tracks: Track[] = []
  get tracks(): Track[] {
    this.reads++
    return this.#tracks
  }
  add(track: Track) {
    this.#tracks = [...this.#tracks, track]
    this.events.emit('tracks')
  }
}

describe('DcmxNode local tracks', () => {
  it('does not re-index the library on every change: a batch import pays nothing per change until a track is looked up', async () => {
    const identity = await testIdentity()
    const local = new CountedTracks()
    // Never started: only the library's events reach the node (the mesh's publish is not listening).
    new DcmxNode({
      identity,
      crypto: nodeCrypto,
      clock: realClock,
      random: Math.random,
      signaling: testSignaling('ws://127.0.0.1:9/unused', 'index', identity.peerId),
      createLink: memoryLinkNetwork().factory(identity.peerId),
      local,
    })
    for (let i = 0; i < 100; i++) local.add(simTrack(simHash(`t${i}`)))
    expect(local.reads).toBe(0)
  })
})
