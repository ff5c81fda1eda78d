import { servedMime } from '../core/audio-mime.ts'
import { PIECE_SIZE } from '../core/content.ts'
import { ok, type Result } from '../core/result.ts'
import { CONTENT_PATH, MAX_READ_BYTES, type ContentErrorCode, type ContentFailure } from './protocol.ts'
import { contentRange, parseRange, rangeFrom, unsatisfiedRange } from './range.ts'

/**
 * The `/content/<hash>` route: HTTP 200/206/416 answers built from a source of sizes and byte
 * ranges (in the worker, the page that asked). Pure fetch-API code, so it runs under Vitest too.
 */

/** What the route needs: the page's answers, already decoded. */
export interface ContentSource {
  describe(
    hash: string,
    signal?: AbortSignal,
  ): Promise<Result<{ size: number; mime: string }, ContentFailure>>
  /** Bytes [start, end), at most MAX_READ_BYTES of them. */
  read(
    hash: string,
    start: number,
    end: number,
    signal?: AbortSignal,
  ): Promise<Result<ArrayBuffer, ContentFailure>>
  /**
   * Both at once: size, type and bytes [start, min(end, size)) (none from the end on), at most
   * MAX_READ_BYTES. Optional; BAD_REQUEST means the source cannot (an older page), and the route
   * asks with `describe` and `read` instead.
   */
  open?(
    hash: string,
    start: number,
    end: number,
    signal?: AbortSignal,
  ): Promise<Result<Opened, ContentFailure>>
}

/** What `open` answers: the track's size and type, and the first bytes asked for. */
export type Opened = { size: number; mime: string; data: ArrayBuffer }

/**
 * Most bytes one response carries when the client left the end open (`bytes=a-`): a remote track
 * answers as soon as this much is fetched, and the media element asks again from where it stopped.
 */
export const OPEN_RANGE_BYTES = MAX_READ_BYTES
/**
 * Reads of a response end where the piece they start in ends: for a remote track, the first read
 * waits for the one piece that must arrive (and be verified) before the media element gets any
 * byte, instead of the four a read of MAX_READ_BYTES would wait for, and each later piece flows
 * on as soon as it is verified.
 */
export const pieceEnd = (start: number, end: number): number =>
  Math.min(end, (Math.floor(start / PIECE_SIZE) + 1) * PIECE_SIZE)
/** Without a Range header a file up to this size is sent whole (200); a larger one as `bytes=0-`. */
export const WHOLE_FILE_BYTES = MAX_READ_BYTES

const CONTENT_ROUTE = new RegExp(`^${CONTENT_PATH}([0-9a-f]{64})$`)

/** The content hash if this is a GET or HEAD for `/content/<hash>` on `origin`; else undefined. */
export function contentHashOf(request: Pick<Request, 'method' | 'url'>, origin: string): string | undefined {
  if (request.method !== 'GET' && request.method !== 'HEAD') return undefined
  const url = new URL(request.url)
  if (url.origin !== origin) return undefined
  return CONTENT_ROUTE.exec(url.pathname)?.[1]
}

const TEXT = { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' }

/**
 * Headers of every response the worker makes up itself. The bytes behind a hash are a peer's, so
 * whatever a browser might make of them, they must stay inert in the app's origin: no script, no
 * plugin, no same-origin access even if rendered (CSP sandbox), no type sniffing, never an attachment
 * dialog either (`inline`: the media element plays it in place).
 */
export const INERT_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': "default-src 'none'; sandbox",
  'X-Content-Type-Options': 'nosniff',
  'Content-Disposition': 'inline',
}

/** Who may fetch /content/<hash>: media elements, and the page's own fetch() (destination ""). */
const MEDIA_DESTINATIONS: ReadonlySet<RequestDestination> = new Set(['audio', 'video', ''])

/**
 * A /content/<hash> request that must not be answered with the track: a top-level navigation (a
 * link someone opened) is sent to the app, anything else that is not a media fetch (frames, scripts,
 * styles, objects, workers, images) gets 403. Undefined for a media request.
 */
export function documentRefusal(
  request: Pick<Request, 'mode' | 'destination' | 'url'>,
): Response | undefined {
  if (request.mode === 'navigate' && request.destination === 'document') {
    return new Response(null, {
      status: 303,
      headers: { ...INERT_HEADERS, Location: new URL('/', request.url).href, 'Cache-Control': 'no-store' },
    })
  }
  if (request.mode === 'navigate' || !MEDIA_DESTINATIONS.has(request.destination)) {
    return new Response('FORBIDDEN: tracks are served to media elements only.\n', {
      status: 403,
      headers: { ...TEXT, ...INERT_HEADERS },
    })
  }
  return undefined
}

