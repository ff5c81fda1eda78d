/**
 * The transfer scheduler: fetches one blob's pieces from every peer that holds it, verifies each
 * piece against its expected hash before it is written, and keeps playback fed (the playhead's
 * pieces first). It knows nothing of links or storage: the node adapts linked peers to
 * `PieceSource` and the partial-download store to `write`.
 */
import { toHex } from './bytes.ts'
import { every, type Clock, type Random, type TimerHandle } from './clock.ts'
import { Emitter } from './emitter.ts'
import { DcmxError } from './errors.ts'
import type { Sha256 } from './records.ts'

/** One holder of the content, as the scheduler sees it (the node adapts a linked peer to this). */
export interface PieceSource {
  readonly peerId: string
  /** Fetch piece `index`; resolves with its bytes, rejects on error, closed link or abort. */
  fetchPiece(index: number, signal: AbortSignal): Promise<Uint8Array>
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

export const DEFAULT_TRANSFER_CONFIG: TransferConfig = {
  pieceTimeoutMs: 8_000,
  maxInFlightPerPeer: 8,
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
  /** Current holders; re-read on every scheduling pass, as links come and go. */
  sources(): PieceSource[]
  sha256: Sha256
  /** Persist a verified piece: called once per piece, never with unverified bytes, possibly concurrently. */
  write(index: number, bytes: Uint8Array): Promise<void>
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
/** Window of a peer not yet measured: enough to measure it, little to lose if it is slow. */
const INITIAL_WINDOW = 2
/**
 * A peer's window holds what it delivers in this time at its measured rate: deep enough to keep
 * its pipe full across a round trip, shallow enough that pieces queued on a slow peer are few.
 */
const TARGET_QUEUE_MS = 2_000
/** Floor of the adaptive deadline: a round trip plus one piece on a slow but working link. */
const MIN_PIECE_TIMEOUT_MS = 1_500
/** The deadline allows this many times the expected time (queue ahead plus the piece itself). */
const TIMEOUT_MARGIN = 3
/** Pieces from the playhead on that are urgent (256 KiB pieces: ~30 s of 256 kb/s audio). */
const URGENT_AHEAD = 4
/** An urgent request older than this (and twice its expected time) is duplicated on a faster peer. */
const LATE_MIN_MS = 500
/** A peer this many times slower than the fastest gets the pieces needed last. */
const SLOW_RATIO = 4
/** Consecutive timeouts after which a peer no longer counts as a usable holder. */
const UNRESPONSIVE_AFTER = 2
/** Copies of one piece in flight during endgame. */
const ENDGAME_COPIES = 2
/** First cool-down after a failed request; doubles per consecutive failure, up to pieceTimeoutMs. */
const COOLDOWN_MS = 500
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

type Slot = {
  held: boolean
  writing: boolean
  /** Responses being hashed. */
  verifying: number
  requests: Set<Request>
  /** Peers that failed this piece (timeout, error, bad bytes): asked again only if no one else can. */
  avoid: Set<string>
}

type Peer = {
  id: string
  source: PieceSource | undefined
  present: boolean
  inFlight: Set<Request>
  /** Measured delivery rate in bytes per ms (EWMA), undefined until the first delivery. */
  rate: number | undefined
  busySince: number
  lastDeliveredAt: number
  /** Ceiling on the window: halved on timeouts and errors, +1 per delivery. */
  cap: number
  timeouts: number
  errors: number
  cooldownUntil: number
  /** Its link closed: not a usable holder until it delivers again or leaves sources(). */
  gone: boolean
  bad: number
  banned: boolean
  written: number
}

/** Fetches one blob's pieces in parallel from its holders; see the module comment. */
export class Transfer {
  readonly events = new Emitter<TransferEvents>()
  readonly #deps: TransferDeps
  readonly #config: TransferConfig
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
    this.#expected = pieces.map((h) => h.toLowerCase())
    this.#slots = pieces.map(() => ({
      held: false,
      writing: false,
      verifying: 0,
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
    if (this.#have === this.#slots.length) return this.#finish()
    this.#stopTick = every(this.#deps.clock, TICK_MS, () => this.#pump())
    this.#pump()
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
    const ready = [...this.#peers.values()].filter(
      (p) => p.present && !p.banned && p.cooldownUntil <= now && this.#free(p) > 0,
    )
    if (ready.length === 0) return
    const order = this.#order()
    const bestRate = this.#bestRate()
    const fast = ready.filter((p) => !this.#isSlow(p, bestRate))
    const slow = ready.filter((p) => this.#isSlow(p, bestRate))
    // Slow or suspect peers take the pieces needed last, unless they are all we have.
    const anyFast = [...this.#peers.values()].some((p) => this.#usable(p) && !this.#isSlow(p, bestRate))
    this.#assign(fast, order, (index) => this.#isUrgent(index) && this.#allLate(index, now, bestRate))
    this.#assign(slow, anyFast ? [...order].reverse() : order, () => false)
    if (this.#config.endgame) this.#endgame(order, ready)
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
    let free = peers.reduce((sum, p) => sum + this.#free(p), 0)
    for (const index of order) {
      if (free <= 0) return
      const slot = this.#slots[index]!
      if (slot.writing || slot.verifying > 0) continue
      if (slot.requests.size > 0 && !duplicate(index)) continue
      const peer = this.#choose(slot, this.#notAsked(slot, peers))
      if (!peer) continue
      this.#issue(index, peer)
      free--
    }
  }

  /** Once every missing piece is requested, idle peers duplicate the outstanding ones (fewest copies first). */
  #endgame(order: number[], ready: Peer[]): void {
    const open = order.map((i) => this.#slots[i]!).filter((s) => !s.writing && s.verifying === 0)
    if (open.some((s) => s.requests.size === 0)) return
    const pending = order.filter((i) => this.#slots[i]!.requests.size > 0)
    pending.sort((a, b) => this.#slots[a]!.requests.size - this.#slots[b]!.requests.size)
    for (const index of pending) {
      const slot = this.#slots[index]!
      if (slot.writing || slot.verifying > 0 || slot.requests.size >= ENDGAME_COPIES) continue
      const peer = this.#choose(slot, this.#notAsked(slot, ready))
      if (peer) this.#issue(index, peer)
    }
  }

  #notAsked(slot: Slot, peers: Peer[]): Peer[] {
    if (slot.requests.size === 0) return peers
    const asked = new Set([...slot.requests].map((r) => r.peer))
    return peers.filter((p) => !asked.has(p))
  }

  /** The peer expected to deliver soonest, avoiding peers that already failed this piece if others exist. */
  #choose(slot: Slot, peers: Peer[]): Peer | undefined {
    let candidates = peers.filter((p) => this.#free(p) > 0)
    if (slot.avoid.size > 0) {
      const others = [...this.#peers.values()].some((p) => this.#usable(p) && !slot.avoid.has(p.id))
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
    const now = this.#deps.clock.now()
    const expectedMs = peer.rate ? ((peer.inFlight.size + 1) * this.#deps.pieceSize) / peer.rate : undefined
    const timeout =
      expectedMs === undefined
        ? this.#config.pieceTimeoutMs
        : Math.min(this.#config.pieceTimeoutMs, Math.max(MIN_PIECE_TIMEOUT_MS, TIMEOUT_MARGIN * expectedMs))
    const req: Request = {
      index,
      peer,
      ac: new AbortController(),
      startedAt: now,
      expectedMs,
      timer: undefined,
      state: 'active',
    }
    req.timer = this.#deps.clock.setTimeout(() => this.#onTimeout(req), timeout)
    if (peer.inFlight.size === 0) peer.busySince = now
    peer.inFlight.add(req)
    this.#slots[index]!.requests.add(req)
    let fetched: Promise<Uint8Array>
    try {
      fetched = source.fetchPiece(index, req.ac.signal)
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
    const peer = req.peer
    peer.timeouts++
    peer.cap = Math.max(1, Math.floor(this.#window(peer) / 2))
    this.#slots[req.index]!.avoid.add(peer.id)
    this.#pump()
  }

  #onError(req: Request, error: unknown): void {
    if (!this.#retire(req, 'dropped')) return
    const peer = req.peer
    this.#slots[req.index]!.avoid.add(peer.id)
    peer.errors++
    peer.cap = Math.max(1, Math.floor(this.#window(peer) / 2))
    const cooldown = Math.min(this.#config.pieceTimeoutMs, COOLDOWN_MS * 2 ** (peer.errors - 1))
    
    if (error instanceof DcmxError && (error.code === 'LINK_CLOSED' || error.code === 'PEER_GONE')) {
      // Its other requests will fail the same way: put their pieces back now.
      peer.gone = true
      this.#dropAll(peer, 'link closed')
    }
    this.#pump()
  }

  async #onData(req: Request, bytes: Uint8Array): Promise<void> {
    if (req.state === 'dropped' || this.#state !== 'running') return
    const { peer, index } = req
    const slot = this.#slots[index]!
    if (req.state === 'active') {
      this.#retire(req, 'answered')
      this.#measure(peer, this.#deps.clock.now(), bytes.length)
    }
    if (slot.held || slot.writing) return this.#pump()
    slot.verifying++
    this.#pump()
    let valid: boolean
    try {
      valid = await this.#verify(index, bytes)
    } finally {
      slot.verifying--
    }
    if (this.#state !== 'running') return
    if (!valid) {
      this.#badPiece(peer, slot)
      return this.#pump()
    }
    if (slot.held || slot.writing) return
    slot.writing = true
    for (const other of [...slot.requests]) this.#drop(other, 'another peer delivered this piece first')
    try {
      await this.#deps.write(index, bytes)
    } catch (e) {
      slot.writing = false
      return this.#fail(asDcmxError(e, 'The download could not be saved'))
    }
    if (this.#state !== 'running') return
    slot.writing = false
    slot.held = true
    this.#have++
    this.#bytes += bytes.length
    peer.written += bytes.length
    for (const waiter of this.#needs.get(index) ?? []) waiter.resolve()
    this.#needs.delete(index)
    this.events.emit('progress', this.progress)
    if (this.#have === this.#slots.length) this.#finish()
    else this.#pump()
  }

  async #verify(index: number, bytes: Uint8Array): Promise<boolean> {
    if (bytes.length !== this.#lengthOf(index)) return false
    return toHex(await this.#deps.sha256(bytes)) === this.#expected[index]
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

  /** Update a peer's rate from one delivery: bytes over the time since its previous delivery (or since it became busy). */
  #measure(peer: Peer, now: number, length: number): void {
    const interval = Math.max(1, now - Math.max(peer.lastDeliveredAt, peer.busySince))
    const sample = length / interval
    peer.rate = peer.rate === undefined ? sample : 0.7 * peer.rate + 0.3 * sample
    peer.lastDeliveredAt = now
    peer.cap = Math.min(this.#config.maxInFlightPerPeer, peer.cap + 1)
    peer.timeouts = 0
    peer.errors = 0
    peer.gone = false
  }

  // --- peers ---

  #syncSources(): void {
    const seen = new Set<string>()
    for (const source of this.#deps.sources()) {
      if (seen.has(source.peerId)) continue
      seen.add(source.peerId)
      const peer = this.#peers.get(source.peerId) ?? this.#newPeer(source.peerId)
      peer.source = source
      peer.present = true
    }
    for (const peer of this.#peers.values()) {
      if (seen.has(peer.id) || !peer.present) continue
      // It left: its outstanding pieces go back to the queue. If it returns, it starts afresh (bans stay).
      peer.present = false
      peer.source = undefined
      peer.gone = false
      peer.timeouts = 0
      peer.errors = 0
      peer.cooldownUntil = 0
      this.#dropAll(peer, 'peer left')
    }
  }

  /** Fail once no usable holder has been seen for noSourceTimeoutMs. */
  #watchSources(now: number): void {
    if ([...this.#peers.values()].some((p) => this.#usable(p))) {
      this.#noSourceSince = undefined
      this.#clearNoSourceTimer()
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
    if (peers.some((p) => p.present && !p.banned && p.timeouts >= UNRESPONSIVE_AFTER))
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

  #newPeer(id: string): Peer {
    const peer: Peer = {
      id,
      source: undefined,
      present: false,
      inFlight: new Set(),
      rate: undefined,
      busySince: 0,
      lastDeliveredAt: -Infinity,
      cap: this.#config.maxInFlightPerPeer,
      timeouts: 0,
      errors: 0,
      cooldownUntil: 0,
      gone: false,
      bad: 0,
      banned: false,
      written: 0,
    }
    this.#peers.set(id, peer)
    return peer
  }

  /** Requests a peer may have in flight: what it delivers in TARGET_QUEUE_MS, within its cap. */
  #window(peer: Peer): number {
    // A peer that timed out or failed is probed with one request until it delivers again.
    if (peer.timeouts > 0 || peer.errors > 0) return 1
    const bySpeed =
      peer.rate === undefined
        ? INITIAL_WINDOW
        : Math.ceil((peer.rate * TARGET_QUEUE_MS) / this.#deps.pieceSize)
    return Math.max(1, Math.min(bySpeed, peer.cap, this.#config.maxInFlightPerPeer))
  }

  /** A holder worth waiting for: listed, not banned, link not closed, answering. */
  #usable(peer: Peer): boolean {
    return peer.present && !peer.banned && !peer.gone && peer.timeouts < UNRESPONSIVE_AFTER
  }

  #free(peer: Peer): number {
    return Math.max(0, this.#window(peer) - peer.inFlight.size)
  }

  #bestRate(): number | undefined {
    let best: number | undefined
    for (const p of this.#peers.values())
      if (p.present && !p.banned && p.timeouts === 0 && p.rate !== undefined)
        best = Math.max(best ?? 0, p.rate)
    return best
  }

  #isSlow(peer: Peer, bestRate: number | undefined): boolean {
    if (peer.timeouts > 0) return true
    return peer.rate !== undefined && bestRate !== undefined && peer.rate * SLOW_RATIO < bestRate
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
    if (this.#isSlow(req.peer, bestRate)) return true
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
