import type { Clock, TimerHandle } from './clock.ts'

/**
 * Coalesces change notifications: a lone change is told at once; during a burst (a batch that
 * says more is coming) listeners hear at most once every `ms`, and the last change of a burst
 * waits at most `ms` (or not at all, with `flush`). Listeners that re-read everything they show
 * then cost O(n) per `ms`, not per change.
 */
export class Throttle {
  #timer: TimerHandle | undefined
  #due = false

  constructor(
    private readonly clock: Pick<Clock, 'setTimeout' | 'clearTimeout'>,
    private readonly ms: number,
    private readonly fire: () => void,
  ) {}

  /** Something changed; `burst` when more changes follow soon (the rest of a batch). */
  change(burst: boolean): void {
    if (!burst) return this.#fireNow()
    if (this.#timer !== undefined) {
      this.#due = true
      return
    }
    this.fire()
    this.#arm()
  }

  /** Tell a waiting change now (the burst ended). */
  flush(): void {
    if (this.#due) this.#fireNow()
  }

  /** Drop a waiting change and the timer. */
  stop(): void {
    this.#due = false
    if (this.#timer !== undefined) this.clock.clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #fireNow() {
    this.stop()
    this.fire()
  }

  #arm() {
    this.#timer = this.clock.setTimeout(() => {
      this.#timer = undefined
      if (!this.#due) return
      this.#due = false
      this.fire()
      this.#arm()
    }, this.ms)
  }
}
