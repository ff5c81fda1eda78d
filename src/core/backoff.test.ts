import { describe, expect, it } from 'vitest'
import { backoffDelay } from './backoff.ts'

describe('backoffDelay', () => {
  it('grows exponentially from the base and stays within [ceiling/2, ceiling]', () => {
    const config = { baseMs: 100, maxMs: 10_000 }
    expect(backoffDelay(0, () => 0, config)).toBe(50)
    expect(backoffDelay(0, () => 0.999999, config)).toBeCloseTo(100)
    expect(backoffDelay(3, () => 0, config)).toBe(400)
    expect(backoffDelay(3, () => 0.5, config)).toBe(600)
  })

  it('is capped at the maximum however many attempts failed', () => {
    const config = { baseMs: 500, maxMs: 30_000 }
    for (const attempt of [7, 20, 1000]) {
      const d = backoffDelay(attempt, () => 0.999, config)
      expect(d).toBeLessThanOrEqual(30_000)
      expect(d).toBeGreaterThanOrEqual(15_000)
    }
  })

  it('spreads clients out: different random draws give different delays', () => {
    const delays = new Set([0.1, 0.4, 0.7, 0.9].map((r) => backoffDelay(4, () => r)))
    expect(delays.size).toBe(4)
  })
})
