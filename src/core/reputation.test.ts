import { describe, expect, it } from 'vitest'
import { DecayingCounter, Reputation } from './reputation.ts'
import { FakeClock } from './testing/fake-clock.ts'

describe('Reputation', () => {
  it('strikes, then bans a proven peer at the limit, for banMs', async () => {
    const clock = new FakeClock()
    const rep = new Reputation(clock, { limit: 3, banMs: 60_000 })
    expect(rep.penalise('a', 'malformed')).toBe('strike')
    expect(rep.penalise('a', 'handler')).toBe('strike')
    expect(rep.penalise('a', 'protocol')).toBe('ban')
    expect(rep.isBanned('a')).toBe(true)
    expect(rep.banned).toEqual(['a'])
    await clock.advance(60_001)
    expect(rep.isBanned('a')).toBe(false)
  })

  it('lets scores decay: a rare glitch never adds up to a ban', async () => {
    const clock = new FakeClock()
    const rep = new Reputation(clock, { halfLifeMs: 60_000 })
    for (let i = 0; i < 20; i++) {
      expect(rep.penalise('a', 'malformed')).toBe('strike')
      await clock.advance(10 * 60_000)
    }
    expect(rep.score('a')).toBeLessThan(1.01)
  })

  it('charges an unproven session, never the id it claimed', () => {
    const rep = new Reputation(new FakeClock())
    expect(rep.charge({ session: 's1' }, 'handshake', 'identity proof failed')).toBe('ban')
    expect(rep.isBanned({ session: 's1' })).toBe(true)
    expect(rep.isBanned('s1')).toBe(false)
    expect(rep.banned).toEqual([])
  })

  it('closes a slow reader without banning it', () => {
    const rep = new Reputation(new FakeClock())
    expect(rep.penalise('a', 'slow-reader')).toBe('close')
    expect(rep.isBanned('a')).toBe(false)
  })

  it('stays within maxEntries, forgetting the least charged first', () => {
    const rep = new Reputation(new FakeClock(), { maxEntries: 10 })
    rep.penalise('bad', 'bad-file')
    for (let i = 0; i < 100; i++) rep.penalise(`p${i}`, 'malformed')
    expect(rep.size).toBeLessThanOrEqual(10)
    expect(rep.isBanned('bad')).toBe(true)
  })
})

describe('DecayingCounter', () => {
  it('halves every half-life', () => {
    const c = new DecayingCounter(1000, 0)
    expect(c.add(8, 0)).toBe(8)
    expect(c.value(1000)).toBeCloseTo(4)
    expect(c.add(1, 2000)).toBeCloseTo(3)
  })
})
