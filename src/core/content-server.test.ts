import { describe, expect, it } from 'vitest'
import type { Track } from './catalog.ts'
import { ContentServer, type ContentPeer } from './content-server.ts'
import { emptyContentStats, type ContentStats } from './content-stats.ts'
import { DEFAULT_SESSION_CONFIG, PeerSession } from './peer-session.ts'
import { nodeCrypto, testIdentity } from './testing/crypto.ts'
import { FakeClock, settle, waitFor } from './testing/fake-clock.ts'
import { makeContent, type Content } from './testing/fake-sources.ts'
import { linkPair } from './testing/memory-link.ts'
import { CHUNK_BYTES, type Wire, type WireOf } from './wire.ts'

const PIECE = 256 * 1024
const HASH = 'ab'.repeat(32)

function trackOf(content: Content): Track {
  return {
    contentHash: HASH,
    size: content.size,
    mime: 'audio/wav',
    container: 'WAVE',
    title: 'T',
    pieceSize: content.pieceSize,
    pieces: content.pieces,
    piecesRoot: 'cd'.repeat(32),
    fileName: 't.wav',
    addedAt: 0,
    source: 'local',
  }
}

/** A server over `content`, recording its store reads; its peer's `post` waits until `release`d. */
function setup(content = makeContent(8, PIECE)) {
  const clock = new FakeClock()
  const reads: [number, number][] = []
  const server = new ContentServer({
    clock,
    track: (hash) => (hash === HASH ? trackOf(content) : undefined),
    descriptor: () => undefined,
    read: async (_hash, start, end) => {
      reads.push([start, end])
      return content.bytes.slice(start, end)
    },
  })
  const posted: Wire[] = []
  const gate: (() => void)[] = []
  let held = true
  const peer: ContentPeer = {
    peerId: 'p'.repeat(32),
    post: (msg) => {
      posted.push(msg)
      return held ? new Promise((resolve) => gate.push(resolve)) : Promise.resolve()
    },
    queuedBytes: () => 0,
  }
  /** Let the frames posted so far be accepted by the link (or, with `all`, every later one too). */
  const release = async (all = false) => {
    if (all) held = false
    for (const open of gate.splice(0)) open()
    await settle()
  }
  const ask = (id: number, index: number) =>
    server.handle(peer, { type: 'content-req', id, hash: HASH, index })
  const frames = (id?: number) =>
    posted.filter(
      (m): m is WireOf<'content-piece'> => m.type === 'content-piece' && (id === undefined || m.id === id),
    )
  return { server, peer, posted, reads, release, ask, frames, content }
}

describe('ContentServer', () => {
  it('content-cancel stops the holder within one frame', async () => {
    const t = setup()
    t.ask(1, 0)
    await settle()
    // The first of the piece's five frames is on its way; the asker gives up on the piece.
    expect(t.frames(1)).toHaveLength(1)
    t.server.cancel(t.peer, 1)
    await t.release(true)
    expect(t.frames(1)).toHaveLength(1)
    expect(t.server.stats.cancelsHonoured).toBe(1)
    expect(t.server.stats.savedSending).toBe(PIECE - CHUNK_BYTES)
  })

  it('a cancelled piece still queued is never read nor sent; the others are', async () => {
    const t = setup(makeContent(8, PIECE))
    // Pieces 0 and 5 are not consecutive: 5 waits for its own read behind 0.
    t.ask(1, 0)
    t.ask(2, 5)
    t.ask(3, 7)
    await settle()
    t.server.cancel(t.peer, 3)
    await t.release(true)
    expect(t.frames(1).length).toBe(5)
    expect(t.frames(2).length).toBe(5)
    expect(t.frames(3)).toHaveLength(0)
    expect(t.reads.some(([start]) => start === 7 * PIECE)).toBe(false)
    expect(t.server.stats.savedSending).toBe(PIECE)
  })

  it('a cancel for a request it does not have (never asked, already sent, another peer) is harmless', async () => {
    const t = setup()
    t.server.cancel(t.peer, 99)
    t.ask(1, 0)
    await t.release(true)
    t.server.cancel(t.peer, 1)
    t.server.cancel({ ...t.peer, peerId: 'q'.repeat(32) }, 1)
    t.ask(2, 1)
    await t.release(true)
    expect(t.frames(1)).toHaveLength(5)
    expect(t.frames(2)).toHaveLength(5)
    expect(t.server.stats.cancelsHonoured).toBe(0)
  })

  it('reads consecutive pieces asked for together in one read, and sends each piece exactly', async () => {
    const t = setup(makeContent(8, PIECE, 1000))
    for (let i = 0; i < 8; i++) t.ask(i + 1, i)
    await t.release(true)
    // The first piece is read as soon as it is asked; the seven queued behind it in reads of at
    // most 1 MiB (4 pieces): three reads, not eight.
    expect(t.reads).toEqual([
      [0, PIECE],
      [PIECE, 5 * PIECE],
      [5 * PIECE, t.content.size],
    ])
    for (let i = 0; i < 8; i++) {
      const frames = t.frames(i + 1)
      const joined = new Uint8Array(frames.reduce((n, f) => n + f.body!.length, 0))
      for (const f of frames) joined.set(f.body!, f.offset)
      // Compared as buffers: a deep equality over 256 KiB element by element takes seconds.
      expect(Buffer.from(joined).equals(Buffer.from(t.content.piece(i))), `piece ${i}`).toBe(true)
    }
  })

  it('gives each read back to the store once every frame of it is sent, and not before', async () => {
    const content = makeContent(8, PIECE)
    const events: string[] = []
    const server = new ContentServer({
      clock: new FakeClock(),
      track: (hash) => (hash === HASH ? trackOf(content) : undefined),
      descriptor: () => undefined,
      read: async (_hash, start, end) => content.bytes.slice(start, end),
      recycle: (bytes) => void events.push(`recycle ${bytes.length / PIECE}`),
    })
    const peer: ContentPeer = {
      peerId: 'p'.repeat(32),
      post: async (msg) => {
        await settle() // accepted by the link a moment later
        if (msg.type === 'content-piece' && msg.offset + msg.body!.length === msg.length)
          events.push(`sent ${msg.id}`)
      },
    }
    for (let i = 0; i < 8; i++) server.handle(peer, { type: 'content-req', id: i + 1, hash: HASH, index: i })
    await waitFor(() => events.length === 11)
    // Three reads (1, 4 and 3 pieces), each given back after its last piece's last frame.
    expect(events).toEqual([
      ...['sent 1', 'recycle 1'],
      ...['sent 2', 'sent 3', 'sent 4', 'sent 5', 'recycle 4'],
      ...['sent 6', 'sent 7', 'sent 8', 'recycle 3'],
    ])
  })
})

