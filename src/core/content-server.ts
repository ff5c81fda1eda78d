import type { Track } from './catalog.ts'
import type { Clock } from './clock.ts'
import { emptyContentStats, type ContentStats } from './content-stats.ts'
import type { TrackDescriptor } from './descriptors.ts'
import { PIECE_SIZE } from './content.ts'
import { packHashes } from './records.ts'
import { CHUNK_BYTES, PIECES_PAGE, type Wire, type WireOf } from './wire.ts'

/** A linked peer as the content server answers it. */
export interface ContentPeer {
  readonly peerId: string
  /** Send and wait for the link to have room (backpressure). */
  post(msg: Wire): Promise<void>
  /** Bytes queued to this peer and not yet on the wire (to see the link's buffer run dry). */
  queuedBytes?(): number
}

export type ContentServerDeps = {
  clock: Clock
  /** This node's tracks (with their piece lists). */
  track(hash: string): Track | undefined
  /** The descriptor our signed record commits to for a track (its piece list is served with it). */
  descriptor(hash: string): TrackDescriptor | undefined
  /** Bytes [start, end) of a stored blob. */
  read(hash: string, start: number, end: number): Promise<Uint8Array>
  /** A read's bytes, every frame of them sent (frames are copies): the store may reuse them. */
  recycle?(bytes: Uint8Array): void
  /** Counters to add to (the node shares one object between the server and its links). */
  stats?: ContentStats
}

/** Requests one peer may have queued with us; more are refused as BUSY rather than buffered. */
const MAX_QUEUED_PER_PEER = 32
/**
 * Consecutive pieces asked for by one peer are read from the store together, up to this many
 * bytes (4 pieces of 256 KiB): one read instead of four, few enough bytes held per peer.
 */
const MAX_READ_BYTES = 1024 * 1024
/**
 * While a batch is sent, the next one is read, unless the batches read and not yet sent to all
 * peers already hold this much (the bound on what serving holds in memory, whoever asks).
 */
const MAX_HELD_BYTES = 16 * 1024 * 1024

/** One piece asked for by one peer, from the moment it is queued until its last frame is sent. */
type Job = {
  id: number
  hash: string
  index: number
  start: number
  end: number
  /** Bytes of it sent so far. */
  sent: number
  cancelled: boolean
}

/** Pieces read together: consecutive pieces of one blob, and their bytes (or why they could not be read). */
type Batch = { jobs: Job[]; bytes: Uint8Array | undefined; held: number }

type PeerQueue = {
  /** Not read yet, in the order asked. */
  waiting: Job[]
  /** Read (or being read) and not yet fully sent. */
  active: Map<number, Job>
  /** Piece frames sent since this peer's queue last ran empty. */
  frames: number
}

/**
 * The holder's side of `/content`: answers piece-list and piece requests from the local store.
 * Each peer's pieces are served in the order asked, as ≤ 60 KiB frames, waiting on the link's
 * buffer between frames, so a whole file is never loaded and a slow reader slows only itself.
 * Consecutive pieces are read in one store read, and the next read overlaps the current sends,
 * so the link's buffer does not run dry between pieces. A `content-cancel` stops a piece at its
 * next frame (or before its read, if it is still queued).
 */
export class ContentServer {
  /** Test-only fault injection: serve pieces with flipped bytes (a lying holder). */
  corrupt = false
  /** Test-only: wait this long before serving each piece (a slow holder). */
  delayMs = 0
  readonly stats: ContentStats
  #queues = new Map<string, PeerQueue>()
  /** Bytes of batches read and not yet sent, over all peers. */
  #held = 0

  constructor(private readonly deps: ContentServerDeps) {
    this.stats = deps.stats ?? emptyContentStats()
  }

  handle(peer: ContentPeer, msg: WireOf<'content-req' | 'pieces-req'>): void {
    if (msg.type === 'pieces-req') {
      void this.#pieces(peer, msg).catch(() => {})
      return
    }
    const track = this.deps.track(msg.hash)
    const pieceSize = track?.pieceSize ?? PIECE_SIZE
    const start = msg.index * pieceSize
    if (!track || start >= track.size) {
      const message = track ? 'no such piece' : 'not held here'
      return void peer.post({ type: 'content-error', id: msg.id, code: 'NOT_FOUND', message }).catch(() => {})
    }
    let queue = this.#queues.get(peer.peerId)
    const idle = !queue
    if (queue && queue.waiting.length + queue.active.size >= MAX_QUEUED_PER_PEER) {
      const busy = {
        type: 'content-error',
        id: msg.id,
        code: 'BUSY',
        message: 'too many requests queued',
      } as const
      return void peer.post(busy).catch(() => {})
    }
    if (!queue && peer.queuedBytes?.() === 0) this.stats.idleStarts++
    if (!queue) this.#queues.set(peer.peerId, (queue = { waiting: [], active: new Map(), frames: 0 }))
    const end = Math.min(track.size, start + pieceSize)
    queue.waiting.push({
      id: msg.id,
      hash: msg.hash,
      index: msg.index,
      start,
      end,
      sent: 0,
      cancelled: false,
    })
    if (idle) void this.#run(peer, queue)
  }

