import { untrack } from 'svelte'
import type { Track } from '../core/catalog.ts'
import { DcmxError } from '../core/errors.ts'
import { isEnded, type ImportFile, type ImportJob, type Library } from '../core/library.ts'
import type { StorageEstimate, StorageStatus } from '../core/storage-status.ts'
import { CoverUrls, type CoverSource } from './cover-urls.ts'
import { FreeSpace } from './free-space.svelte.ts'
import { compareTracks, matches, overallProgress, type SortDir, type SortKey } from './library-helpers.ts'
import { SystemMediaSession } from './media-session.ts'

export * from './library-helpers.ts'
export type { CoverSource } from './cover-urls.ts'

/** The parts of the Library the view uses: a fake of this shape renders the view without storage. */
export type LibrarySource = Pick<
  Library,
  | 'tracks'
  | 'imports'
  | 'events'
  | 'add'
  | 'cancel'
  | 'cancelAll'
  | 'clearEnded'
  | 'remove'
  | 'blob'
  | 'setPinned'
  | 'played'
  | 'evict'
>

/** Where the player can stream a track by URL (the service worker's `/content/<hash>`), when it can. */
export type ContentUrls = (hash: string) => string | undefined

/** What the view may be given besides the library: optional, so a test passes nothing. */
export type LibraryViewDeps = {
  /** A streaming URL for a track, or undefined to play it from an object URL. */
  contentUrl?: ContentUrls
}

/** A track that is not (yet) in the library but can be streamed from peers, as the player shows it. */
export type RemoteTrack = Pick<Track, 'contentHash' | 'title' | 'mime'> &
  Partial<Pick<Track, 'artist' | 'album' | 'durationS' | 'container' | 'codec' | 'coverHash'>>

/** Past this many seconds into a track, "Previous" restarts it instead of going back (as most players do). */
const RESTART_AFTER_S = 3

/**
 * The library, the import queue, storage and the player as the view needs them, kept current from
 * the library's events. It owns every object URL it creates (audio and covers) and revokes them.
 * A track plays from its streaming URL when one is given (`deps.contentUrl`), else from an object URL.
 */
export class LibraryView {
  tracks = $state.raw<Track[]>([])
  imports = $state.raw<ImportJob[]>([])
  search = $state('')
  sortKey = $state<SortKey>('added')
  sortDir = $state<SortDir>('asc')

  /** The tracks matching the search, in the chosen order: what the table shows and the queue plays. */
  visible = $derived(
    this.tracks.filter((t) => matches(t, this.search)).sort(compareTracks(this.sortKey, this.sortDir)),
  )
  queue = $derived(this.visible.map((t) => t.contentHash))
  libraryBytes = $derived(this.tracks.reduce((sum, t) => sum + t.size, 0))
  progress = $derived(overallProgress(this.imports))

  estimate = $state.raw<StorageEstimate | undefined>()
  storageError = $state<string | undefined>()
  persistOutcome = $state<'granted' | 'declined' | undefined>()
  persisting = $state(false)
  /** "Free space": evict the least recently played unpinned tracks, after confirmation. */
  readonly space: FreeSpace = new FreeSpace({
    tracks: () => this.tracks,
    playing: () => (this.playing ? this.current : undefined),
    estimate: () => this.estimate,
    evict: (tracks) => this.#library.evict(tracks),
    refresh: () => this.refreshStorage(),
  })

  /** Content hash of the track in the player (playing or paused). */
  current = $state<string | undefined>()
  /** A track from the network being streamed (it joins `tracks` once its download completes). */
  remote = $state.raw<RemoteTrack | undefined>()
  currentTrack = $derived<RemoteTrack | undefined>(
    this.tracks.find((t) => t.contentHash === this.current) ??
      (this.remote?.contentHash === this.current ? this.remote : undefined),
  )
  playing = $state(false)
  /** A sentence when the current track cannot be played. */
  playerError = $state<string | undefined>()
  /** A sentence when the last removal failed. */
  error = $state<string | undefined>()

  hasNext = $derived(this.queue.indexOf(this.current ?? '') + 1 < this.queue.length)
  hasPrevious = $derived(this.current !== undefined)

