import { afterEach, describe, expect, it, vi } from 'vitest'
import { Emitter } from '../core/emitter.ts'
import type { DownloadView } from '../core/fetcher.ts'
import type { KnownPeer, MeshStats, NetworkChange, NetworkTrack } from '../core/mesh-types.ts'
import { STATS_POLL_MS, watchMesh, type MeshSource } from './mesh-feed.ts'
import {
  EMPTY_STATS,
  availability,
  byHash,
  compareNetworkTracks,
  describeSeen,
  downloadStatus,
  formatPercent,
  formatRtt,
  holdersLabel,
  isDownloading,
  splitPeers,
  trafficRows,
  visibleNetwork,
} from './network-helpers.ts'

function track(title: string, extra: Partial<NetworkTrack> = {}): NetworkTrack {
  return {
    contentHash: title.padEnd(64, '0').slice(0, 64),
    title,
    holders: 1,
    local: false,
    described: true,
    ...extra,
  }
}

function download(extra: Partial<DownloadView> = {}): DownloadView {
  return {
    hash: 'a'.repeat(64),
    state: 'fetching',
    have: 0,
    total: 10,
    bytes: 0,
    size: 1000,
    sources: 1,
    ...extra,
  }
}

function peer(peerId: string, link: KnownPeer['link'], extra: Partial<KnownPeer> = {}): KnownPeer {
  return { peerId, link, tracks: 0, ...extra }
}

/** A node as the views see it; its emitter carries more events than the views listen to, as DcmxNode's does. */
class FakeMesh implements MeshSource {
  network: NetworkTrack[] = []
  knownPeers: KnownPeer[] = []
  stats: MeshStats = EMPTY_STATS
  events = new Emitter<{ change: []; network: []; downloads: []; log: [] }>()
  fetcher: { downloads: DownloadView[] } | undefined = { downloads: [] }
  reads = 0

  /** Mutates in place, as a core keeping one live array might: the feed must still hand out a new one. */
  addTrack(t: NetworkTrack) {
    this.network.push(t)
    this.events.emit('network')
  }
}

/** Collects what the feed pushes. */
function recorder() {
  const got = {
    tracks: [] as NetworkTrack[][],
    peers: [] as KnownPeer[][],
    stats: [] as MeshStats[],
    downloads: [] as DownloadView[][],
  }
  const feed = {
    tracks: (t: NetworkTrack[]) => got.tracks.push(t),
    peers: (p: KnownPeer[]) => got.peers.push(p),
    stats: (s: MeshStats) => got.stats.push(s),
    downloads: (d: DownloadView[]) => got.downloads.push(d),
  }
  return { got, feed }
}

