import { createHash } from 'node:crypto'
import type { Clock, TimerHandle } from '../clock.ts'
import { DcmxError } from '../errors.ts'
import type { Sha256 } from '../records.ts'
import type { PieceSource } from '../transfer.ts'

/** SHA-256 that settles in microtasks (node:crypto), so a FakeClock's `advance` drives it fully. */
export const syncSha256: Sha256 = async (data) => new Uint8Array(createHash('sha256').update(data).digest())

const hex = (data: Uint8Array) => createHash('sha256').update(data).digest('hex')

/** A blob of `count` pieces (the last `shortBy` bytes shorter) and its piece hashes. */
export function makeContent(count: number, pieceSize: number, shortBy = 0) {
  const size = count * pieceSize - shortBy
  const bytes = new Uint8Array(size)
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + (i >>> 8) * 7 + (i >>> 16)) & 0xff
  const piece = (index: number) => bytes.subarray(index * pieceSize, Math.min(size, (index + 1) * pieceSize))
  const pieces = Array.from({ length: count }, (_, i) => hex(piece(i)))
  return { size, pieceSize, bytes, pieces, piece }
}
export type Content = ReturnType<typeof makeContent>

export type FakeBehaviour = {
  /** Delay before the holder starts serving a request. */
  latencyMs?: number
  /** Serial service time per piece (the holder's upload bandwidth): requests queue behind each other. */
  msPerPiece?: number
  /** Per-request delay instead of the queue model (out-of-order answers). */
  delayMs?: (index: number, nth: number) => number
  /** Answer with corrupted bytes for these pieces. */
  lie?: (index: number) => boolean
  /** Answer with this many bytes too many (a wrong length) for these pieces. */
  pad?: (index: number) => boolean
  /** Never answer these requests (the nth request made to this source, from 0). */
  silent?: (index: number, nth: number) => boolean
  /** Ignore aborts: a silent request's promise then never settles at all. */
  ignoreAbort?: boolean
  /** The link's round trip as the session would report it (sizes the holder's window). */
  rttMs?: number
}

export type FakeRequest = {
  index: number
  at: number
  signal: AbortSignal
  abortedAt?: number
  answeredAt?: number
  failedAt?: number
  /** When the holder began sending it (serial service, `msPerPiece`): aborted later, its bytes were wasted. */
  servingFrom?: number
}

/** A holder of `content` driven by a FakeClock, recording every request it sees. */
export class FakeSource implements PieceSource {
  readonly requests: FakeRequest[] = []
  closed = false
  #busyUntil = 0
  #pending = new Map<FakeRequest, { timer: TimerHandle | undefined; reject: (e: Error) => void }>()

  constructor(
    readonly peerId: string,
    readonly content: Content,
    readonly clock: Clock,
    readonly behaviour: FakeBehaviour = {},
  ) {}

  rttMs(): number | undefined {
    return this.behaviour.rttMs
  }

  /** Whether its link says it is restoring a broken path (a test sets it). */
  repairingNow = false

  repairing(): boolean {
    return this.repairingNow
  }

  /** Requests not yet answered, failed or aborted. */
  get outstanding(): FakeRequest[] {
    return [...this.#pending.keys()]
  }

  /** Most requests this source ever had outstanding at once. */
  maxOutstanding = 0

  /** Pieces this source answered (truthfully or not). */
  get answered(): number[] {
    return this.requests.filter((r) => r.answeredAt !== undefined).map((r) => r.index)
  }

  fetchPiece(index: number, signal: AbortSignal): Promise<Uint8Array> {
    const now = this.clock.now()
    const req: FakeRequest = { index, at: now, signal }
    const nth = this.requests.length
    this.requests.push(req)
    if (this.closed) {
      req.failedAt = now
      return Promise.reject(new DcmxError('LINK_CLOSED', 'the link is closed'))
    }
    const b = this.behaviour
    return new Promise<Uint8Array>((resolve, reject) => {
      const entry: { timer: TimerHandle | undefined; reject: (e: Error) => void } = {
        timer: undefined,
        reject: (e) => {
          req.failedAt = this.clock.now()
          this.#pending.delete(req)
          reject(e)
        },
      }
      this.#pending.set(req, entry)
      this.maxOutstanding = Math.max(this.maxOutstanding, this.#pending.size)
      if (!b.ignoreAbort)
        signal.addEventListener('abort', () => {
          if (!this.#pending.has(req)) return
          req.abortedAt = this.clock.now()
          if (entry.timer !== undefined) this.clock.clearTimeout(entry.timer)
          this.#pending.delete(req)
          reject(new DcmxError('ABORTED', 'aborted'))
        })
      else signal.addEventListener('abort', () => (req.abortedAt ??= this.clock.now()))
      if (b.silent?.(index, nth)) return
      let delay: number
      if (b.delayMs) delay = b.delayMs(index, nth)
      else {
        this.#busyUntil = Math.max(now + (b.latencyMs ?? 0), this.#busyUntil) + (b.msPerPiece ?? 0)
        req.servingFrom = this.#busyUntil - (b.msPerPiece ?? 0)
        delay = this.#busyUntil - now
      }
      entry.timer = this.clock.setTimeout(() => {
        if (!this.#pending.has(req)) return
        this.#pending.delete(req)
        req.answeredAt = this.clock.now()
        resolve(this.#bytesFor(index))
      }, delay)
    })
  }

  /** The link closes: outstanding requests reject with LINK_CLOSED, and so do later ones. */
  vanish(): void {
    this.closed = true
    for (const entry of [...this.#pending.values()]) {
      if (entry.timer !== undefined) this.clock.clearTimeout(entry.timer)
      entry.reject(new DcmxError('LINK_CLOSED', 'link closed'))
    }
  }

  #bytesFor(index: number): Uint8Array {
    const bytes = this.content.piece(index).slice()
    if (this.behaviour.lie?.(index)) bytes[0] = bytes[0]! ^ 0xff
    if (this.behaviour.pad?.(index)) {
      const padded = new Uint8Array(bytes.length + 1)
      padded.set(bytes)
      return padded
    }
    return bytes
  }
}

/** A small deterministic PRNG for tie-breaks and shuffles in tests. */
export { mulberry32 as seeded } from './random.ts'
