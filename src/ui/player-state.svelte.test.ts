import { flushSync } from 'svelte'
import { describe, expect, it } from 'vitest'
import type { NetworkTrack } from '../core/mesh-types.ts'
import type { PlayerTrack, QueueSnapshot, QueueStore } from '../core/playlist.ts'
import {
  PlayerState,
  PREFETCH_LEAD_S,
  type PlayerLibrary,
  type PlayerNetwork,
} from './player-state.svelte.ts'
import { shareLink, sharedTrack, withoutSharedTrack } from './share-link.ts'

const hash = (c: string) => c.repeat(64)
const track = (c: string, durationS = 100): PlayerTrack => ({
  contentHash: hash(c),
  title: `Track ${c}`,
  mime: 'audio/wav',
  durationS,
})
const A = track('a')
const B = track('b')
const R = track('c')

/** Just enough of an HTMLAudioElement: events, play/pause, a position and a loaded source. */
class FakeAudio extends EventTarget {
  #src = ''
  /** Setting the source runs the load algorithm: back to the start, nothing loaded yet. */
  get src() {
    return this.#src
  }
  set src(url: string) {
    this.#src = url
    this.currentTime = 0
    this.readyState = 0
    this.loads++
  }
  loads = 0
  currentTime = 0
  duration = Number.NaN
  paused = true
  readyState = 0
  volume = 1
  muted = false
  error = null
  async play() {
    this.paused = false
    this.dispatchEvent(new Event('play'))
  }
  pause() {
    if (this.paused) return
    this.paused = true
    this.dispatchEvent(new Event('pause'))
  }
  removeAttribute() {
    this.src = ''
  }
  load() {}
  /** The browser loaded the source's metadata. */
  loaded(duration: number) {
    this.duration = duration
    this.readyState = 1
    this.dispatchEvent(new Event('durationchange'))
    this.dispatchEvent(new Event('loadedmetadata'))
  }
  at(seconds: number) {
    this.currentTime = seconds
    this.dispatchEvent(new Event('timeupdate'))
  }
  end() {
    this.paused = true
    this.dispatchEvent(new Event('pause'))
    this.dispatchEvent(new Event('ended'))
  }
}

class MemoryQueueStore implements QueueStore {
  saved: unknown
  async load() {
    return structuredClone(this.saved)
  }
  async save(snapshot: QueueSnapshot) {
    this.saved = structuredClone(snapshot)
  }
}

function library(tracks: PlayerTrack[]): PlayerLibrary {
  const byHash = new Map(tracks.map((t) => [t.contentHash, t]))
  return {
    has: (h) => byHash.has(h),
    track: (h) => byHash.get(h),
    blob: async () => new Blob(['x']),
    played: () => {},
    alsoShown: [],
    coverUrl: () => undefined,
  }
}

function network(tracks: NetworkTrack[]): PlayerNetwork & { fetched: string[]; tracks: NetworkTrack[] } {
  const fetched: string[] = []
  return {
    tracks,
    get network() {
      return this.tracks
    },
    fetch: (h) => void fetched.push(h),
    fetched,
  }
}

const remote = (t: PlayerTrack, holders = 1): NetworkTrack => ({
  contentHash: t.contentHash,
  title: t.title,
  mime: t.mime,
  ...(t.durationS !== undefined ? { durationS: t.durationS } : {}),
  holders,
  local: false,
  described: true,
})

function setup(
  opts: { store?: MemoryQueueStore; net?: ReturnType<typeof network>; now?: () => number } = {},
) {
  const prefetched: string[] = []
  const player = new PlayerState({
    library: library([A, B]),
    network: opts.net ?? network([remote(R)]),
    contentUrl: (h) => `/content/${h}`,
    store: opts.store,
    mediaSession: false,
    prefetch: async (url) => void prefetched.push(url),
    sleep: async () => {},
    ...(opts.now ? { now: opts.now } : {}),
  })
  const audio = new FakeAudio()
  player.attachAudio(audio as unknown as HTMLAudioElement)
  return { player, audio, prefetched }
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0))

describe('PlayerState: a queue of local and remote tracks', () => {
  it('moves through the queue on its own, fetching the remote track from the mesh, and prefetches the next one', async () => {
    const net = network([remote(R)])
    const { player, audio, prefetched } = setup({ net })
    await player.playList([A, B, R], 0)
    expect(audio.src).toBe(`/content/${hash('a')}`)
    audio.loaded(100)
    audio.at(10)
    expect(prefetched).toEqual([])
    // Within the lead of the end: the next track's first piece is asked for, once.
    audio.at(100 - PREFETCH_LEAD_S + 1)
    audio.at(100 - PREFETCH_LEAD_S + 2)
    expect(prefetched).toEqual([`/content/${hash('b')}`])
    audio.end()
    await tick()
    expect(player.current?.title).toBe('Track b')
    expect(audio.paused).toBe(false)
    audio.loaded(100)
    audio.at(95)
    expect(prefetched.at(-1)).toBe(`/content/${hash('c')}`)
    audio.end()
    await tick()
    expect(player.current?.title).toBe('Track c')
    expect(net.fetched).toEqual([hash('c')])
    expect(audio.src).toBe(`/content/${hash('c')}`)
    expect(player.streaming).toBe(true)
    audio.end()
    await tick()
    // The end of the queue: it stays on the last track, stopped.
    expect(player.current?.title).toBe('Track c')
    expect(audio.paused).toBe(true)
  })

  it('repeat one replays the track when it ends; repeat all goes back to the first', async () => {
    const { player, audio } = setup()
    await player.playList([A, B], 1)
    player.queue.cycleRepeat()
    audio.end()
    await tick()
    expect(player.current?.title).toBe('Track a')
    player.queue.cycleRepeat()
    audio.at(50)
    const loads = audio.loads
    audio.end()
    await tick()
    expect(player.current?.title).toBe('Track a')
    // The same source, loaded again from its start.
    expect(audio.loads).toBe(loads + 1)
    expect(audio.src).toBe(`/content/${hash('a')}`)
    expect(audio.currentTime).toBe(0)
    expect(audio.paused).toBe(false)
  })

  it('a remote track nobody holds gets a sentence, and nothing is fetched', async () => {
    const net = network([remote(R, 0)])
    const { player } = setup({ net })
    await player.playList([R], 0)
    expect(player.error).toMatch(/Nobody holding “Track c” is reachable/)
    expect(net.fetched).toEqual([])
  })
})

