import { describe, expect, it } from 'vitest'
import { Directory } from './directory.ts'
import { DEFAULT_INTAKE_CONFIG } from './intake.ts'
import { FakeClock } from './testing/fake-clock.ts'
import { simSha256, simVerifier } from './testing/mesh-sim.ts'
import { announcement, floodedGossip, rawAnnouncement, silentLink } from './testing/sybil.ts'
import { ENTRY_BYTES, type Wire } from './wire.ts'

/** Per-link quotas on what one link may add to the directory: new origins and announcement bytes per minute. */

function setup() {
  const clock = new FakeClock()
  const directory = new Directory({ self: 'f'.repeat(32), clock, sha256: simSha256, verify: simVerifier })
  return { clock, directory, gossip: floodedGossip(directory, clock), link: silentLink }
}

describe('per-link intake quotas', () => {
  it('lets one link introduce a bounded number of new origins a minute, then more as time passes', async () => {
    const { clock, directory, gossip, link } = setup()
    const sybil = link(1)
    const burst = DEFAULT_INTAKE_CONFIG.newOriginsPerMin * 2
    for (let i = 0; i < burst; i++) {
      const { frames } = await announcement([], { ver: clock.now(), ttl: 600 })
      await gossip.receive(sybil, frames[0] as Wire)
    }
    expect(directory.size).toBe(DEFAULT_INTAKE_CONFIG.newOriginsPerMin)
    // Another link is not held back by the first one's quota.
    const { frames } = await announcement([], { ver: clock.now(), ttl: 600 })
    await gossip.receive(link(2), frames[0] as Wire)
    expect(directory.size).toBe(DEFAULT_INTAKE_CONFIG.newOriginsPerMin + 1)
    await clock.advance(30_000)
    for (let i = 0; i < burst; i++) {
      const { frames } = await announcement([], { ver: clock.now(), ttl: 600 })
      await gossip.receive(sybil, frames[0] as Wire)
    }
    expect(directory.size).toBe(DEFAULT_INTAKE_CONFIG.newOriginsPerMin * 1.5 + 1)
  })

  it('caps the announcement bytes one link may send a minute', { timeout: 60_000 }, async () => {
    const { clock, directory, gossip, link } = setup()
    const sybil = link(1)
    let offered = 0
    for (let i = 0; i < 20; i++) {
      const { frames } = await rawAnnouncement(14_400, { ver: clock.now(), ttl: 600 })
      for (const frame of frames) {
        offered += frame.body?.length ?? 0
        await gossip.receive(sybil, frame as Wire)
      }
    }
    expect(offered).toBeGreaterThan(DEFAULT_INTAKE_CONFIG.announceBytesPerMin * 2)
    // Sets arrive whole or not at all: what was admitted is at most a minute's worth.
    expect(directory.stats.entries * ENTRY_BYTES).toBeLessThanOrEqual(
      DEFAULT_INTAKE_CONFIG.announceBytesPerMin,
    )
    expect(directory.size).toBeGreaterThan(0)
  })
})
