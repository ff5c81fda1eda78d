import { untrack } from 'svelte'
import type { NetworkTrack } from '../core/mesh-types.ts'
import {
  fromNetworkTrack,
  parseQueueSnapshot,
  type PlayerTrack,
  type QueueSnapshot,
  type QueueStore,
} from '../core/playlist.ts'
import { messageOf } from './library-state.svelte.ts'
import { SystemMediaSession } from './media-session.ts'
import { Queue, type QueueEntry } from './queue.svelte.ts'

/** Past this many seconds into a track, "Previous" restarts it instead of going back (as most players do). */
const RESTART_AFTER_S = 3
/** The next track's first piece is fetched this long before the current one ends. */
export const PREFETCH_LEAD_S = 20
/** The first piece of a track: what the prefetch reads (the fixed piece size of src/core/content.ts). */
const PREFETCH_BYTES = 256 * 1024
/** The position is saved at most this often while playing (and on pause, seek and page hide). */
const SAVE_POSITION_MS = 2000
/** How long a shared link waits for a peer holding its track to show up. */
export const SHARED_WAIT_MS = 30_000
/** How long to wait for the service worker to take control of a first visit's page. */
const CONTENT_URL_WAIT_MS = 5000
/** Arrow keys seek this far, and change the volume by this much. */
export const SEEK_STEP_S = 5
export const VOLUME_STEP = 0.1

/** The tracks on this device, as the player needs them. */
export type PlayerLibrary = {
  has(hash: string): boolean
  /** A track on this device, as the player keeps it. */
  track(hash: string): PlayerTrack | undefined
  /** The track's bytes; throws with a sentence when they cannot be read. */
  blob(hash: string): Promise<Blob>
  /** A play started: an ordering hint for "Free space". */
  played(hash: string): void
  /** Covers the library should load because the player shows them. */
  alsoShown: readonly (string | undefined)[]
  coverUrl(hash: string | undefined): string | undefined
}

/** The mesh, as the player needs it to play tracks held by other peers (the node satisfies it). */
export type PlayerNetwork = {
  readonly network: NetworkTrack[]
  /** Start (or join) the download of a track; its bytes stream through the content URL meanwhile. */
  fetch(hash: string): void
}

export type PlayerDeps = {
  /** Absent when local storage could not be opened. */
  library?: PlayerLibrary | undefined
  /** Absent when this node cannot download (no storage). */
  network?: PlayerNetwork | undefined
  /** The service worker's /content/<hash> URL for a track, when it controls the page. */
  contentUrl?: (hash: string) => string | undefined
  /** The same, waiting up to `ms` for the worker to take control (else the player polls `contentUrl`). */
  contentUrlSoon?: (hash: string, ms: number) => Promise<string | undefined>
  /** Where the queue and position are saved across reloads. */
  store?: QueueStore | undefined
  random?: () => number
  /** Reads a URL's first bytes (the prefetch); tests pass a fake. */
  prefetch?: (url: string, bytes: number) => Promise<void>
  sleep?: (ms: number) => Promise<void>
  now?: () => number
  /** Drive the operating system's media controls (off in tests). */
  mediaSession?: boolean
}

const defaultPrefetch = async (url: string, bytes: number) => {
  const response = await fetch(url, { headers: { Range: `bytes=0-${bytes - 1}` } })
  // Read it through, so the bytes are really fetched (and verified), then drop them.
  await response.arrayBuffer()
}
const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * The player: the queue, the page's one audio element, where it is in the track, volume, shuffle
 * and repeat, playing library tracks from this device and network tracks from the peers that hold
 * them (fetched as they play), prefetching the next track, shared links, and saving all of it so a
 * reload comes back to the same queue and position.
 */
export class PlayerState {
  readonly queue: Queue
  playing = $state(false)
  /** Seconds into the current track, and its length once known. */
  position = $state(0)
  duration = $state<number | undefined>()
  volume = $state(1)
  muted = $state(false)
  /** A sentence when the current track cannot be played. */
  error = $state<string | undefined>()
  /** A sentence about a shared link being opened ("Looking for…", "Nobody…"). */
  shared = $state<string | undefined>()
  /** The content hash whose first piece was last prefetched. */
  prefetched = $state<string | undefined>()
  /** The saved queue has been read (or there was none): until then nothing is saved over it. */
  restored = $state(false)

