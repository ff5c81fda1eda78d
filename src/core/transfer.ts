/**
 * The transfer scheduler: fetches one blob's pieces from every peer that holds it, has each piece
 * verified against its expected hash as it is written (the store's `write` checks it, see
 * partial.ts), and keeps playback fed (the playhead's pieces first). It knows nothing of links or
 * storage: the node adapts linked peers to `PieceSource` and the partial-download store to `write`.
 */
import { every, type Clock, type Random, type TimerHandle } from './clock.ts'
import { Emitter } from './emitter.ts'
import { DcmxError } from './errors.ts'
import { isPieceMismatch } from './partial.ts'
import { TransferPeer, type PeerLimits } from './transfer-peer.ts'

/** One holder of the content, as the scheduler sees it (the node adapts a linked peer to this). */
export interface PieceSource {
  readonly peerId: string
  /** Fetch piece `index`; resolves with its bytes, rejects on error, closed link or abort. */
  fetchPiece(index: number, signal: AbortSignal): Promise<Uint8Array>
  /** The link's smoothed round trip, once measured (sizes the peer's window). */
  rttMs?(): number | undefined
  /**
   * Its link is restoring a broken path by itself (bounded, then it closes): a holder that has
   * gone quiet meanwhile is waited for, not given up on.
   */
  repairing?(): boolean
}

/** A piece request already on its way to `peerId`; `controller` aborts it. */
export type EarlyRequest = {
  index: number
  peerId: string
  bytes: Promise<Uint8Array>
  controller: AbortController
  /** When it was sent (the clock's time): its peer's rate is measured from then. */
  startedAt: number
}

export type TransferConfig = {
  /** Upper bound on one request; the actual deadline adapts to the peer's measured speed. */
  pieceTimeoutMs: number
  /** Most requests in flight to one peer; the actual window follows its measured throughput. */
  maxInFlightPerPeer: number
  /** Bad pieces from one peer after which it is banned for this transfer. */
  badPieceLimit: number
  /** With no usable holder for this long, the transfer fails. */
  noSourceTimeoutMs: number
  /** When every missing piece is requested, idle peers duplicate outstanding requests. */
  endgame: boolean
}

/** While the only holders left are repairing their links, how often to look at them again. */
const REPAIR_RECHECK_MS = 1_000

export const DEFAULT_TRANSFER_CONFIG: TransferConfig = {
  pieceTimeoutMs: 8_000,
  // 16 × 256 KiB = 4 MiB: a 25 MB/s holder's pipe through a 100 ms stall of the receiver
  // (transfer-peer.ts sizes each window below it from the peer's rate and round trip).
  maxInFlightPerPeer: 16,
  badPieceLimit: 3,
  noSourceTimeoutMs: 15_000,
  endgame: true,
}

export type TransferDeps = {
  size: number
  pieceSize: number
  /** Expected SHA-256 (hex) of each piece, already bound to the content hash's piece root by the caller. */
  pieces: readonly string[]
  /** Pieces already held (resume after reload). */
  have?: Iterable<number>
  /**
   * Requests sent before the transfer was made (the download's first piece, asked for while the
   * piece list was on its way): each counts as a request to its peer from `start()` on, with the
   * same deadline, verification and accounting as one the transfer issued; one whose peer is not
   * among the sources, or whose piece is already held, is aborted.
   */
  early?: readonly EarlyRequest[]
  /** Current holders; re-read on every scheduling pass, as links come and go. */
  sources(): PieceSource[]
  /**
   * Verify piece `index` against `expected` (hex) and persist it, taking its bytes; reject with
   * partial.ts's `pieceMismatch` (and persist nothing) if it does not match. Called once per piece
   * at a time, possibly for several pieces concurrently.
   */
  write(index: number, bytes: Uint8Array, expected: string): Promise<void>
  /** A peer sent a piece failing its hash or length; `banned` once it reaches the limit. */
  onBadPiece?(peerId: string, banned: boolean): void
  clock: Clock
  random: Random
  config?: Partial<TransferConfig>
}

