import type { Track } from '../core/catalog.ts'
import { formatBytes, planEviction } from '../core/library.ts'
import type { StorageEstimate } from '../core/storage-status.ts'
import { fromMegabytes, planSentence, suggestedTarget, toMegabytes } from './storage-helpers.ts'

/** What the "Free space" flow needs from the library view. */
export type FreeSpaceDeps = {
  tracks(): readonly Track[]
  /** The track playing now: never removed from under the listener. */
  playing(): string | undefined
  estimate(): StorageEstimate | undefined
  /** Remove planned tracks (pinned ones are skipped again); resolves with those removed. */
  evict(tracks: readonly Track[]): Promise<Track[]>
  /** Re-read usage and quota once tracks are gone. */
  refresh(): Promise<void>
}

/**
 * The "Free space" flow: an amount to free (suggested, then as the user types it), the plan that
 * frees it — least recently played first, never a pinned track nor the one playing — and its
 * confirmation. Opened from the storage panel or from an import that ran out of space.
 */
export class FreeSpace {
  /** The amount in the form, in MB as typed; undefined while the flow is closed. */
  amount = $state<string | undefined>()
  /** Whether the removal is running. */
  busy = $state(false)
  /** What the last confirmation did, or why it failed, as a sentence. */
  result = $state<string | undefined>()
  /** Counts openings, so the panel can bring the form into view each time, even if it was open. */
  opened = $state(0)

  /** The exact bytes behind a suggested amount, used while the amount shown is left as it was. */
  #suggested = $state.raw<{ amount: string; bytes: number } | undefined>()
  #deps: FreeSpaceDeps

  /** Bytes to free: the suggestion exactly, or what the user typed. */
  target = $derived(
    this.amount === undefined
      ? 0
      : this.#suggested?.amount === this.amount
        ? this.#suggested.bytes
        : fromMegabytes(this.amount),
  )
  #keep = $derived.by(() => {
    const playing = this.#deps.playing()
    return playing === undefined ? [] : [playing]
  })
  /** The tracks that would go, least recently played first. */
  plan = $derived.by(() =>
    this.amount === undefined ? [] : planEviction(this.#deps.tracks(), this.target, this.#keep),
  )
  /** The confirmation's question ("Remove 3 tracks (42 MB)?"). */
  sentence = $derived.by(() => {
    const tracks = this.#deps.tracks()
    const mayGo = tracks.filter((t) => !t.pinned && !this.#keep.includes(t.contentHash)).length
    return planSentence(this.plan, this.target, { total: tracks.length, mayGo })
  })

  constructor(deps: FreeSpaceDeps) {
    this.#deps = deps
  }

  /** Open the flow, to free `bytes` (by default, the suggested amount). */
  open(bytes?: number): void {
    const target = bytes ?? suggestedTarget(this.#deps.estimate(), this.#deps.tracks(), this.#keep)
    const amount = toMegabytes(target)
    this.#suggested = { amount, bytes: target }
    this.amount = amount
    this.result = undefined
    this.opened++
  }

  cancel(): void {
    this.amount = undefined
  }

  /** Remove the planned tracks, then re-read usage. */
  async confirm(): Promise<void> {
    const plan = this.plan
    if (plan.length === 0 || this.busy) return
    this.busy = true
    try {
      const removed = await this.#deps.evict(plan)
      const bytes = removed.reduce((sum, t) => sum + t.size, 0)
      this.result =
        removed.length === 0
          ? 'Nothing was removed: those tracks were pinned or removed meanwhile.'
          : `Removed ${removed.length} ${removed.length === 1 ? 'track' : 'tracks'} (${formatBytes(bytes)}).`
      this.amount = undefined
    } catch (error) {
      this.result = `Could not free space: ${error instanceof Error ? error.message : String(error)} Reload the page and try again.`
    } finally {
      this.busy = false
    }
    await this.#deps.refresh()
  }
}
