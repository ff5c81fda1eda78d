/**
 * A token bucket: `rate` tokens per second up to `burst`. Used for each link's inbound budget
 * (messages and bytes), so one noisy peer cannot eat a node's CPU or memory.
 */
export class TokenBucket {
  #tokens: number
  #at: number

  constructor(
    readonly rate: number,
    readonly burst: number,
    now: number,
  ) {
    this.#tokens = burst
    this.#at = now
  }

  /** Take `n` tokens if there are that many; false (and nothing taken) if not. */
  take(n: number, now: number): boolean {
    // A clock that steps back must not drain the bucket.
    this.#tokens = Math.min(this.burst, this.#tokens + (Math.max(0, now - this.#at) / 1000) * this.rate)
    this.#at = now
    if (this.#tokens < n) return false
    this.#tokens -= n
    return true
  }
}
