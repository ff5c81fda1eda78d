import { describe, expect, it, vi } from 'vitest'
import type { Track } from '../core/catalog.ts'
import type { NetworkTrack } from '../core/mesh-types.ts'
import { mulberry32 } from '../core/testing/random.ts'
import { LibraryIndex } from './library-index.ts'
import { compareTracks, matches } from './library-helpers.ts'
import { compareNetworkTracks, visibleNetwork } from './network-helpers.ts'
import { TrackIndex } from './track-index.ts'

const ARTISTS = ['Ann', 'Beyoncé', 'zed', 'Zed', 'Energy 52', undefined]
const WORDS = ['blue', 'bluer', 'red', 'Track 2', 'Track 10', 'café', 'night']

function networkTrack(random: () => number, n: number): NetworkTrack {
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!
  const artist = pick(ARTISTS)
  return {
    contentHash: n.toString(16).padStart(64, '0'),
    title: `${pick(WORDS)} ${pick(WORDS)} ${n}`,
    ...(artist ? { artist } : {}),
    album: pick(WORDS),
    holders: Math.floor(random() * 3),
    local: random() < 0.1,
    described: random() < 0.9,
  }
}

describe('TrackIndex', () => {
  it('after any sequence of changes lists and filters exactly what a full sort and filter would', () => {
    const random = mulberry32(7)
    let list = Array.from({ length: 300 }, (_, n) => networkTrack(random, n))
    const index = new TrackIndex<NetworkTrack>(compareNetworkTracks)
    index.reset(list)
    const queries = ['', 'blue', 'bluer', 'blue night', 'zed', 'beyonce', 'track 1', 'x']
    let next = 300
    for (let step = 0; step < 200; step++) {
      const query = queries[step % queries.length]!
      // Read first, so the change below has a cached result to update in place.
      expect(index.filter(query)).toEqual(visibleNetwork(list, query))
      const changed: NetworkTrack[] = []
      const removed: string[] = []
      for (let k = 0; k < 1 + Math.floor(random() * 4); k++) {
        const roll = random()
        const victim = list[Math.floor(random() * list.length)]!
        if (roll < 0.3) changed.push(networkTrack(random, next++))
        else if (roll < 0.6) removed.push(victim.contentHash)
        else changed.push({ ...victim, holders: (victim.holders + 1) % 3, described: true })
      }
      const byHash = new Map(list.map((t) => [t.contentHash, t]))
      for (const hash of removed) byHash.delete(hash)
      for (const t of changed) byHash.set(t.contentHash, t)
      list = [...byHash.values()]
      index.update(changed, removed)
      expect(index.size).toBe(list.length)
      expect(index.filter(query)).toEqual(visibleNetwork(list, query))
      expect(index.all).toEqual(visibleNetwork(list, ''))
    }
  })

  it('moves one changed track among 10,000 by binary search, not by sorting again', () => {
    const random = mulberry32(3)
    const list = Array.from({ length: 10_000 }, (_, n) => networkTrack(random, n))
    let calls = 0
    const counting = (a: NetworkTrack, b: NetworkTrack) => (calls++, compareNetworkTracks(a, b))
    const index = new TrackIndex<NetworkTrack>(counting)
    index.reset(list)
    index.filter('blue')
    calls = 0
    const moved = { ...list[1234]!, artist: 'Aaron', holders: 2, described: true }
    index.update([moved], [])
    // Out of the list and the result and back into both: 4 binary searches of ~14 steps each.
    // A sort of 10,000 would take over 100,000.
    expect(calls).toBeLessThan(4 * 16)
    expect(index.all.indexOf(moved)).toBe(visibleNetwork(index.all, '').indexOf(moved))
    expect(index.filter('blue')).toEqual(visibleNetwork(index.all, 'blue'))
  })

  it('stays exact while a query is typed, shortened and retyped letter by letter between changes', () => {
    const random = mulberry32(5)
    let list = Array.from({ length: 800 }, (_, n) => networkTrack(random, n))
    const index = new TrackIndex<NetworkTrack>(compareNetworkTracks)
    index.reset(list)
    const phrases = ['blue night 1', 'track 10 red', 'café bluer', 'zed energy 52']
    let query = ''
    let next = 800
    for (let step = 0; step < 300; step++) {
      const roll = random()
      const phrase = phrases[Math.floor(random() * phrases.length)]!
      // Mostly one letter more or less, sometimes a jump to another phrase's prefix.
      if (roll < 0.45 && query.length < 14) query = query + (phrase[query.length] ?? 'x')
      else if (roll < 0.85) query = query.slice(0, -1)
      else query = phrase.slice(0, 1 + Math.floor(random() * phrase.length))
      expect(index.filter(query)).toEqual(visibleNetwork(list, query))
      if (step % 7 === 0) {
        const victim = list[Math.floor(random() * list.length)]!
        const changed = [networkTrack(random, next++), { ...victim, title: `${victim.title} blue` }]
        const removed = [list[Math.floor(random() * list.length)]!.contentHash]
        const byHash = new Map(list.map((t) => [t.contentHash, t]))
        for (const hash of removed) byHash.delete(hash)
        for (const t of changed) byHash.set(t.contentHash, t)
        list = [...byHash.values()]
        index.update(changed, removed)
        expect(index.filter(query)).toEqual(visibleNetwork(list, query))
      }
    }
  })

  it('answers a query typed back from the earlier result, and a change from the changed rows alone', () => {
    const random = mulberry32(13)
    const list = Array.from({ length: 5000 }, (_, n) => networkTrack(random, n))
    const index = new TrackIndex<NetworkTrack>(compareNetworkTracks)
    index.reset(list)
    const bl = visibleNetwork(list, 'bl').length
    const moved = { ...list[77]!, title: 'blue moved', holders: 2, described: true }
    const includes = vi.spyOn(String.prototype, 'includes')
    const calls: number[] = []
    const got: NetworkTrack[][] = []
    try {
      for (const q of ['b', 'bl', 'blu', 'blue', 'blue n']) index.filter(q)
      includes.mockClear()
      // Backspace to "blu", then "bl": each an earlier result, no row searched again.
      got.push(index.filter('blu'), index.filter('bl'))
      calls.push(includes.mock.calls.length)
      includes.mockClear()
      // Extending again ("blu" after "bl") checks only the rows "bl" found.
      got.push(index.filter('blu'))
      calls.push(includes.mock.calls.length)
      includes.mockClear()
      // A change while searching: the changed track's text is checked, no other row's.
      index.update([moved], [list[78]!.contentHash])
      calls.push(includes.mock.calls.length)
      got.push(index.filter('blu'))
    } finally {
      includes.mockRestore()
    }
    expect(calls[0]).toBe(0)
    expect(calls[1]).toBeLessThanOrEqual(bl)
    expect(calls[2]).toBeLessThanOrEqual(1)
    const after = list
      .filter((t) => t.contentHash !== list[78]!.contentHash)
      .map((t) => (t === list[77] ? moved : t))
    expect(got).toEqual([
      visibleNetwork(list, 'blu'),
      visibleNetwork(list, 'bl'),
      visibleNetwork(list, 'blu'),
      visibleNetwork(after, 'blu'),
    ])
  })

  it('narrows the previous result when the query extends it, and never changes an array it handed out', () => {
    const random = mulberry32(11)
    const list = Array.from({ length: 2000 }, (_, n) => networkTrack(random, n))
    const index = new TrackIndex<NetworkTrack>(compareNetworkTracks)
    index.reset(list)
    const blue = index.filter('blue')
    const copy = [...blue]
    expect(index.filter('blue')).toBe(blue)
    const bluer = index.filter('bluer')
    expect(bluer).toEqual(visibleNetwork(list, 'bluer'))
    expect(index.filter('bluer n')).toEqual(visibleNetwork(list, 'bluer n'))
    // Shorter again: not a filter of the narrower result.
    expect(index.filter('blu')).toEqual(visibleNetwork(list, 'blu'))
    index.update([{ ...blue[0]!, title: 'blue renamed' }], [blue[1]!.contentHash])
    expect(blue).toEqual(copy)
  })
})

