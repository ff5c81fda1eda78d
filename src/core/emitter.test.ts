import { describe, expect, it } from 'vitest'
import { Emitter, holdEvents } from './emitter.ts'

type Events = { a: [number]; b: [string, number]; c: [] }

describe('holdEvents', () => {
  it('replays what was emitted while held, in order, to the handlers subscribed by release', () => {
    const emitter = new Emitter<Events>()
    const hold = holdEvents(emitter, ['a', 'b'], 10)
    emitter.emit('a', 1)
    emitter.emit('b', 'x', 2)
    emitter.emit('c')
    emitter.emit('a', 3)
    const heard: unknown[] = []
    emitter.on('a', (n) => heard.push(['a', n]))
    emitter.on('b', (s, n) => heard.push(['b', s, n]))
    emitter.on('c', () => heard.push(['c']))
    expect(heard).toEqual([])
    hold.release()
    expect(heard).toEqual([
      ['a', 1],
      ['b', 'x', 2],
      ['a', 3],
    ])
    // Released: live events pass once, and a second release replays nothing.
    emitter.emit('a', 4)
    hold.release()
    expect(heard).toEqual([
      ['a', 1],
      ['b', 'x', 2],
      ['a', 3],
      ['a', 4],
    ])
  })

  it('keeps at most `limit` events, dropping the oldest', () => {
    const emitter = new Emitter<Events>()
    const hold = holdEvents(emitter, ['a'], 3)
    for (let i = 0; i < 10; i++) emitter.emit('a', i)
    const heard: number[] = []
    emitter.on('a', (n) => heard.push(n))
    hold.release()
    expect(heard).toEqual([7, 8, 9])
  })
})
