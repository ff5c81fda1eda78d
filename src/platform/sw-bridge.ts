import { Workbox } from 'workbox-window'
import type { ContentReader } from '../core/content-reader.ts'
import { isContentHash } from '../core/content.ts'
import { DcmxError } from '../core/errors.ts'
import { assertNever } from '../core/result.ts'
import {
  CONTENT_ERROR_CODES,
  contentPath,
  decodeContentRequest,
  decodePortControl,
  decodeShellReply,
  failureReply,
  FILL_SHELL,
  SHELL_FILL_DELAY_MS,
  type ContentErrorCode,
  type ContentReply,
  type ContentRequest,
} from '../sw/protocol.ts'
import { markOnce } from './marks.ts'

/**
 * The page's side of the service worker: registers it, offers a new version when one is waiting,
 * and answers its `/content/<hash>` questions (size, type, byte ranges) from a ContentReader, so
 * `<audio src="/content/<hash>">` streams and seeks. Without a service worker (unsupported, private
 * mode, a shift-reload) nothing breaks: `contentUrl` says undefined and the player uses object URLs.
 */

/** The built worker (vite-plugin-pwa compiles src/sw/sw.ts to a classic script at the site root). */
export const SW_URL = '/sw.js'

/**
 * How often an open page asks the server whether a new version was deployed. Browsers check on
 * every navigation too; this catches a tab left open for days, at one small request an hour.
 */
export const UPDATE_CHECK_MS = 60 * 60 * 1000

export type ContentServer = {
  /** `/content/<hash>` once this page is controlled by our service worker; otherwise undefined. */
  contentUrl(hash: string): string | undefined
  /**
   * The same, waiting up to `timeoutMs` for our worker to take control (a first visit's page, as
   * soon as it has installed): undefined if it has not by then.
   */
  contentUrlSoon(hash: string, timeoutMs: number): Promise<string | undefined>
  /** New versions of the app, offered to the user. */
  readonly updates: AppUpdates
  /** Stop answering the worker and checking for updates. */
  stop(): void
}

/**
 * `none`: this is the latest version we know of. `waiting`: a new version is installed and waits
 * for the user. `active`: another tab switched to a new version; this page still runs the old one.
 */
export type UpdateState = 'none' | 'waiting' | 'active'

/** The update offer the banner shows. Nothing switches versions until `apply` is called. */
export type AppUpdates = {
  readonly state: UpdateState
  /** Call `listener` on every change of `state`; returns the unsubscribe. */
  subscribe(listener: (state: UpdateState) => void): () => void
  /** The user chose to update: let the waiting version take over, then reload into it. */
  apply(): void
}

/** What the offer needs from workbox-window, the service-worker container and the page. */
export type UpdateDeps = {
  /** Calls back when a new version has installed and is waiting (workbox-window's `waiting`). */
  onWaiting(listener: () => void): void
  /** Calls back when the page's controller changes (`controllerchange`). */
  onControllerChange(listener: () => void): void
  hasController(): boolean
  /** Whether a worker is waiting right now (another tab may have activated it meanwhile). */
  hasWaiting(): boolean
  /** Tell the waiting worker it may take over (workbox-window's `messageSkipWaiting`). */
  skipWaiting(): void
  reload(): void
}

/**
 * The update offer. A waiting version is only ever activated by `apply` (the user's choice), so a
 * playing song is never cut off; the reload waits until the new worker controls the page, so the
 * reloaded page gets the new version's files. A first install taking control is not an update.
 */
export function createUpdateOffer(deps: UpdateDeps): AppUpdates {
  let state: UpdateState = 'none'
  let applying = false
  let controlled = deps.hasController()
  const listeners = new Set<(state: UpdateState) => void>()
  const set = (next: UpdateState) => {
    if (next === state) return
    state = next
    for (const listener of [...listeners]) listener(state)
  }
  deps.onWaiting(() => {
    if (state === 'none') set('waiting')
  })
  deps.onControllerChange(() => {
    const hadController = controlled
    controlled = deps.hasController()
    if (applying) return deps.reload()
    if (hadController) set('active')
  })
  return {
    get state() {
      return state
    },
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    apply() {
      if (applying) return
      // Nothing waits any more (another tab took the update): the new version is already active.
      if (state !== 'waiting' || !deps.hasWaiting()) return deps.reload()
      applying = true
      deps.skipWaiting()
    },
  }
}

