import { cleanupOutdatedCaches, PrecacheController, PrecacheRoute } from 'workbox-precaching'
import { NavigationRoute, registerRoute } from 'workbox-routing'
import { contentHashOf, contentResponse, documentRefusal, failure } from './content-route.ts'
import { pageSource } from './page-source.ts'
import { fillPrecache, installPrecache, type ManifestEntry } from './precache.ts'
import { isWorkerControl, shellFailed, type ShellReply } from './protocol.ts'

/**
 * DCMX's service worker:
 * - precaches the app shell (the build injects its revisioned file list), so the app opens with no
 *   network, and answers every navigation with the cached index.html; a first install takes
 *   control first and caches the shell when its page asks (FILL_SHELL), an update before it waits;
 * - serves `/content/<hash>` with HTTP Range support, asking the page for the bytes (the page holds
 *   the store and the peer links), so `<audio src>` streams and seeks, online or not; every such
 *   answer is inert (audio types only, sandboxed, nosniff), and a navigation there is sent to the app.
 * An update installs beside the running worker and waits until the user accepts it.
 */

declare const self: ServiceWorkerGlobalScope & { __WB_MANIFEST: ManifestEntry[] }

/** Paths the server answers itself (or that are not pages): a navigation there is not the app. */
const NOT_THE_APP = [/^\/content\//, /^\/signal/, /^\/healthz$/, /^\/metrics$/]

// Routes match in the order they are registered: content first, so nothing else ever answers it.
for (const method of ['GET', 'HEAD'] as const) {
  registerRoute(
    ({ request }) => contentHashOf(request, self.location.origin) !== undefined,
    ({ event, request }) => serve(event as FetchEvent, contentHashOf(request, self.location.origin) ?? ''),
    method,
  )
}
// Workbox's precache, filled a few entries at a time rather than one (src/sw/precache.ts). An update
// caches the whole shell while it installs, so the version it waits to switch to is complete. A
// first install does not: it activates and takes control at once, and caches the shell when its
// page asks (FILL_SHELL, once the page has started). Its downloads, and Chromium compiling the
// scripts put in the cache, competed with the first visit's WebRTC set-up and delayed the moment a
// remote track could play (link-cold trials: first open data channel 70 ms later, and the worker in
// control at the click in 7 of 10 against 10 of 10). Until the shell is in, the precache route
// answers from the network.
// The build replaces the one mention of the list below with the list itself.
const shell = self.__WB_MANIFEST
const precache = new PrecacheController()
precache.addToCacheList(shell)
self.addEventListener('install', (event) => {
  if (self.registration.active) event.waitUntil(installPrecache(precache, shell, event, self.location.href))
})
// Our own old revisions are pruned on activation; entries of older Workbox formats by cleanupOutdatedCaches.
self.addEventListener('activate', precache.activate)
registerRoute(new PrecacheRoute(precache))
cleanupOutdatedCaches()
registerRoute(new NavigationRoute(precache.createHandlerBoundToURL('/index.html'), { denylist: NOT_THE_APP }))

// No skipWaiting on install: an update waits until the page's banner is accepted, so a playing
// song is never cut off and a page never runs against files of another version behind its back.
self.addEventListener('message', (event) => {
  const control: unknown = event.data
  if (!isWorkerControl(control)) return
  if (control.type === 'SKIP_WAITING') void self.skipWaiting()
  else event.waitUntil(fillShell(event.ports[0]))
})

/** One fill at a time, shared by the pages that ask meanwhile. */
let filling: Promise<ShellReply> | undefined

async function fillShell(port: MessagePort | undefined) {
  filling ??= fillPrecache(precache, shell, self.location.href, { caches, fetch: (r) => fetch(r) })
    .then((): ShellReply => ({ type: 'shell-filled' }))
    .catch((error: unknown) => shellFailed(error instanceof Error ? error.message : String(error)))
    .finally(() => (filling = undefined))
  const reply = await filling
  port?.postMessage(reply)
  port?.close()
}

self.addEventListener('activate', (event) => {
  event.waitUntil(claimIfFirst())
})

/**
 * Take control of open pages only when no page has a previous controller (the first install), so
 * the first visit streams and works offline without a reload. Pages controlled by the previous
 * version pass to this one on activation anyway (it happens only when the user accepted it).
 */
async function claimIfFirst() {
  const controlled = await self.clients.matchAll({ includeUncontrolled: false })
  if (controlled.length === 0) await self.clients.claim()
}

async function serve(event: FetchEvent, hash: string): Promise<Response> {
  // A link to /content/<hash> opened as a page lands on the app, and never asks a page for bytes.
  const refused = documentRefusal(event.request)
  if (refused) return refused
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
