import { describe, expect, it } from 'vitest'
import { TokenBucket } from './rate.ts'

describe('TokenBucket', () => {
  it('allows a burst, then refills at its rate', () => {
    const bucket = new TokenBucket(10, 5, 0)
    for (let i = 0; i < 5; i++) expect(bucket.take(1, 0)).toBe(true)
    expect(bucket.take(1, 0)).toBe(false)
    expect(bucket.take(1, 50)).toBe(false)
    expect(bucket.take(1, 100)).toBe(true)
  })

  it('never holds more than its burst, however long it idles', () => {
    const bucket = new TokenBucket(10, 5, 0)
    expect(bucket.take(6, 1_000_000)).toBe(false)
    expect(bucket.take(5, 1_000_000)).toBe(true)
  })

  it('is not drained when the clock steps back', () => {
    const bucket = new TokenBucket(10, 5, 1_000)
    expect(bucket.take(1, 500)).toBe(true)
    expect(bucket.take(4, 500)).toBe(true)
  })
})
