/**
 * The built app's files over HTTP, on top of `send` (the Express project's file server): RFC 9110
 * ranges (suffix, open, inverted, several, out of bounds, If-Range), HEAD, conditional requests and
 * read errors are its job, and it reports every failure as an event instead of throwing. This module
 * adds what the app needs around it: the SPA fallback, the precompressed copies written at build
 * time (scripts/compress-dist.mjs) and the caching policy.
 *
 * Why not sirv (which served the app before): its 3.0.2 (the current release) throws synchronously
 * on an inverted range (`bytes=5-2` took the whole process down), answers `bytes=-5` and `bytes=0-0`
 * with the wrong bytes, and pipes a file stream without an error handler.
 */
import { stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname, join, resolve, sep } from 'node:path'
import { contentType } from 'mime-types'
import send from 'send'
import { ASSET_MAX_AGE_S } from './options.ts'

/** A request for one of the app's files, already checked by the HTTP guard (decoded, no `..`). */
export type StaticRequest = { req: IncomingMessage; res: ServerResponse; pathname: string }

/** Serve one request; never throws, every failure becomes a status (or a cut stream once headers are out). */
export type StaticHandler = (request: StaticRequest) => void

/** The precompressed copies, best first, with the token Accept-Encoding must list. */
const ENCODINGS = [
  { token: 'br', suffix: '.br' },
  { token: 'gzip', suffix: '.gz' },
] as const

/**
 * Paths whose last segment has an extension are files: missing ones are 404s. Anything else is a
 * route of the single-page app and gets index.html.
 */
const LOOKS_LIKE_FILE = /\/[^/]*\.[A-Za-z0-9]+$/

const isFile = async (path: string) => (await stat(path).catch(() => undefined))?.isFile() === true

/** Whether `header` (Accept-Encoding) accepts `token`, ignoring q=0 exclusions' finer points. */
function accepts(header: string | undefined, token: string): boolean {
  if (!header) return false
  return header.split(',').some((part) => {
    const [name, ...params] = part.trim().split(';')
    if (name?.trim().toLowerCase() !== token) return false
    return !params.some((p) => /^\s*q\s*=\s*0(\.0*)?\s*$/i.test(p))
  })
}

/** A plain-text error answer, keeping the security headers the caller already set. */
function plain(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  res.statusCode = status
  for (const name of ['Content-Encoding', 'Content-Range', 'ETag', 'Last-Modified', 'Accept-Ranges'])
    res.removeHeader(name)
  for (const [name, value] of Object.entries(extra)) res.setHeader(name, value)
  res.setHeader('Content-Type', 'text/plain; charset=utf-8')
  res.setHeader('Cache-Control', 'no-store')
  res.end(res.req.method === 'HEAD' ? undefined : `${text}\n`)
}

/** A handler for the files under `root`; `log` hears about failed reads. */
export function staticFiles(rootDir: string, log: (line: string) => void): StaticHandler {
  const root = resolve(rootDir)

  /** The file to send for `pathname` (relative to root), or undefined for a 404. */
  async function locate(pathname: string): Promise<string | undefined> {
    const relative = pathname.endsWith('/') ? `${pathname}index.html` : pathname
    const abs = join(root, relative)
    if (abs !== root && !abs.startsWith(root + sep)) return undefined
    if (await isFile(abs)) return relative
    if (LOOKS_LIKE_FILE.test(pathname)) return undefined
    return (await isFile(join(root, 'index.html'))) ? '/index.html' : undefined
  }

  return ({ req, res, pathname }) => {
    void (async () => {
      const file = await locate(pathname)
      if (!file) return plain(res, 404, 'not found')
      // A range applies to the bytes of one representation; ask for ranges, get the identity file.
      let encoding: (typeof ENCODINGS)[number] | undefined
      if (req.headers.range === undefined) {
        for (const e of ENCODINGS) {
          if (
            accepts(req.headers['accept-encoding'], e.token) &&
            (await isFile(join(root, file + e.suffix)))
          ) {
            encoding = e
            break
          }
        }
      }
      const stream = send(req, encodeURI(encoding ? file + encoding.suffix : file), {
        root,
        index: false,
        dotfiles: 'ignore',
        etag: true,
        lastModified: true,
        cacheControl: false,
      })
      stream.on('headers', (response: ServerResponse) => {
        response.setHeader(
          'Cache-Control',
          file.startsWith('/assets/') ? `public, max-age=${ASSET_MAX_AGE_S}, immutable` : 'no-cache',
        )
        response.setHeader('Vary', 'Accept-Encoding')
        if (encoding) {
          response.setHeader('Content-Encoding', encoding.token)
          response.setHeader('Content-Type', contentType(extname(file)) || 'application/octet-stream')
        }
      })
      stream.on('error', (error: Error & { status?: number; headers?: Record<string, string> }) => {
        const status = error.status ?? 500
        if (status >= 500) log(`static ${pathname}: ${error.message}`)
        if (res.headersSent) return void res.destroy()
        plain(res, status, status === 416 ? 'range not satisfiable' : error.message || 'error', error.headers)
      })
      stream.pipe(res)
    })().catch((error: unknown) => {
      log(`static ${pathname}: ${String(error)}`)
      if (res.headersSent) res.destroy()
      else plain(res, 500, 'internal error')
    })
  }
}
