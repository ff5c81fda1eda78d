import * as v from 'valibot'
import { AUDIO_ESSENCE } from './audio-mime.ts'
import { err, ok, type Result } from './result.ts'

/**
 * The data-channel codec: every message between two linked nodes. One frame is
 *
 *   [u8 version][u8 type][u16 header length H][H bytes UTF-8 JSON header][binary body]
 *
 * The JSON header carries the typed fields; the body carries raw bytes (no base64) for the
 * messages that have them. `decodeWire` is the only way in: it never throws and rejects anything
 * malformed, oversized or of unknown type.
 */

/**
 * 2: a record's track set commits to a signed descriptor per track (discover bodies carry
 * 64-byte entries, pieces-res names the descriptor's MIME and metadata hash). Version-1 frames
 * are refused as VERSION, so two generations never half-understand each other.
 */
export const WIRE_VERSION = 2

/** Largest frame sent or accepted. Chrome allows 256 KiB, but 64 KiB keeps control traffic fair. */
export const MAX_FRAME = 64 * 1024

/** Headers are typed records; most stay under this (a type may allow more, see SCHEMAS). */
export const MAX_HEADER = 8 * 1024

/**
 * Track entries per `discover` page, in the body: each is the content hash and the digest of the
 * track's descriptor, 32 raw bytes each (see descriptors.ts).
 */
export const PAGE_ENTRIES = 900
export const ENTRY_BYTES = 64
/** Pages in one full announcement: the most tracks a node announces is PAGE_ENTRIES × MAX_PAGES. */
export const MAX_PAGES = 16
export const MAX_ANNOUNCED = PAGE_ENTRIES * MAX_PAGES
/** Entries in a gossip digest, records in a peers response, hashes in a tracks request. */
export const MAX_DIGEST = 64
export const MAX_PEERS_SAMPLE = 32
export const MAX_TRACKS_PAGE = 32
/** Caps on untrusted text in track metadata (characters). */
export const MAX_TEXT = 256
/** Bytes of piece data per content-piece frame: a 256 KiB piece travels in 5 frames. */
export const CHUNK_BYTES = 60 * 1024
/** Pieces per track at most (2 GiB in 256 KiB pieces), and piece hashes per pieces-res page. */
export const MAX_PIECES = 8192
export const PIECES_PAGE = 1800

const PREFIX = 4

/** Wire type codes. Codes are never reused; a new message gets a new code. */
const TYPE_CODES = {
  hello: 1,
  proof: 2,
  ping: 3,
  pong: 4,
  discover: 5,
  'peers-req': 6,
  'peers-res': 7,
  'tracks-req': 8,
  'tracks-res': 9,
  'content-req': 10,
  'content-piece': 11,
  'content-error': 12,
  'pieces-req': 13,
  'pieces-res': 14,
  'content-cancel': 15,
} as const
type WireType = keyof typeof TYPE_CODES
const TYPE_BY_CODE = new Map<number, WireType>(
  Object.entries(TYPE_CODES).map(([name, code]) => [code, name as WireType]),
)

const Base64 = (max: number) => v.pipe(v.string(), v.maxLength(max), v.regex(/^[A-Za-z0-9+/]*={0,2}$/))
const RequestId = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffffffff))

export const KEY_ALGS = ['Ed25519', 'ECDSA-P256'] as const
export type KeyAlg = (typeof KEY_ALGS)[number]

const PeerId = v.pipe(v.string(), v.regex(/^[0-9a-f]{32}$/))
const Hash = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/))
const Count = (max: number) => v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(max))
/** Untrusted display text: capped, no control characters (they have no business in a title). */
// eslint-disable-next-line no-control-regex
const Text = v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_TEXT), v.regex(/^[^\u0000-\u001f\u007f]*$/))

/**
 * A node's signed announcement of itself: who it is (peer id and the key it derives from), a
 * version (its clock in ms, strictly increasing, so a replay is never newer), how long the record
 * stays valid, and its track set as a count and a root (sha256 over the entries, each a content
 * hash and its descriptor's digest, sorted by hash). The entries themselves travel beside it,
 * full or as a delta, and are checked against the root.
 */
export const RecordSchema = v.strictObject({
  peer: PeerId,
  alg: v.picklist(KEY_ALGS),
  key: Base64(256),
  ver: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(Number.MAX_SAFE_INTEGER)),
  /** Seconds the record stays valid after it is heard; 0 means the node is leaving. */
  ttl: Count(86_400),
  root: Hash,
  count: Count(MAX_ANNOUNCED),
  sig: Base64(128),
})
export type SignedRecord = v.InferOutput<typeof RecordSchema>