  #library: PlayerLibrary | undefined
  #network: PlayerNetwork | undefined
  #contentUrl: (hash: string) => string | undefined
  #contentUrlSoon: ((hash: string, ms: number) => Promise<string | undefined>) | undefined
  #store: QueueStore | undefined
  #prefetch: (url: string, bytes: number) => Promise<void>
  #sleep: (ms: number) => Promise<void>
  #now: () => number
  #media: SystemMediaSession | undefined
  #audio: HTMLAudioElement | undefined
  /** The entry whose source the audio element holds, and that source (plain fields: never tracked). */
  #loadedKey: number | undefined
  #src: string | undefined
  #loadedLocal = false
  #seq = 0
  /** A position to seek to once that entry's source is loaded (a restored or early seek). */
  #pendingSeek: { key: number; at: number } | undefined
  #prefetchedKey: number | undefined
  #savedAt = 0
  #stopEffects: () => void
  #disposed = false

  constructor(deps: PlayerDeps = {}) {
    this.queue = new Queue(deps.random)
    this.#library = deps.library
    this.#network = deps.network
    this.#contentUrl = deps.contentUrl ?? (() => undefined)
    this.#contentUrlSoon = deps.contentUrlSoon
    this.#store = deps.store
    this.#prefetch = deps.prefetch ?? defaultPrefetch
    this.#sleep = deps.sleep ?? defaultSleep
    this.#now = deps.now ?? (() => Date.now())
    if (deps.mediaSession !== false) this.#media = new SystemMediaSession(this)
    this.#stopEffects = $effect.root(() => {
      $effect(() => {
        const track = this.current
        const library = this.#library
        if (library) untrack(() => (library.alsoShown = [track?.coverHash]))
        const artwork = library?.coverUrl(track?.coverHash)
        untrack(() => this.#media?.describe(track, artwork))
      })
      // Removed here or in another tab: the player must not keep reading deleted bytes.
      $effect(() => {
        const track = this.current
        const gone = track !== undefined && this.#library?.has(track.contentHash) === false
        if (gone && untrack(() => this.#loadedLocal)) untrack(() => this.#unload())
      })
      // The queue, repeat and volume are saved whenever they change; the position every few seconds.
      $effect(() => {
        void this.queue.entries
        void this.queue.index
        void this.queue.repeat
        void this.queue.shuffle
        void this.volume
        if (untrack(() => this.restored)) untrack(() => void this.save())
      })
    })
  }

  /** Read the saved queue and position back (once, at start). */
  async restore(): Promise<void> {
    try {
      const saved = parseQueueSnapshot(await this.#store?.load())
      if (saved && this.queue.entries.length === 0) {
        this.queue.restore(saved)
        this.volume = saved.volume
        if (this.#audio) this.#audio.volume = saved.volume
        const current = this.queue.current
        this.position = current ? saved.positionS : 0
        this.#pendingSeek =
          current && saved.positionS > 0 ? { key: current.key, at: saved.positionS } : undefined
        this.duration = this.queue.current?.track.durationS
      }
    } catch (error) {
      console.error('could not read the saved queue', error)
    } finally {
      this.restored = true
    }
  }

  /** Save the queue, the position and the volume now. */
  async save(): Promise<void> {
    if (!this.#store || !this.restored) return
    this.#savedAt = this.#now()
    const snapshot: QueueSnapshot = {
      ...this.queue.snapshot(),
      positionS: Number.isFinite(this.position) ? Math.max(0, this.position) : 0,
      volume: this.volume,
    }
    try {
      await this.#store.save(snapshot)
    } catch (error) {
      console.error('could not save the queue', error)
    }
  }

  /** The track in the player (playing or paused). */
  get current(): PlayerTrack | undefined {
    return this.queue.current?.track
  }

  /** The current track is not on this device: it streams from other peers. */
  get streaming(): boolean {
    const current = this.current
    return current !== undefined && !this.#library?.has(current.contentHash)
  }

  /** The system media controls' Play. */
  play(): Promise<void> {
    return this.resume()
  }

  isCurrent(hash: string): boolean {
    return this.current?.contentHash === hash
  }

  isPlaying(hash: string): boolean {
    return this.playing && this.isCurrent(hash)
  }

  /** Play `tracks` from `start`, as the queue (a row's Play in a list); the same track again resumes. */
  async playList(tracks: readonly PlayerTrack[], start: number): Promise<void> {
    const wanted = tracks[start]
    if (!wanted) return
    if (this.isCurrent(wanted.contentHash) && this.#src !== undefined) return this.resume()
    this.queue.replace(tracks, start)
    await this.#playCurrent()
  }

  /** A row's Play/Pause button: pause the track if it plays, else play the list from it. */
  toggleIn(tracks: readonly PlayerTrack[], start: number): Promise<void> {
    const wanted = tracks[start]
    if (wanted && this.isPlaying(wanted.contentHash)) {
      this.pause()
      return Promise.resolve()
    }
    return this.playList(tracks, start)
  }

  /** Play the queue's entry at `index` (the Queue view's Play). */
  async playAt(index: number): Promise<void> {
    if (index === this.queue.index && this.#src !== undefined) return this.resume()
    if (!this.queue.jump(index)) return
    await this.#playCurrent()
  }

  /** Play (or resume) the current track; the first of the queue when none is current. */
  async resume(): Promise<void> {
    if (!this.queue.current && !this.queue.jump(0)) return
    if (this.#loadedKey === this.queue.current?.key && this.#src !== undefined) {
      this.error = undefined
      await this.#start()
      return
    }
    await this.#playCurrent()
  }

  pause(): void {
    this.#audio?.pause()
  }

  togglePlay(): Promise<void> {
    if (this.playing) {
      this.pause()
      return Promise.resolve()
    }
    return this.resume()
  }

  /** The next track (Next button); at the end of the queue without repeat, nothing. */
  async next(): Promise<void> {
    if (!this.queue.advance(false)) return
    await this.#playCurrent()
  }

  /** Restart the track if it has played a while, else go to the one before it. */
  async previous(): Promise<void> {
    if (this.position > RESTART_AFTER_S || !this.queue.back()) return this.seek(0)
    await this.#playCurrent()
  }

  /** Seek to `seconds` (clamped to the track); before the track is loaded, once it is. */
  seek(seconds: number): void {
    const max = this.duration ?? Number.POSITIVE_INFINITY
    const to = Math.max(0, Math.min(seconds, Number.isFinite(max) ? max : seconds))
    if (!Number.isFinite(to)) return
    this.position = to
    const key = this.queue.current?.key
    if (this.#audio && this.#src !== undefined && this.#audio.readyState > 0) this.#audio.currentTime = to
    else if (key !== undefined) this.#pendingSeek = { key, at: to }
    void this.save()
  }

  /** Seek by `delta` seconds from where it is. */
  seekBy(delta: number): void {
    this.seek(this.position + delta)
  }

  setVolume(volume: number): void {
    const v = Math.max(0, Math.min(1, Math.round(volume * 100) / 100))
    this.volume = v
    if (v > 0) this.muted = false
    if (this.#audio) {
      this.#audio.volume = v
      this.#audio.muted = this.muted
    }
  }

  toggleMute(): void {
    this.muted = !this.muted
    if (this.#audio) this.#audio.muted = this.muted
  }

  /** Queue a track to play after the current one. */
  playNext(track: PlayerTrack): void {
    this.queue.playNext(track)
  }

  /** Queue a track after everything queued. */
  addToQueue(track: PlayerTrack): void {
    this.queue.add(track)
  }

  /** Remove a queue entry; the current one stops, and the next one takes its place (paused). */
  removeAt(index: number): void {
    const wasCurrent = index === this.queue.index
    this.queue.remove(index)
    if (wasCurrent) this.#unload()
  }

  /**
   * A shared link (`#track=<hash>`): play the track from the mesh as soon as a peer holding it is
   * known (at once if it is on this device); say so if none shows up in time.
   */
  async openShared(hash: string, waitMs = SHARED_WAIT_MS): Promise<void> {
    let track = this.#library?.track(hash)
    if (!track) {
      const network = this.#network
      if (!network) {
        this.shared =
          'This shared track is not on this device, and this browser cannot fetch tracks from other devices.'
        return
      }
      this.shared = 'Looking for the shared track on the network…'
      const found = await this.#waitFor(
        () =>
          network.network.find((t) => t.contentHash === hash && t.described && (t.local || t.holders > 0)),
        waitMs,
      )
      if (!found) {
        this.shared =
          'Nobody in this room is sharing that track right now. Ask whoever sent the link to open DCMX, then reload this page.'
        return
      }
      track = fromNetworkTrack(found)
    }
    this.shared = undefined
    const at = this.queue.index + 1
    this.queue.playNext(track)
    this.queue.jump(at)
    await this.#playCurrent()
  }

  /** Give the player the page's one audio element (a Svelte attachment: returns the detach). */
  attachAudio = (audio: HTMLAudioElement): (() => void) =>
    untrack(() => {
      this.#audio = audio
      audio.volume = this.volume
      audio.muted = this.muted
      const listeners: [string, () => void][] = [
        ['play', () => (this.playing = true)],
        [
          'pause',
          () => {
            this.playing = false
            void this.save()
          },
        ],
        ['ended', () => void this.#ended()],
        ['error', () => this.#onMediaError(audio)],
        ['timeupdate', () => this.#onTime(audio)],
        ['durationchange', () => this.#onDuration(audio)],
        ['loadedmetadata', () => this.#onLoaded(audio)],
        ['volumechange', () => ((this.volume = audio.volume), (this.muted = audio.muted))],
      ]
      for (const [type, listener] of listeners) audio.addEventListener(type, listener)
      if (this.#src !== undefined) audio.src = this.#src
      const detachMedia = this.#media?.attach(audio)
      const onHide = () => void this.save()
      if (typeof window !== 'undefined') addEventListener('pagehide', onHide)
      return () => {
        detachMedia?.()
        for (const [type, listener] of listeners) audio.removeEventListener(type, listener)
        if (typeof window !== 'undefined') removeEventListener('pagehide', onHide)
        if (this.#audio === audio) this.#audio = undefined
      }
    })

  dispose(): void {
    this.#disposed = true
    this.#stopEffects()
    this.#unload()
    this.#media?.dispose()
  }

  /** Load the current entry's source and play it. */
  async #playCurrent(): Promise<void> {
    const entry = this.queue.current
    if (!entry) return
    const seq = ++this.#seq
    this.error = undefined
    this.#audio?.pause()
    if (this.#loadedKey !== entry.key) {
      if (this.#pendingSeek?.key !== entry.key) this.#pendingSeek = undefined
      this.position = this.#pendingSeek?.at ?? 0
      this.duration = entry.track.durationS
    }
    const source = await this.#sourceOf(entry)
    if (seq !== this.#seq || this.#disposed) {
      if (source?.startsWith('blob:')) URL.revokeObjectURL(source)
      return
    }
    if (source === undefined) {
      this.#setSource(undefined, undefined)
      return
    }
    this.#setSource(entry.key, source)
    await this.#start()
  }

  /** Where the entry's bytes come from: this device, or the peers holding it (fetched as it plays). */
  async #sourceOf(entry: QueueEntry): Promise<string | undefined> {
    const hash = entry.track.contentHash
    const library = this.#library
    if (library?.has(hash)) {
      let blob: Blob
      try {
        // Also when streaming by URL: a track whose bytes are gone gets its sentence here, not a media error.
        blob = await library.blob(hash)
      } catch (error) {
        this.error = messageOf(error)
        return undefined
      }
      this.#loadedLocal = true
      library.played(hash)
      return this.#contentUrl(hash) ?? objectUrl(blob, entry.track.mime)
    }
    this.#loadedLocal = false
    const network = this.#network
    const known = network?.network.find((t) => t.contentHash === hash)
    if (!network) {
      this.error = `“${entry.track.title}” is not on this device, and this browser cannot fetch tracks from other devices.`
      return undefined
    }
    if (!known || (!known.local && known.holders === 0)) {
      this.error = `Nobody holding “${entry.track.title}” is reachable right now. It plays once a peer that has it is back.`
      return undefined
    }
    network.fetch(hash)
    // On a first visit the service worker may still be taking control of the page.
    const url = this.#contentUrlSoon
      ? await this.#contentUrlSoon(hash, CONTENT_URL_WAIT_MS)
      : await this.#waitFor(() => this.#contentUrl(hash), CONTENT_URL_WAIT_MS)
    if (!url) {
      this.error =
        'Playing from other devices needs this page’s service worker, which is not running. Reload the page and try again.'
      return undefined
    }
    return url
  }

  /** Play the loaded source; true once it plays. */
  async #start(): Promise<boolean> {
    const audio = this.#audio
    if (!audio) {
      this.error = 'The player is not on the page yet; try again in a moment.'
      return false
    }
    try {
      await audio.play()
      return true
    } catch (error) {
      const name = (error as { name?: unknown } | null)?.name
      // Superseded by another track or a pause: not a failure.
      if (name === 'AbortError') return false
      this.playing = !audio.paused
      this.error =
        name === 'NotAllowedError'
          ? 'The browser blocked playback; press Play to start.'
          : name === 'NotSupportedError'
            ? this.#unsupported()
            : `Playback failed: ${messageOf(error)}`
      return false
    }
  }

  async #ended() {
    this.#pendingSeek = undefined
    if (!this.queue.advance(true)) {
      // The end of the queue: it stays on the last track, back at its start.
      this.position = 0
      void this.save()
      return
    }
    const current = this.queue.current
    if (current && current.key === this.#loadedKey && this.#src !== undefined) {
      // Repeat one: the same source loaded again from its start (seeking an ended element back to
      // 0 can end it again at once when its stream is still settling).
      this.position = 0
      this.#setSource(current.key, this.#src)
      await this.#start()
      return
    }
    await this.#playCurrent()
  }

  #onTime(audio: HTMLAudioElement) {
    if (this.#src === undefined) return
    this.position = audio.currentTime
    if (this.playing && this.#now() - this.#savedAt >= SAVE_POSITION_MS) void this.save()
    const duration = this.duration
    if (duration !== undefined && duration - audio.currentTime <= PREFETCH_LEAD_S) this.#prefetchNext()
  }

  #onDuration(audio: HTMLAudioElement) {
    if (Number.isFinite(audio.duration) && audio.duration > 0) this.duration = audio.duration
  }

  #onLoaded(audio: HTMLAudioElement) {
    this.#onDuration(audio)
    const seek = this.#pendingSeek
    this.#pendingSeek = undefined
    if (seek && seek.key === this.#loadedKey && seek.at > 0)
      audio.currentTime = Math.min(seek.at, audio.duration || seek.at)
  }

  /** Fetch the first piece of the track that plays next, once per current entry, so it starts at once. */
  #prefetchNext() {
    const current = this.queue.current
    if (!current || this.#prefetchedKey === current.key) return
    this.#prefetchedKey = current.key
    const next = this.queue.peekNext()
    if (!next || next.key === current.key) return
    const hash = next.track.contentHash
    const local = this.#library?.has(hash) === true
    const known = this.#network?.network.find((t) => t.contentHash === hash)
    if (!local && !(known && known.holders > 0)) return
    const url = this.#contentUrl(hash)
    if (!url) return
    this.prefetched = hash
    this.#prefetch(url, PREFETCH_BYTES).catch((error: unknown) => console.warn('prefetch failed', error))
  }

  #onMediaError(audio: HTMLAudioElement) {
    // Detaching the source (after a removal) is not a playback failure.
    if (this.#src === undefined || !audio.error) return
    this.error =
      audio.error.code === MediaError.MEDIA_ERR_SRC_NOT_SUPPORTED ||
      audio.error.code === MediaError.MEDIA_ERR_DECODE
        ? this.#unsupported()
        : `Playback stopped: ${audio.error.message || 'the browser could not read the track'}.`
  }

  #unsupported(): string {
    const track = this.current
    const format = track ? [track.container, track.codec].filter(Boolean).join(' / ') : ''
    return `This browser cannot play this track${format ? ` (${format})` : ''}. Try another browser.`
  }

  async #waitFor<T>(probe: () => T | undefined, ms: number): Promise<T | undefined> {
    const until = this.#now() + ms
    for (;;) {
      const value = probe()
      if (value !== undefined || this.#disposed) return value
      if (this.#now() >= until) return undefined
      await this.#sleep(100)
    }
  }

  #setSource(key: number | undefined, url: string | undefined) {
    const previous = this.#src
    this.#src = url
    this.#loadedKey = url === undefined ? undefined : key
    if (url === undefined) this.#loadedLocal = false
    const audio = this.#audio
    if (audio) {
      if (url !== undefined) audio.src = url
      else {
        audio.removeAttribute('src')
        audio.load()
      }
    }
    if (previous?.startsWith('blob:') && previous !== url) URL.revokeObjectURL(previous)
  }

  /** Stop and let go of the loaded source. */
  #unload() {
    this.#seq++
    this.#audio?.pause()
    this.#setSource(undefined, undefined)
    this.playing = false
    this.position = 0
  }
}

function objectUrl(blob: Blob, mime: string): string {
  // Stored blobs may carry no type; slicing re-labels without copying, which some engines need.
  return URL.createObjectURL(!blob.type && mime ? blob.slice(0, blob.size, mime) : blob)
}
