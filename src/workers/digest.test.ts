import { createHash, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { PIECE_SIZE } from '../core/content.ts'
import { referenceDigest } from '../core/testing/memory-store.ts'
import { createDigester, takeHasher, warmHasher } from './digest.ts'

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest()

/** The digest computed the obvious way with node:crypto, over the whole buffer at once. */
const expected = referenceDigest

/** A deterministic pseudo-random generator, so a failing chunking can be reproduced from its seed. */
function rng(seed: number) {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return (s >>> 0) / 2 ** 32
  }
}

/** Split `bytes` into chunks of random sizes: tiny, around a piece, and several pieces long. */
function randomChunks(bytes: Uint8Array, seed: number): Uint8Array[] {
  const random = rng(seed)
  const chunks: Uint8Array[] = []
  for (let at = 0; at < bytes.length;) {
    const kind = random()
    const size =
      kind < 0.3
        ? 1 + Math.floor(random() * 100)
        : kind < 0.7
          ? 1 + Math.floor(random() * PIECE_SIZE * 1.5)
          : 1 + Math.floor(random() * PIECE_SIZE * 4)
    chunks.push(bytes.subarray(at, at + size))
    at += size
  }
  return chunks
}

async function digestOf(chunks: Uint8Array[]) {
  const digester = await createDigester()
  for (const chunk of chunks) digester.update(chunk)
  return digester.finish()
}

const SIZES: [string, number][] = [
  ['empty', 0],
  ['one byte', 1],
  ['one byte short of a piece', PIECE_SIZE - 1],
  ['exactly one piece', PIECE_SIZE],
  ['one byte past a piece', PIECE_SIZE + 1],
  ['three and a half pieces', Math.floor(PIECE_SIZE * 3.5)],
]

describe('createDigester', () => {
  it.each(SIZES)('matches node:crypto for %s, fed whole', async (_name, size) => {
    const bytes = randomBytes(size)
    expect(await digestOf([bytes])).toEqual(expected(bytes))
  })

  it.each(SIZES)('matches node:crypto for %s, fed in random chunks', async (_name, size) => {
    const bytes = randomBytes(size)
    const want = expected(bytes)
    for (let seed = 1; seed <= 8; seed++) expect(await digestOf(randomChunks(bytes, seed))).toEqual(want)
  })

  it('splits chunks that straddle piece boundaries exactly at PIECE_SIZE', async () => {
    const bytes = randomBytes(PIECE_SIZE * 3)
    // Chunks of PIECE_SIZE - 7 bytes cross every boundary at a different offset.
    const chunks: Uint8Array[] = []
    for (let at = 0; at < bytes.length; at += PIECE_SIZE - 7)
      chunks.push(bytes.subarray(at, at + PIECE_SIZE - 7))
    const digest = await digestOf(chunks)
    expect(digest.pieces).toHaveLength(3)
    expect(digest.pieces).toEqual(expected(bytes).pieces)
  })

  it('has no pieces for an empty blob and roots them as sha256 of nothing', async () => {
    const digest = await digestOf([])
    expect(digest.pieces).toEqual([])
    expect(digest.piecesRoot).toBe(sha256(new Uint8Array(0)).toString('hex'))
    expect(digest.contentHash).toBe(digest.piecesRoot)
  })

  it('roots the piece list as sha256 over the raw 32-byte piece hashes', async () => {
    const bytes = randomBytes(PIECE_SIZE * 2 + 5)
    const digest = await digestOf([bytes])
    const raw = Buffer.concat(digest.pieces.map((p) => Buffer.from(p, 'hex')))
    expect(raw).toHaveLength(32 * 3)
    expect(digest.piecesRoot).toBe(sha256(raw).toString('hex'))
  })

  it('keeps concurrent passes apart and reuses hashers after a pass ends', async () => {
    const a = randomBytes(PIECE_SIZE + 3)
    const b = randomBytes(PIECE_SIZE * 2 - 3)
    const [da, db] = await Promise.all([createDigester(), createDigester()])
    for (let at = 0; at < Math.max(a.length, b.length); at += 1000) {
      da.update(a.subarray(at, at + 1000))
      db.update(b.subarray(at, at + 1000))
    }
    expect(await da.finish()).toEqual(expected(a))
    expect(await db.finish()).toEqual(expected(b))

    const released = await createDigester()
    released.update(randomBytes(100))
    released.release()
    released.release()
    expect(() => released.update(a)).toThrow(/finished/)
    expect(await digestOf([a])).toEqual(expected(a))
  })

  it('counts the bytes fed', async () => {
    const digester = await createDigester()
    digester.update(new Uint8Array(10))
    digester.update(new Uint8Array(PIECE_SIZE))
    expect(digester.bytes).toBe(PIECE_SIZE + 10)
    expect((await digester.finish()).size).toBe(PIECE_SIZE + 10)
  })
})

describe('warmHasher', () => {
  it('leaves a reset hasher behind: passes after it hash only their own bytes', async () => {
    await warmHasher()
    const digester = await createDigester()
    digester.update(new TextEncoder().encode('abc'))
    expect((await digester.finish()).contentHash).toBe(createHash('sha256').update('abc').digest('hex'))
    await warmHasher()
    const hasher = await takeHasher()
    hasher.update(new TextEncoder().encode('abc'))
    expect(hasher.digest('hex')).toBe(createHash('sha256').update('abc').digest('hex'))
  })
})
