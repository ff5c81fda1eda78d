import { describe, expect, it } from 'vitest'
import { mulberry32 } from './testing/mesh-sim.ts'
import {
  decodeWire,
  encodeWire,
  FramePool,
  headerCap,
  MAX_ANNOUNCED,
  MAX_DIGEST,
  MAX_FRAME,
  MAX_HEADER,
  MAX_PAGES,
  MAX_PEERS_SAMPLE,
  MAX_TEXT,
  MAX_TRACKS_PAGE,
  ENTRY_BYTES,
  PAGE_ENTRIES,
  WIRE_VERSION,
  type SignedRecord,
  type TrackMeta,
  type Wire,
  type WireErrorCode,
  type WireOf,
} from './wire.ts'

const samples: Wire[] = [
  { type: 'hello', peerId: 'a'.repeat(32), alg: 'Ed25519', publicKey: 'AAAA', nonce: 'QUJD' },
  { type: 'proof', sig: 'c2lnbmF0dXJl' },
  { type: 'ping', id: 7 },
  { type: 'ping', id: 0xffffffff, body: new Uint8Array([0, 1, 2, 255]) },
  { type: 'pong', id: 1, body: new Uint8Array(60_000).fill(9) },
]

/** Type codes as the encoder writes them (byte 1 of a frame). */
const CODES: Record<string, number> = Object.fromEntries([...samples].map((m) => [m.type, encodeWire(m)[1]!]))

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0').slice(-width)
const peerId = (n: number) => hex(n, 8).repeat(4)
const hash = (n: number) => hex(n, 8).repeat(8)

const rec = (n = 1): SignedRecord => ({
  peer: peerId(n),
  alg: n % 2 ? 'Ed25519' : 'ECDSA-P256',
  key: 'MCowBQYDK2VwAyEA' + 'A'.repeat(44),
  ver: 1_700_000_000_000 + n,
  ttl: 180,
  root: hash(n),
  count: 3,
  sig: 'B'.repeat(86) + '==',
})

const meta = (n: number, extra: Partial<TrackMeta> = {}): TrackMeta => ({
  hash: hash(n),
  size: 4_000_000,
  mime: 'audio/flac',
  container: 'FLAC',
  codec: 'FLAC',
  title: `Song ${n} — “quoted” \\ ünïcödé 🎵`,
  artist: 'Artist',
  album: 'Album',
  trackNo: 3,
  durationS: 215.5,
  pieceSize: 262_144,
  piecesRoot: hash(n + 1000),
  ...extra,
})

const bodyOf = (entries: number) => new Uint8Array(entries * ENTRY_BYTES).map((_, i) => (i * 7) & 0xff)

/** One valid message of every kind, at its smallest and at its largest. */
const meshSamples: Wire[] = [
  { type: 'discover', rec: rec(1), mode: 'full', adds: 0, page: 0, pages: 1, body: bodyOf(3) },
  { type: 'discover', rec: { ...rec(2), ttl: 0, count: 0 }, mode: 'full', adds: 0, page: 0, pages: 1 },
  {
    type: 'discover',
    rec: { ...rec(3), count: MAX_ANNOUNCED },
    mode: 'full',
    adds: 0,
    page: MAX_PAGES - 1,
    pages: MAX_PAGES,
    body: bodyOf(PAGE_ENTRIES),
  },
  { type: 'discover', rec: rec(4), mode: 'delta', base: 17, adds: 2, page: 0, pages: 1, body: bodyOf(3) },
  { type: 'peers-req', id: 1, have: [], max: 0 },
  {
    type: 'peers-req',
    id: 0xffffffff,
    have: Array.from({ length: MAX_DIGEST }, (_, i): [string, number] => [peerId(i), 1_700_000_000_000 + i]),
    max: MAX_PEERS_SAMPLE,
  },
  { type: 'peers-res', id: 2, peers: [], want: [] },
  {
    type: 'peers-res',
    id: 3,
    peers: Array.from({ length: MAX_PEERS_SAMPLE }, (_, i) => ({ rec: rec(i), seen: i * 1000 })),
    want: Array.from({ length: MAX_DIGEST }, (_, i) => peerId(i + 100)),
  },
  { type: 'tracks-req', id: 4, hashes: [hash(1)] },
  { type: 'tracks-req', id: 5, hashes: Array.from({ length: MAX_TRACKS_PAGE }, (_, i) => hash(i)) },
  { type: 'tracks-res', id: 6, tracks: [], missing: [hash(9)] },
  {
    type: 'tracks-res',
    id: 7,
    tracks: Array.from({ length: MAX_TRACKS_PAGE }, (_, i) =>
      i % 2
        ? meta(i)
        : { hash: hash(i), size: 1, mime: 'audio/mpeg', title: 'x', pieceSize: 1024, piecesRoot: hash(i) },
    ),
    missing: [],
  },
]

