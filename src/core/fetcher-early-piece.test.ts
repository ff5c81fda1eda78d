import { describe, expect, it } from 'vitest'
import { PIECE_SIZE } from './content.ts'
import { memoryFetcher } from './testing/memory-fetcher.ts'
import { hexDigest, randomTrack, signedHolder, type SignedHolder } from './testing/signed-holder.ts'
import type { Wire } from './wire.ts'

/**
 * The first piece is asked for while the piece list is on its way (fetcher.ts,
 * `#requestFirstEarly`): the player's first bytes do not wait for the list's round trip, and the
 * list still decides whether those bytes are used.
 */

const { bytes, hash, meta } = randomTrack(3 * PIECE_SIZE + 777, 'Early')

/** `holder`, its piece-list answers held until `release()`, recording each piece request and its signal. */
function gated(holder: SignedHolder) {
  const asked: { index: number; signal: AbortSignal; listed: boolean }[] = []
  let release!: () => void
  const listGate = new Promise<void>((resolve) => (release = resolve))
  let listed = false
  const peer: SignedHolder = {
    ...holder,
    fetchPiece: (h, index, length, signal) => {
      asked.push({ index, signal, listed })
      return holder.fetchPiece(h, index, length, signal)
    },
    request: async (msg): Promise<Wire> => {
      await listGate
      listed = true
      return holder.request(msg)
    },
  }
  return { peer, asked, release }
}

describe('the first piece, asked for before the piece list is in', () => {
  it('is requested from the holder while its list is awaited, and used: not asked for again', async () => {
    const g = gated(await signedHolder('a'.repeat(32), bytes, meta))
    const { f } = memoryFetcher([g.peer], meta)
    const read = f.read(hash, 0, 1000)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(g.asked).toEqual([expect.objectContaining({ index: 0, listed: false })])
    g.release()
    expect(hexDigest(await read)).toBe(hexDigest(bytes.subarray(0, 1000)))
    await f.fetch(hash).finished
    expect(g.asked.filter((a) => a.index === 0)).toHaveLength(1)
    expect(g.asked[0]!.signal.aborted).toBe(false)
  })

  it('is dropped (its request aborted) when the signed list gives other sizes than the metadata did', async () => {
    const g = gated(await signedHolder('a'.repeat(32), bytes, meta))
    const { f, penalties } = memoryFetcher([g.peer], { ...meta, size: meta.size + 4_096 })
    const read = f.read(hash, 0, 1000)
    await new Promise((resolve) => setTimeout(resolve, 20))
    g.release()
    expect(hexDigest(await read)).toBe(hexDigest(bytes.subarray(0, 1000)))
    await f.fetch(hash).finished
    const first = g.asked.filter((a) => a.index === 0)
    expect(first).toHaveLength(2)
    expect(first[0]!.signal.aborted).toBe(true)
    expect(first[1]!.listed).toBe(true)
    // Relayed metadata that was wrong is nobody's fault among the holders.
    expect(penalties).toEqual([])
  })
})
