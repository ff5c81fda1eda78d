/**
 * Hostile HTTP requests against the server that also serves the app. Each one must get an answer
 * (or a closed socket) for itself only: the same process keeps answering /healthz, and honest
 * clients keep joining and relaying.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { connect as tcpConnect, type Socket } from 'node:net'
import {
  ATTACKER,
  expectServerHealthy,
  FAVICON,
  HONEST,
  rawRequest,
  startTarget,
  stopAll,
  track,
  type Target,
} from './harness.ts'

const LEN = Buffer.byteLength(FAVICON)

/** A request line plus headers, as bytes on the wire. */
const req = (path: string, headers: string[] = [], method = 'GET') =>
  [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...headers, '', ''].join('\r\n')

type Case = {
  name: string
  request: string | Buffer
  /** Acceptable statuses; undefined stands for "the server closed the socket without answering". */
  status: (number | undefined)[]
  /** Extra checks on the answer. */
  check?: (reply: { head: string; bytes: number }) => void
}

const contentRange = (head: string) => /\r\ncontent-range: ([^\r]*)/i.exec(head)?.[1]

const CASES: Case[] = [
  // Ranges (RFC 9110 §14): inverted, empty, suffix, out of bounds, several, another unit, garbage.
  {
    name: 'inverted range (the crasher)',
    request: req('/favicon.svg', ['Range: bytes=5-2']),
    status: [200, 416],
  },
  {
    name: 'inverted range on the SPA fallback',
    request: req('/deep/link', ['Range: bytes=9-1']),
    status: [200, 416],
  },
  {
    name: 'inverted range with HEAD',
    request: req('/favicon.svg', ['Range: bytes=5-2'], 'HEAD'),
    status: [200, 416],
  },
  { name: 'zero-length suffix', request: req('/favicon.svg', ['Range: bytes=-0']), status: [200, 416] },
  {
    name: 'first byte only',
    request: req('/favicon.svg', ['Range: bytes=0-0']),
    status: [206],
    check: ({ head, bytes }) => {
      expect(contentRange(head)).toBe(`bytes 0-0/${LEN}`)
      expect(bytes).toBe(1)
    },
  },
  {
    name: 'suffix range (last 5 bytes)',
    request: req('/favicon.svg', ['Range: bytes=-5']),
    status: [206],
    check: ({ head, bytes }) => {
      expect(contentRange(head)).toBe(`bytes ${LEN - 5}-${LEN - 1}/${LEN}`)
      expect(bytes).toBe(5)
    },
  },
  {
    name: 'HEAD with a range',
    request: req('/favicon.svg', ['Range: bytes=0-9'], 'HEAD'),
    status: [206],
    check: ({ head, bytes }) => {
      expect(contentRange(head)).toBe(`bytes 0-9/${LEN}`)
      expect(head).toMatch(/\r\ncontent-length: 10\b/i)
      expect(bytes).toBe(0)
    },
  },
  { name: 'start past the end', request: req('/favicon.svg', ['Range: bytes=99999-']), status: [416] },
  {
    name: 'start past 2^64',
    request: req('/favicon.svg', ['Range: bytes=18446744073709551616-']),
    status: [200, 416],
  },
  { name: 'several ranges', request: req('/favicon.svg', ['Range: bytes=1-2,4-5,0-0']), status: [200, 416] },
  {
    // Overlapping ranges may be coalesced into one (RFC 9110 §14.2), which `send` does.
    name: '1000 overlapping ranges',
    request: req('/favicon.svg', [`Range: bytes=${Array(1000).fill('0-1').join(',')}`]),
    status: [200, 206, 416],
  },
  { name: 'another unit', request: req('/favicon.svg', ['Range: items=0-1']), status: [200] },
  { name: 'garbage range', request: req('/favicon.svg', ['Range: bytes=abc']), status: [200, 416] },
  { name: 'double dash', request: req('/favicon.svg', ['Range: bytes=--1']), status: [200, 416] },
  { name: 'three numbers', request: req('/favicon.svg', ['Range: bytes=1-2-3']), status: [200, 416] },
  {
    name: 'range and If-Range mismatch',
    request: req('/favicon.svg', ['Range: bytes=5-2', 'If-Range: "nope"']),
    status: [200, 416],
  },
  // Methods: only GET and HEAD reach files.
  ...['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND'].map((method) => ({
    name: `${method} a file`,
    request: req('/favicon.svg', ['Content-Length: 0'], method),
    status: [405] as (number | undefined)[],
  })),
  { name: 'CONNECT', request: req('127.0.0.1:9', [], 'CONNECT'), status: [400, 405, undefined] },
  { name: 'unknown method token', request: req('/', [], 'GETX'), status: [400, 405, undefined] },
  { name: 'OPTIONS *', request: req('*', [], 'OPTIONS'), status: [400, 405] },
  // URLs: absurd lengths, encodings, traversal.
  { name: 'an 8 KiB URL', request: req(`/${'a/'.repeat(4096)}`), status: [414] },
  { name: 'a 64 KiB URL', request: req(`/${'a'.repeat(65_536)}`), status: [414, 431, 400, undefined] },
  { name: 'malformed percent-encoding', request: req('/%E0%A4%A'), status: [400] },
  { name: 'a lone percent', request: req('/%'), status: [400] },
  { name: 'an encoded NUL', request: req('/favicon.svg%00.html'), status: [400] },
  {
    name: 'encoded traversal',
    request: req('/..%2f..%2f..%2f..%2fetc%2fpasswd'),
    status: [400, 403, 404],
    check: ({ head }) => expect(head).not.toMatch(/root:/),
  },
  { name: 'dot-dot segments', request: req('/%2e%2e/%2e%2e/%2e%2e/etc/passwd'), status: [400, 403, 404] },
  { name: 'backslash traversal', request: req('/..\\..\\etc\\passwd'), status: [400, 403, 404] },
  { name: 'absolute-form URL', request: req('http://evil.example/favicon.svg'), status: [200, 400] },
  // Request targets `new URL(target, base)` throws on: each one was a crasher too.
  { name: 'a path of two slashes', request: req('//'), status: [400] },
  { name: 'a path of three slashes', request: req('///'), status: [400] },
  { name: 'a bare scheme', request: req('http://'), status: [400] },
  {
    name: 'a WebSocket upgrade to //',
    request: req('//', [
      'Upgrade: websocket',
      'Connection: Upgrade',
      'Sec-WebSocket-Version: 13',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    ]).replace('Connection: close\r\n', ''),
    status: [400, 404],
  },
  // Headers: size, count, framing.
  {
    name: 'a 32 KiB header',
    request: req('/', [`X-Big: ${'b'.repeat(32_768)}`]),
    status: [431, 400, undefined],
  },
  {
    name: '3000 small headers',
    request: req(
      '/',
      Array.from({ length: 3000 }, (_, i) => `X-${i}: 1`),
    ),
    status: [431, 400, undefined],
  },
  {
    name: 'huge Accept-Encoding',
    request: req('/', [`Accept-Encoding: ${'gzip, '.repeat(900)}br`]),
    status: [200],
  },
  {
    name: 'huge If-None-Match',
    request: req('/', [`If-None-Match: ${'"x", '.repeat(1200)}`]),
    status: [200, 304],
  },
  {
    name: 'Content-Length and Transfer-Encoding',
    request: req('/', ['Content-Length: 5', 'Transfer-Encoding: chunked']),
    status: [400],
  },
  { name: 'negative Content-Length', request: req('/', ['Content-Length: -1']), status: [400] },
  { name: 'a NUL in a header', request: req('/', ['X-Nul: a\0b']), status: [400] },
  { name: 'HTTP/9.9', request: 'GET / HTTP/9.9\r\nHost: x\r\n\r\n', status: [400, 505] },
  { name: 'no Host on HTTP/1.1', request: 'GET / HTTP/1.1\r\nConnection: close\r\n\r\n', status: [200, 400] },
  {
    name: 'binary garbage',
    request: Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 37) % 256)),
    status: [400, undefined],
  },
  {
    name: '200 pipelined requests with inverted ranges',
    request: Array.from({ length: 200 }, () =>
      req('/favicon.svg', ['Range: bytes=3-1']).replace('Connection: close\r\n', ''),
    ).join(''),
    status: [200, 416],
  },
]

