import type { Clock, TimerHandle } from '../clock.ts'

type Timer = { id: number; at: number; fn: () => void }

/** A clock that only moves when a test advances it; timers fire in time order. */
export class FakeClock implements Clock {
  #now = 1_000_000
  #nextId = 1
  #timers = new Map<number, Timer>()

  now(): number {
    return this.#now
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.#nextId++
    this.#timers.set(id, { id, at: this.#now + Math.max(0, ms), fn })
    return id
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle as number)
  }

  /** Timers still pending. */
  get pending(): number {
    return this.#timers.size
  }

  /** Move time forward by `ms`, firing due timers in order and letting promises settle between them. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms
    for (;;) {
      await settle()
      const next = [...this.#timers.values()]
        .filter((t) => t.at <= end)
        .sort((a, b) => a.at - b.at || a.id - b.id)[0]
      if (!next) break
      this.#timers.delete(next.id)
      this.#now = next.at
      next.fn()
    }
    this.#now = end
    await settle()
  }
}

/** Let queued promise callbacks (and the WebCrypto work they await) run. */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}

/** Wait (in real time, bounded) until `condition` holds; for work such as WebCrypto that runs off the event loop. */
export async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}