/** Track metadata as one node describes it to another: untrusted, capped, checked on arrival. */
export const TrackMetaSchema = v.strictObject({
  hash: Hash,
  size: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(2 ** 40)),
  /** Audio only (audio-mime.ts): this type is what /content/<hash> is served as. */
  mime: v.pipe(v.string(), v.maxLength(64), v.regex(AUDIO_ESSENCE)),
  container: v.exactOptional(Text),
  codec: v.exactOptional(Text),
  title: Text,
  artist: v.exactOptional(Text),
  album: v.exactOptional(Text),
  trackNo: v.exactOptional(Count(100_000)),
  durationS: v.exactOptional(v.pipe(v.number(), v.minValue(0), v.maxValue(1e6))),
  pieceSize: v.pipe(v.number(), v.integer(), v.minValue(1024), v.maxValue(16 * 1024 * 1024)),
  piecesRoot: Hash,
})
export type TrackMeta = v.InferOutput<typeof TrackMetaSchema>

/** Header schema per type, the largest body that type may carry, and (optionally) a larger header cap. */
const SCHEMAS = {
  /** Identity claim: the peer id, the public key it derives from, and a fresh challenge for the other side. */
  hello: {
    header: v.strictObject({
      type: v.literal('hello'),
      peerId: v.pipe(v.string(), v.regex(/^[0-9a-f]{32}$/)),
      alg: v.picklist(KEY_ALGS),
      publicKey: Base64(512),
      nonce: Base64(64),
    }),
    maxBody: 0,
  },
  /** Signature over the handshake transcript, proving possession of the private key. */
  proof: {
    header: v.strictObject({ type: v.literal('proof'), sig: Base64(256) }),
    maxBody: 0,
  },
  /** Liveness probe; the body (optional) is echoed back by `pong`. */
  ping: { header: v.strictObject({ type: v.literal('ping'), id: RequestId }), maxBody: MAX_FRAME - 64 },
  pong: { header: v.strictObject({ type: v.literal('pong'), id: RequestId }), maxBody: MAX_FRAME - 64 },
  /**
   * An announcement: a signed record plus its track entries (content hash ‖ descriptor digest,
   * raw) in the body — the full set (in `pages` frames for a large library) or the change since
   * version `base` (`adds` entries added, then the entries removed).
   */
  discover: {
    header: v.strictObject({
      type: v.literal('discover'),
      rec: RecordSchema,
      mode: v.picklist(['full', 'delta']),
      base: v.exactOptional(v.pipe(v.number(), v.integer(), v.minValue(1))),
      adds: Count(PAGE_ENTRIES),
      page: Count(MAX_PAGES - 1),
      pages: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_PAGES)),
    }),
    maxBody: PAGE_ENTRIES * ENTRY_BYTES,
  },
  /**
   * Push-pull gossip: "these are the versions I know" (a bounded sample); the answer carries
   * records the asker lacks or has older, a random sample besides, and what the answerer wants.
   */
  'peers-req': {
    header: v.strictObject({
      type: v.literal('peers-req'),
      id: RequestId,
      have: v.pipe(
        v.array(v.strictTuple([PeerId, v.pipe(v.number(), v.integer(), v.minValue(0))])),
        v.maxLength(MAX_DIGEST),
      ),
      max: Count(MAX_PEERS_SAMPLE),
    }),
    maxBody: 0,
  },
  'peers-res': {
    header: v.strictObject({
      type: v.literal('peers-res'),
      id: RequestId,
      /** Records with how long ago (ms) the answerer heard each one. */
      peers: v.pipe(
        v.array(v.strictObject({ rec: RecordSchema, seen: Count(86_400_000) })),
        v.maxLength(MAX_PEERS_SAMPLE),
      ),
      want: v.pipe(v.array(PeerId), v.maxLength(MAX_DIGEST)),
    }),
    maxBody: 0,
    maxHeader: 24 * 1024,
  },
  /** Metadata for content hashes, a page at a time. */
  'tracks-req': {
    header: v.strictObject({
      type: v.literal('tracks-req'),
      id: RequestId,
      hashes: v.pipe(v.array(Hash), v.minLength(1), v.maxLength(MAX_TRACKS_PAGE)),
    }),
    maxBody: 0,
  },
  'tracks-res': {
    header: v.strictObject({
      type: v.literal('tracks-res'),
      id: RequestId,
      tracks: v.pipe(v.array(TrackMetaSchema), v.maxLength(MAX_TRACKS_PAGE)),
      /** Asked-for hashes the answerer has no metadata for (ask someone else). */
      missing: v.pipe(v.array(Hash), v.maxLength(MAX_TRACKS_PAGE)),
    }),
    maxBody: 0,
    maxHeader: MAX_FRAME - 8,
  },
  /** Ask for one piece of a blob; answered by content-piece frames (or one content-error). */
  'content-req': {
    header: v.strictObject({
      type: v.literal('content-req'),
      id: RequestId,
      hash: Hash,
      index: Count(MAX_PIECES - 1),
    }),
    maxBody: 0,
  },
  /** Bytes [offset, offset + body) of the piece asked for by request `id`; `length` is the piece's size. */
  'content-piece': {
    header: v.strictObject({
      type: v.literal('content-piece'),
      id: RequestId,
      offset: Count(16 * 1024 * 1024),
      length: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(16 * 1024 * 1024)),
    }),
    maxBody: CHUNK_BYTES,
  },
  /**
   * The asker no longer wants the piece of request `id` (aborted, timed out, or a duplicate whose
   * other copy won): the holder stops sending it at the next frame. A cancel for a request the
   * holder does not have (never asked, or already sent) is ignored.
   */
  'content-cancel': {
    header: v.strictObject({ type: v.literal('content-cancel'), id: RequestId }),
    maxBody: 0,
  },
  'content-error': {
    header: v.strictObject({
      type: v.literal('content-error'),
      id: RequestId,
      code: v.picklist(['NOT_FOUND', 'BUSY', 'BAD_REQUEST']),
      message: v.pipe(v.string(), v.maxLength(200)),
    }),
    maxBody: 0,
  },
  /**
   * A blob's piece list, a page of hashes at a time, bound to its root; with the holder's MIME
   * and metadata hash, the header is the holder's whole descriptor for the track, checked
   * against the digest its signed record committed to.
   */
  'pieces-req': {
    header: v.strictObject({
      type: v.literal('pieces-req'),
      id: RequestId,
      hash: Hash,
      from: Count(MAX_PIECES - 1),
    }),
    maxBody: 0,
  },
  'pieces-res': {
    header: v.strictObject({
      type: v.literal('pieces-res'),
      id: RequestId,
      size: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(2 ** 40)),
      pieceSize: v.pipe(v.number(), v.integer(), v.minValue(1024), v.maxValue(16 * 1024 * 1024)),
      root: Hash,
      count: Count(MAX_PIECES),
      from: Count(MAX_PIECES),
      mime: TrackMetaSchema.entries.mime,
      meta: Hash,
    }),
    maxBody: PIECES_PAGE * 32,
  },
} satisfies Record<WireType, { header: v.GenericSchema; maxBody: number; maxHeader?: number }>

