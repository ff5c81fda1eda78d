import { describe, expect, it } from 'vitest'
import { FakeClock } from './testing/fake-clock.ts'
import { Throttle } from './throttle.ts'

function setup(ms = 500) {
  const clock = new FakeClock()
  const fired: number[] = []
  const throttle = new Throttle(clock, ms, () => fired.push(clock.now()))
  return { clock, fired, throttle }
}

describe('Throttle', () => {
  it('tells a lone change at once, every time', () => {
    const { clock, fired, throttle } = setup()
    throttle.change(false)
    throttle.change(false)
    expect(fired).toEqual([clock.now(), clock.now()])
    expect(clock.pending).toBe(0)
  })

  it('during a burst tells the first change at once, then at most once per period, and the last within one', async () => {
    const { clock, fired, throttle } = setup(500)
    const start = clock.now()
    for (let i = 0; i < 100; i++) {
      throttle.change(true)
      await clock.advance(20)
    }
    // 2 s of changes every 20 ms: the first at once, then one per 500 ms.
    expect(fired[0]).toBe(start)
    expect(fired.length).toBeLessThanOrEqual(1 + Math.ceil(2000 / 500))
    for (let i = 1; i < fired.length; i++) expect(fired[i]! - fired[i - 1]!).toBeGreaterThanOrEqual(500)
    await clock.advance(500)
    // The last change is told within a period of it, and nothing more is pending after.
    expect(fired.at(-1)).toBeLessThanOrEqual(start + 2000 + 500)
    const told = fired.length
    await clock.advance(5000)
    expect(fired).toHaveLength(told)
    expect(clock.pending).toBe(0)
  })

  it('flush tells a waiting change now; a lone change after a burst needs no flush', async () => {
    const { clock, fired, throttle } = setup(500)
    throttle.change(true)
    throttle.change(true)
    expect(fired).toHaveLength(1)
    throttle.flush()
    expect(fired).toHaveLength(2)
    throttle.flush()
    expect(fired).toHaveLength(2)
    throttle.change(true)
    throttle.change(false)
    expect(fired).toHaveLength(4)
    expect(clock.pending).toBe(0)
  })

  it('stop drops a waiting change', async () => {
    const { clock, fired, throttle } = setup(500)
    throttle.change(true)
    throttle.change(true)
    throttle.stop()
    await clock.advance(1000)
    expect(fired).toHaveLength(1)
  })
})
