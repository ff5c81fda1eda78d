import type { PrecacheController } from 'workbox-precaching'

/**
 * Precache entries fetched at once while the worker installs. Workbox fetches one at a time (its
 * issue 2528: hundreds of requests at once ran Chrome out of sockets); the shell has about a dozen
 * entries, and a first visit's page is controlled (so a remote track can play) only once every one
 * of them is cached, so a few in flight take several round trips off that moment.
 */
export const PRECACHE_CONCURRENCY = 4

/** One entry of the list the build injects (`self.__WB_MANIFEST`). */
export type ManifestEntry = string | { url: string; revision: string | null; integrity?: string }

/**
 * Run `step` on every item with at most `concurrency` running at once; resolves when all have,
 * rejects with the first failure (the items not started by then are not started).
 */
export async function eachBounded<T>(
  items: readonly T[],
  concurrency: number,
  step: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0
  let failed = false
  const lane = async () => {
    while (!failed && next < items.length) {
      const item = items[next++]!
      try {
        await step(item)
      } catch (error) {
        failed = true
        throw error
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, lane))
}

/**
 * Cache every entry of `manifest` through `controller`'s strategy, as Workbox's own install does
 * (revisioned entries bypass the HTTP cache, hashed names may use it; an entry already cached is
 * kept), with `concurrency` requests in flight. Call it inside the install event's `waitUntil`.
 */
export function installPrecache(
  controller: PrecacheController,
  manifest: readonly ManifestEntry[],
  event: ExtendableEvent,
  base: string,
  concurrency = PRECACHE_CONCURRENCY,
): Promise<void> {
  return eachBounded(manifest, concurrency, async (entry) => {
    const { url, revision } = typeof entry === 'string' ? { url: entry, revision: null } : entry
    const href = new URL(url, base).href
    const cacheKey = controller.getCacheKeyForURL(href)
    if (!cacheKey) throw new Error(`${url} is not in the precache list`)
    const integrity = controller.getIntegrityForCacheKey(cacheKey)
    const request = new Request(href, {
      ...(integrity ? { integrity } : {}),
      cache: revision ? 'reload' : 'default',
      credentials: 'same-origin',
    })
    await Promise.all(controller.strategy.handleAll({ params: { cacheKey }, request, event }))
  })
}