for (const m of meshSamples) CODES[m.type] = encodeWire(m)[1]!
const MESH_TYPES = ['discover', 'peers-req', 'peers-res', 'tracks-req', 'tracks-res'] as const

function frame(type: number, header: unknown, body: Uint8Array = new Uint8Array(0), version = WIRE_VERSION) {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header))
  const out = new Uint8Array(4 + json.length + body.length)
  new DataView(out.buffer).setUint16(2, json.length)
  out[0] = version
  out[1] = type
  out.set(json, 4)
  out.set(body, 4 + json.length)
  return out
}

/** A frame carrying `msg`'s header with some fields replaced (and its body, if any). */
function altered<T extends Wire['type']>(
  msg: WireOf<T>,
  change: (header: Record<string, unknown>) => unknown,
  body?: Uint8Array,
) {
  const { body: own, ...header } = msg as WireOf<T> & { body?: Uint8Array }
  return frame(CODES[msg.type]!, change(structuredClone(header) as Record<string, unknown>), body ?? own)
}

const sample = <T extends Wire['type']>(type: T, i = 0) =>
  meshSamples.filter((m) => m.type === type)[i] as WireOf<T>

/** A header of exactly `bytes` bytes for `type`: valid fields, padded with an unknown one. */
function padded(type: Wire['type'], bytes: number) {
  const { body: _body, ...header } = sample(type as 'peers-req') as Wire & { body?: Uint8Array }
  const base = JSON.stringify({ ...header, pad: '' })
  return frame(CODES[type]!, JSON.stringify({ ...header, pad: 'x'.repeat(bytes - base.length) }))
}

