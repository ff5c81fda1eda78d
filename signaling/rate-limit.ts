/** Per-connection message budget: a token bucket refilled continuously, plus a flood detector. */

/** Refill rate and bucket size of a token bucket. */
export type RateLimit = { perSecond: number; burst: number }

/** A classic token bucket; `now` is a monotonic millisecond clock (performance.now()). */
export class TokenBucket {
  private tokens: number
  private last: number

  constructor(
    private readonly limit: RateLimit,
    now: number,
  ) {
    this.tokens = limit.burst
    this.last = now
  }

  /** Spend one token if one is available; false means the caller is over budget. */
  take(now: number): boolean {
    const elapsed = Math.max(0, now - this.last)
    this.last = now
    this.tokens = Math.min(this.limit.burst, this.tokens + (elapsed * this.limit.perSecond) / 1000)
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }
}

/** Counts strikes in fixed windows; `strike` returns true once a window holds more than `max` strikes. */
export class StrikeCounter {
  private windowStart: number
  private count = 0

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    now: number,
  ) {
    this.windowStart = now
  }

  /** Record one strike; true when the budget for the current window is exhausted. */
  strike(now: number): boolean {
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now
      this.count = 0
    }
    this.count += 1
    return this.count > this.max
  }
}
