import type { Clock, TimerHandle } from './clock.ts'
import { DcmxError } from './errors.ts'

/** A message as a caller hands it to a request table's owner: the table gives it its id. */
export type Unnumbered<T> = T extends unknown ? Omit<T, 'id'> : never

type Entry<T, S> = {
  resolve: (value: T) => void
  reject: (error: Error) => void
  timer: TimerHandle | undefined
  state: S
}

/**
 * The pending requests of one link: it allocates their ids (callers never pick one, so they
 * cannot collide), holds each until its answer settles it, its deadline passes or the link
 * closes (`rejectAll`). `S` is per-request state a caller keeps beside it (a piece's buffer).
 */
export class RequestTable<T, S = undefined> {
  #next = 1
  #pending = new Map<number, Entry<T, S>>()

  constructor(private readonly clock: Clock) {}

  /** A new request: its id and the promise its answer settles; `timeoutMs` rejects it with TIMEOUT. */
  open(label: string, options: { timeoutMs?: number; state: S }): { id: number; promise: Promise<T> } {
    const id = this.#next++
    const promise = new Promise<T>((resolve, reject) => {
      const timer =
        options.timeoutMs === undefined
          ? undefined
          : this.clock.setTimeout(
              () => this.fail(id, new DcmxError('TIMEOUT', `no answer to ${label}`)),
              options.timeoutMs,
            )
      this.#pending.set(id, { resolve, reject, timer, state: options.state })
    })
    return { id, promise }
  }

  /** Per-request state of a pending request. */
  get(id: number): S | undefined {
    return this.#pending.get(id)?.state
  }

  has(id: number): boolean {
    return this.#pending.has(id)
  }

  /** Whether this id was ever handed out (answers to other ids were never asked for). */
  issued(id: number): boolean {
    return id >= 1 && id < this.#next
  }

  get size(): number {
    return this.#pending.size
  }

  /** Resolve a pending request; false if it is not pending (late, or never asked). */
  settle(id: number, value: T): boolean {
    const entry = this.#take(id)
    entry?.resolve(value)
    return entry !== undefined
  }

  fail(id: number, error: Error): boolean {
    const entry = this.#take(id)
    entry?.reject(error)
    return entry !== undefined
  }

  /** The link closed: every pending request fails with `error`. */
  rejectAll(error: Error): void {
    for (const id of [...this.#pending.keys()]) this.fail(id, error)
  }

  #take(id: number): Entry<T, S> | undefined {
    const entry = this.#pending.get(id)
    if (!entry) return undefined
    this.#pending.delete(id)
    if (entry.timer !== undefined) this.clock.clearTimeout(entry.timer)
    return entry
  }
}