/** No service worker, so no updates to offer. */
const NO_UPDATES: AppUpdates = { state: 'none', subscribe: () => () => {}, apply: () => {} }

/** Register the service worker and answer its content requests from `reader`. */
export function serveContent(
  reader: ContentReader,
  registerAfter: Promise<void> = Promise.resolve(),
  scriptUrl = SW_URL,
): ContentServer {
  if (typeof navigator === 'undefined' || !('serviceWorker' in navigator) || !navigator.serviceWorker) {
    warnOnce('This browser has no service workers here; tracks play from object URLs.')
    return {
      contentUrl: () => undefined,
      contentUrlSoon: async () => undefined,
      updates: NO_UPDATES,
      stop: () => {},
    }
  }
  const container = navigator.serviceWorker
  const scriptHref = new URL(scriptUrl, location.href).href
  const onMessage = (event: MessageEvent) => {
    // Only our own origin's worker talks to us; anything else is not a content request.
    if (event.origin !== location.origin) return
    void answerContentRequest(reader, event.data, event.ports[0])
  }
  container.addEventListener('message', onMessage)
  // Messages wait in a queue until the page says it listens; a listener added this way does not say it.
  container.startMessages()

  const controlled = () => container.controller?.scriptURL === scriptHref
  let offlineReady = false
  let fillTimer: ReturnType<typeof setTimeout> | undefined
  const fillShell = () => {
    fillTimer = undefined
    const worker = container.controller
    if (!worker || !controlled()) return
    const channel = new MessageChannel()
    channel.port1.onmessage = (event: MessageEvent) => {
      channel.port1.close()
      const reply = decodeShellReply(event.data)
      if (reply?.type === 'shell-filled') {
        offlineReady = true
        markOnce('dcmx:offline-ready')
      } else {
        const why = reply?.message ?? 'its answer was malformed'
        warnOnce(
          `The app could not be saved for offline use yet (${why}); it tries again when the network is back.`,
        )
      }
    }
    worker.postMessage(FILL_SHELL, [channel.port2])
  }
  const scheduleFill = () => {
    if (!offlineReady && fillTimer === undefined && controlled())
      fillTimer = setTimeout(fillShell, SHELL_FILL_DELAY_MS)
  }
  container.addEventListener('controllerchange', () => {
    if (!controlled()) return
    markOnce('dcmx:sw-controlled')
    scheduleFill()
  })
  scheduleFill()
  const workbox = new Workbox(scriptUrl)
  let registration: ServiceWorkerRegistration | undefined
  const updates = createUpdateOffer({
    onWaiting: (listener) => workbox.addEventListener('waiting', listener),
    onControllerChange: (listener) => container.addEventListener('controllerchange', listener),
    hasController: () => container.controller !== null,
    hasWaiting: () => Boolean(registration?.waiting),
    skipWaiting: () => workbox.messageSkipWaiting(),
    reload: () => location.reload(),
  })
  // A first visit registers once `registerAfter` resolves (the page's first render, once the
  // WebRTC code is asked for), not after the load event: until the worker has precached the shell
  // and taken control, no remote track can play. Earlier, its script and the shell's requests
  // competed with the first render and the WebRTC chunk for the main thread and the connections
  // (cold trials: first render 100 ms later, WebRTC code 150 ms later). Later visits (already
  // controlled) check after the load.
  void registerAfter
    .then(() => workbox.register({ immediate: container.controller === null }))
    .then(
      (registered) => {
        markOnce('dcmx:sw-registered')
        registration = registered
      },
      (error: unknown) => {
        warnOnce(`The service worker did not register (${messageOf(error)}); tracks play from object URLs.`)
      },
    )
  // Offline, or the server is down: the next check will do.
  const checkForUpdate = () => void workbox.update().catch(() => {})
  const updateTimer = setInterval(checkForUpdate, UPDATE_CHECK_MS)
  const onOnline = () => {
    checkForUpdate()
    scheduleFill()
  }
  addEventListener('online', onOnline)

  const contentUrl = (hash: string) => (isContentHash(hash) && controlled() ? contentPath(hash) : undefined)
  return {
    contentUrl,
    contentUrlSoon(hash, timeoutMs) {
      if (!isContentHash(hash) || controlled()) return Promise.resolve(contentUrl(hash))
      return new Promise((resolve) => {
        const finish = () => {
          clearTimeout(timer)
          container.removeEventListener('controllerchange', onChange)
          resolve(contentUrl(hash))
        }
        const onChange = () => controlled() && finish()
        const timer = setTimeout(finish, timeoutMs)
        container.addEventListener('controllerchange', onChange)
      })
    },
    updates,
    stop() {
      container.removeEventListener('message', onMessage)
      clearInterval(updateTimer)
      clearTimeout(fillTimer)
      removeEventListener('online', onOnline)
    },
  }
}

