import { describe, expect, it } from 'vitest'
import { Lru } from './lru.ts'

describe('Lru', () => {
  it('keeps at most `capacity` entries, forgetting the least recently used first', () => {
    const evicted: string[] = []
    const lru = new Lru<string, number>(2, (key) => evicted.push(key))
    lru.set('a', 1)
    lru.set('b', 2)
    expect(lru.get('a')).toBe(1) // a is now the most recent
    lru.set('c', 3)
    expect(evicted).toEqual(['b'])
    expect(lru.get('b')).toBeUndefined()
    expect([lru.get('a'), lru.get('c'), lru.size]).toEqual([1, 3, 2])
    expect(lru.delete('a')).toBe(1)
    expect(evicted).toEqual(['b'])
    expect(lru.size).toBe(1)
  })

  it('refuses a capacity that could hold nothing', () => {
    expect(() => new Lru(0)).toThrow(RangeError)
  })
})