type HeaderOf<T extends WireType> = v.InferOutput<(typeof SCHEMAS)[T]['header']>

/** Every message on a link. Messages with a body carry it as `body` (raw bytes). */
export type Wire =
  | HeaderOf<'hello'>
  | HeaderOf<'proof'>
  | (HeaderOf<'ping'> & { body?: Uint8Array })
  | (HeaderOf<'pong'> & { body?: Uint8Array })
  | (HeaderOf<'discover'> & { body?: Uint8Array })
  | HeaderOf<'peers-req'>
  | HeaderOf<'peers-res'>
  | HeaderOf<'tracks-req'>
  | HeaderOf<'tracks-res'>
  | HeaderOf<'content-req'>
  | (HeaderOf<'content-piece'> & { body?: Uint8Array })
  | HeaderOf<'content-error'>
  | HeaderOf<'content-cancel'>
  | HeaderOf<'pieces-req'>
  | (HeaderOf<'pieces-res'> & { body?: Uint8Array })

export type WireOf<T extends Wire['type']> = Extract<Wire, { type: T }>
export type { WireType }

export type WireErrorCode = 'TOO_LARGE' | 'TRUNCATED' | 'VERSION' | 'UNKNOWN_TYPE' | 'BAD_HEADER' | 'BAD_BODY'
export type WireError = { code: WireErrorCode; message: string }

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/**
 * Encode a message into one frame: a buffer of its own, or the start of `into` (MAX_FRAME bytes,
 * from a FramePool) when given. Throws only on programmer error (a frame that could never be sent).
 */
export function encodeWire(msg: Wire, into?: Uint8Array): Uint8Array {
  const { body, ...header } = msg as Wire & { body?: Uint8Array }
  const json = JSON.stringify(header)
  // An ASCII header (every piece frame's) is as long in bytes as in characters: it is written
  // straight into the frame, which is the one buffer this message is ever copied into.
  const ascii = !NON_ASCII.test(json)
  const encoded = ascii ? undefined : encoder.encode(json)
  const headerLength = encoded?.length ?? json.length
  const bodyLength = body?.length ?? 0
  if (headerLength > headerCap(msg.type) || PREFIX + headerLength + bodyLength > MAX_FRAME) {
    throw new RangeError(
      `${msg.type} frame of ${PREFIX + headerLength + bodyLength} bytes exceeds ${MAX_FRAME}`,
    )
  }
  if (into && into.length < MAX_FRAME) throw new RangeError(`a frame buffer of ${into.length} bytes`)
  const size = PREFIX + headerLength + bodyLength
  const frame = into ? into.subarray(0, size) : new Uint8Array(size)
  frame[0] = WIRE_VERSION
  frame[1] = TYPE_CODES[msg.type]
  frame[2] = headerLength >>> 8
  frame[3] = headerLength & 0xff
  if (encoded) frame.set(encoded, PREFIX)
  else encoder.encodeInto(json, frame.subarray(PREFIX, PREFIX + headerLength))
  if (body) frame.set(body, PREFIX + headerLength)
  return frame
}

