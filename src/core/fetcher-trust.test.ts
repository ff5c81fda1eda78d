import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { Track } from './catalog.ts'
import { PIECE_SIZE } from './content.ts'
import { Fetcher } from './fetcher.ts'
import { MemoryPartialStore } from './testing/memory-partial.ts'
import {
  hexDigest,
  nodeSha256,
  randomTrack,
  signedHolder,
  type SignedHolder,
} from './testing/signed-holder.ts'
import { MemoryStore } from './testing/memory-store.ts'
import { realClock } from './testing/ws-socket.ts'
import type { TrackMeta } from './wire.ts'

/**
 * Piece lists and metadata checked against what each holder signed: Sybils with a
 * self-consistent fake list cannot outvote an honest holder into the player, and metadata from
 * a relay (a wrong size, say) never gets an honest holder struck.
 */

const digestOf = hexDigest

function fetcher(holders: SignedHolder[], meta: TrackMeta) {
  const store = new MemoryStore()
  const penalties: { peerId: string; reason: string; ban: boolean }[] = []
  const adopted: Track[] = []
  const byId = new Map(holders.map((h) => [h.peerId, h]))
  const f = new Fetcher({
    clock: realClock,
    random: Math.random,
    sha256: nodeSha256,
    partials: new MemoryPartialStore(store),
    meta: () => meta,
    holders: () => holders.map((h) => h.peerId),
    descriptor: (peerId) => byId.get(peerId)?.signed,
    linked: (peerId) => byId.get(peerId),
    connect: () => {},
    readStored: (hash, start, end) => store.read(hash, start, end),
    adopt: async (track) => void adopted.push(track),
    penalise: (peerId, reason, ban) => void penalties.push({ peerId, reason, ban }),
    config: { locateTimeoutMs: 2_000 },
  })
  return { f, penalties, adopted }
}

const { bytes: honestBytes, hash, meta } = randomTrack(3 * PIECE_SIZE + 1234, 'Contested')

describe('piece lists and metadata bound to signed descriptors', () => {
  it('2 Sybils with a self-consistent fake list vs 1 honest holder: the player gets honest bytes, the Sybils are penalised first', async () => {
    const fake = new Uint8Array(randomBytes(honestBytes.length))
    const sybils = [
      await signedHolder('a'.repeat(32), fake, meta),
      await signedHolder('b'.repeat(32), fake, meta),
    ]
    const honest = await signedHolder('c'.repeat(32), honestBytes, meta)
    const { f, penalties, adopted } = fetcher([...sybils, honest], meta)
    const bytes = await f.read(hash, 0, PIECE_SIZE)
    // What the Sybils had done was known before the first byte reached the player.
    const before = penalties.map((p) => p.peerId)
    expect(digestOf(bytes)).toBe(digestOf(honestBytes.subarray(0, PIECE_SIZE)))
    for (const s of sybils) expect(before).toContain(s.peerId)
    expect(penalties.filter((p) => p.peerId === honest.peerId)).toEqual([])
    expect(penalties.every((p) => p.ban)).toBe(true)
    await f.fetch(hash).finished
    expect(adopted[0]?.piecesRoot).toBe(meta.piecesRoot)
  })

  it('metadata with a wrong size strikes no honest holder', async () => {
    const honest = [
      await signedHolder('c'.repeat(32), honestBytes, meta),
      await signedHolder('d'.repeat(32), honestBytes, meta),
    ]
    const wrong = { ...meta, size: meta.size + 5_000 }
    const { f, penalties } = fetcher(honest, wrong)
    const bytes = await f.read(hash, 0, 1000)
    expect(digestOf(bytes)).toBe(digestOf(honestBytes.subarray(0, 1000)))
    await f.fetch(hash).finished
    expect(penalties).toEqual([])
    // The size the player is told is the one the holders signed, not the relayed one.
    expect((await f.describe(hash))?.size).toBe(honestBytes.length)
  })

  it('strikes a holder whose list contradicts the descriptor it signed, and fetches from the others', async () => {
    const honest = await signedHolder('c'.repeat(32), honestBytes, meta)
    const liar = {
      ...(await signedHolder('e'.repeat(32), honestBytes, meta)),
      // Another digest in its first digit (a fixed '0' would be no change one time in 16).
      signed: (honest.signed.startsWith('0') ? '1' : '0') + honest.signed.slice(1),
    }
    const { f, penalties } = fetcher([liar, honest], meta)
    await f.fetch(hash).finished
    expect(penalties.map((p) => [p.peerId, p.ban])).toEqual([[liar.peerId, false]])
  })
})
