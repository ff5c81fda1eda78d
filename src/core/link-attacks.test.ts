import { describe, expect, it } from 'vitest'
import { DcmxError } from './errors.ts'
import { DEFAULT_SESSION_CONFIG, PeerSession, type SessionConfig } from './peer-session.ts'
import { Reputation } from './reputation.ts'
import { nodeCrypto, testIdentity } from './testing/crypto.ts'
import { FakeClock, settle, waitFor } from './testing/fake-clock.ts'
import { HostilePeer, relay } from './testing/hostile-peer.ts'
import { linkPair, type MemoryLink } from './testing/memory-link.ts'
import { MeshSim, simHash, simTrack, type SimNode } from './testing/mesh-sim.ts'
import type { Identity } from './identity.ts'
import { encodeWire } from './wire.ts'

/**
 * Attacks on one link, by a hostile peer that completed the handshake honestly (or sits in the
 * middle): each of these worked against the session before the link layer was rebuilt.
 */

const config: SessionConfig = { ...DEFAULT_SESSION_CONFIG, pingIntervalMs: 1000, deadAfterMs: 3500 }

type Victim = {
  s: PeerSession
  closed: { reason: string; rejected: boolean }[]
  reputation: Reputation
  devLog: string[]
}

function victim(link: MemoryLink, identity: Identity, clock: FakeClock, expectedPeerId?: string): Victim {
  const reputation = new Reputation(clock)
  const closed: Victim['closed'] = []
  const devLog: string[] = []
  const s = new PeerSession(link, {
    log: (namespace, message) => devLog.push(`${namespace} ${message}`),
    identity,
    crypto: nodeCrypto,
    clock,
    random: () => 0.5,
    config,
    reputation,
    session: 'victim-side',
    ...(expectedPeerId ? { expectedPeerId } : {}),
  })
  s.events.on('closed', (reason, rejected) => closed.push({ reason, rejected }))
  return { s, closed, reputation, devLog }
}

async function hostilePair() {
  const clock = new FakeClock()
  const [lv, lh] = linkPair()
  const [iv, ih] = await Promise.all([testIdentity(), testIdentity()])
  const v = victim(lv, iv, clock, ih.peerId)
  const h = new HostilePeer(lh, ih, clock, { expectedPeerId: iv.peerId })
  await waitFor(() => v.s.state === 'connected' && h.connected)
  return { clock, v, h, lv, lh, iv, ih }
}

