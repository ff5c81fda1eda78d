import { contentHashOf, contentResponse, failure } from './content-route.ts'
import { pageSource } from './page-source.ts'

/**
 * DCMX's service worker. For now it only serves `/content/<hash>` with HTTP Range support, asking
 * the page for the bytes (the page holds the store and the peer links), so `<audio src>` streams
 * and seeks. Every other request goes to the network untouched. The app-shell precache (Workbox,
 * `self.__WB_MANIFEST`) and the update prompt come with the offline work; until then the build has
 * no injection point and nothing is precached.
 */

declare const self: ServiceWorkerGlobalScope

// No skipWaiting here: an update waits until the page offers it, so a playing song is never cut off.

self.addEventListener('activate', (event) => {
  event.waitUntil(claimIfFirst())
})

/**
 * Take control of open pages only when no page has a previous controller (the first install), so
 * the first visit streams without a reload while an update never swaps a worker under a page.
 */
async function claimIfFirst() {
  const controlled = await self.clients.matchAll({ includeUncontrolled: false })
  if (controlled.length === 0) await self.clients.claim()
}

self.addEventListener('fetch', (event) => {
  const hash = contentHashOf(event.request, self.location.origin)
  if (hash === undefined) return
  event.respondWith(serve(event, hash))
})

async function serve(event: FetchEvent, hash: string): Promise<Response> {
  const page = await pageFor(event)
  if (!page) return failure({ code: 'PEER_GONE', message: 'No DCMX page is open to read this track from.' })
  return contentResponse(event.request, hash, pageSource(page))
}

/** The page that made the request, else the one a navigation is creating, else any open DCMX window. */
async function pageFor(event: FetchEvent): Promise<Client | undefined> {
  for (const id of [event.clientId, event.resultingClientId]) {
    if (!id) continue
    const client = await self.clients.get(id)
    // A worker of the page has no bridge; only windows answer.
    if (client?.type === 'window') return client
  }
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true })
  return windows.find((w) => w.focused) ?? windows.find((w) => w.visibilityState === 'visible') ?? windows[0]
}
