import 'fake-indexeddb/auto'
import { beforeEach, describe, expect, it } from 'vitest'
import type { PlayerTrack } from '../core/playlist.ts'
import { DB_NAME, dcmxConnection } from '../platform/db.ts'
import { IdbPlaylistStore } from '../platform/player-db.ts'
import { PlaylistsState } from './playlists-state.svelte.ts'

const t = (c: string): PlayerTrack => ({
  contentHash: c.repeat(64),
  title: `Song ${c}`,
  mime: 'audio/mpeg',
  artist: 'Band',
})
const [a, b, c] = ['a', 'b', 'c'].map(t) as [PlayerTrack, PlayerTrack, PlayerTrack]

function make() {
  let clock = 1000
  let ids = 0
  return new PlaylistsState(new IdbPlaylistStore(dcmxConnection()), {
    now: () => clock++,
    id: () => `id-${++ids}`,
  })
}

const names = (p: { tracks: PlayerTrack[] } | undefined) => p?.tracks.map((x) => x.title)

beforeEach(() => {
  indexedDB.deleteDatabase(DB_NAME)
})

describe('PlaylistsState', () => {
  it('creates, renames, fills, reorders, trims and deletes playlists, and every change is stored', async () => {
    const lists = make()
    await lists.load()
    const evening = (await lists.create('  Evening   songs '))!
    expect(evening.name).toBe('Evening songs')
    const unnamed = (await lists.create(''))!
    expect(unnamed.name).toBe('Playlist 1')

    await lists.add(evening.id, [a, b])
    await lists.add(evening.id, [c, a])
    expect(names(lists.get(evening.id))).toEqual(['Song a', 'Song b', 'Song c', 'Song a'])
    await lists.move(evening.id, 2, 0)
    expect(names(lists.get(evening.id))).toEqual(['Song c', 'Song a', 'Song b', 'Song a'])
    await lists.removeTrack(evening.id, 3)
    await lists.rename(evening.id, 'Late')
    await lists.rename(evening.id, '   ')
    expect(lists.error).toBe('A playlist needs a name.')
    await lists.delete(unnamed.id)

    // A reload: a new state on a new connection reads the same.
    const reloaded = make()
    await reloaded.load()
    expect(reloaded.playlists.map((p) => p.name)).toEqual(['Late'])
    expect(names(reloaded.playlists[0])).toEqual(['Song c', 'Song a', 'Song b'])
  })

  it('exports JSON with content hashes and M3U8 with /content/ links, and imports both back', async () => {
    const lists = make()
    const mix = (await lists.create('Road Trip', [a, b]))!
    const json = lists.exportFile(mix.id, 'json')!
    expect(json.name).toBe('Road Trip.json')
    expect(JSON.parse(json.text).tracks.map((x: PlayerTrack) => x.contentHash)).toEqual([
      a.contentHash,
      b.contentHash,
    ])
    const m3u = lists.exportFile(mix.id, 'm3u8')!
    expect(m3u.text).toContain(`/content/${a.contentHash}`)
    expect(m3u.text.startsWith('#EXTM3U\n')).toBe(true)

    const fromJson = (await lists.importFile(json.text, 'Road Trip.json'))!
    expect(fromJson.name).toBe('Road Trip')
    expect(fromJson.tracks).toEqual([a, b])
    const fromM3u = (await lists.importFile(m3u.text, 'trip.m3u8'))!
    expect(fromM3u.name).toBe('Road Trip')
    expect(fromM3u.tracks.map((x) => [x.contentHash, x.title, x.artist])).toEqual([
      [a.contentHash, 'Song a', 'Band'],
      [b.contentHash, 'Song b', 'Band'],
    ])
    expect(lists.playlists).toHaveLength(3)
  })

  it('a bad file gets a sentence and adds nothing', async () => {
    const lists = make()
    for (const [text, why] of [
      [
        '{"format":"dcmx-playlist","version":1,"name":"x","tracks":[{"contentHash":"zz","title":"t"}]}',
        /not a DCMX playlist/,
      ],
      ['{ nope', /not valid JSON/],
      ['#EXTM3U\n#EXTINF:3,Song\nhttp://elsewhere.test/song.mp3\n', /names no DCMX tracks/],
      ['just some text', /neither a DCMX playlist/],
    ] as const) {
      expect(await lists.importFile(text, 'bad.json')).toBeUndefined()
      expect(lists.error).toMatch(why)
    }
    expect(lists.playlists).toEqual([])
  })
})