export type TransferProgress = {
  /** Pieces held (verified and written). */
  have: number
  total: number
  /** Bytes held. */
  bytes: number
  size: number
  /** Peers that delivered a verified piece in the last few seconds. */
  sources: number
  /** Verified bytes written, by the peer that sent them (this session only). */
  perPeer: Record<string, number>
  /** Peers banned for sending bad pieces. */
  banned: string[]
}

export type TransferState = 'idle' | 'running' | 'done' | 'failed' | 'cancelled'

export type TransferEvents = { progress: [TransferProgress]; done: []; failed: [DcmxError] }

/** How often sources() is re-read when nothing else happens (links may change without telling us). */
const TICK_MS = 1_000
/** Pieces from the playhead on that are urgent (256 KiB pieces: ~30 s of 256 kb/s audio). */
const URGENT_AHEAD = 4
/** An urgent request older than this (and twice its expected time) is duplicated on a faster peer. */
const LATE_MIN_MS = 500
/** Copies of one piece in flight during endgame. */
const ENDGAME_COPIES = 2
/** A peer counts in `progress.sources` for this long after its last verified piece. */
const ACTIVE_MS = 5_000

type Request = {
  index: number
  peer: Peer
  ac: AbortController
  startedAt: number
  /** Time this request should take at the peer's measured rate (undefined: not measured yet). */
  expectedMs: number | undefined
  timer: TimerHandle | undefined
  /** A timed-out request's bytes are still used if they arrive; a dropped one's are not. */
  state: 'active' | 'answered' | 'timed-out' | 'dropped'
}

type Peer = TransferPeer<Request>

/** A piece as it arrived, and who sent it. */
type Copy = { bytes: Uint8Array; peer: Peer }

type Slot = {
  held: boolean
  /** A copy is being verified and written. */
  writing: boolean
  /** A second copy that arrived meanwhile: written if the first fails its hash (one at most). */
  spare: Copy | undefined
  requests: Set<Request>
  /** Peers that failed this piece (timeout, error, bad bytes): asked again only if no one else can. */
  avoid: Set<string>
}

/** Fetches one blob's pieces in parallel from its holders; see the module comment. */
export class Transfer {
  readonly events = new Emitter<TransferEvents>()
  readonly #deps: TransferDeps
  readonly #config: TransferConfig
  readonly #limits: PeerLimits
  readonly #expected: string[]
  readonly #slots: Slot[]
  readonly #peers = new Map<string, Peer>()
  readonly #needs = new Map<number, { resolve: () => void; reject: (e: DcmxError) => void }[]>()
  #state: TransferState = 'idle'
  #error: DcmxError | undefined
  #have = 0
  #bytes = 0
  #playhead = 0
  #stopTick: (() => void) | undefined
  #noSourceSince: number | undefined
  #noSourceTimer: TimerHandle | undefined

