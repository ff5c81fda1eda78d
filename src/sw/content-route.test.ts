import { describe, expect, it } from 'vitest'
import { err, ok } from '../core/result.ts'
import { PIECE_SIZE } from '../core/content.ts'
import {
  contentHashOf,
  contentResponse,
  failure,
  OPEN_RANGE_BYTES,
  WHOLE_FILE_BYTES,
  type ContentSource,
} from './content-route.ts'
import { MAX_READ_BYTES, type ContentFailure } from './protocol.ts'

const HASH = 'ab'.repeat(32)

/** The reads that cover [start, end) a piece at a time, each ending on a piece boundary. */
function pieceReads(start: number, end: number): [number, number][] {
  const out: [number, number][] = []
  for (let at = start; at < end;) {
    const next = Math.min(end, (Math.floor(at / PIECE_SIZE) + 1) * PIECE_SIZE)
    out.push([at, next])
    at = next
  }
  return out
}
const ORIGIN = 'https://dcmx.test'

/** Bytes whose value is their offset mod 251, so any slice can be checked. */
function bytes(size: number): Uint8Array {
  const out = new Uint8Array(size)
  for (let i = 0; i < size; i++) out[i] = i % 251
  return out
}

type FakeOptions = {
  mime?: string
  describe?: ContentFailure
  read?: ContentFailure
  short?: boolean
  /** Every read after the first waits for this (a remote track's later pieces, still on their way). */
  later?: Promise<void>
}

/** A source holding one file; it records every read. */
function source(file: Uint8Array, opts: FakeOptions = {}) {
  const reads: [number, number][] = []
  const src: ContentSource = {
    async describe(hash) {
      if (opts.describe) return err(opts.describe)
      if (hash !== HASH) return err({ code: 'NOT_FOUND', message: 'no such track' })
      return ok({ size: file.length, mime: opts.mime ?? 'audio/wav' })
    },
    async read(_hash, start, end) {
      reads.push([start, end])
      if (reads.length > 1) await opts.later
      if (opts.read) return err(opts.read)
      return ok(file.slice(start, opts.short ? end - 1 : end).buffer)
    },
  }
  return { src, reads }
}

const get = (headers: Record<string, string> = {}, method = 'GET') =>
  new Request(`${ORIGIN}/content/${HASH}`, { method, headers })

/** The body equals `expected` byte for byte (compared as buffers: element-wise diffing of MiBs is slow). */
async function expectBody(res: Response, expected: Uint8Array) {
  const actual = Buffer.from(await res.arrayBuffer())
  expect(actual.length).toBe(expected.length)
  expect(actual.equals(expected)).toBe(true)
}

describe('contentHashOf', () => {
  it.each([
    [`${ORIGIN}/content/${HASH}`, 'GET', HASH],
    [`${ORIGIN}/content/${HASH}?t=1`, 'HEAD', HASH],
    [`${ORIGIN}/content/${HASH}`, 'POST', undefined],
    [`${ORIGIN}/content/${HASH.toUpperCase()}`, 'GET', undefined],
    [`${ORIGIN}/content/${HASH}/x`, 'GET', undefined],
    [`${ORIGIN}/content/abc`, 'GET', undefined],
    [`https://elsewhere.test/content/${HASH}`, 'GET', undefined],
    [`${ORIGIN}/assets/index.js`, 'GET', undefined],
  ])('%s %s → %s', (url, method, expected) => {
    expect(contentHashOf({ url, method }, ORIGIN)).toBe(expected)
  })
})