describe('content-cancel over a link', () => {
  it('an aborted piece request is cancelled with the holder, which stops; both sides count the bytes saved', async () => {
    const clock = new FakeClock()
    const [la, lb] = linkPair()
    const [ia, ib] = await Promise.all([testIdentity(), testIdentity()])
    const content = makeContent(4, PIECE)
    const askerStats = emptyContentStats()
    const session = (link: typeof la, identity: typeof ia, other: typeof ia, stats?: ContentStats) =>
      new PeerSession(link, {
        ...(stats ? { contentStats: stats } : {}),
        identity,
        crypto: nodeCrypto,
        clock,
        random: () => 0.5,
        config: DEFAULT_SESSION_CONFIG,
        expectedPeerId: other.peerId,
      })
    const asker = session(la, ia, ib, askerStats)
    const holder = session(lb, ib, ia)
    await waitFor(() => asker.state === 'connected' && holder.state === 'connected')
    const server = new ContentServer({
      clock,
      track: () => trackOf(content),
      descriptor: () => undefined,
      read: async (_h, start, end) => content.bytes.slice(start, end),
    })
    const port: ContentPeer = {
      peerId: ia.peerId,
      // The holder's link is slow: each frame waits for the clock, so a cancel lands mid-piece.
      post: async (msg) => {
        await new Promise((resolve) => clock.setTimeout(() => resolve(0), 10))
        return holder.post(msg)
      },
      queuedBytes: () => holder.queuedBytes,
    }
    holder.onMessage = async (msg) => {
      if (msg.type === 'content-req') server.handle(port, msg)
      if (msg.type === 'content-cancel') server.cancel(port, msg.id)
    }
    const ac = new AbortController()
    const piece = asker.fetchPiece(HASH, 0, PIECE, ac.signal)
    piece.catch(() => {})
    await clock.advance(25)
    ac.abort()
    await expect(piece).rejects.toThrow(/aborted/)
    for (let i = 0; i < 20; i++) await clock.advance(10)
    const frames = server.stats.pieceFrames
    expect(frames).toBeGreaterThan(0)
    expect(frames).toBeLessThan(5)
    expect(server.stats.cancelsHonoured).toBe(1)
    expect(server.stats.savedSending).toBe(PIECE - frames * CHUNK_BYTES)
    expect(askerStats.cancelsSent).toBe(1)
    expect(askerStats.savedReceiving).toBe(server.stats.savedSending)
    // The link stays up: late frames of a cancelled piece are no offence.
    expect(asker.state).toBe('connected')
    expect(holder.state).toBe('connected')
  })
})
