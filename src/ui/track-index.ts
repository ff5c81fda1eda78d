import { searchText, searchWords, type Searchable } from './library-helpers.ts'

/** A search's matches: positions in the sorted list (ascending) and the tracks at them. */
type Result<T> = { words: string[]; positions: Int32Array; tracks: T[] | undefined }

/**
 * Changes of up to this many tracks are spliced into copies of the arrays (a binary search and a
 * memmove each); more are merged in one linear pass.
 */
const SPLICE_LIMIT = 32

/** Earlier results kept for a query typed back (a Backspace): each a typed array of positions. */
const CHAIN_LIMIT = 16

/**
 * A track list kept sorted and searchable at 100,000 rows without re-sorting on every change:
 * each track's folded search text is computed once and kept in an array beside the sorted tracks;
 * a change of k tracks is spliced in by binary search (O(k · log n) comparisons and one copy of the
 * arrays, no pass over the rows); a keystroke that extends the previous query checks only the new
 * part of it against the previous result, and one that shortens it reuses the earlier result.
 * `compare` must be a total order (ties broken by content hash), so a row's position is unique and
 * can be found again.
 *
 * Arrays handed out (`all`, `filter`) are never changed afterwards: a change makes new ones, so a
 * view holding the previous array sees a new object.
 */
export class TrackIndex<T extends Searchable & { contentHash: string }> {
  #compare: (a: T, b: T) => number
  #byHash = new Map<string, T>()
  /** Every track, sorted by `#compare`; `#texts[i]` is `#tracks[i]`'s folded search text. */
  #tracks: T[] = []
  #texts: string[] = []
  /** The results of a chain of queries, each extending the one before; the last is the current one. */
  #chain: Result<T>[] = []

  constructor(compare: (a: T, b: T) => number) {
    this.#compare = compare
  }

  get size(): number {
    return this.#tracks.length
  }

  /** The track with this hash, if listed. */
  get(hash: string): T | undefined {
    return this.#byHash.get(hash)
  }

  /** Every track, in order. */
  get all(): T[] {
    return this.#tracks
  }

  /** Replace the whole list (O(n log n)). */
  reset(tracks: readonly T[]): void {
    this.#byHash = new Map()
    for (const track of tracks) this.#byHash.set(track.contentHash, track)
    this.#sort([...this.#byHash.values()])
  }