describe('contentResponse', () => {
  it('answers a closed range with 206 and exactly those bytes', async () => {
    const file = bytes(5000)
    const res = await contentResponse(get({ Range: 'bytes=100-199' }), HASH, source(file).src)
    expect(res.status).toBe(206)
    expect(res.headers.get('Content-Range')).toBe('bytes 100-199/5000')
    expect(res.headers.get('Content-Length')).toBe('100')
    expect(res.headers.get('Accept-Ranges')).toBe('bytes')
    expect(res.headers.get('Content-Type')).toBe('audio/wav')
    await expectBody(res, file.slice(100, 200))
  })

  it('sends a small file whole (200) when no range is asked for', async () => {
    const file = bytes(WHOLE_FILE_BYTES)
    const res = await contentResponse(get(), HASH, source(file).src)
    expect(res.status).toBe(200)
    expect(res.headers.get('Content-Length')).toBe(String(file.length))
    expect(res.headers.get('Accept-Ranges')).toBe('bytes')
    await expectBody(res, file)
  })

  it('answers a large file without a range as bytes=0-, in one bounded chunk', async () => {
    const file = bytes(WHOLE_FILE_BYTES + 10)
    const res = await contentResponse(get(), HASH, source(file).src)
    expect(res.status).toBe(206)
    expect(res.headers.get('Content-Range')).toBe(`bytes 0-${OPEN_RANGE_BYTES - 1}/${file.length}`)
    await expectBody(res, file.slice(0, OPEN_RANGE_BYTES))
  })

  it('bounds an open range, so the client asks again from where it stopped', async () => {
    const file = bytes(3 * OPEN_RANGE_BYTES)
    const { src, reads } = source(file)
    const res = await contentResponse(get({ Range: 'bytes=10-' }), HASH, src)
    expect(res.status).toBe(206)
    expect(res.headers.get('Content-Range')).toBe(`bytes 10-${10 + OPEN_RANGE_BYTES - 1}/${file.length}`)
    expect(res.headers.get('Content-Length')).toBe(String(OPEN_RANGE_BYTES))
    await expectBody(res, file.slice(10, 10 + OPEN_RANGE_BYTES))
    // A piece at a time, each read ending where its piece ends.
    expect(reads).toEqual(pieceReads(10, 10 + OPEN_RANGE_BYTES))
  })

  it('answers once the piece the range starts in is read, not the whole first MiB', async () => {
    const file = bytes(3 * OPEN_RANGE_BYTES)
    for (const start of [0, 1000, PIECE_SIZE, 3 * PIECE_SIZE - 1]) {
      let arrive!: () => void
      const later = new Promise<void>((resolve) => (arrive = resolve))
      const { src, reads } = source(file, { later })
      // Answered while every later piece is still on its way.
      const res = await contentResponse(get({ Range: `bytes=${start}-` }), HASH, src)
      expect(res.status).toBe(206)
      const end = (Math.floor(start / PIECE_SIZE) + 1) * PIECE_SIZE
      expect(reads[0]).toEqual([start, end])
      arrive()
      await expectBody(res, file.slice(start, start + OPEN_RANGE_BYTES))
    }
  })

  it('reads the next piece while the first is delivered, and no further ahead than that', async () => {
    const file = bytes(3 * OPEN_RANGE_BYTES)
    const { src, reads } = source(file)
    const res = await contentResponse(get({ Range: 'bytes=0-' }), HASH, src)
    // Nothing of the body consumed yet: the next piece is asked for, the one after it is not.
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(reads).toEqual([
      [0, PIECE_SIZE],
      [PIECE_SIZE, 2 * PIECE_SIZE],
    ])
    await expectBody(res, file.slice(0, OPEN_RANGE_BYTES))
    expect(reads).toEqual(pieceReads(0, OPEN_RANGE_BYTES))
  })

  it('gives an open range near the end only what is left', async () => {
    const file = bytes(2000)
    const res = await contentResponse(get({ Range: 'bytes=1500-' }), HASH, source(file).src)
    expect(res.headers.get('Content-Range')).toBe('bytes 1500-1999/2000')
    await expectBody(res, file.slice(1500))
  })

  it('streams a long closed range a piece at a time', async () => {
    const file = bytes(2 * MAX_READ_BYTES + 500)
    const { src, reads } = source(file)
    const res = await contentResponse(get({ Range: `bytes=0-${file.length - 1}` }), HASH, src)
    expect(res.status).toBe(206)
    expect(res.headers.get('Content-Length')).toBe(String(file.length))
    // The first piece is read before the answer, the next one ahead of it; the rest as the body is consumed.
    expect(reads[0]).toEqual([0, PIECE_SIZE])
    expect(reads.length).toBeLessThanOrEqual(2)
    await expectBody(res, file)
    expect(reads).toEqual(pieceReads(0, file.length))
    expect(reads.every(([s, e]) => e - s <= MAX_READ_BYTES)).toBe(true)
  })

  it('answers the last bytes for a suffix range', async () => {
    const file = bytes(1000)
    const res = await contentResponse(get({ Range: 'bytes=-10' }), HASH, source(file).src)
    expect(res.headers.get('Content-Range')).toBe('bytes 990-999/1000')
    await expectBody(res, file.slice(990))
  })

  it.each(['bytes=1000-', 'bytes=5000-6000', 'bytes=20-10', 'bytes=-0'])(
    'refuses %s with 416',
    async (range) => {
      const { src, reads } = source(bytes(1000))
      const res = await contentResponse(get({ Range: range }), HASH, src)
      expect(res.status).toBe(416)
      expect(res.headers.get('Content-Range')).toBe('bytes */1000')
      expect(reads).toEqual([])
    },
  )

  it('answers HEAD with the headers GET would have, reading nothing', async () => {
    const { src, reads } = source(bytes(4000))
    const res = await contentResponse(get({ Range: 'bytes=100-199' }, 'HEAD'), HASH, src)
    expect(res.status).toBe(206)
    expect(res.headers.get('Content-Range')).toBe('bytes 100-199/4000')
    expect(res.headers.get('Content-Length')).toBe('100')
    expect(res.body).toBeNull()
    expect(reads).toEqual([])
  })

  it('says 404 for a track nobody knows', async () => {
    const res = await contentResponse(
      get(),
      HASH,
      source(bytes(10), { describe: { code: 'NOT_FOUND', message: 'x' } }).src,
    )
    expect(res.status).toBe(404)
  })

  it.each<[ContentFailure['code'], number]>([
    ['PEER_GONE', 503],
    ['TIMEOUT', 503],
    ['NOT_FOUND', 404],
    ['FAILED', 500],
  ])('turns a read failing with %s into %i with a short text body', async (code, status) => {
    const res = await contentResponse(
      get({ Range: 'bytes=0-9' }),
      HASH,
      source(bytes(100), { read: { code, message: 'No peer that has this track is reachable.' } }).src,
    )
    expect(res.status).toBe(status)
    expect(res.headers.get('Content-Type')).toMatch(/^text\/plain/)
    expect(await res.text()).toBe(`${code}: No peer that has this track is reachable.\n`)
  })

  it('fails a read that returns the wrong number of bytes instead of sending a wrong Content-Length', async () => {
    const res = await contentResponse(
      get({ Range: 'bytes=0-9' }),
      HASH,
      source(bytes(100), { short: true }).src,
    )
    expect(res.status).toBe(500)
  })

  it.each([
    ['audio/ogg; codecs=opus', 'audio/ogg; codecs=opus'],
    ['audio/mpeg', 'audio/mpeg'],
    ['', 'application/octet-stream'],
    ['audio/wav\r\nSet-Cookie: a=b', 'application/octet-stream'],
    ['not a type', 'application/octet-stream'],
  ])('serves mime %j as %j', async (mime, served) => {
    const res = await contentResponse(get({ Range: 'bytes=0-0' }), HASH, source(bytes(10), { mime }).src)
    expect(res.headers.get('Content-Type')).toBe(served)
  })

  it('sends an empty file as an empty 200', async () => {
    const { src, reads } = source(new Uint8Array(0))
    const res = await contentResponse(get(), HASH, src)
    expect(res.status).toBe(200)
    expect(res.headers.get('Content-Length')).toBe('0')
    expect(reads).toEqual([])
  })
})

