import { beforeAll, describe, expect, it } from 'vitest'
import { Directory, type DirectoryConfig } from './directory.ts'
import {
  signerFor,
  signRecord,
  trackSetRoot,
  webCryptoSha256,
  webCryptoVerifier,
  type RecordSigner,
  type TrackEntry,
} from './records.ts'
import { nodeCrypto, testIdentity } from './testing/crypto.ts'
import { FakeClock } from './testing/fake-clock.ts'
import { simHash } from './testing/mesh-sim.ts'
import type { KeyAlg, SignedRecord } from './wire.ts'

/**
 * The directory with real WebCrypto signatures (both algorithms a browser may give a node): what
 * it accepts, and every way an announcement can be refused.
 */

const subtle = nodeCrypto.subtle
const sha256 = webCryptoSha256(subtle)
const verify = webCryptoVerifier(subtle)
const h = (label: string) => simHash(label)
/** Hashes as track entries, each with a descriptor digest of its own. */
const E = (hashes: string[]): TrackEntry[] => hashes.map((x) => [x, simHash(`desc:${x}`)])
const TTL_S = 60
/** Versions are the signer's clock (ms): small offsets from the fake clock's start. */
const T = new FakeClock().now()

async function signed(
  signer: RecordSigner,
  ver: number,
  tracks: string[],
  ttl = TTL_S,
): Promise<SignedRecord> {
  const root = await trackSetRoot(sha256, E(tracks))
  return signRecord(signer, { ver, ttl, root, count: tracks.length })
}

function directory(clock: FakeClock, config: Partial<DirectoryConfig> = {}) {
  const events: string[][] = []
  const dir = new Directory({ self: 'f'.repeat(32), clock, sha256, verify, config })
  dir.events.on('tracks', (hashes) => events.push(hashes))
  return { dir, events }
}

