import { describe, expect, it } from 'vitest'
import type { PlayerTrack } from '../core/playlist.ts'
import { Queue } from './queue.svelte.ts'
import { mulberry32 as seededRandom } from '../core/testing/random.ts'

const t = (title: string): PlayerTrack => ({ contentHash: title.padEnd(64, '0'), title, mime: 'audio/wav' })
const [a, b, c, d, e] = ['a', 'b', 'c', 'd', 'e'].map(t) as [
  PlayerTrack,
  PlayerTrack,
  PlayerTrack,
  PlayerTrack,
  PlayerTrack,
]
const titles = (q: Queue) => q.entries.map((x) => x.track.title).join('')
const current = (q: Queue) => q.current?.track.title

describe('Queue order', () => {
  it('plays in order and stops at the end without repeat', () => {
    const q = new Queue()
    q.replace([a, b, c], 0)
    expect([q.advance(true), q.advance(true), q.advance(true)].map((x) => x?.track.title)).toEqual([
      'b',
      'c',
      undefined,
    ])
    expect(current(q)).toBe('c')
    expect(q.hasNext).toBe(false)
  })

  it('repeat all goes round from the last to the first, both ways', () => {
    const q = new Queue()
    q.replace([a, b, c], 2)
    q.cycleRepeat()
    expect(q.repeat).toBe('all')
    expect(q.advance(true)?.track.title).toBe('a')
    expect(q.back()?.track.title).toBe('c')
    expect(q.hasNext).toBe(true)
  })

  it('repeat one plays the same track again when it ends, but Next moves on', () => {
    const q = new Queue()
    q.replace([a, b], 0)
    q.cycleRepeat()
    q.cycleRepeat()
    expect(q.repeat).toBe('one')
    expect(q.advance(true)?.track.title).toBe('a')
    expect(q.advance(true)?.track.title).toBe('a')
    expect(q.advance(false)?.track.title).toBe('b')
    q.cycleRepeat()
    expect(q.repeat).toBe('off')
  })

  it('shuffle keeps the current track, permutes the rest, and off restores the order', () => {
    const q = new Queue(seededRandom(7))
    q.replace([a, b, c, d, e], 1)
    q.toggleShuffle()
    expect(q.shuffle).toBe(true)
    expect(current(q)).toBe('b')
    expect(titles(q).slice(0, 2)).toBe('ab')
    expect([...titles(q)].sort().join('')).toBe('abcde')
    expect(titles(q)).not.toBe('abcde')
    q.toggleShuffle()
    expect(titles(q)).toBe('abcde')
    expect(current(q)).toBe('b')
  })

  it('a shuffled queue plays every track once before repeat all starts a new round', () => {
    const q = new Queue(seededRandom(3))
    q.replace([a, b, c, d, e], 0)
    q.toggleShuffle()
    q.cycleRepeat()
    const played = [current(q)]
    for (let i = 0; i < 4; i++) played.push(q.advance(true)?.track.title)
    expect([...played].sort()).toEqual(['a', 'b', 'c', 'd', 'e'])
    expect(q.advance(true)).toBeDefined()
    expect(q.index).toBe(0)
  })

  it('a track added while shuffled stays after the restored order when shuffle goes off', () => {
    const q = new Queue(seededRandom(1))
    q.replace([a, b, c], 0)
    q.toggleShuffle()
    q.add(d)
    q.toggleShuffle()
    expect(titles(q)).toBe('abcd')
  })

  it('play next, add, move, remove and clear keep the current track current', () => {
    const q = new Queue()
    q.add(a)
    expect(current(q)).toBe('a')
    q.add(b)
    q.playNext(c)
    expect(titles(q)).toBe('acb')
    q.advance(false)
    expect(current(q)).toBe('c')
    q.move(2, 0)
    expect(titles(q)).toBe('bac')
    expect(current(q)).toBe('c')
    q.remove(0)
    expect(titles(q)).toBe('ac')
    expect(current(q)).toBe('c')
    q.remove(1)
    expect(current(q)).toBe('a')
    q.add(d)
    q.add(e)
    q.clear()
    expect(titles(q)).toBe('a')
    expect(current(q)).toBe('a')
  })

  it('a snapshot restores the same order, current track, shuffle state and repeat', () => {
    const q = new Queue(seededRandom(9))
    q.replace([a, b, c, d], 1)
    q.toggleShuffle()
    q.cycleRepeat()
    const saved = structuredClone(q.snapshot())
    const r = new Queue()
    r.restore(saved)
    expect(titles(r)).toBe(titles(q))
    expect(current(r)).toBe('b')
    expect(r.shuffle).toBe(true)
    expect(r.repeat).toBe('all')
    r.toggleShuffle()
    expect(titles(r)).toBe('abcd')
  })
})
