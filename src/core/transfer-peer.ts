/**
 * What the transfer scheduler knows about one holder: its measured rate, the window of requests it
 * may have in flight, the deadline of a new request, and its failures. No I/O: the scheduler tells
 * it what happened and when.
 */
import type { PieceSource } from './transfer.ts'

export type PeerLimits = { pieceSize: number; maxInFlight: number; pieceTimeoutMs: number }

/** Window of a peer not yet measured: enough to measure it, little to lose if it is slow. */
const INITIAL_WINDOW = 2
/**
 * A peer's window never holds more than it delivers in this time at its measured rate, so few
 * pieces wait queued on a slow peer (and deadlines, a multiple of the queue ahead, stay short).
 */
const TARGET_QUEUE_MS = 2_000
/**
 * What a holder's link buffers before its sender waits (src/platform/rtc-link.ts's high-water
 * mark): bytes of ours that are past the holder and not yet here, on top of the round trip.
 */
const SENDER_BUFFER_BYTES = 1024 * 1024
/**
 * From a piece's last frame arriving to the request that replaces it reaching the holder, beyond
 * the round trip: a busy receiver's main thread (a storage transaction, a collection) stalls for
 * this long. The window covers it, so the holder keeps sending through the stall; the transfer
 * bench counts the requests that still found their holder idle (stats.content.idleStarts).
 */
const TURNAROUND_MS = 150
/** Floor of the adaptive deadline: a round trip plus one piece on a slow but working link. */
const MIN_PIECE_TIMEOUT_MS = 1_500
/** The deadline allows this many times the expected time (the queue ahead plus the piece itself). */
const TIMEOUT_MARGIN = 3
/** A peer this many times slower than the fastest is slow: it gets the pieces needed last. */
const SLOW_RATIO = 4
/** Consecutive timeouts after which a peer no longer counts as a usable holder. */
const UNRESPONSIVE_AFTER = 2
/** First cool-down after a failed request; doubles per consecutive failure, up to pieceTimeoutMs. */
const COOLDOWN_MS = 500
/** Weight of a new rate sample in the moving average. */
const RATE_GAIN = 0.3

/** One holder as the scheduler tracks it; `R` is the scheduler's request record. */
export class TransferPeer<R> {
  source: PieceSource | undefined
  /** Listed by sources() at the last pass. */
  present = false
  readonly inFlight = new Set<R>()
  /** Delivery rate in bytes per ms (moving average); undefined until its first delivery. */
  rate: number | undefined
  lastDeliveredAt = -Infinity
  /** Consecutive timeouts and errors since its last delivery. */
  timeouts = 0
  errors = 0
  cooldownUntil = 0
  /** Its link closed: not a usable holder until it delivers again or leaves sources(). */
  gone = false
  bad = 0
  banned = false
  /** Verified bytes written from this peer. */
  written = 0
  #busySince = 0
  /** Ceiling on the window: halved on timeouts and errors, +1 per delivery. */
  #cap: number

  constructor(
    readonly id: string,
    readonly limits: PeerLimits,
  ) {
    this.#cap = limits.maxInFlight
  }

  /**
   * Requests it may have in flight: the piece being sent plus what keeps its pipe full until our
   * next request reaches it (its measured rate × (round trip + turnaround), and its link's
   * buffer), but never more than it delivers in TARGET_QUEUE_MS; within its cap.
   */
  get window(): number {
    // A peer that timed out or failed is probed with one request until it delivers again.
    if (this.timeouts > 0 || this.errors > 0) return 1
    let bySpeed = INITIAL_WINDOW
    if (this.rate !== undefined) {
      const { pieceSize } = this.limits
      const rttMs = this.source?.rttMs?.() ?? 0
      const pipe = pieceSize + this.rate * (rttMs + TURNAROUND_MS) + SENDER_BUFFER_BYTES
      bySpeed = Math.ceil(Math.min(pipe, this.rate * TARGET_QUEUE_MS) / pieceSize)
    }
    return Math.max(1, Math.min(bySpeed, this.#cap, this.limits.maxInFlight))
  }

  get free(): number {
    return Math.max(0, this.window - this.inFlight.size)
  }

  /** A holder worth waiting for: listed, not banned, link not closed, answering. */
  get usable(): boolean {
    return this.present && !this.banned && !this.gone && this.timeouts < UNRESPONSIVE_AFTER
  }

  get unresponsive(): boolean {
    return this.present && !this.banned && this.timeouts >= UNRESPONSIVE_AFTER
  }

  /** May be sent a request now. */
  ready(now: number): boolean {
    return this.present && !this.banned && this.cooldownUntil <= now && this.free > 0
  }

  /** Suspect (timed out) or much slower than the fastest peer. */
  isSlow(bestRate: number | undefined): boolean {
    if (this.timeouts > 0) return true
    return this.rate !== undefined && bestRate !== undefined && this.rate * SLOW_RATIO < bestRate
  }

  /** Expected duration and deadline of one more request, given the queue already on this peer. */
  plan(): { expectedMs: number | undefined; timeoutMs: number } {
    if (this.rate === undefined) return { expectedMs: undefined, timeoutMs: this.limits.pieceTimeoutMs }
    const expectedMs = ((this.inFlight.size + 1) * this.limits.pieceSize) / this.rate
    const timeoutMs = Math.min(
      this.limits.pieceTimeoutMs,
      Math.max(MIN_PIECE_TIMEOUT_MS, TIMEOUT_MARGIN * expectedMs),
    )
    return { expectedMs, timeoutMs }
  }

  started(request: R, now: number): void {
    if (this.inFlight.size === 0) this.#busySince = now
    this.inFlight.add(request)
  }

  /** A piece arrived: rate sample = its bytes over the time since the previous one (or since it became busy). */
  delivered(now: number, length: number): void {
    const interval = Math.max(1, now - Math.max(this.lastDeliveredAt, this.#busySince))
    const sample = length / interval
    this.rate = this.rate === undefined ? sample : (1 - RATE_GAIN) * this.rate + RATE_GAIN * sample
    this.lastDeliveredAt = now
    this.#cap = Math.min(this.limits.maxInFlight, this.#cap + 1)
    this.timeouts = 0
    this.errors = 0
    this.gone = false
  }

  timedOut(): void {
    this.#cap = Math.max(1, Math.floor(this.window / 2))
    this.timeouts++
  }

  /** A request failed; `gone` when the failure was its link closing. */
  failed(now: number, gone: boolean): void {
    this.#cap = Math.max(1, Math.floor(this.window / 2))
    this.errors++
    this.cooldownUntil = now + Math.min(this.limits.pieceTimeoutMs, COOLDOWN_MS * 2 ** (this.errors - 1))
    if (gone) this.gone = true
  }

  /** It left sources(): if it returns, it starts afresh (its ban and bad count stay). */
  left(): void {
    this.present = false
    this.source = undefined
    this.gone = false
    this.timeouts = 0
    this.errors = 0
    this.cooldownUntil = 0
  }
}