/** A port the reply goes out on (a MessagePort in the browser; structural so tests can pass Node's). */
export type ReplyPort = Pick<MessagePort, 'postMessage' | 'close'> & {
  onmessage: ((event: MessageEvent) => void) | null
}

/**
 * Answer one message from the worker on `port`: decode it, ask `reader`, reply once, close the port.
 * Messages that are not content requests are ignored; malformed ones get a BAD_REQUEST reply.
 */
export async function answerContentRequest(
  reader: ContentReader,
  data: unknown,
  port: ReplyPort | undefined,
): Promise<void> {
  const decoded = decodeContentRequest(data)
  if (!decoded.ok) {
    if (decoded.error.reason === 'foreign') return
    warnOnce(`The service worker sent a malformed content request (${decoded.error.detail}).`)
    port?.postMessage(failureReply('BAD_REQUEST', decoded.error.detail))
    port?.close()
    return
  }
  if (!port) return
  const abandoned = new AbortController()
  port.onmessage = (event) => {
    if (decodePortControl(event.data).ok) abandoned.abort()
  }
  try {
    const [reply, transfer] = await answer(reader, decoded.value, abandoned.signal)
    if (!abandoned.signal.aborted) port.postMessage(reply, transfer)
  } finally {
    port.onmessage = null
    port.close()
  }
}

async function answer(
  reader: ContentReader,
  request: ContentRequest,
  signal: AbortSignal,
): Promise<[ContentReply, Transferable[]]> {
  try {
    switch (request.type) {
      case 'describe': {
        const described = await reader.describe(request.hash)
        if (!described) return [unknownTrack(), []]
        return [{ type: 'described', size: described.size, mime: described.mime }, []]
      }
      case 'read': {
        const bytes = await reader.read(request.hash, request.start, request.end, signal)
        const data = transferableCopy(bytes)
        return [{ type: 'bytes', data }, [data]]
      }
      case 'open': {
        const described = await reader.describe(request.hash)
        if (!described) return [unknownTrack(), []]
        const { size, mime } = described
        const end = Math.min(request.end, size)
        const bytes =
          request.start < end
            ? await reader.read(request.hash, request.start, end, signal)
            : new Uint8Array(0)
        const data = transferableCopy(bytes)
        return [{ type: 'opened', size, mime, data }, [data]]
      }
      default:
        return assertNever(request)
    }
  } catch (error) {
    const reply = failureFrom(error)
    if (reply.type === 'error' && reply.code === 'FAILED') console.warn('dcmx: content read failed', error)
    return [reply, []]
  }
}

const unknownTrack = () => failureReply('NOT_FOUND', 'No such track here or among known peers.')

/** A copy to transfer: a reader may keep the buffer it returned (a piece cache), so it is never detached. */
const transferableCopy = (bytes: Uint8Array): ArrayBuffer => bytes.slice().buffer

const PASSED_THROUGH = new Set<string>(CONTENT_ERROR_CODES)

/** A reader's rejection as a reply: its DcmxError code where the worker knows it, else FAILED. */
function failureFrom(error: unknown): ContentReply {
  if (error instanceof DcmxError && PASSED_THROUGH.has(error.code))
    return failureReply(error.code as ContentErrorCode, error.message)
  if ((error as { name?: unknown } | null)?.name === 'AbortError')
    return failureReply('ABORTED', 'Abandoned.')
  return failureReply('FAILED', messageOf(error))
}

const warned = new Set<string>()

/** Log a fallback once per page, not once per track. */
function warnOnce(message: string) {
  if (warned.has(message)) return
  warned.add(message)
  console.warn(`dcmx: ${message}`)
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
