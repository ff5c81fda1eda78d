import type { Track } from './catalog.ts'
import type { Clock } from './clock.ts'
import type { TrackDescriptor } from './descriptors.ts'
import { PIECE_SIZE } from './content.ts'
import { packHashes } from './records.ts'
import { CHUNK_BYTES, PIECES_PAGE, type Wire, type WireOf } from './wire.ts'

/** A linked peer as the content server answers it. */
export interface ContentPeer {
  readonly peerId: string
  /** Send and wait for the link to have room (backpressure). */
  post(msg: Wire): Promise<void>
}

export type ContentServerDeps = {
  clock: Clock
  /** This node's tracks (with their piece lists). */
  track(hash: string): Track | undefined
  /** The descriptor our signed record commits to for a track (its piece list is served with it). */
  descriptor(hash: string): TrackDescriptor | undefined
  /** Bytes [start, end) of a stored blob. */
  read(hash: string, start: number, end: number): Promise<Uint8Array>
}

/** Requests one peer may have queued with us; more are refused as BUSY rather than buffered. */
const MAX_QUEUED_PER_PEER = 32

/**
 * The holder's side of `/content`: answers piece-list and piece requests from the local store,
 * one piece at a time per peer, streaming each as ≤ 60 KiB frames and waiting on the link's
 * buffer between frames, so a whole file is never loaded and a slow reader slows only itself.
 */
export class ContentServer {
  /** Test-only fault injection: serve pieces with flipped bytes (a lying holder). */
  corrupt = false
  /** Test-only: wait this long before serving each piece (a slow holder). */
  delayMs = 0
  #queues = new Map<string, { tail: Promise<void>; depth: number }>()

  constructor(private readonly deps: ContentServerDeps) {}

  handle(peer: ContentPeer, msg: WireOf<'content-req' | 'pieces-req'>): void {
    if (msg.type === 'pieces-req') {
      void this.#pieces(peer, msg).catch(() => {})
      return
    }
    let queue = this.#queues.get(peer.peerId)
    if (!queue) this.#queues.set(peer.peerId, (queue = { tail: Promise.resolve(), depth: 0 }))
    if (queue.depth >= MAX_QUEUED_PER_PEER) {
      void peer.post({ type: 'content-error', id: msg.id, code: 'BUSY', message: 'too many requests queued' })
      return
    }
    queue.depth++
    const q = queue
    q.tail = q.tail
      .then(() => this.#serve(peer, msg))
      .catch(() => {})
      .finally(() => {
        if (--q.depth === 0) this.#queues.delete(peer.peerId)
      })
  }

  async #pieces(peer: ContentPeer, msg: WireOf<'pieces-req'>) {
    const track = this.deps.track(msg.hash)
    // Not announced (yet): no list we could vouch for with a signature.
    const desc = this.deps.descriptor(msg.hash)
    if (!track || !desc) return
    const page = track.pieces.slice(msg.from, msg.from + PIECES_PAGE)
    await peer.post({
      type: 'pieces-res',
      id: msg.id,
      size: desc.size,
      pieceSize: desc.pieceSize,
      root: desc.piecesRoot,
      count: track.pieces.length,
      from: msg.from,
      mime: desc.mime,
      meta: desc.metaHash,
      body: packHashes(page),
    })
  }

  async #serve(peer: ContentPeer, msg: WireOf<'content-req'>) {
    const track = this.deps.track(msg.hash)
    const pieceSize = track?.pieceSize ?? PIECE_SIZE
    const start = msg.index * pieceSize
    if (!track || start >= track.size) {
      const message = track ? 'no such piece' : 'not held here'
      return peer.post({ type: 'content-error', id: msg.id, code: 'NOT_FOUND', message })
    }
    const end = Math.min(track.size, start + pieceSize)
    let bytes: Uint8Array
    try {
      bytes = await this.deps.read(msg.hash, start, end)
    } catch {
      return peer.post({ type: 'content-error', id: msg.id, code: 'NOT_FOUND', message: 'not readable here' })
    }
    if (this.corrupt) bytes = bytes.map((b, i) => (i % 997 === 0 ? b ^ 0xff : b))
    if (this.delayMs > 0)
      await new Promise((resolve) => this.deps.clock.setTimeout(() => resolve(0), this.delayMs))
    const length = end - start
    for (let offset = 0; offset < length; offset += CHUNK_BYTES) {
      const body = bytes.subarray(offset, Math.min(length, offset + CHUNK_BYTES))
      await peer.post({ type: 'content-piece', id: msg.id, offset, length, body })
    }
  }
}