  constructor(deps: TransferDeps) {
    const { size, pieceSize, pieces } = deps
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`bad size: ${size}`)
    if (!Number.isSafeInteger(pieceSize) || pieceSize <= 0)
      throw new RangeError(`bad piece size: ${pieceSize}`)
    if (pieces.length !== Math.ceil(size / pieceSize))
      throw new RangeError(`${pieces.length} piece hashes for ${Math.ceil(size / pieceSize)} pieces`)
    this.#deps = deps
    this.#config = { ...DEFAULT_TRANSFER_CONFIG, ...deps.config }
    this.#limits = {
      pieceSize,
      maxInFlight: this.#config.maxInFlightPerPeer,
      pieceTimeoutMs: this.#config.pieceTimeoutMs,
    }
    this.#expected = pieces.map((h) => h.toLowerCase())
    this.#slots = pieces.map(() => ({
      held: false,
      writing: false,
      spare: undefined,
      requests: new Set(),
      avoid: new Set(),
    }))
    for (const index of deps.have ?? []) {
      const slot = this.#slots[index]
      if (!slot) throw new RangeError(`held piece ${index} out of range`)
      if (slot.held) continue
      slot.held = true
      this.#have++
      this.#bytes += this.#lengthOf(index)
    }
  }

  get state(): TransferState {
    return this.#state
  }

  get progress(): TransferProgress {
    const now = this.#deps.clock.now()
    const perPeer: Record<string, number> = {}
    let sources = 0
    for (const peer of this.#peers.values()) {
      if (peer.written > 0) perPeer[peer.id] = peer.written
      if (peer.written > 0 && now - peer.lastDeliveredAt <= ACTIVE_MS && !peer.banned) sources++
    }
    const banned = [...this.#peers.values()].filter((p) => p.banned).map((p) => p.id)
    const total = this.#slots.length
    return { have: this.#have, total, bytes: this.#bytes, size: this.#deps.size, sources, perPeer, banned }
  }

  start(): void {
    if (this.#state !== 'idle') return
    this.#state = 'running'
    this.#adoptEarly()
    if (this.#have === this.#slots.length) return this.#finish()
    this.#stopTick = every(this.#deps.clock, TICK_MS, () => this.#pump())
    this.#pump()
  }

  /** Take over the requests sent before the transfer was made (TransferDeps.early). */
  #adoptEarly(): void {
    const early = this.#deps.early ?? []
    if (early.length === 0) return
    this.#syncSources()
    for (const { index, peerId, bytes, controller, startedAt } of early) {
      const peer = this.#peers.get(peerId)
      const slot = this.#slots[index]
      if (!peer?.source || !slot || slot.held || slot.requests.size > 0 || peer.free <= 0) {
        controller.abort(new DcmxError('ABORTED', 'not needed'))
        continue
      }
      this.#track(index, peer, controller, () => bytes, startedAt)
    }
  }

  /** Playback position: pieces from here on are fetched first (seek support). */
  setPlayhead(byteOffset: number): void {
    const piece = Math.floor(Math.max(0, byteOffset) / this.#deps.pieceSize)
    this.#playhead = Math.min(piece, Math.max(0, this.#slots.length - 1))
    this.#pump()
  }

  /** Resolves once piece `index` is held (fetching it with top priority); rejects if the transfer fails or is cancelled. */
  need(index: number): Promise<void> {
    const slot = this.#slots[index]
    if (!Number.isInteger(index) || !slot) return Promise.reject(new RangeError(`no piece ${index}`))
    if (slot.held) return Promise.resolve()
    if (this.#error) return Promise.reject(this.#error)
    return new Promise((resolve, reject) => {
      const waiting = this.#needs.get(index) ?? []
      waiting.push({ resolve, reject })
      this.#needs.set(index, waiting)
      this.#pump()
    })
  }

  /** The node calls this when links come or go, so the next pass does not wait for the tick. */
  sourcesChanged(): void {
    this.#pump()
  }

  /** Stop: abort every request; pending `need` calls reject with ABORTED. No `failed` event. */
  cancel(): void {
    if (this.#state !== 'idle' && this.#state !== 'running') return
    this.#state = 'cancelled'
    this.#teardown(new DcmxError('ABORTED', 'The download was cancelled.'))
  }

  // --- scheduling ---

  #pump(): void {
    if (this.#state !== 'running') return
    const now = this.#deps.clock.now()
    this.#syncSources()
    this.#watchSources(now)
    if (this.#state !== 'running') return
    const ready = [...this.#peers.values()].filter((p) => p.ready(now))
    if (ready.length === 0) return
    const order = this.#order()
    const bestRate = this.#bestRate()
    const fast = ready.filter((p) => !p.isSlow(bestRate))
    const slow = ready.filter((p) => p.isSlow(bestRate))
    // Slow or suspect peers take the pieces needed last, unless they are all we have.
    const anyFast = [...this.#peers.values()].some((p) => p.usable && !p.isSlow(bestRate))
    this.#assign(fast, order, (index) => this.#isUrgent(index) && this.#allLate(index, now, bestRate))
    this.#assign(slow, anyFast ? [...order].reverse() : order, () => false)
    if (this.#config.endgame) this.#endgame(order, ready, now)
  }

  /** Missing pieces, most wanted first: needed ones, then from the playhead on, then the rest. */
  #order(): number[] {
    const n = this.#slots.length
    const needed = [...this.#needs.keys()].sort((a, b) => a - b)
    const out: number[] = needed.filter((i) => !this.#slots[i]!.held)
    for (let k = 0; k < n; k++) {
      const i = (this.#playhead + k) % n
      if (!this.#slots[i]!.held && !this.#needs.has(i)) out.push(i)
    }
    return out
  }

  /** Give `peers` the first pieces of `order` no one is fetching, or that `duplicate` says to fetch again. */
  #assign(peers: Peer[], order: number[], duplicate: (index: number) => boolean): void {
    let free = peers.reduce((sum, p) => sum + p.free, 0)
    for (const index of order) {
      if (free <= 0) return
      const slot = this.#slots[index]!
      if (slot.writing) continue
      if (slot.requests.size > 0 && !duplicate(index)) continue
      const peer = this.#choose(slot, this.#notAsked(slot, peers))
      if (!peer) continue
      this.#issue(index, peer)
      free--
    }
  }

  /**
   * Once every missing piece is requested, a peer with room takes over requests it should deliver
   * sooner than the peer they wait on, latest-due first: the tail of a busy or slow peer's queue,
   * which that peer has not started (a holder serves in the order asked), so its copy is cancelled
   * before it is read and the steal costs no bytes. A request at the head of a queue, whose bytes
   * are already on their way, is copied only once it is overdue (a stalled or vanished holder).
   * Copying the lowest pieces first, as before, raced the pieces being sent: three rate-limited
   * holders sent 7 % more piece frames than their tracks needed, against 4 % this way.
   */
  #endgame(order: number[], ready: Peer[], now: number): void {
    const open = order.map((i) => this.#slots[i]!).filter((s) => !s.writing)
    if (open.some((s) => s.requests.size === 0)) return
    const times = this.#queueTimes()
    const bestRate = this.#bestRate()
    const pending = order
      .filter((i) => {
        const slot = this.#slots[i]!
        return !slot.writing && slot.requests.size > 0 && slot.requests.size < ENDGAME_COPIES
      })
      .map((index) => {
        const [request] = this.#slots[index]!.requests
        return { index, ...times.get(request!)! }
      })
      .sort((a, b) => b.due - a.due)
    for (const { index, due, begins } of pending) {
      const slot = this.#slots[index]!
      const peer = this.#choose(slot, this.#notAsked(slot, ready))
      if (!peer) continue
      const rate = peer.rate ?? bestRate
      const arrives =
        rate === undefined ? undefined : now + ((peer.inFlight.size + 1) * this.#deps.pieceSize) / rate
      if (now < due && (arrives === undefined || arrives > begins)) continue
      this.#issue(index, peer)
    }
  }

  /**
   * When each request in flight should arrive (`due`), and when its holder should begin sending it
   * (`begins`): a holder serves its requests in the order asked, one piece time each at its
   * measured rate, from its last delivery on. A request to an unmeasured holder is due LATE_MIN_MS
   * after it was sent.
   */
  #queueTimes(): Map<Request, { due: number; begins: number }> {
    const times = new Map<Request, { due: number; begins: number }>()
    for (const peer of this.#peers.values()) {
      const rate = peer.rate
      let previous: number | undefined
      for (const request of peer.inFlight) {
        if (rate === undefined) {
          const due = request.startedAt + LATE_MIN_MS
          times.set(request, { due, begins: due })
          continue
        }
        const from = Math.max(peer.lastDeliveredAt, request.startedAt)
        const begins = previous === undefined ? from : Math.max(from, previous)
        previous = begins + this.#deps.pieceSize / rate
        times.set(request, { due: previous, begins })
      }
    }
    return times
  }

  #notAsked(slot: Slot, peers: Peer[]): Peer[] {
    if (slot.requests.size === 0) return peers
    const asked = new Set([...slot.requests].map((r) => r.peer))
    return peers.filter((p) => !asked.has(p))
  }

  /** The peer expected to deliver soonest, avoiding peers that already failed this piece if others exist. */
  #choose(slot: Slot, peers: Peer[]): Peer | undefined {
    let candidates = peers.filter((p) => p.free > 0)
    if (slot.avoid.size > 0) {
      const others = [...this.#peers.values()].some((p) => p.usable && !slot.avoid.has(p.id))
      if (others) candidates = candidates.filter((p) => !slot.avoid.has(p.id))
      else slot.avoid.clear()
    }
    if (candidates.length === 0) return undefined
    const bestRate = this.#bestRate() ?? 1
    const eta = (p: Peer) => (p.inFlight.size + 1) / (p.rate ?? bestRate)
    const best = Math.min(...candidates.map(eta))
    const ties = candidates.filter((p) => eta(p) === best)
    return ties[Math.min(ties.length - 1, Math.floor(this.#deps.random() * ties.length))]
  }

  #issue(index: number, peer: Peer): void {
    const source = peer.source
    if (!source) return
    const ac = new AbortController()
    this.#track(index, peer, ac, () => source.fetchPiece(index, ac.signal))
  }

  /**
   * Count a request for piece `index` to `peer` (counted first, then sent by `send`, which an
   * early request already was): its deadline, then its outcome.
   */
  #track(
    index: number,
    peer: Peer,
    ac: AbortController,
    send: () => Promise<Uint8Array>,
    startedAt = this.#deps.clock.now(),
  ): void {
    const { expectedMs, timeoutMs } = peer.plan()
    const req: Request = {
      index,
      peer,
      ac,
      startedAt,
      expectedMs,
      timer: undefined,
      state: 'active',
    }
    req.timer = this.#deps.clock.setTimeout(
      () => this.#onTimeout(req),
      Math.max(0, startedAt + timeoutMs - this.#deps.clock.now()),
    )
    peer.started(req, startedAt)
    this.#slots[index]!.requests.add(req)
    let fetched: Promise<Uint8Array>
    try {
      fetched = send()
    } catch (e) {
      fetched = Promise.reject(e)
    }
    fetched
      .then(
        (bytes) => this.#onData(req, bytes),
        (e: unknown) => this.#onError(req, e),
      )
      .catch((e: unknown) => this.#fail(asDcmxError(e, 'The download stopped on an internal error')))
  }

  // --- outcomes ---

  #onTimeout(req: Request): void {
    if (!this.#retire(req, 'timed-out')) return
    req.ac.abort(new DcmxError('TIMEOUT', `piece ${req.index} timed out`))
    req.peer.timedOut()
    this.#slots[req.index]!.avoid.add(req.peer.id)
    this.#pump()
  }

  #onError(req: Request, error: unknown): void {
    if (!this.#retire(req, 'dropped')) return
    const peer = req.peer
    this.#slots[req.index]!.avoid.add(peer.id)
    const gone = error instanceof DcmxError && (error.code === 'LINK_CLOSED' || error.code === 'PEER_GONE')
    peer.failed(this.#deps.clock.now(), gone)
    // Its other requests will fail the same way: put their pieces back now.
    if (gone) this.#dropAll(peer, 'link closed')
    this.#pump()
  }

  async #onData(req: Request, bytes: Uint8Array): Promise<void> {
    if (req.state === 'dropped' || this.#state !== 'running') return
    const { peer, index } = req
    const slot = this.#slots[index]!
    if (req.state === 'active') {
      this.#retire(req, 'answered')
      peer.delivered(this.#deps.clock.now(), bytes.length)
    }
    if (slot.held) return this.#pump()
    if (bytes.length !== this.#lengthOf(index)) {
      this.#badPiece(peer, slot)
      return this.#pump()
    }
    if (slot.writing) {
      slot.spare ??= { bytes, peer }
      return this.#pump()
    }
    slot.writing = true
    this.#pump()
    let copy: Copy | undefined = { bytes, peer }
    while (copy) {
      try {
        await this.#deps.write(index, copy.bytes, this.#expected[index]!)
        break
      } catch (e) {
        if (this.#state !== 'running') return
        if (!isPieceMismatch(e)) {
          slot.writing = false
          slot.spare = undefined
          return this.#fail(asDcmxError(e, 'The download could not be saved'))
        }
        this.#badPiece(copy.peer, slot)
        copy = slot.spare
        slot.spare = undefined
      }
    }
    slot.writing = false
    slot.spare = undefined
    if (this.#state !== 'running') return
    if (!copy) return this.#pump()
    slot.held = true
    for (const other of [...slot.requests]) this.#drop(other, 'another peer delivered this piece first')
    this.#have++
    // `write` took the bytes (their buffer may be a worker's now): the verified length is known.
    this.#bytes += this.#lengthOf(index)
    copy.peer.written += this.#lengthOf(index)
    for (const waiter of this.#needs.get(index) ?? []) waiter.resolve()
    this.#needs.delete(index)
    this.events.emit('progress', this.progress)
    if (this.#have === this.#slots.length) this.#finish()
    else this.#pump()
  }

  #badPiece(peer: Peer, slot: Slot): void {
    slot.avoid.add(peer.id)
    if (peer.banned) return
    peer.bad++
    const banned = peer.bad >= this.#config.badPieceLimit
    if (banned) {
      peer.banned = true
      this.#dropAll(peer, 'peer banned for bad pieces')
    }
    this.#deps.onBadPiece?.(peer.id, banned)
  }

  // --- peers ---

  #syncSources(): void {
    const seen = new Set<string>()
    for (const source of this.#deps.sources()) {
      if (seen.has(source.peerId)) continue
      seen.add(source.peerId)
      let peer = this.#peers.get(source.peerId)
      if (!peer) {
        peer = new TransferPeer(source.peerId, this.#limits)
        this.#peers.set(source.peerId, peer)
      }
      peer.source = source
      peer.present = true
    }
    for (const peer of this.#peers.values()) {
      if (seen.has(peer.id) || !peer.present) continue
      // It left: its outstanding pieces go back to the queue.
      peer.left()
      this.#dropAll(peer, 'peer left')
    }
  }

  /** Fail once no usable holder has been seen for noSourceTimeoutMs (a repairing link counts). */
  #watchSources(now: number): void {
    const peers = [...this.#peers.values()]
    if (peers.some((p) => p.usable)) {
      this.#noSourceSince = undefined
      this.#clearNoSourceTimer()
      return
    }
    if (peers.some((p) => p.present && !p.banned && p.source?.repairing?.() === true)) {
      // A quiet holder whose link is restoring its path: wait, and look again shortly (the link
      // bounds its repair and closes if it fails; the countdown starts only after that).
      this.#noSourceSince = undefined
      this.#clearNoSourceTimer()
      this.#noSourceTimer = this.#deps.clock.setTimeout(() => this.#pump(), REPAIR_RECHECK_MS)
      return
    }
    if (this.#noSourceSince === undefined) {
      this.#noSourceSince = now
      this.#noSourceTimer = this.#deps.clock.setTimeout(() => this.#pump(), this.#config.noSourceTimeoutMs)
    } else if (now - this.#noSourceSince >= this.#config.noSourceTimeoutMs) {
      this.#fail(this.#noSourceError())
    }
  }

  #noSourceError(): DcmxError {
    const peers = [...this.#peers.values()]
    const banned = peers.filter((p) => p.banned).length
    if (peers.some((p) => p.unresponsive))
      return new DcmxError('TIMEOUT', 'The peers that hold this track stopped answering. Try again later.')
    if (banned > 0)
      return new DcmxError(
        'HASH_MISMATCH',
        `${banned === 1 ? 'The only peer' : `All ${banned} peers`} offering this track sent corrupted data and ` +
          `${banned === 1 ? 'was' : 'were'} blocked; no other holder is reachable. Try again later.`,
      )
    return new DcmxError(
      'PEER_GONE',
      'No peer that holds this track is reachable. Try again when one of its holders is online.',
    )
  }

  #bestRate(): number | undefined {
    let best: number | undefined
    for (const p of this.#peers.values())
      if (p.present && !p.banned && p.timeouts === 0 && p.rate !== undefined)
        best = Math.max(best ?? 0, p.rate)
    return best
  }

  #isUrgent(index: number): boolean {
    return this.#needs.has(index) || (index >= this.#playhead && index < this.#playhead + URGENT_AHEAD)
  }

  #allLate(index: number, now: number, bestRate: number | undefined): boolean {
    return [...this.#slots[index]!.requests].every((r) => this.#isLate(r, now, bestRate))
  }

  /** Late: past twice its expected time (the fastest peer's pace if its own is unknown), or on a slow peer. */
  #isLate(req: Request, now: number, bestRate: number | undefined): boolean {
    const age = now - req.startedAt
    if (age <= LATE_MIN_MS) return false
    if (req.peer.isSlow(bestRate)) return true
    const expected =
      req.expectedMs ?? (bestRate ? this.#deps.pieceSize / bestRate : this.#config.pieceTimeoutMs / 4)
    return age > 2 * expected
  }

  // --- bookkeeping ---

  #lengthOf(index: number): number {
    return Math.min(this.#deps.pieceSize, this.#deps.size - index * this.#deps.pieceSize)
  }

  /** Take a request out of the books; false if it already was. */
  #retire(req: Request, state: Request['state']): boolean {
    if (req.state !== 'active') return false
    req.state = state
    if (req.timer !== undefined) this.#deps.clock.clearTimeout(req.timer)
    req.peer.inFlight.delete(req)
    this.#slots[req.index]!.requests.delete(req)
    return true
  }

  #drop(req: Request, why: string): void {
    if (this.#retire(req, 'dropped')) req.ac.abort(new DcmxError('ABORTED', why))
  }

  #dropAll(peer: Peer, why: string): void {
    for (const req of [...peer.inFlight]) this.#drop(req, why)
  }

  #clearNoSourceTimer(): void {
    if (this.#noSourceTimer !== undefined) this.#deps.clock.clearTimeout(this.#noSourceTimer)
    this.#noSourceTimer = undefined
  }

  #teardown(error: DcmxError | undefined): void {
    this.#stopTick?.()
    this.#stopTick = undefined
    this.#clearNoSourceTimer()
    for (const peer of this.#peers.values()) this.#dropAll(peer, 'transfer ended')
    if (error) {
      this.#error = error
      for (const waiters of this.#needs.values()) for (const w of waiters) w.reject(error)
    }
    this.#needs.clear()
  }

  #finish(): void {
    this.#state = 'done'
    this.#teardown(undefined)
    this.events.emit('done')
  }

  #fail(error: DcmxError): void {
    if (this.#state !== 'running') return
    this.#state = 'failed'
    this.#teardown(error)
    this.events.emit('failed', error)
  }
}

/** Keep a DcmxError as it is; name anything else (quota errors by their DOMException name). */
function asDcmxError(error: unknown, context: string): DcmxError {
  if (error instanceof DcmxError) return error
  const name = (error as { name?: unknown } | undefined)?.name
  const detail = error instanceof Error ? error.message : String(error)
  const wrapped =
    name === 'QuotaExceededError'
      ? new DcmxError('QUOTA', 'There is not enough storage space left for this track.')
      : new DcmxError('UNSUPPORTED', `${context}: ${detail}`)
  wrapped.cause = error
  return wrapped
}
