/** Message budgets: token buckets refilled continuously (alone or by key), plus a flood detector. */

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

  /** Spend `cost` tokens (default one) if they are available; false means the caller is over budget. */
  take(now: number, cost = 1): boolean {
    if (this.available(now) < cost) return false
    this.tokens -= cost
    return true
  }

  /** Whole tokens available at `now`. */
  available(now: number): number {
    const elapsed = Math.max(0, now - this.last)
    this.last = Math.max(this.last, now)
    this.tokens = Math.min(this.limit.burst, this.tokens + (elapsed * this.limit.perSecond) / 1000)
    return Math.floor(this.tokens)
  }
}

/**
 * Token buckets by key (a relay budget per recipient, say), at most `maxKeys` of them: past that the
 * oldest is forgotten. Forgetting hands that key a fresh bucket, so the cap must sit above what a
 * sender can reach within one refill (the per-socket rate limit bounds how fast keys are added).
 */
export class KeyedBuckets {
  private readonly buckets = new Map<string, TokenBucket>()

  constructor(
    private readonly limit: RateLimit,
    private readonly maxKeys: number,
  ) {}

  /** Spend one token of `key`'s bucket; false when that key is over budget. */
  take(key: string, now: number): boolean {
    let bucket = this.buckets.get(key)
    if (!bucket) {
      if (this.buckets.size >= this.maxKeys) {
        const oldest = this.buckets.keys().next().value
        if (oldest !== undefined) this.buckets.delete(oldest)
      }
      bucket = new TokenBucket(this.limit, now)
      this.buckets.set(key, bucket)
    }
    return bucket.take(now)
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
