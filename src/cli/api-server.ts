import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'
import { timingSafeEqual } from 'node:crypto'
import { INERT_CONTENT_HEADERS, isAudioMime } from '../core/content-headers.ts'
import type { ContentReader } from '../core/content-reader.ts'
import { DcmxError } from '../core/errors.ts'
import { contentResponse, type ContentSource } from '../sw/content-route.ts'
import { CONTENT_ERROR_CODES, type ContentErrorCode } from '../sw/protocol.ts'

/** A request body (paths to add, a hash to get) is small JSON; anything larger is refused. */
const MAX_BODY = 256 * 1024
const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1'])

/** What the API serves and does: the running node's views and actions, as plain functions. */
export type ApiHandlers = {
  ping(): unknown
  tracks(): unknown
  peers(): unknown
  stats(): unknown
  reader: ContentReader
  /** Actions that change state; each streams NDJSON events through `emit` and resolves with the last one. */
  actions: Record<
    string,
    (body: unknown, emit: (event: unknown) => void, signal: AbortSignal) => Promise<unknown>
  >
}

/** Only loopback peers, and only a Host naming loopback (a DNS-rebinding page names its own host). */
export function isLocalRequest(req: Pick<IncomingMessage, 'socket' | 'headers'>, port: number): boolean {
  if (!LOOPBACK.has(req.socket.remoteAddress ?? '')) return false
  const host = req.headers.host ?? ''
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(host.toLowerCase())
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-store',
    ...INERT_CONTENT_HEADERS,
  })
  res.end(JSON.stringify(body))
}

const PASSED = new Set<string>(CONTENT_ERROR_CODES)

/** The node's ContentReader as the content route's source (results, never throws), audio only. */
function sourceOf(reader: ContentReader): ContentSource {
  const fail = (error: unknown) => ({
    ok: false as const,
    error:
      error instanceof DcmxError && PASSED.has(error.code)
        ? { code: error.code as ContentErrorCode, message: error.message }
        : { code: 'FAILED' as const, message: error instanceof Error ? error.message : String(error) },
  })
  return {
    async describe(hash) {
      try {
        const described = await reader.describe(hash)
        if (!described)
          return {
            ok: false,
            error: { code: 'NOT_FOUND', message: 'No such track here or among known peers.' },
          }
        return { ok: true, value: described }
      } catch (error) {
        return fail(error)
      }
    },
    async read(hash, start, end, signal) {
      try {
        const bytes = await reader.read(hash, start, end, signal)
        return { ok: true, value: bytes.slice().buffer }
      } catch (error) {
        return fail(error)
      }
    },
  }
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  let size = 0
  const chunks: Buffer[] = []
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY) throw new DcmxError('TOO_BIG', 'request body too large')
    chunks.push(chunk as Buffer)
  }
  if (size === 0) return {}
  return JSON.parse(Buffer.concat(chunks).toString('utf8'))
}

function authorised(req: IncomingMessage, token: string): boolean {
  const given = Buffer.from(/^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '')
  const want = Buffer.from(token)
  return given.length === want.length && timingSafeEqual(given, want)
}

/**
 * The local HTTP API of a running node, on 127.0.0.1 only: GET /ping, /tracks, /peers, /stats and
 * /content/<hash> (Range, audio only, inert headers — the tab's service worker route, reused) for
 * anyone on this machine; POST /actions/<name> (add, get, rm, verify) only with the home's token.
 */
export async function startApi(
  port: number,
  token: string,
  handlers: ApiHandlers,
): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      if (!res.headersSent) json(res, 500, { error: 'FAILED', message: String(error) })
      else res.destroy()
    })
  })
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const bound = (server.address() as AddressInfo).port
    if (!isLocalRequest(req, bound)) return json(res, 403, { error: 'FORBIDDEN', message: 'loopback only' })
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${bound}`)
    const path = url.pathname
    if (req.method === 'POST' && path.startsWith('/actions/')) {
      if (!authorised(req, token))
        return json(res, 401, { error: 'UNAUTHORISED', message: 'a valid token is needed' })
      const action = handlers.actions[path.slice('/actions/'.length)]
      if (!action) return json(res, 404, { error: 'NOT_FOUND', message: 'no such action' })
      let body: unknown
      try {
        body = await readBody(req)
      } catch (error) {
        return json(res, 400, { error: 'BAD_REQUEST', message: (error as Error).message })
      }
      const abort = new AbortController()
      res.on('close', () => abort.abort())
      res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Cache-Control': 'no-store' })
      const emit = (event: unknown) => res.write(`${JSON.stringify(event)}\n`)
      try {
        emit({ type: 'result', value: await action(body, emit, abort.signal) })
      } catch (error) {
        emit({
          type: 'error',
          code: error instanceof DcmxError ? error.code : 'FAILED',
          message: error instanceof Error ? error.message : String(error),
        })
      }
      return res.end()
    }
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return json(res, 405, { error: 'METHOD', message: 'GET only' })
    if (path === '/ping') return json(res, 200, await handlers.ping())
    if (path === '/tracks') return json(res, 200, await handlers.tracks())
    if (path === '/peers') return json(res, 200, await handlers.peers())
    if (path === '/stats') return json(res, 200, await handlers.stats())
    const hash = /^\/content\/([0-9a-f]{64})$/.exec(path)?.[1]
    if (!hash) return json(res, 404, { error: 'NOT_FOUND', message: 'no such endpoint' })
    return serveContent(req, res, hash, sourceOf(handlers.reader), bound)
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve())
  })
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

async function serveContent(
  req: IncomingMessage,
  res: ServerResponse,
  hash: string,
  source: ContentSource,
  port: number,
) {
  const described = await source.describe(hash)
  if (described.ok && !isAudioMime(described.value.mime))
    return json(res, 415, { error: 'NOT_AUDIO', message: 'only audio is served' })
  const abort = new AbortController()
  res.on('close', () => abort.abort())
  const headers = new Headers()
  if (req.headers.range) headers.set('Range', req.headers.range)
  const request = new Request(`http://127.0.0.1:${port}${req.url}`, {
    method: req.method ?? 'GET',
    headers,
    signal: abort.signal,
  })
  const response = await contentResponse(request, hash, source)
  const out: Record<string, string> = {}
  response.headers.forEach((value, key) => (out[key] = value))
  for (const [key, value] of Object.entries(INERT_CONTENT_HEADERS)) out[key.toLowerCase()] = value
  res.writeHead(response.status, out)
  if (!response.body) return res.end()
  Readable.fromWeb(response.body as WebReadableStream)
    .on('error', () => res.destroy())
    .pipe(res)
}