describe.each<KeyAlg>(['Ed25519', 'ECDSA-P256'])('directory with %s records', (alg) => {
  let alice: RecordSigner
  let bob: RecordSigner
  beforeAll(async () => {
    alice = signerFor(await testIdentity(alg))
    bob = signerFor(await testIdentity(alg))
  })

  it('applies a full set and indexes its holders', async () => {
    const clock = new FakeClock()
    const { dir, events } = directory(clock)
    const tracks = [h('a'), h('b'), h('c')]
    expect(await dir.applyFull(await signed(alice, clock.now(), tracks), E(tracks))).toBe('applied')
    expect(dir.get(alice.peerId)?.tracks).toEqual(new Map(E(tracks)))
    for (const t of tracks) expect([...dir.holders(t)]).toEqual([alice.peerId])
    expect(events.flat().sort()).toEqual([...tracks].sort())
    expect(dir.version(alice.peerId)).toBe(clock.now())
  })

  it('applies a delta on the version it was made from', async () => {
    const clock = new FakeClock()
    const { dir } = directory(clock)
    const v1 = [h('a'), h('b')]
    const base = await signed(alice, T + 100, v1)
    await dir.applyFull(base, E(v1))
    const v2 = [h('a'), h('c')]
    const rec = await signed(alice, T + 200, v2)
    expect(await dir.applyDelta(rec, { base: T + 100, adds: E([h('c')]), dels: E([h('b')]) })).toBe('applied')
    expect(dir.get(alice.peerId)?.tracks).toEqual(new Map(E(v2)))
    expect(dir.holders(h('b')).size).toBe(0)
    expect(dir.holders(h('c')).has(alice.peerId)).toBe(true)
    // The delta is kept so it can be forwarded as is.
    expect(dir.get(alice.peerId)?.delta).toEqual({ base: T + 100, adds: E([h('c')]), dels: E([h('b')]) })
  })

  it('reports a gap for a delta whose base it lacks', async () => {
    const clock = new FakeClock()
    const { dir } = directory(clock)
    const v3 = [h('a'), h('b'), h('c')]
    const rec = await signed(alice, T + 300, v3)
    // Never heard of alice: no base at all.
    expect(await dir.applyDelta(rec, { base: T + 200, adds: E([h('c')]), dels: E([]) })).toBe('gap')
    // Holds version 100, the delta is on top of 200.
    await dir.applyFull(await signed(alice, T + 100, [h('a')]), E([h('a')]))
    expect(await dir.applyDelta(rec, { base: T + 200, adds: E([h('c')]), dels: E([]) })).toBe('gap')
    expect(dir.version(alice.peerId)).toBe(T + 100)
  })

  it('refuses replays of an older or the same version as stale', async () => {
    const clock = new FakeClock()
    const { dir } = directory(clock)
    const old = await signed(alice, T + 100, [h('a')])
    const current = await signed(alice, T + 200, [h('b')])
    expect(await dir.applyFull(current, E([h('b')]))).toBe('applied')
    expect(await dir.applyFull(current, E([h('b')]))).toBe('stale')
    expect(await dir.applyFull(old, E([h('a')]))).toBe('stale')
    expect(await dir.applyDelta(old, { base: T + 50, adds: E([]), dels: E([]) })).toBe('stale')
    expect(dir.get(alice.peerId)?.tracks).toEqual(new Map(E([h('b')])))
  })

  it('refuses a record altered after signing as forged', async () => {
    const clock = new FakeClock()
    const tracks = [h('a'), h('b')]
    const honest = await signed(alice, T + 100, tracks)
    // A different track list, with the root and count fixed up to match it.
    const other = [h('x'), h('y'), h('z')]
    const otherRoot = await trackSetRoot(sha256, E(other))
    const cases: [string, SignedRecord, string[]][] = [
      ['root and count', { ...honest, root: otherRoot, count: other.length }, other],
      ['ttl', { ...honest, ttl: honest.ttl + 1 }, tracks],
      ['version', { ...honest, ver: honest.ver + 1 }, tracks],
      ['key (another peer’s)', { ...honest, key: bob.key }, tracks],
      ['key and peer (another peer’s)', { ...honest, key: bob.key, peer: bob.peerId }, tracks],
      ['signature (another record’s)', { ...honest, sig: (await signed(bob, T + 100, tracks)).sig }, tracks],
    ]
    for (const [what, rec, hashes] of cases) {
      const { dir } = directory(clock)
      expect(await dir.applyFull(rec, E(hashes)), what).toBe('forged')
      expect(dir.size, what).toBe(0)
    }
    // The same alteration in a delta.
    const { dir } = directory(clock)
    await dir.applyFull(honest, E(tracks))
    const next = await signed(alice, T + 200, [...tracks, h('c')])
    const lie = { ...next, root: await trackSetRoot(sha256, E([...tracks, h('x')])) }
    expect(await dir.applyDelta(lie, { base: T + 100, adds: E([h('x')]), dels: E([]) })).toBe('forged')
    expect(dir.version(alice.peerId)).toBe(T + 100)
  })

  it('does not let the verdict on a forged copy stand for the genuine record', async () => {
    const clock = new FakeClock()
    const { dir } = directory(clock)
    const tracks = [h('a'), h('b')]
    const fake = [h('x')]
    const genuine = await signed(alice, T + 100, tracks)
    // Same peer, version and signature; another track set, with root and count to match it.
    const copy = { ...genuine, root: await trackSetRoot(sha256, E(fake)), count: 1 }
    expect(await dir.applyFull(copy, E(fake))).toBe('forged')
    // The genuine record, relayed later by an honest peer, is not refused (nor its relay blamed).
    expect(await dir.applyFull(genuine, E(tracks))).toBe('applied')
    expect(dir.holders(h('x')).size).toBe(0)
    expect(dir.holders(h('a')).has(alice.peerId)).toBe(true)
  })

  it('refuses hashes that do not match the root or count', async () => {
    const clock = new FakeClock()
    const { dir } = directory(clock)
    const tracks = [h('a'), h('b')]
    const rec = await signed(alice, T + 100, tracks)
    expect(await dir.applyFull(rec, E([h('a')]))).toBe('mismatch')
    expect(await dir.applyFull(rec, E([h('a'), h('c')]))).toBe('mismatch')
    expect(await dir.applyFull(rec, E([h('a'), h('a')]))).toBe('mismatch')
    expect(await dir.applyFull(rec, E([...tracks, h('c')]))).toBe('mismatch')
    expect(dir.size).toBe(0)
    await dir.applyFull(rec, E(tracks))
    const next = await signed(alice, T + 200, [h('a'), h('c')])
    // Deleting a hash it never had, adding one it already has, or landing on the wrong set.
    expect(await dir.applyDelta(next, { base: T + 100, adds: E([h('c')]), dels: E([h('z')]) })).toBe(
      'mismatch',
    )
    expect(await dir.applyDelta(next, { base: T + 100, adds: E([h('a')]), dels: E([h('b')]) })).toBe(
      'mismatch',
    )
    expect(await dir.applyDelta(next, { base: T + 100, adds: E([h('d')]), dels: E([h('b')]) })).toBe(
      'mismatch',
    )
    expect(await dir.applyDelta(next, { base: T + 100, adds: E([h('c')]), dels: E([h('b')]) })).toBe(
      'applied',
    )
  })

  it('empties a leaving peer’s holdings at once', async () => {
    const clock = new FakeClock()
    const { dir } = directory(clock)
    const tracks = [h('a'), h('b')]
    await dir.applyFull(await signed(alice, T + 100, tracks), E(tracks))
    await dir.applyFull(await signed(bob, T + 100, [h('a')]), E([h('a')]))
    expect(dir.holders(h('a')).size).toBe(2)
    expect(await dir.applyFull(await signed(alice, T + 200, [], 0), E([]))).toBe('applied')
    expect([...dir.holders(h('a'))]).toEqual([bob.peerId])
    expect(dir.holders(h('b')).size).toBe(0)
    // A leaving record that still claims tracks is not a leaving record anyone should relay.
    const odd = await signed(bob, T + 200, [h('a')], 0)
    expect(await dir.applyFull(odd, E([h('a')]))).toBe('mismatch')
  })

  it('expires a silent peer after its ttl and refuses a replay of that version', async () => {
    const clock = new FakeClock()
    const { dir } = directory(clock, { maxSkewMs: 60_000 })
    const tracks = [h('a'), h('b')]
    const rec = await signed(alice, clock.now(), tracks)
    await dir.applyFull(rec, E(tracks))
    await dir.applyFull(await signed(bob, clock.now(), [h('a')]), E([h('a')]))
    await clock.advance(TTL_S * 1000 - 1)
    dir.expire()
    expect(dir.get(alice.peerId)).toBeDefined()
    await clock.advance(1)
    // Bob refreshed meanwhile; alice did not.
    await dir.applyFull(await signed(bob, clock.now(), [h('a')]), E([h('a')]))
    dir.expire()
    expect(dir.get(alice.peerId)).toBeUndefined()
    expect([...dir.holders(h('a'))]).toEqual([bob.peerId])
    expect(dir.holders(h('b')).size).toBe(0)
    expect(dir.version(alice.peerId)).toBe(rec.ver)
    expect(await dir.applyFull(rec, E(tracks))).toBe('stale')
    expect(dir.holders(h('b')).size).toBe(0)
    // A newer version brings it back.
    expect(await dir.applyFull(await signed(alice, clock.now(), tracks), E(tracks))).toBe('applied')
    expect(dir.holders(h('b')).has(alice.peerId)).toBe(true)
  })

  it('does not keep a relayed record alive past its signer’s ttl (plus skew)', async () => {
    const clock = new FakeClock()
    const skew = 5_000
    const { dir } = directory(clock, { maxSkewMs: skew })
    const tracks = [h('a')]
    const rec = await signed(alice, clock.now(), tracks)
    // Heard late, through a long chain of relays: it still ends when its signer said it would.
    await clock.advance(TTL_S * 1000 - 10)
    expect(await dir.applyFull(rec, E(tracks))).toBe('applied')
    await clock.advance(skew + 10)
    dir.expire()
    expect(dir.get(alice.peerId)).toBeUndefined()
    // And one that ended long ago is refused on arrival.
    const { dir: fresh } = directory(clock, { maxSkewMs: skew })
    expect(await fresh.applyFull(rec, E(tracks))).toBe('stale')
  })
})
