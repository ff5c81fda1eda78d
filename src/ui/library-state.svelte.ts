import { untrack } from 'svelte'
import type { Track } from '../core/catalog.ts'
import { DcmxError } from '../core/errors.ts'
import type { Library } from '../core/library.ts'
import { fromTrack, type PlayerTrack } from '../core/playlist.ts'
import { CoverUrls, type CoverSource } from './cover-urls.ts'
import { type SortDir, type SortKey } from './library-helpers.ts'
import { LibraryIndex } from './library-index.ts'

export type { CoverSource } from './cover-urls.ts'

/** The parts of the Library the library view uses: a fake of this shape renders it without storage. */
export type LibrarySource = Pick<
  Library,
  'tracks' | 'events' | 'remove' | 'blob' | 'setPinned' | 'played' | 'evict'
>

/** What the library state tells the rest of the app. */
export type LibraryStateDeps = {
  /** A pin is a sign the user wants to keep music here: ask for persistent storage. */
  pinned?(): void
  /** Storage usage changed (a track was removed). */
  changed?(): void
}

/**
 * The tracks on this device as the library view shows them: search, sort, pins, removal, and the
 * object URLs of the covers on screen (which it owns and revokes).
 */
export class LibraryState {
  tracks = $state.raw<Track[]>([])
  search = $state('')
  sortKey = $state<SortKey>('added')
  sortDir = $state<SortDir>('asc')
  /** A sentence when the last pin or removal failed. */
  error = $state<string | undefined>()

  #index = new LibraryIndex()
  /** The tracks matching the search, in the chosen order: what the table shows. */
  visible = $derived(this.#index.visible(this.tracks, this.sortKey, this.sortDir, this.search))
  bytes = $derived(this.tracks.reduce((sum, t) => sum + t.size, 0))
  // A fresh set per derivation, never changed after: no reactive set needed.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  #hashes = $derived(new Set(this.tracks.map((t) => t.contentHash)))
  /** Covers wanted besides the visible rows' (the player's track): set by whoever shows them. */
  alsoShown = $state.raw<readonly (string | undefined)[]>([])

  #library: LibrarySource
  #deps: LibraryStateDeps
  #covers: CoverUrls
  #off: () => void
  #stopEffects: () => void

  constructor(library: LibrarySource, covers: CoverSource, deps: LibraryStateDeps = {}) {
    this.#library = library
    this.#deps = deps
    this.#covers = new CoverUrls(covers)
    this.#read()
    this.#off = library.events.on('tracks', () => this.#read())
    this.#stopEffects = $effect.root(() => {
      $effect(() => {
        const shown = [...this.visible.map((t) => t.coverHash), ...this.alsoShown].filter(
          (h): h is string => h !== undefined,
        )
        untrack(() => this.#covers.show(shown))
      })
    })
  }

  /** Whether the track is stored on this device. */
  has(hash: string): boolean {
    return this.#hashes.has(hash)
  }

  get(hash: string): Track | undefined {
    return this.#index.get(this.tracks, hash)
  }

  /** A track on this device, as the player and playlists keep it. */
  track(hash: string): PlayerTrack | undefined {
    const track = this.get(hash)
    return track && fromTrack(track)
  }

  /** The visible tracks as the player keeps them: a row's Play queues this list. */
  playable = $derived(this.visible.map(fromTrack))

  /** The track's bytes; throws a DcmxError with a sentence when they cannot be read. */
  async blob(hash: string): Promise<Blob> {
    try {
      return await this.#library.blob(hash)
    } catch (error) {
      throw error instanceof DcmxError
        ? error
        : new Error(
            `Could not read this track from storage (${messageOf(error)}). Try again, or remove it and import it again.`,
          )
    }
  }

  /** Note a play for "Free space"'s least-recently-played order (only a hint: failures are ignored). */
  played(hash: string): void {
    if (this.has(hash)) this.#library.played(hash).catch(() => {})
  }

  /** A header click: a new column sorts ascending, the same column flips, a third click restores import order. */
  sortBy(key: SortKey): void {
    if (key !== this.sortKey) {
      this.sortKey = key
      this.sortDir = 'asc'
    } else if (this.sortDir === 'asc') {
      this.sortDir = 'desc'
    } else {
      this.sortKey = 'added'
      this.sortDir = 'asc'
    }
  }

  /** The object URL of a cover on screen, once it has loaded. */
  coverUrl(hash: string | undefined): string | undefined {
    return this.#covers.get(hash)
  }

  /** Pin a track (never evicted by "Free space") or unpin it. */
  async togglePin(hash: string): Promise<void> {
    const track = this.get(hash)
    if (!track) return
    const pinned = !track.pinned
    try {
      await this.#library.setPinned(hash, pinned)
      this.error = undefined
    } catch (error) {
      this.error = `Could not ${pinned ? 'pin' : 'unpin'} “${track.title}”: ${messageOf(error)} Reload the page and try again.`
      return
    }
    if (pinned) this.#deps.pinned?.()
  }

  /** Remove a track from this device. */
  async remove(hash: string): Promise<void> {
    const title = this.get(hash)?.title ?? 'this track'
    try {
      await this.#library.remove(hash)
      this.error = undefined
    } catch (error) {
      this.error = `Could not remove “${title}”: ${messageOf(error)} Reload the page and try again.`
    }
    this.#deps.changed?.()
  }

  /** Stop listening and revoke every cover URL. */
  dispose(): void {
    this.#off()
    this.#stopEffects()
    this.#covers.dispose()
  }

  #read() {
    this.tracks = [...this.#library.tracks]
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