describe('watchMesh', () => {
  afterEach(() => vi.useRealTimers())

  it('reads everything at once, then tracks on "network" and peers on "change", each as a new array', () => {
    const mesh = new FakeMesh()
    const { got, feed } = recorder()
    watchMesh(mesh, feed)
    expect([got.tracks.length, got.peers.length, got.stats.length]).toEqual([1, 1, 1])

    mesh.addTrack(track('One'))
    expect(got.tracks).toHaveLength(2)
    expect(got.tracks[1]).toEqual([track('One')])
    expect(got.tracks[1]).not.toBe(got.tracks[0])
    expect(got.tracks[1]).not.toBe(mesh.network)
    expect(got.peers).toHaveLength(1)

    mesh.knownPeers = [peer('a', 'connected')]
    mesh.events.emit('change')
    expect(got.peers.at(-1)).toEqual([peer('a', 'connected')])
    expect(got.tracks).toHaveLength(2)

    // Events the views do not use change nothing.
    mesh.events.emit('log')
    expect([got.tracks.length, got.peers.length]).toEqual([2, 2])
  })

  it('reads downloads at once, on "downloads" and on "network", as copies; none without a fetcher', () => {
    const mesh = new FakeMesh()
    const { got, feed } = recorder()
    watchMesh(mesh, feed)
    expect(got.downloads).toEqual([[]])

    const live = download({ bytes: 10 })
    mesh.fetcher = { downloads: [live] }
    mesh.events.emit('downloads')
    expect(got.downloads.at(-1)).toEqual([live])
    // A core that updates its view in place must not change what the page already holds.
    expect(got.downloads.at(-1)?.[0]).not.toBe(live)
    expect(got.tracks).toHaveLength(1)

    // A finished download turns into a local track: both are re-read together.
    mesh.fetcher = { downloads: [{ ...live, state: 'done' }] }
    mesh.addTrack(track('One', { local: true }))
    expect(got.tracks).toHaveLength(2)
    expect(got.downloads.at(-1)?.[0]?.state).toBe('done')

    mesh.fetcher = undefined
    mesh.events.emit('downloads')
    expect(got.downloads.at(-1)).toEqual([])
  })

  it('polls stats once per interval however many messages pass, and copies them', () => {
    vi.useFakeTimers()
    const mesh = new FakeMesh()
    const { got, feed } = recorder()
    watchMesh(mesh, feed)
    mesh.stats = { ...EMPTY_STATS, gossipRounds: 1, sent: { ping: { messages: 1, bytes: 10 } } }
    for (let i = 0; i < 50; i++) mesh.events.emit('network')
    expect(got.stats).toHaveLength(1)
    vi.advanceTimersByTime(STATS_POLL_MS)
    expect(got.stats).toHaveLength(2)
    expect(got.stats[1]).toEqual(mesh.stats)
    expect(got.stats[1]).not.toBe(mesh.stats)
    vi.advanceTimersByTime(STATS_POLL_MS * 3)
    expect(got.stats).toHaveLength(5)
  })

  it('stops the timer and both listeners when stopped, and stopping twice is harmless', () => {
    vi.useFakeTimers()
    const mesh = new FakeMesh()
    const { got, feed } = recorder()
    const stop = watchMesh(mesh, feed)
    stop()
    stop()
    mesh.addTrack(track('Late'))
    mesh.events.emit('change')
    mesh.events.emit('downloads')
    vi.advanceTimersByTime(STATS_POLL_MS * 5)
    expect([got.tracks.length, got.peers.length, got.stats.length, got.downloads.length]).toEqual([
      1, 1, 1, 1,
    ])
    expect(vi.getTimerCount()).toBe(0)
  })
})

describe('watchMesh with a source that names its changes', () => {
  it('hands the changed and removed tracks to `changes`, reading only those, and the whole list only when told "all"', () => {
    vi.useFakeTimers()
    const a = track('A')
    const b = track('B')
    const list = new Map([a, b].map((t) => [t.contentHash, t]))
    const reads: string[] = []
    const source = {
      get network() {
        reads.push('all')
        return [...list.values()]
      },
      networkTrack(hash: string) {
        reads.push(hash)
        return list.get(hash)
      },
      knownPeers: [],
      stats: EMPTY_STATS,
      events: new Emitter<{ change: []; network: [change?: NetworkChange]; downloads: [] }>(),
    }
    const got = { tracks: [] as NetworkTrack[][], changes: [] as [NetworkTrack[], string[]][] }
    const stop = watchMesh(source, {
      tracks: (t) => got.tracks.push(t),
      changes: (changed, removed) => got.changes.push([changed, removed]),
      peers: () => {},
      stats: () => {},
      downloads: () => {},
    })
    const b2 = { ...b, holders: 3 }
    list.set(b.contentHash, b2)
    list.delete(a.contentHash)
    reads.length = 0
    source.events.emit('network', { hashes: [a.contentHash, b.contentHash] })
    expect(got.changes).toEqual([[[b2], [a.contentHash]]])
    expect(reads).toEqual([a.contentHash, b.contentHash])
    source.events.emit('network', 'all')
    expect(got.tracks.at(-1)).toEqual([b2])
    stop()
  })
})