/** A request as the browser's fetch event has it: navigations cannot be built with `new Request`. */
function browserRequest(init: {
  mode?: RequestMode
  destination?: RequestDestination
  headers?: Record<string, string>
}) {
  const request = new Request(`${ORIGIN}/content/${HASH}`, { headers: init.headers ?? {} })
  Object.defineProperty(request, 'mode', { value: init.mode ?? 'no-cors' })
  Object.defineProperty(request, 'destination', { value: init.destination ?? 'audio' })
  return request
}

const INERT_CSP = "default-src 'none'; sandbox"

/** `source(file)` that also opens (size, type and the first bytes in one call), recording every call. */
function opening(file: Uint8Array, opts: { open?: ContentFailure } = {}) {
  const base = source(file)
  const calls: string[] = []
  const src: ContentSource = {
    describe: (hash, signal) => (calls.push('describe'), base.src.describe(hash, signal)),
    read: (hash, start, end, signal) => (
      calls.push(`read ${start}-${end}`),
      base.src.read(hash, start, end, signal)
    ),
    async open(hash, start, end) {
      calls.push(`open ${start}-${end}`)
      if (opts.open) return err(opts.open)
      if (hash !== HASH) return err({ code: 'NOT_FOUND', message: 'no such track' })
      const data = file.slice(start, Math.max(start, Math.min(end, file.length))).buffer
      return ok({ size: file.length, mime: 'audio/wav', data })
    },
  }
  return { src, calls }
}