/** Answer a request for `/content/<hash>` from `source`. Never throws: failures are HTTP statuses. */
export async function contentResponse(
  request: Request,
  hash: string,
  source: ContentSource,
): Promise<Response> {
  const refused = documentRefusal(request)
  if (refused) return refused
  const signal = request.signal
  const head = request.method === 'HEAD'
  const opened = head ? undefined : await openFirst(request, hash, source)
  if (opened && !opened.ok) return failure(opened.error)
  const described = opened ?? (await source.describe(hash, signal))
  if (!described.ok) return failure(described.error)
  const { size } = described.value
  const headers = {
    'Accept-Ranges': 'bytes',
    'Content-Type': servedMime(described.value.mime),
    // The bytes behind a content hash never change.
    ETag: `"${hash}"`,
    'Cache-Control': 'no-cache',
    ...INERT_HEADERS,
  }

  const range = parseRange(request.headers.get('Range'), size)
  if (range.kind === 'unsatisfiable') {
    return new Response(head ? null : 'Range Not Satisfiable\n', {
      status: 416,
      headers: {
        ...TEXT,
        ...INERT_HEADERS,
        'Accept-Ranges': 'bytes',
        'Content-Range': unsatisfiedRange(size),
      },
    })
  }
  if (range.kind === 'none' && size <= WHOLE_FILE_BYTES) {
    const whole = head || size === 0 ? ok(new ArrayBuffer(0)) : await readExact(source, hash, 0, size, signal)
    if (!whole.ok) return failure(whole.error)
    return new Response(head ? null : whole.value, {
      status: 200,
      headers: { ...headers, 'Content-Length': String(size) },
    })
  }

  const { start, end: wanted, open } = range.kind === 'range' ? range : { start: 0, end: size, open: true }
  const end = open ? Math.min(wanted, start + OPEN_RANGE_BYTES) : wanted
  const partial = {
    ...headers,
    'Content-Range': contentRange(start, end, size),
    'Content-Length': String(end - start),
  }
  if (head) return new Response(null, { status: 206, headers: partial })
  // The first chunk is read before answering, so a missing track or an unreachable holder is a status.
  const firstEnd = pieceEnd(start, end)
  const first =
    opened?.value.start === start
      ? ok(opened.value.data.slice(0, firstEnd - start))
      : await readExact(source, hash, start, firstEnd, signal)
  if (!first.ok) return failure(first.error)
  const body = firstEnd === end ? first.value : rangeStream(source, hash, first.value, firstEnd, end, signal)
  return new Response(body, { status: 206, headers: partial })
}

/**
 * For a request whose Range header gives its start (`bytes=a-`, `bytes=a-b`, as media elements
 * send), the size, type and the bytes of the first chunk in one question to the source, which is
 * the first chunk's own bounds whatever the size turns out to be (a range past the end is 416, and
 * the chunk then comes back empty). Undefined when the route must ask the old way: no such header,
 * or a source that cannot open (BAD_REQUEST).
 */
async function openFirst(
  request: Request,
  hash: string,
  source: ContentSource,
): Promise<Result<Opened & { start: number }, ContentFailure> | undefined> {
  const from = source.open && rangeFrom(request.headers.get('Range'))
  if (!from) return undefined
  const end = Math.min(from.end ?? Infinity, from.start + OPEN_RANGE_BYTES)
  const opened = await source.open!(hash, from.start, pieceEnd(from.start, end), request.signal)
  if (!opened.ok) return opened.error.code === 'BAD_REQUEST' ? undefined : opened
  return ok({ ...opened.value, start: from.start })
}

/**
 * Pieces a long range's stream holds for its consumer: the piece being delivered and the next, so
 * the next piece's read (a round trip to the page, and for a remote track its fetch) overlaps the
 * delivery of the current one instead of starting only once the media element has taken it.
 */
const PIECES_AHEAD = 2

/** A long range, read a piece at a time ahead of the consumer (at most three pieces in memory). */
function rangeStream(
  source: ContentSource,
  hash: string,
  first: ArrayBuffer,
  from: number,
  end: number,
  requestSignal: AbortSignal,
): ReadableStream<Uint8Array> {
  const cancelled = new AbortController()
  const signal = AbortSignal.any([requestSignal, cancelled.signal])
  let offset = from
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        controller.enqueue(new Uint8Array(first))
      },
      async pull(controller) {
        // A piece at a time: a remote track's bytes reach the media element as each piece is verified.
        const next = pieceEnd(offset, end)
        const chunk = await readExact(source, hash, offset, next, signal)
        if (!chunk.ok) return controller.error(new Error(`${chunk.error.code}: ${chunk.error.message}`))
        controller.enqueue(new Uint8Array(chunk.value))
        offset = next
        if (offset >= end) controller.close()
      },
      cancel() {
        cancelled.abort()
      },
    },
    new CountQueuingStrategy({ highWaterMark: PIECES_AHEAD }),
  )
}

/** A read that delivered exactly the bytes asked for, or a failure. */
async function readExact(
  source: ContentSource,
  hash: string,
  start: number,
  end: number,
  signal: AbortSignal,
): Promise<Result<ArrayBuffer, ContentFailure>> {
  const result = await source.read(hash, start, end, signal)
  if (result.ok && result.value.byteLength !== end - start) {
    return {
      ok: false,
      error: {
        code: 'FAILED',
        message: `read ${result.value.byteLength} bytes for a ${end - start}-byte range`,
      },
    }
  }
  return result
}

const STATUS: Record<ContentErrorCode, number> = {
  NOT_FOUND: 404,
  // No holder reachable, or none answered in time: the track exists, it just cannot be served now.
  PEER_GONE: 503,
  TIMEOUT: 503,
  // The media element gave up on this request; nobody reads the answer.
  ABORTED: 503,
  BAD_REQUEST: 400,
  FAILED: 500,
}

/** A short text answer naming the code, so the log and the network panel say what happened. */
export function failure(error: ContentFailure): Response {
  return new Response(`${error.code}: ${error.message}\n`, {
    status: STATUS[error.code],
    headers: { ...TEXT, ...INERT_HEADERS },
  })
}