describe('PlayerState: persistence across a reload', () => {
  it('a new player on the same store comes back to the same queue, shuffle, repeat, volume and position', async () => {
    const store = new MemoryQueueStore()
    const first = setup({ store })
    await first.player.restore()
    await first.player.playList([A, B, R], 1)
    first.player.queue.cycleRepeat()
    first.player.setVolume(0.4)
    first.audio.loaded(100)
    first.audio.at(42.5)
    first.player.pause()
    flushSync()
    await tick()

    const second = setup({ store })
    await second.player.restore()
    expect(second.player.queue.entries.map((e) => e.track.title)).toEqual(['Track a', 'Track b', 'Track c'])
    expect(second.player.current?.title).toBe('Track b')
    expect(second.player.queue.repeat).toBe('all')
    expect(second.player.volume).toBe(0.4)
    expect(second.player.position).toBe(42.5)
    // Nothing loads until Play; then it resumes where it was.
    expect(second.audio.src).toBe('')
    await second.player.resume()
    expect(second.audio.src).toBe(`/content/${hash('b')}`)
    second.audio.loaded(100)
    expect(second.audio.currentTime).toBe(42.5)
  })

  it('a damaged or foreign saved value is ignored, not a crash', async () => {
    const store = new MemoryQueueStore()
    store.saved = { tracks: [{ contentHash: 'not a hash', title: 1 }], index: 0 }
    const { player } = setup({ store })
    await player.restore()
    expect(player.queue.entries).toEqual([])
    expect(player.restored).toBe(true)
  })
})

describe('share links', () => {
  const h = hash('d')

  it('builds /?room=…#track=<hash> and reads the hash back', () => {
    const link = shareLink('https://music.example:8443/some/path?links=3', 'living-room', h)
    expect(link).toBe(`https://music.example:8443/?room=living-room#track=${h}`)
    expect(sharedTrack(new URL(link))).toBe(h)
  })

  it.each([
    ['no fragment', 'https://x.test/?room=a'],
    ['a short hash', `https://x.test/#track=${h.slice(1)}`],
    ['not hex', `https://x.test/#track=${'g'.repeat(64)}`],
    ['another key', `https://x.test/#song=${h}`],
    ['script in the fragment', 'https://x.test/#track=<script>alert(1)</script>'],
  ])('ignores %s', (_, url) => {
    expect(sharedTrack(new URL(url))).toBeUndefined()
  })

  it('accepts upper-case hex and drops only the track from the URL afterwards', () => {
    const url = new URL(`https://x.test/?room=r&links=4#track=${h.toUpperCase()}&x=1`)
    expect(sharedTrack(url)).toBe(h)
    expect(withoutSharedTrack(url)).toBe('/?room=r&links=4#x=1')
    expect(withoutSharedTrack(new URL(`https://x.test/?room=r#track=${h}`))).toBe('/?room=r')
  })

  it('opening a shared track waits until a peer holding it is known, then plays it from the mesh', async () => {
    const net = network([])
    const { player, audio } = setup({ net })
    let polls = 0
    const opening = player.openShared(hash('c'))
    // The track shows up in the mesh a little later (gossip).
    while (!player.shared && polls++ < 10) await tick()
    expect(player.shared).toMatch(/Looking for the shared track/)
    net.tracks = [remote(R)]
    await opening
    expect(player.shared).toBeUndefined()
    expect(player.current?.title).toBe('Track c')
    expect(net.fetched).toEqual([hash('c')])
    expect(audio.src).toBe(`/content/${hash('c')}`)
  })

  it('a shared track nobody holds says so once the wait is over', async () => {
    let now = 0
    const net = network([remote(R, 0)])
    const { player } = setup({ net, now: () => (now += 1000) })
    await player.openShared(hash('c'), 5000)
    expect(player.shared).toMatch(/Nobody in this room is sharing that track/)
    expect(player.current).toBeUndefined()
    expect(net.fetched).toEqual([])
  })

  it('a shared track already on this device plays from here at once', async () => {
    const { player, audio } = setup({ net: network([]) })
    await player.openShared(hash('a'))
    expect(player.current?.title).toBe('Track a')
    expect(audio.src).toBe(`/content/${hash('a')}`)
  })
})