function libraryTrack(n: number, extra: Partial<Track> = {}): Track {
  return {
    contentHash: n.toString(16).padStart(64, '0'),
    title: `Song ${n}`,
    artist: n % 3 === 0 ? 'Ann' : 'Bob',
    size: 1000 + ((n * 7919) % 500),
    mime: 'audio/wav',
    addedAt: n,
    pieceSize: 262_144,
    pieces: [],
    piecesRoot: '',
    container: 'WAVE',
    fileName: `song-${n}.wav`,
    source: 'local',
    ...extra,
  }
}

describe('LibraryIndex', () => {
  it('sorts and filters as the plain filter and sort do, for every key and direction', () => {
    const tracks = Array.from({ length: 500 }, (_, n) =>
      libraryTrack(n, n % 5 === 0 ? { title: `Ann ${n}` } : {}),
    )
    const index = new LibraryIndex()
    for (const key of ['added', 'title', 'artist', 'size'] as const)
      for (const dir of ['asc', 'desc'] as const)
        for (const query of ['', 'ann', 'song 1', 'bob song'])
          expect(index.visible(tracks, key, dir, query)).toEqual(
            tracks.filter((t) => matches(t, query)).sort(compareTracks(key, dir)),
          )
    expect(index.get(tracks, tracks[42]!.contentHash)).toBe(tracks[42])
    // A new list (an import): the orders are rebuilt from it.
    const more = [...tracks, libraryTrack(9999, { title: 'Ann new' })]
    expect(index.visible(more, 'title', 'asc', 'ann new')).toEqual([more.at(-1)])
  })
})