describe('hostile HTTP requests', () => {
  let target: Target | undefined
  // One process for the table; a fresh one only after a case killed it (so each case is judged alone).
  beforeEach(async () => {
    if (!target?.alive()) target = await startTarget()
  })
  afterAll(stopAll)

  it.each(CASES)('$name: answered for itself, the server lives on', async ({ request, status, check }) => {
    if (!target) throw new Error('no target')
    const reply = await rawRequest(target, request)
    expect(status, `got ${reply.status}: ${reply.head.slice(0, 300)}`).toContain(reply.status)
    check?.(reply)
    await expectServerHealthy(target)
  })
})

describe('connections that never finish a request', () => {
  afterAll(stopAll)

  /** Open `n` sockets from `from` that send half a request head and then nothing. */
  const halfOpen = (target: Target, n: number, from: string) =>
    Array.from({ length: n }, () => {
      const s: Socket = track(tcpConnect({ host: '127.0.0.1', port: target.port, localAddress: from }))
      s.on('error', () => {})
      s.resume() // read whatever comes (a 408), so the close is seen
      s.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ')
      return s
    })

  it('closes half-sent requests after the headers timeout, and a flood of them never locks out others', async () => {
    const target = await startTarget({ headersTimeoutMs: 1_000, requestTimeoutMs: 2_000 })
    const slow = halfOpen(target, 300, ATTACKER)
    const closedCount = () => slow.filter((s) => s.destroyed || s.readableEnded).length
    await new Promise((r) => setTimeout(r, 300))
    // One address holds at most its per-IP share of HTTP connections; the rest are dropped at once.
    expect(closedCount()).toBeGreaterThan(100)
    // While the survivors hang, another address is served as usual.
    await expectServerHealthy(target)
    expect((await rawRequest(target, req('/favicon.svg'), { localAddress: HONEST })).status).toBe(200)
    const deadline = performance.now() + 6_000
    while (closedCount() < slow.length && performance.now() < deadline)
      await new Promise((r) => setTimeout(r, 100))
    expect(closedCount()).toBe(slow.length)
    await expectServerHealthy(target)
  })
})