describe('wire codec', () => {
  it.each([...samples, ...meshSamples].map((msg) => [msg.type, msg] as const))(
    'round-trips %s',
    (_t, msg) => {
      const decoded = decodeWire(encodeWire(msg))
      expect(decoded).toEqual({ ok: true, value: msg })
    },
  )

  it.each([
    ['an empty frame', new Uint8Array(0), 'TRUNCATED'],
    ['a frame over the size cap', new Uint8Array(MAX_FRAME + 1), 'TOO_LARGE'],
    ['another protocol version', frame(3, { type: 'ping', id: 1 }, undefined, WIRE_VERSION + 1), 'VERSION'],
    [
      'the previous protocol version',
      frame(3, { type: 'ping', id: 1 }, undefined, WIRE_VERSION - 1),
      'VERSION',
    ],
    ['an unknown type code', frame(200, { type: 'ping', id: 1 }), 'UNKNOWN_TYPE'],
    ['a header length past the end', frame(3, { type: 'ping', id: 1 }).subarray(0, 8), 'TRUNCATED'],
    ['a header that is not JSON', frame(3, '{nope'), 'BAD_HEADER'],
    ['a header that is not UTF-8', frame(3, '\u0000').map((b, i) => (i === 4 ? 0xff : b)), 'BAD_HEADER'],
    ['a header whose type disagrees with its code', frame(3, { type: 'pong', id: 1 }), 'BAD_HEADER'],
    ['a missing field', frame(3, { type: 'ping' }), 'BAD_HEADER'],
    ['an extra field', frame(3, { type: 'ping', id: 1, x: 1 }), 'BAD_HEADER'],
    ['a negative id', frame(3, { type: 'ping', id: -1 }), 'BAD_HEADER'],
    ['a peer id that is not hex', frame(1, { ...samples[0], peerId: 'Z'.repeat(32) }), 'BAD_HEADER'],
    [
      'a body on a message that has none',
      frame(2, { type: 'proof', sig: 'AA==' }, new Uint8Array(1)),
      'BAD_BODY',
    ],
  ])('rejects %s', (_name, bytes, code) => {
    const decoded = decodeWire(bytes)
    expect(decoded.ok).toBe(false)
    if (!decoded.ok) expect(decoded.error.code).toBe(code)
  })

  const discover = sample('discover')
  const peersReq = sample('peers-req', 1)
  const peersRes = sample('peers-res', 1)
  const tracksReq = sample('tracks-req', 1)
  const tracksRes = sample('tracks-res', 1)
  const withTitle = (title: unknown) =>
    altered(sample('tracks-res'), (h) => ({ ...h, tracks: [{ ...meta(1), title }] }))
  const recWith = (change: Record<string, unknown>) =>
    altered(discover, (h) => ({ ...h, rec: { ...rec(1), ...change } }))
  const rejections: [string, Uint8Array, WireErrorCode][] = [
    // Header caps differ by type: a peers or tracks answer may be larger than a request.
    ['a peers-req header over its cap', padded('peers-req', headerCap('peers-req') + 1), 'TOO_LARGE'],
    ['a tracks-req header over its cap', padded('tracks-req', headerCap('tracks-req') + 1), 'TOO_LARGE'],
    ['a discover header over its cap', padded('discover', headerCap('discover') + 1), 'TOO_LARGE'],
    ['a peers-res header over its cap', padded('peers-res', headerCap('peers-res') + 1), 'TOO_LARGE'],
    ['a tracks-res header over its cap', padded('tracks-res', headerCap('tracks-res') + 1), 'TOO_LARGE'],
    // Entry counts.
    [
      'a digest of too many versions',
      altered(peersReq, (h) => ({ ...h, have: [...peersReq.have, [peerId(999), 1]] })),
      'BAD_HEADER',
    ],
    [
      'a peers-req asking for too many',
      altered(peersReq, (h) => ({ ...h, max: MAX_PEERS_SAMPLE + 1 })),
      'BAD_HEADER',
    ],
    [
      'too many records in a peers-res',
      altered(peersRes, (h) => ({ ...h, peers: [...peersRes.peers, peersRes.peers[0]] })),
      'BAD_HEADER',
    ],
    [
      'too many wants in a peers-res',
      altered(peersRes, (h) => ({ ...h, peers: [], want: [...peersRes.want, peerId(1)] })),
      'BAD_HEADER',
    ],
    [
      'too many hashes in a tracks-req',
      altered(tracksReq, (h) => ({ ...h, hashes: [...tracksReq.hashes, hash(99)] })),
      'BAD_HEADER',
    ],
    ['a tracks-req for nothing', altered(tracksReq, (h) => ({ ...h, hashes: [] })), 'BAD_HEADER'],
    [
      'too many tracks in a tracks-res',
      altered(tracksRes, (h) => ({ ...h, tracks: [...tracksRes.tracks.slice(0, 32), meta(1)] })),
      'BAD_HEADER',
    ],
    [
      'too many missing in a tracks-res',
      altered(tracksRes, (h) => ({
        ...h,
        tracks: [],
        missing: Array.from({ length: 33 }, (_, i) => hash(i)),
      })),
      'BAD_HEADER',
    ],
    ['a discover body over one page', altered(discover, (h) => h, bodyOf(PAGE_ENTRIES + 1)), 'BAD_BODY'],
    ['a discover page past the last', altered(discover, (h) => ({ ...h, page: MAX_PAGES })), 'BAD_HEADER'],
    [
      'a discover of too many pages',
      altered(discover, (h) => ({ ...h, pages: MAX_PAGES + 1 })),
      'BAD_HEADER',
    ],
    ['a discover of no pages', altered(discover, (h) => ({ ...h, pages: 0 })), 'BAD_HEADER'],
    [
      'a delta adding more than a page',
      altered(discover, (h) => ({ ...h, mode: 'delta', base: 1, adds: PAGE_ENTRIES + 1 })),
      'BAD_HEADER',
    ],
    ['an unknown discover mode', altered(discover, (h) => ({ ...h, mode: 'diff' })), 'BAD_HEADER'],
    ['a record announcing too many tracks', recWith({ count: MAX_ANNOUNCED + 1 }), 'BAD_HEADER'],
    ['a record valid for more than a day', recWith({ ttl: 86_401 }), 'BAD_HEADER'],
    ['a record of version 0', recWith({ ver: 0 }), 'BAD_HEADER'],
    ['a record of a fractional version', recWith({ ver: 1.5 }), 'BAD_HEADER'],
    ['a record of an unknown algorithm', recWith({ alg: 'RSA' }), 'BAD_HEADER'],
    ['a record whose key is not base64', recWith({ key: 'not base64!' }), 'BAD_HEADER'],
    ['a record with an oversized signature', recWith({ sig: 'A'.repeat(132) }), 'BAD_HEADER'],
    // Hex.
    ['an upper-case peer id in a record', recWith({ peer: peerId(0xabcdef12).toUpperCase() }), 'BAD_HEADER'],
    ['a short root', recWith({ root: hash(1).slice(1) }), 'BAD_HEADER'],
    [
      'a non-hex hash in a tracks-req',
      altered(tracksReq, (h) => ({ ...h, hashes: ['g'.repeat(64)] })),
      'BAD_HEADER',
    ],
    [
      'a non-hex peer id in a digest',
      altered(peersReq, (h) => ({ ...h, have: [['x'.repeat(32), 1]] })),
      'BAD_HEADER',
    ],
    [
      'a digest entry that is not a pair',
      altered(peersReq, (h) => ({ ...h, have: [[peerId(1)]] })),
      'BAD_HEADER',
    ],
    [
      'a negative digest version',
      altered(peersReq, (h) => ({ ...h, have: [[peerId(1), -1]] })),
      'BAD_HEADER',
    ],
    ['a non-hex want', altered(peersRes, (h) => ({ ...h, peers: [], want: ['A'.repeat(32)] })), 'BAD_HEADER'],
    [
      'a non-hex pieces root',
      altered(tracksRes, (h) => ({ ...h, tracks: [{ ...meta(1), piecesRoot: 'z'.repeat(64) }] })),
      'BAD_HEADER',
    ],
    // Untrusted text.
    ['a title with a newline', withTitle('two\nlines'), 'BAD_HEADER'],
    ['a title with a bell', withTitle('ding\u0007'), 'BAD_HEADER'],
    ['a title with DEL', withTitle('del\u007f'), 'BAD_HEADER'],
    ['a title with a NUL', withTitle('nul\u0000'), 'BAD_HEADER'],
    ['a title over the cap', withTitle('x'.repeat(MAX_TEXT + 1)), 'BAD_HEADER'],
    ['an empty title', withTitle(''), 'BAD_HEADER'],
    ['a title that is not text', withTitle(42), 'BAD_HEADER'],
    [
      'an artist with a control character',
      altered(tracksRes, (h) => ({ ...h, tracks: [{ ...meta(1), artist: 'a\u001bb' }] })),
      'BAD_HEADER',
    ],
    [
      'a mime type that is not one',
      altered(tracksRes, (h) => ({ ...h, tracks: [{ ...meta(1), mime: 'text/html; x' }] })),
      'BAD_HEADER',
    ],
    // Track metadata names audio only: a peer must not make /content/<hash> a page (issue 10).
    ...[
      'text/html',
      'image/svg+xml',
      'application/javascript',
      'text/xml',
      'application/xhtml+xml',
      'video/mp4',
      'audio',
    ].map((mime): [string, Uint8Array, WireErrorCode] => [
      `a non-audio mime type (${mime})`,
      altered(tracksRes, (h) => ({ ...h, tracks: [{ ...meta(1), mime }] })),
      'BAD_HEADER',
    ]),
    [
      'a track of size 0',
      altered(tracksRes, (h) => ({ ...h, tracks: [{ ...meta(1), size: 0 }] })),
      'BAD_HEADER',
    ],
    // Unknown fields, at every level.
    ['an unknown field in a discover', altered(discover, (h) => ({ ...h, extra: 1 })), 'BAD_HEADER'],
    ['an unknown field in a record', recWith({ extra: 1 }), 'BAD_HEADER'],
    [
      'an unknown field in a peers-res entry',
      altered(peersRes, (h) => ({ ...h, peers: [{ rec: rec(1), seen: 0, x: 1 }] })),
      'BAD_HEADER',
    ],
    [
      'an unknown field in track metadata',
      altered(tracksRes, (h) => ({ ...h, tracks: [{ ...meta(1), cover: 'x' }] })),
      'BAD_HEADER',
    ],
    ['an unknown field in a tracks-req', altered(tracksReq, (h) => ({ ...h, page: 1 })), 'BAD_HEADER'],
    [
      'a __proto__ field',
      frame(CODES['tracks-req']!, `{"type":"tracks-req","id":1,"hashes":["${hash(1)}"],"__proto__":{"x":1}}`),
      'BAD_HEADER',
    ],
  ]
  it.each(rejections)('rejects %s', (_name, bytes, code) => {
    const decoded = decodeWire(bytes)
    expect(decoded.ok ? 'accepted' : decoded.error.code).toBe(code)
  })

  it('accepts what sits right at each limit', () => {
    // Without this, the rejections above could pass for a codec that refuses everything.
    for (const type of MESH_TYPES) {
      // A header of exactly the cap gets past the size check (and fails only on its padding field).
      const atCap = decodeWire(padded(type, headerCap(type)))
      expect(atCap.ok ? 'accepted' : atCap.error.code, type).toBe('BAD_HEADER')
    }
    // Answers may be larger than requests.
    expect(encodeWire(peersRes).length).toBeGreaterThan(MAX_HEADER)
    expect(headerCap('tracks-res')).toBeGreaterThan(headerCap('peers-res'))
    expect(decodeWire(withTitle('x'.repeat(MAX_TEXT))).ok).toBe(true)
    expect(decodeWire(withTitle('ünïcödé 🎵 “quotes” \\ and a backslash')).ok).toBe(true)
    expect(decodeWire(recWith({ count: MAX_ANNOUNCED, ttl: 86_400 })).ok).toBe(true)
    expect(decodeWire(altered(discover, (h) => h, bodyOf(PAGE_ENTRIES))).ok).toBe(true)
  })

  it('refuses to encode a frame it could never send', () => {
    expect(() => encodeWire({ type: 'ping', id: 1, body: new Uint8Array(MAX_FRAME) })).toThrow(RangeError)
    const huge = {
      ...sample('peers-res'),
      want: [],
      peers: [{ rec: { ...rec(1), key: 'A'.repeat(256) }, seen: 0 }],
    }
    expect(() => encodeWire({ ...huge, peers: Array(200).fill(huge.peers[0]) })).toThrow(RangeError)
  })

  it('content-cancel: round-trips; refuses a body, a bad id or extra fields', () => {
    const cancel: Wire = { type: 'content-cancel', id: 0xffffffff }
    const encoded = encodeWire(cancel)
    expect(decodeWire(encoded)).toEqual({ ok: true, value: cancel })
    const code = encoded[1]!
    const rejected = (f: Uint8Array) => {
      const r = decodeWire(f)
      return r.ok ? undefined : r.error.code
    }
    expect(rejected(frame(code, { type: 'content-cancel', id: 1 }, new Uint8Array(1)))).toBe('BAD_BODY')
    expect(rejected(frame(code, { type: 'content-cancel', id: -1 }))).toBe('BAD_HEADER')
    expect(rejected(frame(code, { type: 'content-cancel', id: 2 ** 32 }))).toBe('BAD_HEADER')
    expect(rejected(frame(code, { type: 'content-cancel', id: 1, hash: 'x' }))).toBe('BAD_HEADER')
  })

  it('writes a non-ASCII header byte-exact, and a piece frame header in place', () => {
    const title = 'Ünïcödé — 🎵'
    const res: Wire = { type: 'tracks-res', id: 1, tracks: [meta(1, { title })], missing: [] }
    const decoded = decodeWire(encodeWire(res))
    expect(decoded.ok && decoded.value.type === 'tracks-res' && decoded.value.tracks[0]!.title).toBe(title)
    const body = new Uint8Array(60 * 1024).map((_, i) => i & 0xff)
    const piece = encodeWire({ type: 'content-piece', id: 3, offset: 0, length: 262_144, body })
    const back = decodeWire(piece)
    expect(back.ok && back.value.type === 'content-piece' && back.value.body).toEqual(body)
  })

  it('encodes into a pooled buffer the same bytes, at its start, and reuses only what is given back', () => {
    const body = new Uint8Array(60 * 1024).map((_, i) => (i * 7) & 0xff)
    const msg: Wire = { type: 'content-piece', id: 9, offset: 61_440, length: 262_144, body }
    const pool = new FramePool(1)
    const buffer = pool.take()
    buffer.fill(0xee) // what an earlier frame left there
    const frame = encodeWire(msg, buffer)
    expect(frame.buffer).toBe(buffer.buffer)
    expect(frame.byteOffset).toBe(0)
    expect(frame).toEqual(encodeWire(msg))
    // A non-ASCII header too, shorter than what was there before.
    const res: Wire = { type: 'tracks-res', id: 1, tracks: [meta(1, { title: 'Ünï 🎵' })], missing: [] }
    expect(encodeWire(res, buffer)).toEqual(encodeWire(res))
    expect(() => encodeWire(msg, new Uint8Array(1024))).toThrow(RangeError)
    expect(pool.take()).not.toBe(buffer) // still out: a fresh one
    pool.give(buffer)
    pool.give(new Uint8Array(MAX_FRAME)) // over `keep`: dropped
    expect(pool.free).toBe(1)
    expect(pool.take()).toBe(buffer)
  })

  it('copies the body out of the frame it was decoded from', () => {
    const bytes = encodeWire({ type: 'ping', id: 1, body: new Uint8Array([1, 2, 3]) })
    const decoded = decodeWire(bytes)
    bytes.fill(0)
    expect(decoded.ok && decoded.value.type === 'ping' && [...(decoded.value.body ?? [])]).toEqual([1, 2, 3])
  })

  it('never throws on 120,000 random and mutated frames of every type (fuzz)', () => {
    const rand = mulberry32(20_240_601)
    const int = (n: number) => Math.floor(rand() * n)
    const pick = <T>(items: readonly T[]): T => items[int(items.length)]!
    const all = [...samples, ...meshSamples]
    const valid = all.map((m) => encodeWire(m))
    const headers = all.map((m) => {
      const { body: _b, ...h } = m as Wire & { body?: Uint8Array }
      return h as Record<string, unknown>
    })
    const headerEnd = (f: Uint8Array) => 4 + ((f[2]! << 8) | f[3]!)

    /** A JSON value of the kinds a hostile peer might put in any field. */
    const randomValue = (depth = 0): unknown => {
      switch (int(depth > 2 ? 9 : 12)) {
        case 0:
          return int(2 ** 32) - 2 ** 31
        case 1:
          return pick([0, -0, -1, 1.5, 2 ** 53, 1e308, -1e-9, 0xffffffff, 0x100000000])
        case 2:
          return hash(int(1000))
        case 3:
          return peerId(int(1000))
        case 4:
          return pick(['', 'AAAA', 'a\u0000b', '\ud800', 'x'.repeat(int(400)), 'ECDSA-P256', 'full', 'delta'])
        case 5:
          return String.fromCharCode(...Array.from({ length: int(20) }, () => int(0x10000)))
        case 6:
          return null
        case 7:
          return rand() < 0.5
        case 8:
          return pick(['discover', 'peers-req', 'peers-res', 'tracks-req', 'tracks-res', 'ping'])
        case 9:
          return Array.from({ length: int(4) }, () => randomValue(depth + 1))
        case 10:
          return Object.fromEntries(
            Array.from({ length: int(4) }, () => [
              pick(['rec', 'hash', 'x', 'seen', 'title']),
              randomValue(depth + 1),
            ]),
          )
        default:
          return pick(headers)
      }
    }
    /** Replace one field somewhere in a header (nested ones included) with a random value. */
    const mutateHeader = (value: unknown, depth = 0): unknown => {
      if (Array.isArray(value) && value.length > 0) {
        const out = [...value]
        const i = int(out.length)
        out[i] = rand() < 0.5 && depth < 3 ? mutateHeader(out[i], depth + 1) : randomValue()
        return rand() < 0.1 ? out.slice(0, int(out.length + 1)) : out
      }
      if (value && typeof value === 'object') {
        const out = { ...(value as Record<string, unknown>) }
        const keys = Object.keys(out)
        const key = rand() < 0.1 ? pick(['extra', 'body', 'base', 'type']) : pick(keys)
        if (rand() < 0.1) delete out[key]
        else out[key] = rand() < 0.5 && depth < 3 ? mutateHeader(out[key], depth + 1) : randomValue()
        return out
      }
      return randomValue()
    }

    const mutators: ((i: number) => Uint8Array)[] = [
      // Random bytes behind a plausible prefix.
      () => {
        const bytes = new Uint8Array(int(300)).map(() => int(256))
        if (bytes.length > 1) bytes[0] = WIRE_VERSION
        if (bytes.length > 2 && rand() < 0.8) bytes[1] = 1 + int(16)
        return bytes
      },
      // Bit flips, mostly in the prefix and header where they change meaning.
      (i) => {
        const base = valid[i % valid.length]!
        const bytes = base.slice()
        const end = headerEnd(base)
        for (let flips = 1 + int(8); flips > 0; flips--) {
          const at = rand() < 0.9 ? int(Math.min(end, bytes.length)) : int(bytes.length)
          bytes[at]! ^= 1 << int(8)
        }
        return bytes
      },
      // Truncation.
      (i) => {
        const base = valid[i % valid.length]!
        return base.slice(0, int(Math.min(base.length, headerEnd(base) + 64) + 1))
      },
      // Splices: the front of one frame on the back of another, or random bytes in the middle.
      () => {
        const a = pick(valid)
        const b = pick(valid)
        if (rand() < 0.5) {
          const cut = int(Math.min(a.length, 600))
          const join = new Uint8Array(cut + Math.min(b.length, 600))
          join.set(a.subarray(0, cut))
          join.set(b.subarray(b.length - (join.length - cut)), cut)
          return join
        }
        const at = int(Math.min(a.length, headerEnd(a)) + 1)
        const junk = new Uint8Array(int(16)).map(() => int(256))
        const out = new Uint8Array(a.length + junk.length)
        out.set(a.subarray(0, at))
        out.set(junk, at)
        out.set(a.subarray(at), at + junk.length)
        return out
      },
      // Random header JSON: a valid header with fields replaced, under its own code or another.
      (i) => {
        const m = all[i % all.length]!
        const header = mutateHeader(headers[i % all.length])
        const code = rand() < 0.8 ? CODES[m.type]! : 1 + int(16)
        const body =
          rand() < 0.5
            ? ((m as { body?: Uint8Array }).body ?? undefined)
            : new Uint8Array(int(70)).map(() => int(256))
        return frame(code, rand() < 0.05 ? JSON.stringify(header).slice(0, -1) : header, body)
      },
      // A lying header length.
      (i) => {
        const bytes = valid[i % valid.length]!.slice()
        new DataView(bytes.buffer).setUint16(
          2,
          rand() < 0.5 ? int(0x10000) : headerEnd(bytes) - 4 + int(5) - 2,
        )
        return bytes
      },
    ]

    const CASES = 120_000
    const outcomes = new Map<string, number>()
    const problems: string[] = []
    for (let i = 0; i < CASES; i++) {
      const bytes = mutators[i % mutators.length]!(Math.floor(i / mutators.length))
      let outcome: string
      try {
        const decoded = decodeWire(bytes)
        outcome = decoded.ok ? `ok ${decoded.value.type}` : decoded.error.code
        if (decoded.ok) {
          // Anything accepted re-encodes to a frame that decodes to the same bytes again.
          const again = encodeWire(decoded.value)
          const back = decodeWire(again)
          if (!back.ok || !Buffer.from(encodeWire(back.value)).equals(Buffer.from(again))) {
            problems.push(`case ${i}: accepted but does not round-trip`)
          }
        } else if (typeof decoded.error.message !== 'string') problems.push(`case ${i}: no message`)
      } catch (error) {
        outcome = 'threw'
        problems.push(
          `case ${i}: threw ${String(error)} on ${Buffer.from(bytes.subarray(0, 80)).toString('hex')}`,
        )
      }
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1)
    }
    expect(problems.slice(0, 5)).toEqual([])
    expect([...outcomes.values()].reduce((a, b) => a + b, 0)).toBe(CASES)
    // The fuzz reached every stage of the decoder and got mutated frames of every mesh type through.
    for (const code of ['TRUNCATED', 'TOO_LARGE', 'UNKNOWN_TYPE', 'BAD_HEADER', 'BAD_BODY'] as const) {
      expect(outcomes.get(code) ?? 0, code).toBeGreaterThan(100)
    }
    for (const type of Object.keys(CODES)) expect(outcomes.get(`ok ${type}`) ?? 0, type).toBeGreaterThan(0)
    expect(Object.keys(CODES)).toEqual(expect.arrayContaining([...MESH_TYPES]))
  })
})