/**
 * Frame buffers to encode into, for a link that copies each frame out before its send resolves
 * (see Link.copiesOnSend): a holder sending a MiB makes 17 frames, and a fresh 60 KiB buffer each
 * costs the page more (allocation, first-touch, garbage collection) than the copy into it.
 */
export class FramePool {
  readonly #free: Uint8Array[] = []

  /** Keeps up to `keep` buffers (MAX_FRAME bytes each) for reuse; more are made as needed, then dropped. */
  constructor(readonly keep = 8) {}

  take(): Uint8Array {
    return this.#free.pop() ?? new Uint8Array(MAX_FRAME)
  }

  /** `buffer` (from `take`) is free again: nothing refers to the frame encoded into it any more. */
  give(buffer: Uint8Array): void {
    if (this.#free.length < this.keep && buffer.length === MAX_FRAME) this.#free.push(buffer)
  }

  /** Buffers waiting for reuse. */
  get free(): number {
    return this.#free.length
  }
}

// eslint-disable-next-line no-control-regex
const NON_ASCII = /[^\u0000-\u007f]/

/** Decode an untrusted frame. Never throws. */
export function decodeWire(frame: Uint8Array): Result<Wire, WireError> {
  if (frame.length > MAX_FRAME)
    return fail('TOO_LARGE', `frame of ${frame.length} bytes exceeds ${MAX_FRAME}`)
  if (frame.length < PREFIX) return fail('TRUNCATED', `frame of ${frame.length} bytes has no header`)
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength)
  const version = view.getUint8(0)
  if (version !== WIRE_VERSION) return fail('VERSION', `protocol version ${version} is not ${WIRE_VERSION}`)
  const type = TYPE_BY_CODE.get(view.getUint8(1))
  if (!type) return fail('UNKNOWN_TYPE', `unknown message type ${view.getUint8(1)}`)
  const headerLength = view.getUint16(2)
  if (headerLength > headerCap(type))
    return fail('TOO_LARGE', `${type} header of ${headerLength} bytes exceeds ${headerCap(type)}`)
  if (PREFIX + headerLength > frame.length) return fail('TRUNCATED', 'header runs past the end of the frame')

  let json: unknown
  try {
    json = JSON.parse(decoder.decode(frame.subarray(PREFIX, PREFIX + headerLength)))
  } catch {
    return fail('BAD_HEADER', `${type} header is not valid UTF-8 JSON`)
  }
  const { header, maxBody } = SCHEMAS[type]
  const parsed = v.safeParse(header, json)
  if (!parsed.success) return fail('BAD_HEADER', `${type}: ${describe(parsed.issues[0])}`)

  const body = frame.subarray(PREFIX + headerLength)
  if (body.length > maxBody)
    return fail('BAD_BODY', `${type} body of ${body.length} bytes exceeds ${maxBody}`)
  if (body.length === 0) return ok(parsed.output as Wire)
  // Copy the body out so the message never aliases a buffer the transport may reuse; a piece
  // frame's body is copied once by its only reader, into the piece it belongs to (piece-requests.ts).
  return ok({ ...parsed.output, body: type === 'content-piece' ? body : body.slice() } as Wire)
}

function headerCap(type: WireType): number {
  const spec = SCHEMAS[type] as { maxHeader?: number }
  return spec.maxHeader ?? MAX_HEADER
}

/** The encoded size of a message, without building it twice when the caller needs to budget. */
export function wireSize(msg: Wire): number {
  const { body, ...header } = msg as Wire & { body?: Uint8Array }
  return PREFIX + encoder.encode(JSON.stringify(header)).length + (body?.length ?? 0)
}

/** The largest header a message of this type may have. */
export { headerCap }

/** The type a frame claims, before any decoding (to pick a rate budget); undefined if unknown. */
export function wireTypeOf(frame: Uint8Array): WireType | undefined {
  return frame.length >= PREFIX ? TYPE_BY_CODE.get(frame[1]!) : undefined
}

function fail(code: WireErrorCode, message: string): Result<never, WireError> {
  return err({ code, message })
}

function describe(issue: v.BaseIssue<unknown>): string {
  const path = issue.path?.map((p) => String(p.key)).join('.')
  return path ? `${path}: ${issue.message}` : issue.message
}
