import type { Track } from '../core/catalog.ts'
import { compareTracks, type SortDir, type SortKey } from './library-helpers.ts'
import { TrackIndex } from './track-index.ts'

/**
 * The library's search and sort at 10,000 tracks: one index per track list, its search texts
 * folded once; each order is sorted once and kept, so a header clicked again (or clicked back)
 * costs no sort, and a keystroke filters without sorting at all.
 */
export class LibraryIndex {
  #tracks: readonly Track[] | undefined
  #byHash = new Map<string, Track>()
  #orders = new Map<string, TrackIndex<Track>>()

  /** The tracks of `tracks` matching `query`, in the order of `key` and `dir`. */
  visible(tracks: readonly Track[], key: SortKey, dir: SortDir, query: string): Track[] {
    this.#use(tracks)
    const id = `${key}:${dir}`
    let index = this.#orders.get(id)
    if (!index) {
      index = new TrackIndex(compareTracks(key, dir))
      index.reset(tracks)
      this.#orders.set(id, index)
    }
    return index.filter(query)
  }

  /** The track with this hash in `tracks`, in O(1). */
  get(tracks: readonly Track[], hash: string): Track | undefined {
    this.#use(tracks)
    return this.#byHash.get(hash)
  }

  /** A new list (an import, a removal): every order is sorted again when next asked for. */
  #use(tracks: readonly Track[]) {
    if (tracks === this.#tracks) return
    this.#tracks = tracks
    this.#byHash = new Map(tracks.map((t) => [t.contentHash, t]))
    this.#orders.clear()
  }
}
