/**
 * The operating system's media controls (lock screen, media keys, the browser's media hub) for the
 * page's player, through the Media Session API: what is playing, where it is, and the actions
 * play, pause, seek, previous and next. Browsers without the API get a no-op.
 */

/** The player the controls drive (the player state). */
export type MediaControls = {
  play(): Promise<void>
  pause(): void
  previous(): Promise<void>
  next(): Promise<void>
}

/** What the system shows for the track in the player. */
export type NowPlaying = { title: string; artist?: string | undefined; album?: string | undefined }

/** How far the seek-backward and seek-forward keys jump when the system does not say. */
export const SKIP_S = 10

/** Shown when a track has no cover of its own: the app's icon. */
const APP_ARTWORK: MediaImage[] = [
  { src: '/icon-192.png', sizes: '192x192', type: 'image/png' },
  { src: '/icon-512.png', sizes: '512x512', type: 'image/png' },
]

/** The media element events after which the system's idea of the position may be stale. */
const POSITION_EVENTS = ['loadedmetadata', 'durationchange', 'play', 'pause', 'seeked', 'ratechange', 'ended']

export type MediaSessionDeps = {
  /** The browser's media session; undefined where there is none. */
  session?: MediaSession | undefined
  /** Builds the metadata (a seam for tests: Node has no MediaMetadata). */
  metadata?: (init: MediaMetadataInit) => MediaMetadata
}

/** Tells the system what plays and routes its media controls to `controls` and the attached element. */
export class SystemMediaSession {
  #controls: MediaControls
  #session: MediaSession | undefined
  #metadata: (init: MediaMetadataInit) => MediaMetadata
  #audio: HTMLAudioElement | undefined
  /** Whether the session was told a track (and not told since that the player is empty). */
  #described = false

  constructor(controls: MediaControls, deps: MediaSessionDeps = {}) {
    this.#controls = controls
    this.#session =
      'session' in deps
        ? deps.session
        : typeof navigator !== 'undefined' && 'mediaSession' in navigator
          ? navigator.mediaSession
          : undefined
    this.#metadata = deps.metadata ?? ((init) => new MediaMetadata(init))
    this.#setHandlers(true)
  }

  /** Title, artist, album and artwork of the track in the player, or nothing when it is empty. */
  describe(track: NowPlaying | undefined, artwork?: string): void {
    const session = this.#session
    if (!session) return
    if (!track) {
      // Nothing was told yet (the player starts empty): nothing to take back. Each of these is a
      // call into the browser, and the first one comes while the page starts.
      if (!this.#described) return
      this.#described = false
      session.metadata = null
      session.playbackState = 'none'
      this.#clearPosition()
      return
    }
    this.#described = true
    session.metadata = this.#metadata({
      title: track.title,
      artist: track.artist ?? '',
      album: track.album ?? '',
      artwork: artwork ? [{ src: artwork }] : APP_ARTWORK,
    })
  }

  /** Follow the page's audio element: playing or paused, and the position (a Svelte-style attach). */
  attach(audio: HTMLAudioElement): () => void {
    this.#audio = audio
    const update = () => this.#follow(audio)
    for (const type of POSITION_EVENTS) audio.addEventListener(type, update)
    return () => {
      for (const type of POSITION_EVENTS) audio.removeEventListener(type, update)
      if (this.#audio === audio) this.#audio = undefined
    }
  }

  /** Give the controls back to the browser. */
  dispose(): void {
    this.#setHandlers(false)
    this.describe(undefined)
  }

  #follow(audio: HTMLAudioElement) {
    const session = this.#session
    if (!session) return
    if (session.metadata) session.playbackState = audio.paused ? 'paused' : 'playing'
    this.#updatePosition(audio)
  }

  #updatePosition(audio: HTMLAudioElement) {
    const duration = audio.duration
    // The API throws for an unknown or infinite duration (a stream still loading): say nothing then.
    if (!Number.isFinite(duration) || duration <= 0) return this.#clearPosition()
    try {
      this.#session?.setPositionState({
        duration,
        playbackRate: audio.playbackRate || 1,
        position: Math.min(Math.max(0, audio.currentTime), duration),
      })
    } catch {
      // A rate the system does not accept; the controls still work without a position.
    }
  }

  #clearPosition() {
    try {
      this.#session?.setPositionState()
    } catch {
      // Older implementations require an argument; nothing to clear there.
    }
  }

  #seek(to: (audio: HTMLAudioElement) => number, fast = false) {
    const audio = this.#audio
    if (!audio || !Number.isFinite(audio.duration)) return
    const target = Math.min(Math.max(0, to(audio)), audio.duration)
    if (fast && typeof audio.fastSeek === 'function') audio.fastSeek(target)
    else audio.currentTime = target
    this.#updatePosition(audio)
  }

  #setHandlers(on: boolean) {
    const session = this.#session
    if (!session) return
    const controls = this.#controls
    const handlers: [MediaSessionAction, MediaSessionActionHandler][] = [
      ['play', () => void controls.play()],
      ['pause', () => controls.pause()],
      ['previoustrack', () => void controls.previous()],
      ['nexttrack', () => void controls.next()],
      ['seekto', (d) => d.seekTime !== undefined && this.#seek(() => d.seekTime ?? 0, d.fastSeek === true)],
      ['seekbackward', (d) => this.#seek((a) => a.currentTime - (d.seekOffset ?? SKIP_S))],
      ['seekforward', (d) => this.#seek((a) => a.currentTime + (d.seekOffset ?? SKIP_S))],
    ]
    for (const [action, handler] of handlers) {
      try {
        session.setActionHandler(action, on ? handler : null)
      } catch {
        // An action this browser does not support.
      }
    }
  }
}
