import { describe, expect, it } from 'vitest'
import { PIECE_SIZE } from './content.ts'
import { Fetcher, type FetchPeer } from './fetcher.ts'
import type { PartialContent, PartialStore } from './partial.ts'
import { MemoryPartialStore } from './testing/memory-partial.ts'
import { MemoryStore } from './testing/memory-store.ts'
import { nodeSha256, randomTrack, signedHolder, type SignedHolder } from './testing/signed-holder.ts'
import { realClock } from './testing/ws-socket.ts'
import type { TrackMeta, Wire } from './wire.ts'

/** A partial store that notes each open (with its sizes) and each close. */
class NotingPartials implements PartialStore {
  readonly opened: { size: number; pieceSize: number }[] = []
  closed = 0
  readonly inner = new MemoryPartialStore(new MemoryStore())

  async open(hash: string, size: number, pieceSize: number): Promise<PartialContent> {
    this.opened.push({ size, pieceSize })
    const partial = await this.inner.open(hash, size, pieceSize)
    return { ...partial, close: async () => void this.closed++ }
  }

  list(): Promise<string[]> {
    return this.inner.list()
  }
}

function fetcherFor(holder: SignedHolder, meta: TrackMeta, partials: PartialStore) {
  const store = new MemoryStore()
  return new Fetcher({
    clock: realClock,
    random: Math.random,
    sha256: nodeSha256,
    partials,
    meta: () => meta,
    holders: () => [holder.peerId],
    descriptor: () => holder.signed,
    linked: () => holder,
    connect: () => {},
    readStored: (hash, start, end) => store.read(hash, start, end),
    adopt: async () => {},
    penalise: () => {},
    config: { locateTimeoutMs: 2_000 },
  })
}

/** The holder, its piece-list answers held until `answer()`. */
function heldLists(holder: SignedHolder): { peer: SignedHolder; asked: () => number; answer: () => void } {
  let asked = 0
  let answer!: () => void
  const answered = new Promise<void>((resolve) => (answer = resolve))
  const request: FetchPeer['request'] = async (msg) => {
    asked++
    await answered
    return (await holder.request(msg)) as Wire
  }
  return { peer: { ...holder, request }, asked: () => asked, answer }
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 10))

describe('Fetcher: the partial download opens beside the piece lists', () => {
  it('is opened with the checked metadata’s sizes while the holders are still asked for their lists', async () => {
    const { bytes, hash, meta } = randomTrack(3 * PIECE_SIZE + 100, 'Early')
    const held = heldLists(await signedHolder('a'.repeat(32), bytes, meta))
    const partials = new NotingPartials()
    const download = fetcherFor(held.peer, meta, partials).fetch(hash)
    await tick()
    expect(held.asked()).toBe(1)
    expect(partials.opened).toEqual([{ size: meta.size, pieceSize: PIECE_SIZE }])
    held.answer()
    await download.finished
    // The list agreed with the metadata: that same partial was the one written.
    expect(partials.opened).toHaveLength(1)
    expect(partials.closed).toBe(0)
    expect(download.view.state).toBe('done')
  })

  it('follows the verified list when its sizes differ, letting the early one go', async () => {
    const { bytes, hash, meta } = randomTrack(3 * PIECE_SIZE + 100, 'Other sizes')
    const holder = await signedHolder('b'.repeat(32), bytes, meta)
    const partials = new NotingPartials()
    // Metadata whose piece size no holder's list has.
    const download = fetcherFor(holder, { ...meta, pieceSize: 2 * PIECE_SIZE }, partials).fetch(hash)
    await download.finished
    expect(partials.opened).toEqual([
      { size: meta.size, pieceSize: 2 * PIECE_SIZE },
      { size: meta.size, pieceSize: PIECE_SIZE },
    ])
    expect(partials.closed).toBe(1)
    expect(download.view.state).toBe('done')
  })

  it('lets the early one go when no holder ever answers', async () => {
    const { bytes, hash, meta } = randomTrack(PIECE_SIZE, 'Silent')
    const holder = await signedHolder('c'.repeat(32), bytes, meta)
    const silent: SignedHolder = { ...holder, request: () => Promise.reject(new Error('gone')) }
    const partials = new NotingPartials()
    const fetcher = new Fetcher({
      ...{ clock: realClock, random: Math.random, sha256: nodeSha256, partials },
      meta: () => meta,
      holders: () => [silent.peerId],
      descriptor: () => silent.signed,
      linked: () => silent,
      connect: () => {},
      readStored: () => Promise.reject(new Error('nothing stored')),
      adopt: async () => {},
      penalise: () => {},
      config: { locateTimeoutMs: 50 },
    })
    const download = fetcher.fetch(hash)
    await expect(download.finished).rejects.toThrow()
    await tick()
    expect(partials.opened).toHaveLength(1)
    expect(partials.closed).toBe(1)
  })
})