describe('a hostile peer on one link', () => {
  it('one throwing handler costs one strike; the link keeps answering pings', async () => {
    const { v, h, ih } = await hostilePair()
    let calls = 0
    v.s.onMessage = async () => {
      calls++
      throw new Error('handler bug')
    }
    await h.send({ type: 'peers-req', id: 1, have: [], max: 1 })
    await settle()
    expect(calls).toBe(1)
    // Both directions still work: the victim answers the hostile's ping and reads its pongs.
    const [fromHostile, fromVictim] = await Promise.all([h.session.ping(), v.s.ping(), settle()])
    expect(fromHostile.rttMs).toBeGreaterThanOrEqual(0)
    expect(fromVictim.rttMs).toBeGreaterThanOrEqual(0)
    expect(v.s.state).toBe('connected')
    expect(v.reputation.score(ih.peerId)).toBeCloseTo(1)
    expect(v.devLog).toEqual(['dcmx:link:victim-side handling peers-req failed'])
  })

  it('strikes decay over a link’s life: a rare malformed frame never closes it', async () => {
    const { v, h, clock } = await hostilePair()
    for (let i = 0; i < 6; i++) {
      await h.sendRaw(new Uint8Array([1, 99, 0, 0]))
      await clock.advance(20 * 60_000)
    }
    expect(v.s.state).toBe('connected')
  })

  it('throttled frames decay too: spaced bursts over budget never close a link', async () => {
    const { v, h, clock } = await hostilePair()
    const ping = encodeWire({ type: 'ping', id: 9 })
    for (let burst = 0; burst < 4; burst++) {
      // The bucket holds messageBurst; the rest of the burst is dropped unread.
      for (let i = 0; i < config.rate.messageBurst + config.maxThrottled * 0.6; i++) await h.sendRaw(ping)
      await settle()
      await clock.advance(20 * 60_000)
    }
    expect(v.s.state).toBe('connected')
  })

  it('a piece header cannot make the receiver allocate more than the piece it asked for', async () => {
    const { v, h, ih } = await hostilePair()
    const before = process.memoryUsage().arrayBuffers
    const asked = Array.from({ length: 8 }, (_, i) => v.s.fetchPiece('ab'.repeat(32), i, 262_144))
    for (const p of asked) p.catch(() => {})
    await settle()
    // Eight 65-byte frames, each claiming a 16 MiB piece.
    for (let id = 1; id <= 8; id++) {
      await h.send({
        type: 'content-piece',
        id,
        offset: 0,
        length: 16 * 1024 * 1024,
        body: new Uint8Array(1),
      })
    }
    await settle()
    const outcomes = await Promise.allSettled(asked)
    expect(outcomes.every((o) => o.status === 'rejected')).toBe(true)
    const first = outcomes[0] as PromiseRejectedResult
    expect(first.reason).toBeInstanceOf(DcmxError)
    expect((first.reason as DcmxError).code).toBe('BAD_MESSAGE')
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(8 * 1024 * 1024)
    expect(v.reputation.isBanned(ih.peerId)).toBe(true)
  })

  it('unsolicited piece frames are charged and struck, and before the handshake close the link', async () => {
    const { v, h, ih } = await hostilePair()
    const piece = {
      type: 'content-piece',
      id: 77,
      offset: 0,
      length: 100,
      body: new Uint8Array(100),
    } as const
    for (let i = 0; i < 3; i++) await h.send(piece)
    await settle()
    expect(v.s.state).toBe('closed')
    expect(v.reputation.isBanned(ih.peerId)).toBe(true)

    // Before any proof: one piece frame closes the link, charged to the session, not the claimed id.
    const clock = new FakeClock()
    const iv = await testIdentity()
    const [lv, lh] = linkPair()
    const early = victim(lv, iv, clock, ih.peerId)
    lh.events.on('open', () => void lh.send(encodeWire(piece)))
    await waitFor(() => early.s.state === 'closed')
    expect(early.closed[0]?.reason).toMatch(/before identity proof/)
    expect(early.reputation.isBanned(ih.peerId)).toBe(false)
    expect(early.reputation.isBanned({ session: 'victim-side' })).toBe(true)
  })

  it('60 KiB pings from a peer that does not read: queued bytes stay under the budget, then it is closed', async () => {
    const { v, h, lv, clock } = await hostilePair()
    h.stallReads()
    let peak = 0
    for (let i = 0; i < 200 && v.s.state === 'connected'; i++) {
      await h.send({ type: 'ping', id: i, body: new Uint8Array(60 * 1024) })
      // Slowly enough to stay within the victim's inbound budget: every ping is read and answered.
      await clock.advance(50)
      peak = Math.max(peak, lv.waiting + lv.bufferedAmount)
    }
    await settle()
    expect(v.s.state).toBe('closed')
    expect(v.closed[0]?.reason).toMatch(/slow reader/)
    expect(v.closed[0]?.rejected).toBe(false)
    expect(peak).toBeLessThanOrEqual(config.outboundBudget)
  })

  it('a relay terminating two links ends with "identity proof failed" on both', async () => {
    const clock = new FakeClock()
    const [la, relayA] = linkPair()
    const [relayB, lb] = linkPair()
    const stats = relay(relayA, relayB)
    const [ia, ib] = await Promise.all([testIdentity(), testIdentity()])
    const a = victim(la, ia, clock, ib.peerId)
    const b = victim(lb, ib, clock, ia.peerId)
    await waitFor(() => a.closed.length > 0 && b.closed.length > 0)
    expect(stats.frames).toBeGreaterThan(0)
    expect(a.closed[0]).toEqual({ reason: 'identity proof failed', rejected: true })
    expect(b.closed[0]).toEqual({ reason: 'identity proof failed', rejected: true })
  })
})

describe('a throwing handler in the simulator', () => {
  it('costs one strike there too: the simulated link keeps carrying gossip', async () => {
    const sim = new MeshSim({ degree: 0 })
    await sim.populate(2)
    const [a, b] = sim.nodes as [SimNode, SimNode]
    for (const node of sim.nodes) for (const peer of node.links.values()) void node.mesh.linked(peer)
    await sim.settle()
    const receive = b.mesh.receive.bind(b.mesh)
    let thrown = 0
    b.mesh.receive = async (peer, msg) => {
      if (thrown++ === 0) throw new Error('handler bug')
      return receive(peer, msg)
    }
    a.library.set([simTrack(simHash('after the bug'))])
    await sim.settle()
    for (let r = 0; r < 3; r++) await sim.round()
    expect(b.mesh.directory.holders(simHash('after the bug')).has(a.peerId)).toBe(true)
    expect(b.strikes.get(a.peerId)).toBe(1)
    expect(b.links.has(a.peerId)).toBe(true)
  })
})
