import { describe, expect, it } from 'vitest'
import { PIECE_SIZE } from './content.ts'
import { memoryFetcher } from './testing/memory-fetcher.ts'
import { randomTrack, signedHolder } from './testing/signed-holder.ts'

describe('Fetcher: download progress', () => {
  it('is told at most every 100 ms while pieces pour in, and in full when the download ends', async () => {
    const pieces = 40
    const { bytes, hash, meta } = randomTrack(pieces * PIECE_SIZE, 'Quick')
    const { f: fetcher } = memoryFetcher([await signedHolder('a'.repeat(32), bytes, meta)], meta)
    const seen: { have: number; state: string }[] = []
    fetcher.events.on('change', () => {
      const d = fetcher.downloads[0]!
      seen.push({ have: d.have, state: d.state })
    })
    const startedAt = Date.now()
    await fetcher.fetch(hash).finished
    const progressEvents = seen.filter((s) => s.state === 'fetching').length
    // One when it starts, one per 100 ms of progress (the first piece at once), and the ends.
    expect(progressEvents).toBeLessThanOrEqual(2 + Math.ceil((Date.now() - startedAt) / 100))
    expect(progressEvents).toBeLessThan(pieces)
    expect(seen.at(-1)).toEqual({ have: pieces, state: 'done' })
  })
})
