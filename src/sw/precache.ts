import { copyResponse } from 'workbox-core/copyResponse.js'
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

/** What precaching one entry needs of Workbox's controller (structural, so tests can pass a fake). */
export type PrecacheList = Pick<PrecacheController, 'getCacheKeyForURL' | 'getIntegrityForCacheKey'> & {
  strategy: Pick<PrecacheController['strategy'], 'cacheName' | 'handleAll'>
}

/**
 * The request for one entry and the key it is cached under, as Workbox's own install makes them:
 * revisioned entries bypass the HTTP cache, hashed names may use it.
 */
function entryRequest(controller: PrecacheList, entry: ManifestEntry, base: string) {
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
  return { url, cacheKey, request }
}

/**
 * Cache every entry of `manifest` through `controller`'s strategy, as Workbox's own install does
 * (an entry already cached is kept), with `concurrency` requests in flight. Call it inside the
 * install event's `waitUntil`: an update has its whole shell before it waits to take over.
 */
export function installPrecache(
  controller: PrecacheList,
  manifest: readonly ManifestEntry[],
  event: ExtendableEvent,
  base: string,
  concurrency = PRECACHE_CONCURRENCY,
): Promise<void> {
  return eachBounded(manifest, concurrency, async (entry) => {
    const { cacheKey, request } = entryRequest(controller, entry, base)
    await Promise.all(controller.strategy.handleAll({ params: { cacheKey }, request, event }))
  })
}

/** What filling the shell outside an install needs of the worker's globals (tests pass fakes). */
export type FillDeps = {
  caches: Pick<CacheStorage, 'open'>
  fetch: (request: Request) => Promise<Response>
}

/**
 * Cache the entries of `manifest` that are not cached yet, under the keys Workbox's precache route
 * looks them up by, `concurrency` at a time; resolves once every entry is cached, rejects (caching
 * nothing more) on the first that cannot be fetched. Outside an install Workbox's strategy would
 * only fetch, not cache, so this fetches and stores itself. A redirected response is stored as a
 * copy without the redirect, which a navigation may be answered with.
 */
export async function fillPrecache(
  controller: PrecacheList,
  manifest: readonly ManifestEntry[],
  base: string,
  deps: FillDeps,
  concurrency = PRECACHE_CONCURRENCY,
): Promise<void> {
  const cache = await deps.caches.open(controller.strategy.cacheName)
  await eachBounded(manifest, concurrency, async (entry) => {
    const { url, cacheKey, request } = entryRequest(controller, entry, base)
    if (await cache.match(cacheKey)) return
    const response = await deps.fetch(request)
    if (!response.ok) throw new Error(`${url} answered HTTP ${response.status}`)
    await cache.put(cacheKey, response.redirected ? await copyResponse(response) : response)
  })
}