describe('visibleNetwork', () => {
  const tracks = [
    track('Track 10', { artist: 'Zed', album: 'B' }),
    track('Café del Mar', { artist: 'Energy 52', album: 'Trance Classics', local: true }),
    track('Track 2', { artist: 'zed', album: 'B' }),
    track('Lost', { artist: 'Ann', holders: 0 }),
    track('abcdef0123…', { contentHash: 'abcdef'.padEnd(64, '1'), described: false }),
    track('No Artist'),
    track('beta', { artist: 'Ann', album: 'A', holders: 4 }),
  ]
  const titles = (query: string) => visibleNetwork(tracks, query).map((t) => t.title)

  it('orders playable tracks by artist, album and title (natural, case-insensitive), then pending, then unavailable', () => {
    expect(titles('')).toEqual([
      'beta',
      'Café del Mar',
      'Track 2',
      'Track 10',
      'No Artist',
      'abcdef0123…',
      'Lost',
    ])
  })

  it.each([
    ['', 7],
    ['   ', 7],
    ['CAFE', 1],
    ['energy classics', 1],
    ['zed', 2],
    ['ann', 2],
    ['zed techno', 0],
    ['abcdef', 1],
    ['<b>', 0],
  ])('search %j matches %i tracks, like the library search', (query, count) => {
    expect(titles(query)).toHaveLength(count)
  })

  it('does not reorder the source', () => {
    const before = tracks.map((t) => t.title)
    visibleNetwork(tracks, '')
    expect(tracks.map((t) => t.title)).toEqual(before)
  })

  it('breaks full ties by content hash so the order is stable', () => {
    const a = track('Same', { contentHash: 'a'.repeat(64) })
    const b = track('Same', { contentHash: 'b'.repeat(64) })
    expect(compareNetworkTracks(a, b)).toBeLessThan(0)
    expect(compareNetworkTracks(b, a)).toBeGreaterThan(0)
  })
})

describe('availability and holders', () => {
  it.each<[Partial<NetworkTrack>, string, string]>([
    [{ local: true, holders: 3 }, 'local', '3 peers'],
    [{ local: true, holders: 0 }, 'local', '1 peer'],
    [{ holders: 1 }, 'remote', '1 peer'],
    [{ holders: 2 }, 'remote', '2 peers'],
    [{ holders: 0 }, 'unavailable', 'Unavailable'],
  ])('%j is %s, shown as %s', (extra, where, label) => {
    expect(availability(track('t', extra))).toBe(where)
    expect(holdersLabel(track('t', extra))).toBe(label)
  })
})

describe('download progress', () => {
  it.each([
    [0, 1000, '0 %'],
    [420, 1000, '42 %'],
    [999, 1000, '99 %'],
    [1000, 1000, '100 %'],
    [1500, 1000, '100 %'],
    [-5, 1000, '0 %'],
    [10, 0, '0 %'],
    [Number.NaN, 1000, '0 %'],
  ])('%i of %i bytes is %s (rounded down: 100 %% only when complete)', (done, total, shown) => {
    expect(formatPercent(done, total)).toBe(shown)
  })

  const reachable = 'No peer holding this track is reachable right now. Try again later.'
  it.each<[Partial<DownloadView>, string, boolean]>([
    [{ state: 'locating', size: 0 }, 'Finding peers…', true],
    [{ state: 'fetching', bytes: 420, sources: 2 }, '42 % from 2 peers', true],
    [{ state: 'fetching', bytes: 420, sources: 1 }, '42 % from 1 peer', true],
    [{ state: 'fetching', bytes: 0, sources: 0 }, 'Starting…', true],
    [{ state: 'fetching', bytes: 300, sources: 0 }, '30 %', true],
    [{ state: 'verifying', bytes: 1000 }, 'Checking…', true],
    [{ state: 'done', bytes: 1000 }, 'Downloaded', false],
    [{ state: 'failed', error: reachable }, reachable, false],
    [{ state: 'failed' }, 'The download failed. Press Play to try again.', false],
  ])('%j reads %j (under way: %s)', (extra, status, underWay) => {
    expect(downloadStatus(download(extra))).toBe(status)
    expect(isDownloading(download(extra))).toBe(underWay)
  })

  it('finds a download by its content hash', () => {
    const one = download({ hash: '1'.repeat(64) })
    const two = download({ hash: '2'.repeat(64), state: 'failed' })
    const map = byHash([one, two])
    expect(map.get(two.hash)).toBe(two)
    expect(map.get('3'.repeat(64))).toBeUndefined()
    expect(byHash([]).size).toBe(0)
  })

  it('treats a track without a download as not downloading', () => {
    expect(isDownloading(undefined)).toBe(false)
  })
})

