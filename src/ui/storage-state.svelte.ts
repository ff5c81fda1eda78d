import type { Track } from '../core/catalog.ts'
import type { Library } from '../core/library.ts'
import type { StorageEstimate, StorageStatus } from '../core/storage-status.ts'
import { FreeSpace } from './free-space.svelte.ts'

/** What the storage state needs besides the browser's storage status. */
export type StorageStateDeps = {
  tracks(): readonly Track[]
  /** The track in the player (never evicted from under the listener). */
  playing(): string | undefined
  evict: Library['evict']
}

/** Usage, quota and persistence of this origin's storage, and the "Free space" flow. */
export class StorageState {
  estimate = $state.raw<StorageEstimate | undefined>()
  error = $state<string | undefined>()
  persistOutcome = $state<'granted' | 'declined' | undefined>()
  persisting = $state(false)
  /** "Free space": evict the least recently played unpinned tracks, after confirmation. */
  readonly space: FreeSpace

  #storage: StorageStatus
  #seq = 0
  /** Persistent storage is asked for once a session, when it first matters (an import or a pin). */
  #asked = false
  #disposed = false

  constructor(storage: StorageStatus, deps: StorageStateDeps) {
    this.#storage = storage
    this.space = new FreeSpace({
      tracks: deps.tracks,
      playing: deps.playing,
      estimate: () => this.estimate,
      evict: (tracks) => deps.evict(tracks),
      refresh: () => this.refresh(),
    })
    void this.refresh()
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
    await this.refresh()
  }

  /** Ask once a session, when there is first music to keep (an import or a pin), not on load. */
  persistOnce(): void {
    if (this.#asked || this.#disposed) return
    this.#asked = true
    if (this.estimate?.persisted) return
    void this.persist()
  }

  /** Re-read usage, quota and persistence; the latest request wins. */
  async refresh(): Promise<void> {
    const seq = ++this.#seq
    try {
      const estimate = await this.#storage.estimate()
      if (seq !== this.#seq || this.#disposed) return
      this.estimate = estimate
      this.error = undefined
    } catch {
      if (seq !== this.#seq || this.#disposed) return
      this.error = 'This browser does not say how much space it allows this site.'
    }
  }

  dispose(): void {
    this.#disposed = true
  }
}
