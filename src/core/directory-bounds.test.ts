import { runInNewContext } from 'node:vm'
import { setFlagsFromString } from 'node:v8'
import { describe, expect, it } from 'vitest'
import { Directory, type DirectoryConfig } from './directory.ts'
import { FakeClock } from './testing/fake-clock.ts'
import { simSha256, simSigner, simVerifier } from './testing/mesh-sim.ts'
import { announcement, floodedGossip, freshEntries, rawAnnouncement, silentLink } from './testing/sybil.ts'
import type { TrackEntry } from './records.ts'
import type { Wire } from './wire.ts'

/**
 * What a directory holds whatever its peers send: Sybil floods, long-ttl records meant to flush
 * honest ones, future-dated versions, tombstone churn. Signatures are the simulator's (cheap, but
 * unforgeable without the key), so tens of thousands of valid records cost seconds.
 */

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const SELF = 'f'.repeat(32)

function directory(
  clock: FakeClock,
  config: Partial<DirectoryConfig> = {},
  standing?: (id: string) => number,
) {
  return new Directory({
    self: SELF,
    clock,
    sha256: simSha256,
    verify: simVerifier,
    config,
    ...(standing ? { standing } : {}),
  })
}

async function record(
  dir: Directory,
  clock: FakeClock,
  hashes: TrackEntry[],
  ttl = 180,
  signer = simSigner(),
) {
  const { rec } = await announcement(hashes, { ver: clock.now(), ttl }, signer)
  return { signer, outcome: await dir.applyFull(rec, hashes) }
}

function heapUsed(): number {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

describe('directory bounds', { timeout: 240_000 }, () => {
  it('refuses a record dated beyond now + skew (it could be replayed once its tombstone lapsed)', async () => {
    const clock = new FakeClock()
    const dir = directory(clock, { maxSkewMs: 60_000 })
    const signer = simSigner()
    const future = await announcement([], { ver: clock.now() + 60_001, ttl: 180 }, signer)
    expect(await dir.applyFull(future.rec, [])).toBe('future')
    expect(dir.get(signer.peerId)).toBeUndefined()
    expect(dir.isNewer(future.rec)).toBe(false)
    // Within the skew a peer whose clock runs ahead is still heard.
    const ahead = await announcement([], { ver: clock.now() + 59_000, ttl: 180 }, signer)
    expect(await dir.applyFull(ahead.rec, [])).toBe('applied')
  })

  it('keeps an evicted record’s tombstone until that record could no longer be replayed', async () => {
    const clock = new FakeClock()
    const dir = directory(clock, { maxOrigins: 2, tombstoneMs: 60_000, maxSkewMs: 60_000 })
    const victim = simSigner()
    const { rec } = await announcement([], { ver: clock.now(), ttl: 3_600 }, victim)
    await dir.applyFull(rec, [])
    await clock.advance(1_000)
    await record(dir, clock, [])
    await record(dir, clock, [])
    expect(dir.get(victim.peerId)).toBeUndefined()
    // Past the tombstone's own lifetime, but well within the record's validity.
    await clock.advance(30 * 60_000)
    dir.expire()
    expect(await dir.applyFull(rec, [])).toBe('stale')
  })

  it('caps tombstones', async () => {
    const clock = new FakeClock()
    const dir = directory(clock, { maxOrigins: 100, maxTombstones: 50 })
    for (let i = 0; i < 1_000; i++) {
      await record(dir, clock, [])
      await clock.advance(10)
    }
    expect(dir.size).toBeLessThanOrEqual(100)
    expect(dir.stats.tombstones).toBeLessThanOrEqual(50)
  })

  it('keeps all 200 honest origins through 20,000 long-ttl Sybil records', async () => {
    const clock = new FakeClock()
    const dir = directory(clock)
    const honest = Array.from({ length: 200 }, () => simSigner())
    const tracks = honest.map((_, i) => freshEntries(1 + (i % 5)))
    for (const [i, signer] of honest.entries()) await record(dir, clock, tracks[i]!, 180, signer)
    // They have been around a while, refreshing as honest peers do.
    for (let minute = 0; minute < 15; minute++) {
      await clock.advance(60_000)
      for (const [i, signer] of honest.entries()) await record(dir, clock, tracks[i]!, 180, signer)
    }
    for (let i = 0; i < 20_000; i++) await record(dir, clock, freshEntries(1), 86_400)
    for (const signer of honest) expect(dir.get(signer.peerId)?.rec.peer).toBe(signer.peerId)
    expect(dir.size).toBeLessThanOrEqual(dir.config.maxOrigins)
  })

  it('keeps a linked peer however fresh, when Sybils fill the directory', async () => {
    const clock = new FakeClock()
    const linked = simSigner()
    const dir = directory(clock, { maxOrigins: 50 }, (id) => (id === linked.peerId ? 3 : 0))
    await record(dir, clock, [], 180, linked)
    for (let i = 0; i < 200; i++) await record(dir, clock, [], 86_400)
    expect(dir.get(linked.peerId)).toBeDefined()
  })

  // About a minute of CPU: 14.4 million entries decoded, hashed, indexed and evicted.
  it(
    '1,000 records × 14,400 fresh hashes at the allowed rate grow the heap by less than 64 MiB',
    { timeout: 600_000 },
    async () => {
      const clock = new FakeClock()
      const dir = directory(clock)
      const gossip = floodedGossip(dir, clock)
      // Four links, each sending one full record a minute (a 921 KB set, within any per-link quota).
      const links = Array.from({ length: 4 }, (_, i) => silentLink(i))
      const before = heapUsed()
      let peak = 0
      for (let i = 0; i < 1_000; i++) {
        const { frames } = await rawAnnouncement(14_400, { ver: clock.now(), ttl: 3_600 })
        for (const frame of frames) await gossip.receive(links[i % links.length]!, frame as Wire)
        if (i % links.length === links.length - 1) {
          await clock.advance(60_000)
          dir.expire()
        }
        if (i % 100 === 99) {
          peak = Math.max(peak, heapUsed() - before)
          if (peak >= 64 * 1024 * 1024) break
        }
      }
      expect(peak).toBeLessThan(64 * 1024 * 1024)
      expect(dir.stats.entries).toBeLessThanOrEqual(dir.config.maxEntries)
    },
  )
})
