import type { Clock } from './clock.ts'
import { emptyContentStats, type ContentStats } from './content-stats.ts'
import { DcmxError } from './errors.ts'
import { sharedPieceBuffers, type PieceBuffers } from './piece-buffers.ts'
import { RequestTable } from './request-table.ts'
import type { PenaltyKind } from './reputation.ts'
import type { WireOf } from './wire.ts'

type PieceState = { length: number; buf: Uint8Array | undefined; received: number }

/** Pieces that ended early (aborted) whose remaining frames may still arrive, harmlessly. */
const MAX_LATE_PIECES = 64

/**
 * The pieces one link has asked for, and the frames that answer them, trusted only as asked: each
 * piece's length comes from the verified piece list (never from the sender's header), its buffer
 * is taken (from the shared piece buffers, see piece-buffers.ts) only for that length once its
 * first frame fits, the piece settles only when its frames, in order, filled every byte, and a frame
 * for a piece never asked for is struck. A piece given up on (aborted) is cancelled with the
 * holder, so it stops sending what nobody wants.
 */
export class PieceRequests {
  #pieces: RequestTable<Uint8Array, PieceState>
  #late = new Map<number, number>()
  readonly #stats: ContentStats

  constructor(
    clock: Clock,
    private readonly penalise: (kind: PenaltyKind, detail: string) => void,
    /** Tell the holder request `id` is no longer wanted (a `content-cancel`). */
    private readonly cancel: (id: number) => void = () => {},
    stats?: ContentStats,
    private readonly buffers: PieceBuffers = sharedPieceBuffers,
  ) {
    this.#pieces = new RequestTable(clock)
    this.#stats = stats ?? emptyContentStats()
  }

  /** Piece frames may arrive now (something is asked for, or the tail of an aborted one). */
  get expecting(): boolean {
    return this.#pieces.size > 0 || this.#late.size > 0
  }

  /** A new piece request of `length` bytes: its id, and the promise its frames settle. */
  open(length: number, signal?: AbortSignal): { id: number; promise: Promise<Uint8Array> } {
    const state: PieceState = { length, buf: undefined, received: 0 }
    const { id, promise } = this.#pieces.open('content-req', { state })
    const onAbort = () => {
      if (!this.#pieces.fail(id, new DcmxError('ABORTED', 'piece request aborted'))) return
      this.#recycle(state)
      // Frames of an aborted piece still on their way are dropped without a strike, up to its size.
      const left = state.length - state.received
      this.#late.set(id, left)
      if (this.#late.size > MAX_LATE_PIECES) this.#late.delete(this.#late.keys().next().value!)
      this.cancel(id)
      this.#stats.cancelsSent++
      this.#stats.savedReceiving += left
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    return { id, promise: promise.finally(() => signal?.removeEventListener('abort', onAbort)) }
  }

  onPiece(msg: WireOf<'content-piece'>): void {
    const body = msg.body ?? new Uint8Array(0)
    const pending = this.#pieces.get(msg.id)
    if (!pending) {
      // The rest of a piece we stopped waiting for may still come; more than that was never asked.
      const late = this.#late.get(msg.id)
      if (late !== undefined && late >= body.length) {
        this.#stats.lateBytes += body.length
        this.#stats.savedReceiving -= body.length
        return void this.#late.set(msg.id, late - body.length)
      }
      return this.penalise('protocol', 'piece data nobody asked for')
    }
    if (
      msg.length !== pending.length ||
      msg.offset !== pending.received ||
      msg.offset + body.length > msg.length
    ) {
      this.#pieces.fail(
        msg.id,
        new DcmxError('BAD_MESSAGE', 'piece frames out of order or of the wrong size'),
      )
      this.#recycle(pending)
      return this.penalise('bad-piece', 'piece frames that do not fit the piece asked for')
    }
    pending.buf ??= this.buffers.take(pending.length)
    pending.buf.set(body, msg.offset)
    pending.received += body.length
    if (pending.received === pending.length) this.#pieces.settle(msg.id, pending.buf)
  }

  onError(msg: WireOf<'content-error'>): void {
    const error = new DcmxError('NOT_FOUND', `peer could not serve the piece: ${msg.message}`)
    if (this.#pieces.fail(msg.id, error)) return
    if (!this.#pieces.issued(msg.id)) this.penalise('protocol', 'content-error for a piece never asked for')
  }

  rejectAll(error: Error): void {
    this.#pieces.rejectAll(error)
  }

  /** A piece that will never settle: its buffer (never handed out) can serve another. */
  #recycle(state: PieceState): void {
    if (state.buf) this.buffers.give(state.buf)
    state.buf = undefined
  }
}
