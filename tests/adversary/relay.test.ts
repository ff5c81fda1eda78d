/**
 * Relay as a weapon: many senders flooding one member that stopped reading, and one sender spamming
 * one recipient. Relaying must never get a member disconnected; excess relays are dropped and counted.
 */
import { afterEach, describe, expect, it } from 'vitest'
import {
  ATTACKER,
  expectServerHealthy,
  member,
  HONEST,
  metric,
  peerId,
  startTarget,
  stopAll,
} from './harness.ts'

afterEach(stopAll)

/** An offer as large as the protocol allows (12 KiB of SDP, nothing JSON must escape). */
const BIG_OFFER = { type: 'offer', sdp: `v=0 ${'a'.repeat(12 * 1024 - 4)}` }

describe('relay flood against a paused reader', () => {
  it('keeps a member that stopped reading connected while 20 sockets send it 12 KiB offers for 5 s', async () => {
    const target = await startTarget()
    const victim = await member(target, HONEST, 'r')
    victim.ws.pause()
    const attackers = await Promise.all(Array.from({ length: 20 }, () => member(target, ATTACKER, 'r')))
    const until = performance.now() + 5_000
    while (performance.now() < until) {
      for (const a of attackers)
        if (a.isOpen()) a.send({ type: 'signal', to: victim.session, data: BIG_OFFER })
      await new Promise((r) => setTimeout(r, 60))
    }
    // Reading again, it finds its socket still open (a server-side cut would show as a close now).
    victim.ws.resume()
    await new Promise((r) => setTimeout(r, 500))
    expect(victim.isOpen()).toBe(true)
    const late = await member(target, HONEST, 'r2')
    victim.send({ type: 'join', room: 'r2', peerId: peerId() })
    for (;;) if ((await victim.next(10_000)).type === 'joined') break
    late.send({ type: 'signal', to: victim.session, data: { type: 'offer', sdp: 'v=0\r\n' } })
    for (;;) {
      const m = await victim.next(10_000)
      if (m.type === 'signal' && m.from.session === late.session) break
    }
    expect(victim.isOpen()).toBe(true)
    expect(
      await metric(target, 'dcmx_signaling_relays_dropped_total{reason="recipient_busy"}'),
    ).toBeGreaterThan(0)
    await expectServerHealthy(target)
  }, 30_000)
})

describe('one sender spamming one recipient', () => {
  it('delivers at most the pair budget and drops (and counts) the rest', async () => {
    const target = await startTarget()
    const victim = await member(target, HONEST, 'r')
    const spammer = await member(target, ATTACKER, 'r')
    const candidate = {
      type: 'candidate',
      candidate: { candidate: 'candidate:1 1 udp 1 192.0.2.1 9 typ host' },
    }
    for (let i = 0; i < 110; i++) spammer.send({ type: 'signal', to: victim.session, data: candidate })
    let delivered = 0
    for (;;) {
      try {
        if ((await victim.next(500)).type === 'signal') delivered++
      } catch {
        break
      }
    }
    expect(delivered).toBeLessThanOrEqual(60)
    expect(await metric(target, 'dcmx_signaling_relays_dropped_total{reason="pair_budget"}')).toBeGreaterThan(
      40,
    )
    expect(spammer.isOpen()).toBe(true)
    await expectServerHealthy(target)
  })
})
