/**
 * The HTTP layer's defences, in front of every handler: which requests are refused before routing
 * (methods, absurd or malformed URLs), the error boundary that turns a thrown handler into a 500 for
 * that request only, the answer to requests Node's parser rejects, and a per-address cap on open
 * TCP connections so one client cannot hold every slot with half-sent requests.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

/** Longest request target accepted: the app's URLs are short; browsers' own limits are far above this. */
export const MAX_URL_LENGTH = 2048

/** Why the HTTP layer refused a request or a connection (a label of dcmx_signaling_http_refused_total). */
export const HTTP_REFUSALS = [
  'method',
  'url_too_long',
  'bad_url',
  'bad_request',
  'headers_too_large',
  'timeout',
  'ip_connections',
  'internal_error',
] as const
export type HttpRefusal = (typeof HTTP_REFUSALS)[number]

/** A request that may be routed, with its decoded path; or the status that refuses it. */
export type Verdict =
  | { ok: true; pathname: string; rawPathname: string }
  | { ok: false; status: 400 | 405 | 414; reason: HttpRefusal; message: string }

/** Control characters (NUL included) and backslashes have no business in a path of this app. */
const hasBadPathChars = (path: string) => {
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i)
    if (c < 0x20 || c === 0x7f || c === 0x5c) return true
  }
  return false
}

/** Decide whether a request may be routed: GET/HEAD, origin-form, bounded, decodable, no `..`. */
export function checkRequest(method: string | undefined, url: string | undefined): Verdict {
  if (method !== 'GET' && method !== 'HEAD') {
    return { ok: false, status: 405, reason: 'method', message: 'only GET and HEAD' }
  }
  const target = url ?? ''
  if (target.length > MAX_URL_LENGTH) {
    return {
      ok: false,
      status: 414,
      reason: 'url_too_long',
      message: `URL over ${MAX_URL_LENGTH} characters`,
    }
  }
  // Origin-form only: absolute-form is for proxies, asterisk-form for OPTIONS.
  if (!target.startsWith('/') || target.startsWith('//')) {
    return { ok: false, status: 400, reason: 'bad_url', message: 'not a path' }
  }
  const rawPathname = target.split(/[?#]/, 1)[0] ?? '/'
  let pathname: string
  try {
    pathname = decodeURIComponent(rawPathname)
  } catch {
    return { ok: false, status: 400, reason: 'bad_url', message: 'malformed percent-encoding' }
  }
  if (hasBadPathChars(pathname) || pathname.split('/').some((s) => s === '..' || s === '.')) {
    return { ok: false, status: 400, reason: 'bad_url', message: 'path not allowed' }
  }
  return { ok: true, pathname, rawPathname }
}

/** A short plain-text answer (also for HEAD, without the body). */
export function refuse(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return void res.destroy()
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Cache-Control': 'no-store',
    ...headers,
  })
  res.end(res.req.method === 'HEAD' ? undefined : `${text}\n`)
}

/**
 * Wrap a request handler so nothing it throws, and no error a request or response stream emits,
 * reaches the process: the request gets a 500 (or is cut if its head is already out) and a log line.
 */
export function withErrorBoundary(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  onError: (error: unknown, req: IncomingMessage) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    req.on('error', (e) => onError(e, req))
    res.on('error', (e) => onError(e, req))
    try {
      handler(req, res)
    } catch (error) {
      onError(error, req)
      refuse(res, 500, 'internal error')
    }
  }
}

/** The status Node's parser errors deserve (RFC 9110/9112), and their refusal label. */
function clientErrorStatus(code: string | undefined): { status: number; reason: HttpRefusal } {
  if (code === 'HPE_HEADER_OVERFLOW') return { status: 431, reason: 'headers_too_large' }
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, reason: 'timeout' }
  return { status: 400, reason: 'bad_request' }
}

const STATUS_LINE: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
}

/**
 * Answer what Node's HTTP parser refused (bad framing, oversized heads, timeouts) with a status and
 * a closed socket, counting it; the default handler does the same but silently.
 */
export function answerClientErrors(server: Server, count: (reason: HttpRefusal) => void): void {
  server.on('clientError', (error: Error & { code?: string }, socket) => {
    const { status, reason } = clientErrorStatus(error.code)
    count(reason)
    if (error.code === 'ECONNRESET' || !socket.writable) return void socket.destroy()
    // Destroyed once written: HTTP sockets are half-open, and a client that never closes its side
    // must not keep one alive.
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_LINE[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
      () => socket.destroy(),
    )
  })
}

/**
 * Cap open TCP connections per remote address (HTTP keep-alive and WebSocket alike). Off when the
 * server sits behind a proxy, where every connection comes from the proxy's address.
 */
export function capConnectionsPerAddress(server: Server, max: number, onRefuse: () => void): void {
  const open = new Map<string, number>()
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? ''
    const n = (open.get(address) ?? 0) + 1
    if (n > max) {
      onRefuse()
      socket.destroy()
      return
    }
    open.set(address, n)
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1
      if (left <= 0) open.delete(address)
      else open.set(address, left)
    })
  })
}
