import { err, ok, type Result } from '../core/result.ts'
import type { ContentSource } from './content-route.ts'
import {
  decodeContentReply,
  describeRequest,
  openRequest,
  readRequest,
  type ContentFailure,
  type ContentReply,
  type ContentRequest,
  type PortControl,
} from './protocol.ts'

/**
 * The worker's side of the content channel: a ContentSource that asks a page over a fresh
 * MessageChannel per request, with a bounded wait, and tells the page when the request is abandoned.
 */

/** A window client, as far as asking it goes (a structural type, so tests pass a fake). */
export type PageTarget = { postMessage(message: unknown, transfer: Transferable[]): void }

export type PageSourceOptions = {
  /** How long to wait for a size and type; the page may have to ask peers for the metadata. */
  describeTimeoutMs: number
  /** How long to wait for bytes; for a remote track the page fetches the pieces from peers first. */
  readTimeoutMs: number
}

export const DEFAULT_PAGE_SOURCE_OPTIONS: PageSourceOptions = {
  describeTimeoutMs: 20_000,
  readTimeoutMs: 60_000,
}

/** A ContentSource answered by `page`. */
export function pageSource(page: PageTarget, options = DEFAULT_PAGE_SOURCE_OPTIONS): ContentSource {
  return {
    async describe(hash, signal) {
      const reply = await ask(page, describeRequest(hash), options.describeTimeoutMs, signal)
      if (!reply.ok) return reply
      const r = reply.value
      if (r.type === 'described') return ok({ size: r.size, mime: r.mime })
      if (r.type === 'error') return err({ code: r.code, message: r.message })
      return err({ code: 'FAILED', message: `the page answered a describe with ${r.type}` })
    },
    async open(hash, start, end, signal) {
      const reply = await ask(page, openRequest(hash, start, end), options.readTimeoutMs, signal)
      if (!reply.ok) return reply
      const r = reply.value
      if (r.type === 'error') return err({ code: r.code, message: r.message })
      if (r.type !== 'opened')
        return err({ code: 'FAILED', message: `the page answered an open with ${r.type}` })
      const length = Math.max(0, Math.min(end, r.size) - start)
      if (r.data.byteLength !== length)
        return err({
          code: 'FAILED',
          message: `the page opened ${r.data.byteLength} bytes for a ${length}-byte range`,
        })
      return ok({ size: r.size, mime: r.mime, data: r.data })
    },
    async read(hash, start, end, signal) {
      const reply = await ask(page, readRequest(hash, start, end), options.readTimeoutMs, signal)
      if (!reply.ok) return reply
      const r = reply.value
      if (r.type === 'bytes') return ok(r.data)
      if (r.type === 'error') return err({ code: r.code, message: r.message })
      return err({ code: 'FAILED', message: `the page answered a read with ${r.type}` })
    },
  }
}

/** Post `request` with a reply port; resolve with the decoded reply or a failure. Never rejects. */
export function ask(
  page: PageTarget,
  request: ContentRequest,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Result<ContentReply, ContentFailure>> {
  return new Promise((resolve) => {
    const { port1, port2 } = new MessageChannel()
    let settled = false
    const finish = (result: Result<ContentReply, ContentFailure>, tellPage = false) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      if (tellPage) port1.postMessage({ type: 'abort' } satisfies PortControl)
      port1.close()
      resolve(result)
    }
    const onAbort = () => finish(err({ code: 'ABORTED', message: 'The request was abandoned.' }), true)
    const timer = setTimeout(
      () =>
        finish(
          err({ code: 'TIMEOUT', message: `The page did not answer within ${timeoutMs / 1000} s.` }),
          true,
        ),
      timeoutMs,
    )
    port1.onmessage = (event: MessageEvent) => {
      const reply = decodeContentReply(event.data)
      finish(
        reply.ok
          ? reply
          : err({ code: 'FAILED', message: `The page sent a malformed reply (${reply.error}).` }),
      )
    }
    port1.onmessageerror = () =>
      finish(err({ code: 'FAILED', message: 'The page sent a reply that could not be read.' }))
    if (signal?.aborted) return onAbort()
    signal?.addEventListener('abort', onAbort)
    try {
      page.postMessage(request, [port2])
    } catch (error) {
      finish(err({ code: 'FAILED', message: `Could not ask the page: ${String(error)}` }))
    }
  })
}
