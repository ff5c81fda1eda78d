import { describe, expect, it } from 'vitest'
import { Directory } from './directory.ts'
import type { GossipPeer } from './gossip.ts'
import { MAX_PER_SOURCE, PeerManager } from './peer-manager.ts'
import { FakeClock } from './testing/fake-clock.ts'
import { simSha256, simSigner, simVerifier } from './testing/mesh-sim.ts'
import { mulberry32 } from './testing/random.ts'
import { announcement, floodedGossip } from './testing/sybil.ts'
import type { SignedRecord, Wire, WireOf } from './wire.ts'

/**
 * The passive view under a hostile gossip partner: it takes only records the directory verified,
 * lets no one source fill it, and never stops the node from asking the server for a fresh sample.
 */

const SELF = 'f'.repeat(32)

/** A node's directory, gossip and passive view, wired as DcmxNode wires them. */
function node() {
  const clock = new FakeClock()
  const directory = new Directory({ self: SELF, clock, sha256: simSha256, verify: simVerifier })
  const passive = new PeerManager(SELF, mulberry32(3))
  const gossip = floodedGossip(directory, clock, (records, source) =>
    passive.heardFrom(source, records, clock.now()),
  )
  return { clock, directory, passive, gossip }
}

/** A gossip partner that answers every peers request with `peers` and pushes nothing. */
function liar(peers: SignedRecord[]): GossipPeer {
  return {
    peerId: 'e'.repeat(32),
    send: () => {},
    request: async () => {
      const res: WireOf<'peers-res'> = {
        type: 'peers-res',
        id: 0,
        peers: peers.map((rec) => ({ rec, seen: 0 })),
        want: [],
      }
      return res as Wire
    },
  }
}

describe('passive view', () => {
  it('a forged ttl-0 record in peers-res does not delete a stored peer', async () => {
    const { clock, directory, passive, gossip } = node()
    const alice = simSigner()
    const { rec } = await announcement([], { ver: clock.now(), ttl: 600 }, alice)
    expect(await directory.applyFull(rec, [])).toBe('applied')
    passive.linked({ peerId: alice.peerId, alg: rec.alg, publicKey: rec.key, lastSeen: clock.now() })
    // "Alice is leaving", newer than her record, with a signature that does not hold.
    const forged: SignedRecord = { ...rec, ver: rec.ver + 1, ttl: 0, count: 0 }
    const mallory = liar([forged])
    await gossip.linked(mallory, undefined)
    expect(passive.snapshot().map((p) => p.peerId)).toContain(alice.peerId)
  })

  it('takes only records the directory has verified', async () => {
    const { clock, passive, gossip } = node()
    const ghost = simSigner()
    const { rec } = await announcement([], { ver: clock.now(), ttl: 600 }, ghost)
    // Never announced to us, so never checked: a bare claim that this peer exists.
    await gossip.linked(liar([{ ...rec, sig: rec.sig.replace(/^./, 'A') }]), undefined)
    await gossip.linked(liar([rec]), undefined)
    expect(passive.size).toBe(0)
  })

  it('256 ghost ids from one source do not fill the view, and refill still asks for a sample', async () => {
    const { clock, passive } = node()
    const ghosts = await Promise.all(
      Array.from({ length: 256 }, async () => (await announcement([], { ver: clock.now(), ttl: 600 })).rec),
    )
    passive.heardFrom(
      'e'.repeat(32),
      ghosts.map((rec) => ({ rec, seenMs: 0 })),
      clock.now(),
    )
    expect(passive.size).toBeLessThanOrEqual(MAX_PER_SOURCE)
    // Even when those it could look up fill the room, a lookup that finds none of them means
    // the next refill asks the server for a fresh sample as well.
    const first = passive.refill(8, () => false)
    expect(first.lookup).toHaveLength(8)
    passive.found([])
    const second = passive.refill(8, () => false)
    expect(second.sample).toBe(true)
    // Ghosts that are never found stop being candidates (three misses each, eight per refill),
    // and are not saved for the next visit.
    for (let i = 0; i < (MAX_PER_SOURCE * 3) / 8; i++) {
      passive.found([])
      passive.refill(8, () => false)
    }
    expect(passive.candidates(300, () => false)).toEqual([])
    expect(passive.snapshot()).toEqual([])
  })
})