  #library: LibrarySource
  #storage: StorageStatus
  #covers: CoverUrls
  #contentUrl: ContentUrls
  #unsubscribe: (() => void)[]
  #stopEffects: () => void
  #audio: HTMLAudioElement | undefined
  /** The OS media controls (lock screen, media keys) drive this player. */
  #media = new SystemMediaSession(this)
  /** The URL the audio element plays (an object URL or /content/…); plain (not $state) so attaching never tracks it. */
  #src: string | undefined
  #loadSeq = 0
  #estimateSeq = 0
  /** How many listed imports had ended at the last 'imports' event. */
  #endedCount = 0
  /** Persistent storage is asked for once a session, when it first matters (an import or a pin). */
  #askedPersist = false
  #disposed = false

  /** Cover hashes of the tracks on screen and of the one in the player (repeats included). */
  #coversShown = $derived(
    [...this.visible, ...(this.currentTrack ? [this.currentTrack] : [])].flatMap((t) =>
      t.coverHash ? [t.coverHash] : [],
    ),
  )

  constructor(
    library: LibrarySource,
    storage: StorageStatus,
    covers: CoverSource,
    deps: LibraryViewDeps = {},
  ) {
    this.#library = library
    this.#storage = storage
    this.#covers = new CoverUrls(covers)
    this.#contentUrl = deps.contentUrl ?? (() => undefined)
    this.#onTracks()
    this.#onImports()
    this.#unsubscribe = [
      library.events.on('tracks', () => this.#onTracks()),
      library.events.on('imports', () => this.#onImports()),
    ]
    this.#stopEffects = $effect.root(() => {
      $effect(() => {
        const shown = this.#coversShown
        untrack(() => this.#covers.show(shown))
      })
      $effect(() => {
        const track = this.currentTrack
        const artwork = this.coverUrl(track?.coverHash)
        untrack(() => this.#media.describe(track, artwork))
      })
    })
    void this.refreshStorage()
  }

  /** Queue files for import. */
  addFiles(files: Iterable<ImportFile>): ImportJob[] {
    return this.#library.add(files)
  }

  cancel(id: number): void {
    this.#library.cancel(id)
  }

  cancelAll(): void {
    this.#library.cancelAll()
  }

  clearEnded(): void {
    this.#library.clearEnded()
  }

  /** A header click: a new column sorts ascending, the same column flips, a third click restores import order. */
  sortBy(key: SortKey): void {
    if (key !== this.sortKey) {
      this.sortKey = key
      this.sortDir = 'asc'
    } else if (this.sortDir === 'asc') {
      this.sortDir = 'desc'
    } else if (key === 'added') {
      this.sortDir = 'asc'
    } else {
      this.sortKey = 'added'
      this.sortDir = 'asc'
    }
  }

  /** The object URL of a cover on screen, once it has loaded. */
  coverUrl(hash: string | undefined): string | undefined {
    return this.#covers.get(hash)
  }

  isPlaying(hash: string): boolean {
    return this.playing && this.current === hash
  }

  /** Play a track (by default the current one, or the first in the list); resumes if it is already loaded. */
  async play(hash?: string): Promise<void> {
    const target = hash ?? this.current ?? this.queue[0]
    if (target === undefined) return
    this.playerError = undefined
    if (target === this.current && this.#src !== undefined) return this.#startLocal(target)
    const seq = ++this.#loadSeq
    this.current = target
    this.#audio?.pause()
    let blob: Blob
    try {
      // Also when streaming: a track whose bytes are gone gets its sentence here, not a media error.
      blob = await this.#library.blob(target)
    } catch (error) {
      if (seq !== this.#loadSeq) return
      this.#setSource(undefined)
      this.playerError = unreadable(error)
      return
    }
    if (seq !== this.#loadSeq || this.#disposed) return
    this.#setSource(this.#contentUrl(target) ?? this.#objectUrl(target, blob))
    await this.#startLocal(target)
  }

  /**
   * Stream a track held by other peers: the service worker answers /content/<hash> from pieces
   * fetched on demand (the node's download), so playback starts before the download ends.
   */
  async playRemote(track: RemoteTrack): Promise<void> {
    if (this.current === track.contentHash && this.#src !== undefined) {
      await this.#start()
      return
    }
    const url = this.#contentUrl(track.contentHash)
    this.playerError = undefined
    if (!url) {
      this.playerError =
        'Playing from other devices needs this page’s service worker, which is not running. Reload the page and try again.'
      return
    }
    ++this.#loadSeq
    this.#audio?.pause()
    this.remote = track
    this.current = track.contentHash
    this.#setSource(url)
    await this.#start()
  }

  pause(): void {
    this.#audio?.pause()
  }

  /** The player bar's Play/Pause button. */
  togglePlay(): Promise<void> {
    if (this.playing) {
      this.pause()
      return Promise.resolve()
    }
    return this.play()
  }

  /** A row's Play/Pause button. */
  toggle(hash: string): Promise<void> {
    if (this.isPlaying(hash)) {
      this.pause()
      return Promise.resolve()
    }
    return this.play(hash)
  }

  /** The next track in the list as shown; nothing after the last. */
  async next(): Promise<void> {
    const target = this.queue[this.queue.indexOf(this.current ?? '') + 1]
    if (target !== undefined) await this.play(target)
  }

  /** Restart the track if it has played a while, else go to the one before it. */
  async previous(): Promise<void> {
    const audio = this.#audio
    const index = this.queue.indexOf(this.current ?? '')
    const target = index > 0 ? this.queue[index - 1] : undefined
    if (target === undefined || (audio && audio.currentTime > RESTART_AFTER_S)) {
      if (audio) audio.currentTime = 0
      return
    }
    await this.play(target)
  }

  /** Pin a track (never evicted by "Free space") or unpin it. */
  async togglePin(hash: string): Promise<void> {
    const track = this.tracks.find((t) => t.contentHash === hash)
    if (!track) return
    const pinned = !track.pinned
    try {
      await this.#library.setPinned(hash, pinned)
      this.error = undefined
    } catch (error) {
      this.error = `Could not ${pinned ? 'pin' : 'unpin'} “${track.title}”: ${messageOf(error)} Reload the page and try again.`
      return
    }
    if (pinned) this.#persistOnce()
  }

  /** Remove a track (stopping it first if it is playing), then re-read the storage estimate. */
  async remove(hash: string): Promise<void> {
    if (hash === this.current) this.#stop()
    const title = this.tracks.find((t) => t.contentHash === hash)?.title ?? 'this track'
    try {
      await this.#library.remove(hash)
      this.error = undefined
    } catch (error) {
      this.error = `Could not remove “${title}”: ${messageOf(error)} Reload the page and try again.`
    }
    await this.refreshStorage()
  }

  /** Ask the browser to keep this origin's data under storage pressure. */
  async persist(): Promise<void> {
    this.persisting = true
    try {
      this.persistOutcome = (await this.#storage.persist()) ? 'granted' : 'declined'
    } catch {
      this.persistOutcome = 'declined'
    } finally {
      this.persisting = false
    }
    await this.refreshStorage()
  }

  /** Re-read usage, quota and persistence; the latest request wins. */
  async refreshStorage(): Promise<void> {
    const seq = ++this.#estimateSeq
    try {
      const estimate = await this.#storage.estimate()
      if (seq !== this.#estimateSeq || this.#disposed) return
      this.estimate = estimate
      this.storageError = undefined
    } catch {
      if (seq !== this.#estimateSeq || this.#disposed) return
      this.storageError = 'This browser does not say how much space it allows this site.'
    }
  }

  /** Give the view the page's one audio element (a Svelte attachment: returns the detach). */
  attachAudio = (audio: HTMLAudioElement): (() => void) =>
    untrack(() => {
      this.#audio = audio
      const listeners: [string, () => void][] = [
        ['play', () => (this.playing = true)],
        ['pause', () => (this.playing = false)],
        ['ended', () => void this.next()],
        ['error', () => this.#onMediaError(audio)],
      ]
      for (const [type, listener] of listeners) audio.addEventListener(type, listener)
      if (this.#src !== undefined) audio.src = this.#src
      const detachMedia = this.#media.attach(audio)
      return () => {
        detachMedia()
        for (const [type, listener] of listeners) audio.removeEventListener(type, listener)
        if (this.#audio === audio) this.#audio = undefined
      }
    })

  /** Stop listening, stop playing, and revoke every object URL. */
  dispose(): void {
    this.#disposed = true
    for (const off of this.#unsubscribe) off()
    this.#stopEffects()
    this.#stop()
    this.#covers.dispose()
    this.#media.dispose()
  }

  #onTracks() {
    this.tracks = [...this.#library.tracks]
    // Removed here or in another tab: the player must not keep reading deleted bytes.
    const streaming = this.remote !== undefined && this.remote.contentHash === this.current
    if (this.current !== undefined && !streaming && !this.tracks.some((t) => t.contentHash === this.current))
      this.#stop()
  }

  #onImports() {
    const jobs = this.#library.imports
    this.imports = [...jobs]
    // Each event changes one job (or clears the ended ones), so a rise in the count is a job ending.
    const ended = jobs.filter(isEnded).length
    if (ended > this.#endedCount) void this.refreshStorage()
    this.#endedCount = ended
    if (jobs.some((j) => j.state === 'done')) this.#persistOnce()
  }

  /** Ask once a session for persistent storage, when there is first music to keep (an import or a pin), not on load. */
  #persistOnce() {
    if (this.#askedPersist || this.#disposed) return
    this.#askedPersist = true
    if (this.estimate?.persisted) return
    void this.persist()
  }

  /** Start the player on a library track, noting the play for "Free space"'s least-recently-played order. */
  async #startLocal(hash: string) {
    if (!(await this.#start())) return
    if (this.tracks.some((t) => t.contentHash === hash))
      // Only an ordering hint: a failed write must not disturb playback.
      this.#library.played(hash).catch(() => {})
  }

  /** Play the loaded source; true once it plays. */
  async #start(): Promise<boolean> {
    const audio = this.#audio
    if (!audio) {
      this.playerError = 'The player is not on the page yet; try again in a moment.'
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
      this.playerError =
        name === 'NotAllowedError'
          ? 'The browser blocked playback; press Play to start.'
          : name === 'NotSupportedError'
            ? this.#unsupported()
            : `Playback failed: ${messageOf(error)}`
      return false
    }
  }

  #onMediaError(audio: HTMLAudioElement) {
    // Detaching the source (after a removal) is not a playback failure.
    if (this.#src === undefined || !audio.error) return
    this.playerError =
      audio.error.code === MediaError.MEDIA_ERR_SRC_NOT_SUPPORTED ||
      audio.error.code === MediaError.MEDIA_ERR_DECODE
        ? this.#unsupported()
        : `Playback stopped: ${audio.error.message || 'the browser could not read the track'}.`
  }

  #unsupported(): string {
    const track = this.currentTrack
    const format = track ? [track.container, track.codec].filter(Boolean).join(' / ') : ''
    return `This browser cannot play this track${format ? ` (${format})` : ''}. Try another browser.`
  }

  #objectUrl(hash: string, blob: Blob): string {
    // Stored blobs may carry no type; slicing re-labels without copying, which some engines need.
    const mime = this.tracks.find((t) => t.contentHash === hash)?.mime
    return URL.createObjectURL(!blob.type && mime ? blob.slice(0, blob.size, mime) : blob)
  }

  #setSource(url: string | undefined) {
    const previous = this.#src
    this.#src = url
    const audio = this.#audio
    if (audio) {
      if (url !== undefined) audio.src = url
      else {
        audio.removeAttribute('src')
        audio.load()
      }
    }
    if (previous?.startsWith('blob:')) URL.revokeObjectURL(previous)
  }

  #stop() {
    this.#loadSeq++
    this.#audio?.pause()
    this.#setSource(undefined)
    this.current = undefined
    this.playing = false
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** The sentence for a track whose bytes cannot be read back. */
function unreadable(error: unknown): string {
  if (error instanceof DcmxError) return error.message
  return `Could not read this track from storage (${messageOf(error)}). Try again, or remove it and import it again.`
}
