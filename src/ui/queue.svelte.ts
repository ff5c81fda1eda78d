import type { PlayerTrack, QueueSnapshot, RepeatMode } from '../core/playlist.ts'
import { MAX_QUEUE_TRACKS } from '../core/playlist.ts'

/** One entry of the queue: the same track may be queued twice, so entries have their own key. */
export type QueueEntry = { key: number; track: PlayerTrack }

/**
 * The play queue: the tracks in the order they will play (what the Queue view lists), the current
 * one, shuffle and repeat. Shuffling reorders what comes after the current track and remembers the
 * order it replaced, so turning shuffle off restores it. Pure state: the player decides when to move.
 */
export class Queue {
  entries = $state.raw<QueueEntry[]>([])
  /** Index of the current entry, or -1. */
  index = $state(-1)
  repeat = $state<RepeatMode>('off')
  /** Entry keys in their order before shuffling; undefined when not shuffled. */
  #unshuffled = $state.raw<number[] | undefined>()

  shuffle = $derived(this.#unshuffled !== undefined)
  current = $derived<QueueEntry | undefined>(this.entries[this.index])
  /** The entries after the current one: "Up next". */
  upcoming = $derived(this.entries.slice(this.index + 1))
  hasNext = $derived(
    this.index + 1 < this.entries.length || (this.repeat !== 'off' && this.entries.length > 0),
  )
  hasPrevious = $derived(this.index > 0 || (this.repeat === 'all' && this.entries.length > 1))

  #random: () => number
  #nextKey = 1

  constructor(random: () => number = Math.random) {
    this.#random = random
  }

  /** Replace the queue with `tracks`, current at `start` (a row's Play: the list it was in becomes the queue). */
  replace(tracks: readonly PlayerTrack[], start = 0): void {
    const entries = tracks.slice(0, MAX_QUEUE_TRACKS).map((track) => this.#entry(track))
    const shuffled = this.shuffle
    this.entries = entries
    this.index = entries.length === 0 ? -1 : Math.min(Math.max(0, start), entries.length - 1)
    this.#unshuffled = undefined
    if (shuffled) this.toggleShuffle()
  }

  /** Play `track` after the current one. */
  playNext(track: PlayerTrack): void {
    this.#insert(this.index + 1, track)
  }

  /** Play `track` after everything queued. */
  add(track: PlayerTrack): void {
    this.#insert(this.entries.length, track)
  }

  /** Add several tracks at the end (a playlist's "Add to queue"). */
  addAll(tracks: readonly PlayerTrack[]): void {
    for (const track of tracks) this.add(track)
  }

  /** Move the entry at `from` to `to`, keeping the current entry current. */
  move(from: number, to: number): void {
    const entries = [...this.entries]
    if (from < 0 || from >= entries.length || to < 0 || to >= entries.length || from === to) return
    const current = this.current?.key
    const [moved] = entries.splice(from, 1)
    entries.splice(to, 0, moved!)
    this.entries = entries
    this.index = entries.findIndex((e) => e.key === current)
  }

  /** Remove the entry at `at`; removing the current one makes the next one current (the player reloads). */
  remove(at: number): void {
    if (at < 0 || at >= this.entries.length) return
    const key = this.entries[at]!.key
    this.entries = this.entries.filter((_, i) => i !== at)
    if (this.#unshuffled) this.#unshuffled = this.#unshuffled.filter((k) => k !== key)
    if (at < this.index) this.index--
    else if (at === this.index && this.index >= this.entries.length) this.index = this.entries.length - 1
  }

  /** Empty the queue except the current track, which keeps playing. */
  clear(): void {
    const current = this.current
    this.entries = current ? [current] : []
    this.index = current ? 0 : -1
    if (this.#unshuffled) this.#unshuffled = current ? [current.key] : []
  }

  /** Drop every entry of a track (removed from the library and not playable from elsewhere). */
  removeTrack(hash: string): void {
    for (let i = this.entries.length - 1; i >= 0; i--)
      if (this.entries[i]!.track.contentHash === hash) this.remove(i)
  }

  /** Make the entry at `at` current. */
  jump(at: number): QueueEntry | undefined {
    if (at < 0 || at >= this.entries.length) return undefined
    this.index = at
    return this.current
  }

  /**
   * The entry to play after the current one, made current: `auto` when the track ended by itself
   * (repeat one plays it again; a Next press always moves on). Undefined at the end of the queue.
   */
  advance(auto: boolean): QueueEntry | undefined {
    if (this.entries.length === 0) return undefined
    if (auto && this.repeat === 'one' && this.current) return this.current
    if (this.index + 1 < this.entries.length) return this.jump(this.index + 1)
    if (this.repeat === 'off') return undefined
    // Repeat all: round again (a shuffled queue is shuffled anew, as players do).
    if (this.shuffle) this.#shuffleFrom(0)
    return this.jump(0)
  }

  /** The entry before the current one, made current; with repeat all, the last one before the first. */
  back(): QueueEntry | undefined {
    if (this.index > 0) return this.jump(this.index - 1)
    if (this.repeat === 'all' && this.entries.length > 1) return this.jump(this.entries.length - 1)
    return undefined
  }

  /** The entry that would play next on its own, without moving (for prefetching). */
  peekNext(): QueueEntry | undefined {
    if (this.repeat === 'one') return this.current
    if (this.index + 1 < this.entries.length) return this.entries[this.index + 1]
    return this.repeat === 'all' && !this.shuffle ? this.entries[0] : undefined
  }

  /** Shuffle what comes after the current track, or restore the order it had. */
  toggleShuffle(): void {
    if (this.#unshuffled) {
      // Local lookups, dropped at the end of the call: nothing reactive about them.
      // eslint-disable-next-line svelte/prefer-svelte-reactivity
      const byKey = new Map(this.entries.map((e) => [e.key, e]))
      const current = this.current?.key
      const restored = this.#unshuffled.flatMap((k) => byKey.get(k) ?? [])
      // Entries added while shuffled keep their place at the end.
      const known = this.#unshuffled
      this.entries = [...restored, ...this.entries.filter((e) => !known.includes(e.key))]
      this.index = this.entries.findIndex((e) => e.key === current)
      this.#unshuffled = undefined
      return
    }
    this.#unshuffled = this.entries.map((e) => e.key)
    this.#shuffleFrom(this.index + 1)
  }

  /** Off → all → one → off. */
  cycleRepeat(): void {
    this.repeat = this.repeat === 'off' ? 'all' : this.repeat === 'all' ? 'one' : 'off'
  }

  /** What to save (the position and volume are the player's). */
  snapshot(): Pick<QueueSnapshot, 'tracks' | 'index' | 'unshuffled' | 'repeat'> {
    // eslint-disable-next-line svelte/prefer-svelte-reactivity -- a local lookup
    const at = new Map(this.entries.map((e, i) => [e.key, i]))
    return {
      tracks: this.entries.map((e) => e.track),
      index: this.index,
      ...(this.#unshuffled ? { unshuffled: this.#unshuffled.flatMap((k) => at.get(k) ?? []) } : {}),
      repeat: this.repeat,
    }
  }

  /** Put back a saved queue (already validated). */
  restore(saved: Pick<QueueSnapshot, 'tracks' | 'index' | 'unshuffled' | 'repeat'>): void {
    const entries = saved.tracks.map((track) => this.#entry(track))
    this.entries = entries
    this.index = saved.index < entries.length ? saved.index : -1
    this.repeat = saved.repeat
    this.#unshuffled = saved.unshuffled?.flatMap((i) => entries[i]?.key ?? [])
  }

  #entry(track: PlayerTrack): QueueEntry {
    return { key: this.#nextKey++, track }
  }

  #insert(at: number, track: PlayerTrack) {
    if (this.entries.length >= MAX_QUEUE_TRACKS) return
    const entry = this.#entry(track)
    const entries = [...this.entries]
    entries.splice(at, 0, entry)
    this.entries = entries
    if (this.#unshuffled) this.#unshuffled = [...this.#unshuffled, entry.key]
    if (this.index === -1) this.index = 0
  }

  /** Fisher–Yates over the entries from `start` on. */
  #shuffleFrom(start: number) {
    const entries = [...this.entries]
    for (let i = entries.length - 1; i > start; i--) {
      const j = start + Math.floor(this.#random() * (i - start + 1))
      ;[entries[i], entries[j]] = [entries[j]!, entries[i]!]
    }
    this.entries = entries
  }
}