describe('splitPeers', () => {
  it('lists direct links in the node’s order, then peers known through gossip, each peer once', () => {
    const { linked, known } = splitPeers([
      peer('g1', 'none'),
      peer('c', 'connected'),
      peer('v', 'verifying'),
      peer('c', 'none'),
      peer('g2', 'none'),
      peer('v', 'connecting'),
    ])
    expect(linked.map((p) => `${p.peerId}:${p.link}`)).toEqual(['c:connected', 'v:verifying'])
    expect(known.map((p) => p.peerId)).toEqual(['g1', 'g2'])
  })
})

describe('peer figures', () => {
  it.each([
    [undefined, '—'],
    [Number.NaN, '—'],
    [0.42, '0.4 ms'],
    [9.94, '9.9 ms'],
    [9.96, '10 ms'],
    [48.4, '48 ms'],
  ])('RTT %s is shown as %s', (ms, shown) => {
    expect(formatRtt(ms)).toBe(shown)
  })

  const now = 1_000_000_000
  it.each([
    [undefined, 'not seen yet'],
    [now + 5000, 'seen just now'],
    [now - 1000, 'seen just now'],
    [now - 3000, 'seen 3 s ago'],
    [now - 59_000, 'seen 59 s ago'],
    [now - 4 * 60_000, 'seen 4 min ago'],
    [now - 2 * 3_600_000, 'seen 2 h ago'],
    [now - 3 * 86_400_000, 'seen 3 d ago'],
  ])('last seen %s is shown as %s', (lastSeen, shown) => {
    expect(describeSeen(lastSeen, now)).toBe(shown)
  })
})

describe('trafficRows', () => {
  it('lists every type seen either way by name, with zeros for the missing direction, and a total', () => {
    const { rows, total } = trafficRows({
      ...EMPTY_STATS,
      sent: { ping: { messages: 3, bytes: 30 }, announce: { messages: 1, bytes: 500 } },
      received: { pong: { messages: 2, bytes: 20 }, ping: { messages: 1, bytes: 10 } },
    })
    expect(rows).toEqual([
      { type: 'announce', sent: { messages: 1, bytes: 500 }, received: { messages: 0, bytes: 0 } },
      { type: 'ping', sent: { messages: 3, bytes: 30 }, received: { messages: 1, bytes: 10 } },
      { type: 'pong', sent: { messages: 0, bytes: 0 }, received: { messages: 2, bytes: 20 } },
    ])
    expect(total).toEqual({
      type: 'total',
      sent: { messages: 4, bytes: 530 },
      received: { messages: 3, bytes: 30 },
    })
  })

  it('does not read Object.prototype members as counts', () => {
    const { rows } = trafficRows({ ...EMPTY_STATS, received: { toString: { messages: 1, bytes: 1 } } })
    expect(rows).toEqual([
      { type: 'toString', sent: { messages: 0, bytes: 0 }, received: { messages: 1, bytes: 1 } },
    ])
  })
})
