import { describe, expect, it } from 'vitest'
import type { StoredPeer } from './mesh-types.ts'
import { PASSIVE_LIMIT, PeerManager } from './peer-manager.ts'
import { mulberry32 } from './testing/mesh-sim.ts'
import type { SignedRecord } from './wire.ts'

const SELF = 'f'.repeat(32)
const id = (n: number) => n.toString(16).padStart(32, '0')

const stored = (n: number, extra: Partial<StoredPeer> = {}): StoredPeer => ({
  peerId: id(n),
  alg: 'Ed25519',
  publicKey: `key${n}`,
  lastSeen: 1_000 + n,
  failures: 0,
  ...extra,
})

const record = (n: number, ttl = 180): SignedRecord => ({
  peer: id(n),
  alg: 'ECDSA-P256',
  key: `key${n}`,
  ver: 1,
  ttl,
  root: '0'.repeat(64),
  count: 0,
  sig: 'AA==',
})

const manager = (seed = 1) => new PeerManager(SELF, mulberry32(seed))

describe('PeerManager', () => {
  it('offers peers with fewer failures first, then lower RTT', () => {
    const pm = manager()
    pm.restore([
      stored(1, { rttMs: 400 }),
      stored(2, { rttMs: 20 }),
      stored(3, { rttMs: 5, failures: 1 }),
      stored(4), // RTT unknown: ranked as an average peer
      stored(5, { rttMs: 60, failures: 2 }),
    ])
    expect(pm.candidates(10, () => false)).toEqual([id(2), id(4), id(1), id(3), id(5)])
    expect(pm.candidates(2, () => false)).toEqual([id(2), id(4)])
  })

  it('leaves out linked or banned peers, itself, and peers that failed too often', () => {
    const pm = manager()
    pm.restore([stored(1), stored(2), stored(3), { ...stored(0), peerId: SELF }])
    for (let i = 0; i < 3; i++) pm.failed(id(3))
    const linkedOrBanned = new Set([id(1)])
    expect(pm.candidates(10, (p) => linkedOrBanned.has(p))).toEqual([id(2)])
    // Fresh news of a failed peer gives it another chance.
    pm.heard(record(3), 5_000)
    expect(pm.candidates(10, (p) => linkedOrBanned.has(p)).sort()).toEqual([id(2), id(3)])
  })

  it('breaks ties at random, so nodes do not all dial the same peer', () => {
    const peers = Array.from({ length: 8 }, (_, i) => stored(i + 1, { rttMs: 100 }))
    const firsts = new Set<string>()
    for (let seed = 1; seed <= 20; seed++) {
      const pm = manager(seed)
      pm.restore(peers)
      firsts.add(pm.candidates(1, () => false)[0]!)
    }
    expect(firsts.size).toBeGreaterThan(3)
  })

  it('round-trips through snapshot and restore', () => {
    const pm = manager()
    const peers = [stored(1, { rttMs: 40 }), stored(2, { failures: 2 }), stored(3)]
    pm.restore(peers)
    const again = manager()
    again.restore(pm.snapshot())
    expect(again.snapshot()).toEqual(pm.snapshot())
    expect(new Set(again.snapshot())).toEqual(new Set(peers))
    // Most recently seen first.
    expect(pm.snapshot().map((p) => p.peerId)).toEqual([id(3), id(2), id(1)])
    // A snapshot is a copy, not a view.
    pm.snapshot()[0]!.failures = 99
    expect(pm.snapshot()[0]!.failures).toBe(0)
  })

  it('does not let an old snapshot overwrite what it has heard since', () => {
    const pm = manager()
    pm.heard(record(1), 9_000)
    pm.linked({ peerId: id(2), alg: 'Ed25519', publicKey: 'key2', lastSeen: 9_000, rttMs: 30 })
    // The stored set loads late (it is read asynchronously at start-up).
    pm.restore([stored(1, { lastSeen: 10, failures: 2 }), stored(2, { lastSeen: 10, rttMs: 900 })])
    const byId = new Map(pm.snapshot().map((p) => [p.peerId, p]))
    expect(byId.get(id(1))).toMatchObject({ lastSeen: 9_000, failures: 0 })
    expect(byId.get(id(2))).toMatchObject({ lastSeen: 9_000, rttMs: 30 })
  })

  it('forgets a peer that said goodbye, and keeps news only if it is newer', () => {
    const pm = manager()
    pm.heard(record(1), 5_000)
    pm.heard(record(1), 4_000)
    expect(pm.snapshot()[0]!.lastSeen).toBe(5_000)
    pm.heard(record(1, 0), 6_000)
    expect(pm.size).toBe(0)
    pm.heard({ ...record(2), peer: SELF }, 6_000)
    expect(pm.size).toBe(0)
  })

  it(`keeps at most ${PASSIVE_LIMIT} peers, the most recently seen`, () => {
    const pm = manager()
    pm.restore(Array.from({ length: PASSIVE_LIMIT + 50 }, (_, i) => stored(i + 1)))
    for (let i = 0; i < 20; i++) pm.heard(record(10_000 + i), 100_000 + i)
    expect(pm.size).toBe(PASSIVE_LIMIT)
    expect(pm.snapshot()).toHaveLength(PASSIVE_LIMIT)
    const kept = new Set(pm.snapshot().map((p) => p.peerId))
    for (let i = 0; i < 20; i++) expect(kept.has(id(10_000 + i))).toBe(true)
    // The oldest went first.
    expect(kept.has(id(1))).toBe(false)
    expect(kept.has(id(PASSIVE_LIMIT + 50))).toBe(true)
  })
})