describe('contentResponse: one question to the page for a media request', () => {
  const file = bytes(3 * PIECE_SIZE + 500)

  it('answers bytes=0- from one open: size, type and the first piece together', async () => {
    const { src, calls } = opening(file)
    const res = await contentResponse(get({ Range: 'bytes=0-' }), HASH, src)
    expect(res.status).toBe(206)
    expect(res.headers.get('Content-Range')).toBe(`bytes 0-${file.length - 1}/${file.length}`)
    expect(res.headers.get('Content-Type')).toBe('audio/wav')
    await expectBody(res, file)
    // The first piece came with the open; the later ones are read as the body streams.
    expect(calls).toEqual([
      `open 0-${PIECE_SIZE}`,
      ...pieceReads(PIECE_SIZE, file.length).map(([a, b]) => `read ${a}-${b}`),
    ])
  })

  it('answers a closed range (a seek) inside one piece from the open alone', async () => {
    const { src, calls } = opening(file)
    const res = await contentResponse(get({ Range: 'bytes=1000-1999' }), HASH, src)
    expect(res.status).toBe(206)
    expect(res.headers.get('Content-Range')).toBe(`bytes 1000-1999/${file.length}`)
    await expectBody(res, file.slice(1000, 2000))
    expect(calls).toEqual(['open 1000-2000'])
  })

  it('clips a closed range that runs past the end to the size the open told', async () => {
    const { src } = opening(file)
    const from = file.length - 100
    const res = await contentResponse(get({ Range: `bytes=${from}-${file.length + 5000}` }), HASH, src)
    expect(res.headers.get('Content-Range')).toBe(`bytes ${from}-${file.length - 1}/${file.length}`)
    await expectBody(res, file.slice(from))
  })

  it('says 416 for a start past the end, told by the open itself', async () => {
    const { src, calls } = opening(file)
    const res = await contentResponse(get({ Range: `bytes=${file.length}-` }), HASH, src)
    expect(res.status).toBe(416)
    expect(res.headers.get('Content-Range')).toBe(`bytes */${file.length}`)
    expect(calls).toEqual([`open ${file.length}-${4 * PIECE_SIZE}`])
  })

  it('passes an open’s failure on as its status, without asking again', async () => {
    const { src, calls } = opening(file, { open: { code: 'PEER_GONE', message: 'gone' } })
    const res = await contentResponse(get({ Range: 'bytes=0-' }), HASH, src)
    expect(res.status).toBe(503)
    expect(calls).toEqual([`open 0-${PIECE_SIZE}`])
  })

  it('asks with describe and read when the page cannot open (BAD_REQUEST: an older page)', async () => {
    const { src, calls } = opening(file, { open: { code: 'BAD_REQUEST', message: 'type: Invalid type' } })
    const res = await contentResponse(get({ Range: 'bytes=0-' }), HASH, src)
    expect(res.status).toBe(206)
    await expectBody(res, file)
    expect(calls.slice(0, 3)).toEqual([`open 0-${PIECE_SIZE}`, 'describe', `read 0-${PIECE_SIZE}`])
  })

  it.each([
    ['no Range header', {}],
    ['a suffix range', { Range: 'bytes=-100' }],
    ['several ranges', { Range: 'bytes=0-10,20-30' }],
  ])('asks the old way for %s, whose meaning needs the size first', async (_name, headers) => {
    const { src, calls } = opening(file)
    const res = await contentResponse(get(headers), HASH, src)
    expect(res.ok).toBe(true)
    expect(calls[0]).toBe('describe')
    expect(calls.some((c) => c.startsWith('open'))).toBe(false)
  })

  it('answers HEAD from a describe, reading nothing', async () => {
    const { src, calls } = opening(file)
    const res = await contentResponse(get({ Range: 'bytes=0-' }, 'HEAD'), HASH, src)
    expect(res.status).toBe(206)
    expect(calls).toEqual(['describe'])
  })
})

