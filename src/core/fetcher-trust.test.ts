import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { PIECE_SIZE } from './content.ts'
import { memoryFetcher } from './testing/memory-fetcher.ts'
import { hexDigest, randomTrack, signedHolder } from './testing/signed-holder.ts'

/**
 * Piece lists and metadata checked against what each holder signed: Sybils with a
 * self-consistent fake list cannot outvote an honest holder into the player, and metadata from
 * a relay (a wrong size, say) never gets an honest holder struck.
 */

const digestOf = hexDigest

const fetcher = memoryFetcher

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
