import { SvelteMap } from 'svelte/reactivity'

/** Loads a cover image by its hash (the catalog's covers in the app). */
export type CoverSource = (hash: string) => Promise<Blob | undefined>

/**
 * Object URLs for the cover images on screen: one per cover hash however many tracks share it,
 * created when a cover is first shown and revoked as soon as it is not.
 */
export class CoverUrls {
  /** Reactive: a thumbnail appears when its URL lands here. */
  #urls = new SvelteMap<string, string>()
  #loading = new Set<string>()
  #shown = new Set<string>()
  #load: CoverSource
  #disposed = false

  constructor(load: CoverSource) {
    this.#load = load
  }

  get(hash: string | undefined): string | undefined {
    return hash === undefined ? undefined : this.#urls.get(hash)
  }

  /** Declare which covers are on screen now: load the new ones, revoke the rest. */
  show(hashes: Iterable<string>): void {
    this.#shown = new Set(hashes)
    for (const [hash, url] of this.#urls) {
      if (this.#shown.has(hash)) continue
      URL.revokeObjectURL(url)
      this.#urls.delete(hash)
    }
    for (const hash of this.#shown) {
      if (!this.#urls.has(hash) && !this.#loading.has(hash)) void this.#fetch(hash)
    }
  }

  dispose(): void {
    this.#disposed = true
    for (const url of this.#urls.values()) URL.revokeObjectURL(url)
    this.#urls.clear()
  }

  async #fetch(hash: string) {
    this.#loading.add(hash)
    try {
      const blob = await this.#load(hash)
      // It may have left the screen (or the view gone) while loading.
      if (blob && !this.#disposed && this.#shown.has(hash)) this.#urls.set(hash, URL.createObjectURL(blob))
    } catch {
      // A missing cover is only a missing thumbnail.
    } finally {
      this.#loading.delete(hash)
    }
  }
}
