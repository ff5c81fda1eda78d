import { searchText, searchWords, type Searchable } from './library-helpers.ts'

/** A row of the index: the track and its folded search text, computed once. */
type Row<T> = { track: T; text: string }

/** Past this share of the list changed at once, re-sorting everything is cheaper than inserting. */
const REBUILD_SHARE = 1 / 8

/**
 * A track list kept sorted and searchable at 100,000 rows without re-sorting on every change:
 * each track's folded search text is computed once; a change of k tracks moves each by binary
 * search (O(k · log n) comparisons, plus the memmove of a splice); a keystroke that extends the
 * previous query only filters the previous result. `compare` must be a total order (ties broken
 * by content hash), so a row's position is unique and can be found again.
 *
 * Arrays handed out (`all`, `filter`) are never changed afterwards: a change makes new ones, so a
 * view holding the previous array sees a new object.
 */
export class TrackIndex<T extends Searchable & { contentHash: string }> {
  #compare: (a: T, b: T) => number
  #byHash = new Map<string, Row<T>>()
  #rows: Row<T>[] = []
  #all: T[] | undefined
  #query: { words: string[]; rows: Row<T>[]; tracks: T[] } | undefined

  constructor(compare: (a: T, b: T) => number) {
    this.#compare = compare
  }

  get size(): number {
    return this.#rows.length
  }

  /** The track with this hash, if listed. */
  get(hash: string): T | undefined {
    return this.#byHash.get(hash)?.track
  }

  /** Every track, in order. */
  get all(): T[] {
    this.#all ??= this.#rows.map((r) => r.track)
    return this.#all
  }

  /** Replace the whole list (O(n log n)). */
  reset(tracks: readonly T[]): void {
    this.#byHash = new Map()
    for (const track of tracks) this.#byHash.set(track.contentHash, { track, text: searchText(track) })
    this.#rows = [...this.#byHash.values()]
    this.#sort()
  }

  /** Order by another comparator (O(n log n); the search texts are kept). */
  sortBy(compare: (a: T, b: T) => number): void {
    if (compare === this.#compare) return
    this.#compare = compare
    this.#rows = [...this.#rows]
    this.#sort()
  }

  /**
   * Apply a change: `changed` tracks are added or replace the row with their hash, `removed`
   * hashes leave. The current search result is updated the same way rather than recomputed.
   */
  update(changed: readonly T[], removed: readonly string[]): void {
    if (changed.length + removed.length > Math.max(64, this.#rows.length * REBUILD_SHARE)) {
      const next = new Map([...this.#byHash].map(([hash, row]) => [hash, row.track]))
      for (const hash of removed) next.delete(hash)
      for (const track of changed) next.set(track.contentHash, track)
      return this.reset([...next.values()])
    }
    // Copies first: arrays already handed out stay as they were.
    const rows = [...this.#rows]
    const query = this.#query && { ...this.#query, rows: [...this.#query.rows] }
    const take = (hash: string) => {
      const old = this.#byHash.get(hash)
      if (!old) return
      this.#byHash.delete(hash)
      removeRow(rows, old, this.#compare)
      if (query) removeRow(query.rows, old, this.#compare)
    }
    for (const hash of removed) take(hash)
    for (const track of changed) {
      take(track.contentHash)
      const row = { track, text: searchText(track) }
      this.#byHash.set(track.contentHash, row)
      rows.splice(insertionPoint(rows, track, this.#compare), 0, row)
      if (query && query.words.every((w) => row.text.includes(w)))
        query.rows.splice(insertionPoint(query.rows, track, this.#compare), 0, row)
    }
    this.#rows = rows
    this.#all = undefined
    this.#query = query && { ...query, tracks: query.rows.map((r) => r.track) }
  }

  /** The tracks matching every word of `query`, in order. */
  filter(query: string): T[] {
    const words = searchWords(query)
    if (words.length === 0) return this.all
    const last = this.#query
    if (last && last.words.join(' ') === words.join(' ')) return last.tracks
    // A query that extends the last one ("beat" after "bea") can only narrow its result.
    const from = last && extends_(words, last.words) ? last.rows : this.#rows
    const rows = from.filter((r) => words.every((w) => r.text.includes(w)))
    this.#query = { words, rows, tracks: rows.map((r) => r.track) }
    return this.#query.tracks
  }

  #sort() {
    const compare = this.#compare
    this.#rows.sort((a, b) => compare(a.track, b.track))
    this.#all = undefined
    this.#query = undefined
  }
}

/** Whether a search for `words` can only find a subset of what `before` found. */
function extends_(words: readonly string[], before: readonly string[]): boolean {
  if (before.length === 0 || words.length < before.length) return false
  // Each earlier word is still there, the last one perhaps longer: "bea" → "beat", "a b" → "a bc d".
  return before.every((w, i) => (i === before.length - 1 ? words[i]!.startsWith(w) : words[i] === w))
}

/** The first position in `rows` (sorted by `compare`) whose track sorts after `track`. */
function insertionPoint<T>(rows: readonly Row<T>[], track: T, compare: (a: T, b: T) => number): number {
  let lo = 0
  let hi = rows.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (compare(rows[mid]!.track, track) <= 0) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Remove `row` (found by binary search, then by identity among equals) from `rows`. */
function removeRow<T>(rows: Row<T>[], row: Row<T>, compare: (a: T, b: T) => number): void {
  let i = insertionPoint(rows, row.track, compare) - 1
  // Equal neighbours (a comparator that ties) are walked back until the row itself.
  while (i >= 0 && rows[i] !== row && compare(rows[i]!.track, row.track) === 0) i--
  if (i >= 0 && rows[i] === row) rows.splice(i, 1)
}