  /** Order by another comparator (O(n log n); the search texts are kept). */
  sortBy(compare: (a: T, b: T) => number): void {
    if (compare === this.#compare) return
    this.#compare = compare
    this.#sort(this.#tracks, this.#texts)
  }

  /**
   * Apply a change: `changed` tracks are added or replace the row with their hash, `removed`
   * hashes leave. A few are spliced into copies of the list and of the current search result; many
   * are merged in one pass; either way nothing is sorted again but the changed tracks.
   */
  update(changed: readonly T[], removed: readonly string[]): void {
    const compare = this.#compare
    const gone: number[] = []
    for (const hash of new Set([...removed, ...changed.map((t) => t.contentHash)])) {
      const old = this.#byHash.get(hash)
      if (!old) continue
      gone.push(this.#position(old))
      this.#byHash.delete(hash)
    }
    const fresh = [...new Map(changed.map((t) => [t.contentHash, t])).values()].sort(compare)
    for (const track of fresh) this.#byHash.set(track.contentHash, track)
    gone.sort((a, b) => b - a)
    const current = this.#chain.at(-1)
    // Earlier results would each need the same change: typed back after it, a query is searched again.
    this.#chain = []
    if (gone.length + fresh.length > SPLICE_LIMIT) {
      this.#merge(gone, fresh)
      if (current) this.#search(current.words, undefined, 0)
      return
    }
    const tracks = this.#tracks.slice()
    // The texts are never handed out: spliced in place. The tracks are (`all`), so they are copied.
    const texts = this.#texts
    let positions = current?.positions
    for (const at of gone) {
      tracks.splice(at, 1)
      texts.splice(at, 1)
      if (positions) positions = shifted(positions, at, -1, false)
    }
    for (const track of fresh) {
      const at = insertionPoint(tracks, track, compare)
      const text = searchText(track)
      tracks.splice(at, 0, track)
      texts.splice(at, 0, text)
      if (current && positions) positions = shifted(positions, at, 1, hasAll(text, current.words, 0))
    }
    this.#tracks = tracks
    this.#texts = texts
    if (current && positions) this.#chain = [{ words: current.words, positions, tracks: undefined }]
  }

  /** The tracks matching every word of `query`, in order. */
  filter(query: string): T[] {
    const words = searchWords(query)
    if (words.length === 0) return this.all
    const chain = this.#chain
    // The deepest earlier result this query equals or narrows: typed back to it, or extending it.
    for (let i = chain.length - 1; i >= 0; i--) {
      const result = chain[i]!
      if (sameWords(words, result.words)) {
        chain.length = i + 1
        return this.#tracksOf(result)
      }
      const from = narrows(words, result.words)
      if (from !== undefined) {
        chain.length = i + 1
        return this.#search(words, result.positions, from)
      }
    }
    this.#chain = []
    return this.#search(words, undefined, 0)
  }

  /** Search `within` (positions; all rows if absent) for `words[from…]`, appending the result to the chain. */
  #search(words: string[], within: Int32Array | undefined, from: number): T[] {
    const positions = scan(this.#texts, within, words, from)
    const result: Result<T> = { words, positions, tracks: undefined }
    this.#chain.push(result)
    if (this.#chain.length > CHAIN_LIMIT) this.#chain.shift()
    return this.#tracksOf(result)
  }

  #tracksOf(result: Result<T>): T[] {
    if (result.tracks) return result.tracks
    const all = this.#tracks
    const { positions } = result
    const tracks = new Array<T>(positions.length)
    for (let i = 0; i < positions.length; i++) tracks[i] = all[positions[i]!]!
    // Only the current result keeps its tracks: earlier ones keep their positions (4 bytes a row).
    for (const other of this.#chain) if (other !== result) other.tracks = undefined
    result.tracks = tracks
    return tracks
  }

  /**
   * Where a listed track sits: found by binary search (`compare` is a total order), or, should the
   * track have been changed in place since it was listed, by a scan for its hash.
   */
  #position(track: T): number {
    const at = insertionPoint(this.#tracks, track, this.#compare) - 1
    if (this.#tracks[at] === track) return at
    return this.#tracks.findIndex((t) => t.contentHash === track.contentHash)
  }

  /** One linear pass: the rows at `gone` (descending) leave, the sorted `fresh` tracks go in their places. */
  #merge(gone: readonly number[], fresh: readonly T[]) {
    const skip = new Uint8Array(this.#tracks.length)
    for (const at of gone) skip[at] = 1
    const compare = this.#compare
    const tracks: T[] = []
    const texts: string[] = []
    let f = 0
    for (let i = 0; i < this.#tracks.length; i++) {
      if (skip[i]) continue
      const track = this.#tracks[i]!
      for (; f < fresh.length && compare(fresh[f]!, track) < 0; f++) {
        tracks.push(fresh[f]!)
        texts.push(searchText(fresh[f]!))
      }
      tracks.push(track)
      texts.push(this.#texts[i]!)
    }
    for (; f < fresh.length; f++) {
      tracks.push(fresh[f]!)
      texts.push(searchText(fresh[f]!))
    }
    this.#tracks = tracks
    this.#texts = texts
  }

  /** Sort `tracks` (with their texts, if known) into the index. */
  #sort(tracks: readonly T[], texts?: readonly string[]) {
    const compare = this.#compare
    const order = Array.from(tracks, (_, i) => i).sort((a, b) => compare(tracks[a]!, tracks[b]!))
    this.#tracks = order.map((i) => tracks[i]!)
    this.#texts = order.map((i) => texts?.[i] ?? searchText(tracks[i]!))
    this.#chain = []
  }
}

/** Whether `text` has every word of `words[from…]`. */
function hasAll(text: string, words: readonly string[], from: number): boolean {
  for (let w = from; w < words.length; w++) if (!text.includes(words[w]!)) return false
  return true
}

/** Reused between searches: a result is copied out of it at its own length. */
let scratch = new Int32Array(0)

/**
 * The positions (of `within`, or of every row) whose text has each word of `words[from…]`: a loop
 * over the texts with no closure per row, one loop per case so each stays simple for the JIT, the
 * result a typed array of its own length.
 */
function scan(
  texts: readonly string[],
  within: Int32Array | undefined,
  words: readonly string[],
  from: number,
): Int32Array {
  const n = within ? within.length : texts.length
  if (scratch.length < n) scratch = new Int32Array(Math.max(n, scratch.length * 2))
  const one = words.length - from === 1 ? words[from]! : undefined
  const m =
    one === undefined
      ? scanAll(texts, within, n, words, from, scratch)
      : within
        ? scanWithin(texts, within, one, scratch)
        : scanEvery(texts, one, scratch)
  return scratch.slice(0, m)
}

function scanEvery(texts: readonly string[], word: string, out: Int32Array): number {
  let m = 0
  for (let i = 0; i < texts.length; i++) if (texts[i]!.includes(word)) out[m++] = i
  return m
}

function scanWithin(texts: readonly string[], within: Int32Array, word: string, out: Int32Array): number {
  let m = 0
  for (let i = 0; i < within.length; i++) {
    const at = within[i]!
    if (texts[at]!.includes(word)) out[m++] = at
  }
  return m
}

function scanAll(
  texts: readonly string[],
  within: Int32Array | undefined,
  n: number,
  words: readonly string[],
  from: number,
  out: Int32Array,
): number {
  let m = 0
  for (let i = 0; i < n; i++) {
    const at = within ? within[i]! : i
    if (hasAll(texts[at]!, words, from)) out[m++] = at
  }
  return m
}

/**
 * `positions` (ascending) after a row left at `at` (`by` -1: `at` itself goes) or one went in at
 * `at` (`by` 1: later positions move up, and `at` joins if `add`).
 */
function shifted(positions: Int32Array, at: number, by: 1 | -1, add: boolean): Int32Array {
  const i = lowerBound(positions, at)
  const dropped = by === -1 && positions[i] === at ? 1 : 0
  const out = new Int32Array(positions.length - dropped + Number(add))
  out.set(positions.subarray(0, i))
  let o = i
  if (add) out[o++] = at
  for (let j = i + dropped; j < positions.length; j++) out[o++] = positions[j]! + by
  return out
}

/** The first index of `sorted` whose value is ≥ `value`. */
function lowerBound(sorted: Int32Array, value: number): number {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (sorted[mid]! < value) lo = mid + 1
    else hi = mid
  }
  return lo
}

const sameWords = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((w, i) => w === b[i])

/**
 * Whether a search for `words` can only find a subset of what `before` found, and if so from which
 * word on the narrower search must still be checked: the earlier words are all there, the last one
 * perhaps longer ("bea" → "beat": check "beat"; "a b" → "a bc d": check "bc" and "d").
 */
function narrows(words: readonly string[], before: readonly string[]): number | undefined {
  if (before.length === 0 || words.length < before.length) return undefined
  const last = before.length - 1
  for (let i = 0; i < last; i++) if (words[i] !== before[i]) return undefined
  if (!words[last]!.startsWith(before[last]!)) return undefined
  return words[last] === before[last] ? last + 1 : last
}

/** The first position in `tracks[lo…]` (sorted by `compare`) whose track sorts after `track`. */
function insertionPoint<T>(tracks: readonly T[], track: T, compare: (a: T, b: T) => number, lo = 0): number {
  let hi = tracks.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (compare(tracks[mid]!, track) <= 0) lo = mid + 1
    else hi = mid
  }
  return lo
}