describe('contentResponse: inert answers (issue 10)', () => {
  const html = new TextEncoder().encode('<!doctype html><script>alert(document.domain)</script>')

  it('serves a track whose metadata says text/html as a non-HTML type, sandboxed, nosniff, inline', async () => {
    for (const mime of [
      'text/html',
      'text/html; charset=utf-8',
      'image/svg+xml',
      'application/xhtml+xml',
      'text/xml',
    ]) {
      const res = await contentResponse(get(), HASH, source(html, { mime }).src)
      expect(res.status).toBe(200)
      expect(res.headers.get('Content-Type')).toBe('application/octet-stream')
      expect(res.headers.get('Content-Security-Policy')).toBe(INERT_CSP)
      expect(res.headers.get('X-Content-Type-Options')).toBe('nosniff')
      expect(res.headers.get('Content-Disposition')).toBe('inline')
    }
  })

  it.each([
    'audio/mpeg',
    'audio/flac',
    'audio/ogg',
    'audio/wav',
    'audio/mp4',
    'audio/webm',
    'audio/x-matroska',
    'audio/aiff',
    'audio/aac',
  ])('keeps the importer’s %s, with the same inert headers', async (mime) => {
    const res = await contentResponse(get({ Range: 'bytes=0-0' }), HASH, source(bytes(10), { mime }).src)
    expect(res.headers.get('Content-Type')).toBe(mime)
    expect(res.headers.get('Content-Security-Policy')).toBe(INERT_CSP)
  })

  it('sends the inert headers on 416s and failures too', async () => {
    const unsatisfiable = await contentResponse(get({ Range: 'bytes=99-' }), HASH, source(bytes(10)).src)
    const missing = await contentResponse(
      get(),
      HASH,
      source(bytes(10), { describe: { code: 'NOT_FOUND', message: 'x' } }).src,
    )
    for (const res of [unsatisfiable, missing, failure({ code: 'PEER_GONE', message: 'x' })]) {
      expect(res.headers.get('Content-Security-Policy')).toBe(INERT_CSP)
      expect(res.headers.get('X-Content-Type-Options')).toBe('nosniff')
      expect(res.headers.get('Content-Type')).toMatch(/^text\/plain/)
    }
  })

  it('never renders a document: a navigation is sent to the app, reading nothing', async () => {
    const { src, reads } = source(html, { mime: 'text/html' })
    const res = await contentResponse(
      browserRequest({ mode: 'navigate', destination: 'document' }),
      HASH,
      src,
    )
    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toBe(`${ORIGIN}/`)
    expect(reads).toEqual([])
    expect(res.headers.get('Content-Type') ?? '').not.toMatch(/html/)
  })

  it.each<[RequestMode, RequestDestination]>([
    ['navigate', 'iframe'],
    ['no-cors', 'document'],
    ['no-cors', 'script'],
    ['no-cors', 'style'],
    ['no-cors', 'object'],
    ['no-cors', 'embed'],
    ['same-origin', 'worker'],
    ['no-cors', 'image'],
  ])('refuses a %s request for a %s with 403', async (mode, destination) => {
    const { src, reads } = source(html, { mime: 'audio/mpeg' })
    const res = await contentResponse(browserRequest({ mode, destination }), HASH, src)
    expect(res.status).toBe(403)
    expect(res.headers.get('Content-Security-Policy')).toBe(INERT_CSP)
    expect(reads).toEqual([])
  })

  it.each<RequestDestination>(['audio', 'video', ''])('serves a %j request', async (destination) => {
    const res = await contentResponse(
      browserRequest({ destination, headers: { Range: 'bytes=0-1' } }),
      HASH,
      source(bytes(10)).src,
    )
    expect(res.status).toBe(206)
  })
})
