import { searchText, searchWords, type Searchable } from './library-helpers.ts'

/** A row of the index: the track and its folded search text, computed once. */
type Row<T> = { track: T; text: string }

/**
 * A track list kept sorted and searchable at 100,000 rows without re-sorting on every change:
 * each track's folded search text is computed once; a change of k tracks is merged in by binary
 * search (O(k · log n) comparisons, plus one copy of the array); a keystroke that extends the
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
   * hashes leave. The list and the current search result are merged with the sorted changes
   * (O(k · log n) comparisons and one copy of each array), never sorted again.
   */
  update(changed: readonly T[], removed: readonly string[]): void {
    const drop = new Set(removed)
    const fresh: Row<T>[] = []
    for (const track of changed) {
      drop.add(track.contentHash)
      const row = { track, text: searchText(track) }
      fresh.push(row)
    }
    for (const hash of drop) this.#byHash.delete(hash)
    for (const row of fresh) this.#byHash.set(row.track.contentHash, row)
    const compare = this.#compare
    fresh.sort((a, b) => compare(a.track, b.track))
    this.#rows = merge(this.#rows, drop, fresh, compare)
    this.#all = undefined
    const query = this.#query
    if (query) {
      const matching = fresh.filter((r) => query.words.every((w) => r.text.includes(w)))
      const rows = merge(query.rows, drop, matching, compare)
      this.#query = { words: query.words, rows, tracks: rows.map((r) => r.track) }
    }
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

/** The first position in `rows[lo…]` (sorted by `compare`) whose track sorts after `track`. */
function insertionPoint<T>(
  rows: readonly Row<T>[],
  track: T,
  compare: (a: T, b: T) => number,
  lo = 0,
): number {
  let hi = rows.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (compare(rows[mid]!.track, track) <= 0) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * `rows` without the hashes in `drop`, with the sorted `fresh` rows in their places: each found
 * by binary search past the previous one's, the rest copied in slices.
 */
function merge<T extends { contentHash: string }>(
  rows: readonly Row<T>[],
  drop: ReadonlySet<string>,
  fresh: readonly Row<T>[],
  compare: (a: T, b: T) => number,
): Row<T>[] {
  const kept: readonly Row<T>[] = drop.size === 0 ? rows : rows.filter((r) => !drop.has(r.track.contentHash))
  if (fresh.length === 0) return [...kept]
  const out: Row<T>[] = []
  let from = 0
  for (const row of fresh) {
    const at = insertionPoint(kept, row.track, compare, from)
    for (let i = from; i < at; i++) out.push(kept[i]!)
    out.push(row)
    from = at
  }
  for (let i = from; i < kept.length; i++) out.push(kept[i]!)
  return out
}
