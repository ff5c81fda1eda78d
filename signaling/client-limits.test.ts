import { describe, expect, it } from 'vitest'
import { MemoryClientLimits } from './client-limits.ts'

describe('MemoryClientLimits', () => {
  it('admits up to the cap per client, and a released slot can be claimed again (once)', async () => {
    const limits = new MemoryClientLimits(2, { perSecond: 1, burst: 1 }, () => 0)
    const a = await limits.admit('x')
    const b = await limits.admit('x')
    expect(a && b).toBeTruthy()
    expect(await limits.admit('x')).toBeUndefined()
    expect(await limits.admit('y')).toBeDefined()
    a!.release()
    a!.release() // twice frees one slot only
    expect(await limits.admit('x')).toBeDefined()
    expect(await limits.admit('x')).toBeUndefined()
  })

  it('shares one message budget across a client’s sockets', () => {
    const limits = new MemoryClientLimits(10, { perSecond: 10, burst: 3 }, () => 0)
    expect([0, 0, 0, 0].map((t) => limits.spend('x', t))).toEqual([true, true, true, false])
    expect(limits.spend('y', 0)).toBe(true)
    expect(limits.spend('x', 100)).toBe(true) // 10/s refills one token in 100 ms
  })

  it('forgets idle clients only once their budget has refilled', async () => {
    const limits = new MemoryClientLimits(10, { perSecond: 1, burst: 2 }, () => 0)
    const lease = await limits.admit('x')
    limits.spend('x', 0)
    limits.sweep(10_000)
    expect(limits.size()).toBe(1) // still holds a socket
    lease!.release()
    limits.sweep(1_000)
    expect(limits.size()).toBe(1) // its budget is not full yet
    limits.sweep(2_000)
    expect(limits.size()).toBe(0)
  })
})
