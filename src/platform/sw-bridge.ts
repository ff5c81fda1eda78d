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
  failureReply,
  type ContentErrorCode,
  type ContentReply,
  type ContentRequest,
} from '../sw/protocol.ts'

/**
 * The page's side of the service worker: registers it, and answers its `/content/<hash>` questions
 * (size, type, byte ranges) from a ContentReader, so `<audio src="/content/<hash>">` streams and
 * seeks. Without a service worker (unsupported, private mode, a shift-reload) nothing breaks:
 * `contentUrl` says undefined and the player uses object URLs.
 */

/** The built worker (vite-plugin-pwa compiles src/sw/sw.ts to a classic script at the site root). */
export const SW_URL = '/sw.js'

export type ContentServer = {
  /** `/content/<hash>` once this page is controlled by our service worker; otherwise undefined. */
  contentUrl(hash: string): string | undefined
  /** The registration helper (for the update prompt to come), when the browser has service workers. */
  readonly workbox: Workbox | undefined
  /** Stop answering the worker. */
  stop(): void
}

/** Register the service worker and answer its content requests from `reader`. */
export function serveContent(reader: ContentReader, scriptUrl = SW_URL): ContentServer {
  if (typeof navigator === 'undefined' || !('serviceWorker' in navigator) || !navigator.serviceWorker) {
    warnOnce('This browser has no service workers here; tracks play from object URLs.')
    return { contentUrl: () => undefined, workbox: undefined, stop: () => {} }
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

  const workbox = new Workbox(scriptUrl)
  workbox.register().catch((error: unknown) => {
    warnOnce(`The service worker did not register (${messageOf(error)}); tracks play from object URLs.`)
  })

  return {
    contentUrl(hash) {
      return isContentHash(hash) && container.controller?.scriptURL === scriptHref
        ? contentPath(hash)
        : undefined
    },
    workbox,
    stop() {
      container.removeEventListener('message', onMessage)
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
        if (!described) return [failureReply('NOT_FOUND', 'No such track here or among known peers.'), []]
        return [{ type: 'described', size: described.size, mime: described.mime }, []]
      }
      case 'read': {
        const bytes = await reader.read(request.hash, request.start, request.end, signal)
        // A copy, transferred: a reader may keep the buffer it returned (a piece cache), so it is never detached.
        const data = bytes.slice().buffer
        return [{ type: 'bytes', data }, [data]]
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