  /** The peer no longer wants request `id`: drop it if queued, stop it at its next frame if being sent. */
  cancel(peer: ContentPeer, id: number): void {
    const queue = this.#queues.get(peer.peerId)
    if (!queue) return
    const at = queue.waiting.findIndex((job) => job.id === id)
    if (at !== -1) {
      const [job] = queue.waiting.splice(at, 1)
      this.stats.cancelsHonoured++
      this.stats.savedSending += job!.end - job!.start
      return
    }
    const job = queue.active.get(id)
    if (!job || job.cancelled) return
    job.cancelled = true
    this.stats.cancelsHonoured++
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

  /** Serve one peer's queue until it is empty: read a batch, send it while the next one is read. */
  async #run(peer: ContentPeer, queue: PeerQueue) {
    let ahead: Promise<Batch> | undefined
    try {
      for (;;) {
        // Checked synchronously: a request queued after this point starts a new run.
        if (!ahead) {
          if (queue.waiting.length === 0) break
          ahead = this.#readNext(queue)
        }
        const batch = await ahead
        ahead = queue.waiting.length > 0 && this.#held < MAX_HELD_BYTES ? this.#readNext(queue) : undefined
        try {
          await this.#send(peer, queue, batch)
        } finally {
          this.#done(batch)
        }
      }
    } catch {
      // The link closed (a post failed): nothing more can reach this peer.
      if (ahead) this.#done(await ahead)
    } finally {
      this.#queues.delete(peer.peerId)
    }
  }

  /** A batch is sent (or never will be): its bytes no longer count, and the store may have them back. */
  #done(batch: Batch) {
    this.#held -= batch.held
    if (batch.bytes) this.deps.recycle?.(batch.bytes)
  }

  /** Take the next run of consecutive pieces off the queue and read them in one go. */
  async #readNext(queue: PeerQueue): Promise<Batch> {
    const first = queue.waiting.shift()!
    const jobs = [first]
    for (let next = queue.waiting[0]; next; next = queue.waiting[0]) {
      const last = jobs.at(-1)!
      if (next.hash !== first.hash || next.start !== last.end || next.end - first.start > MAX_READ_BYTES)
        break
      jobs.push(queue.waiting.shift()!)
    }
    for (const job of jobs) queue.active.set(job.id, job)
    const end = jobs.at(-1)!.end
    const held = end - first.start
    this.#held += held
    let bytes: Uint8Array | undefined
    try {
      bytes = await this.deps.read(first.hash, first.start, end)
      if (bytes.length !== held) bytes = undefined
      this.stats.reads++
      this.stats.piecesRead += jobs.length
    } catch {
      bytes = undefined
    }
    return { jobs, bytes, held }
  }

  async #send(peer: ContentPeer, queue: PeerQueue, batch: Batch) {
    const base = batch.jobs[0]!.start
    for (const job of batch.jobs) {
      try {
        if (job.cancelled) continue
        if (!batch.bytes) {
          await peer.post({
            type: 'content-error',
            id: job.id,
            code: 'NOT_FOUND',
            message: 'not readable here',
          })
          continue
        }
        let bytes = batch.bytes.subarray(job.start - base, job.end - base)
        if (this.corrupt) bytes = bytes.map((b, i) => (i % 997 === 0 ? b ^ 0xff : b))
        if (this.delayMs > 0)
          await new Promise((resolve) => this.deps.clock.setTimeout(() => resolve(0), this.delayMs))
        await this.#frames(peer, queue, job, bytes)
      } finally {
        if (job.cancelled) this.stats.savedSending += job.end - job.start - job.sent
        queue.active.delete(job.id)
      }
    }
  }

  /** A piece's frames, checking before each one that it is still wanted. */
  async #frames(peer: ContentPeer, queue: PeerQueue, job: Job, bytes: Uint8Array) {
    const length = bytes.length
    for (let offset = 0; offset < length; offset += CHUNK_BYTES) {
      if (job.cancelled) return
      // Mid-run, an empty buffer means the link waited for us while a piece was due: a drain.
      if (queue.frames > 0 && peer.queuedBytes?.() === 0) this.stats.drains++
      const body = bytes.subarray(offset, Math.min(length, offset + CHUNK_BYTES))
      await peer.post({ type: 'content-piece', id: job.id, offset, length, body })
      job.sent = offset + body.length
      queue.frames++
      this.stats.pieceFrames++
    }
  }
}
