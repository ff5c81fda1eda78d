import * as v from 'valibot'
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

export const WIRE_VERSION = 1

/** Largest frame sent or accepted. Chrome allows 256 KiB, but 64 KiB keeps control traffic fair. */
export const MAX_FRAME = 64 * 1024

/** Headers are small typed records; a large one is a bug or an attack. */
export const MAX_HEADER = 8 * 1024

const PREFIX = 4

/** Wire type codes. Codes are never reused; a new message gets a new code. */
const TYPE_CODES = { hello: 1, proof: 2, ping: 3, pong: 4 } as const
type WireType = keyof typeof TYPE_CODES
const TYPE_BY_CODE = new Map<number, WireType>(
  Object.entries(TYPE_CODES).map(([name, code]) => [code, name as WireType]),
)

const Base64 = (max: number) => v.pipe(v.string(), v.maxLength(max), v.regex(/^[A-Za-z0-9+/]*={0,2}$/))
const RequestId = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffffffff))

export const KEY_ALGS = ['Ed25519', 'ECDSA-P256'] as const
export type KeyAlg = (typeof KEY_ALGS)[number]

/** Header schema per type, and the largest body that type may carry. */
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
} satisfies Record<WireType, { header: v.GenericSchema; maxBody: number }>

type HeaderOf<T extends WireType> = v.InferOutput<(typeof SCHEMAS)[T]['header']>

/** Every message on a link. Messages with a body carry it as `body` (raw bytes). */
export type Wire =
  | HeaderOf<'hello'>
  | HeaderOf<'proof'>
  | (HeaderOf<'ping'> & { body?: Uint8Array })
  | (HeaderOf<'pong'> & { body?: Uint8Array })

export type WireErrorCode = 'TOO_LARGE' | 'TRUNCATED' | 'VERSION' | 'UNKNOWN_TYPE' | 'BAD_HEADER' | 'BAD_BODY'
export type WireError = { code: WireErrorCode; message: string }

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/** Encode a message into one frame. Throws only on programmer error (a frame that could never be sent). */
export function encodeWire(msg: Wire): Uint8Array {
  const { body, ...header } = msg as Wire & { body?: Uint8Array }
  const json = encoder.encode(JSON.stringify(header))
  const bodyLength = body?.length ?? 0
  if (json.length > MAX_HEADER || PREFIX + json.length + bodyLength > MAX_FRAME) {
    throw new RangeError(
      `${msg.type} frame of ${PREFIX + json.length + bodyLength} bytes exceeds ${MAX_FRAME}`,
    )
  }
  const frame = new Uint8Array(PREFIX + json.length + bodyLength)
  const view = new DataView(frame.buffer)
  view.setUint8(0, WIRE_VERSION)
  view.setUint8(1, TYPE_CODES[msg.type])
  view.setUint16(2, json.length)
  frame.set(json, PREFIX)
  if (body) frame.set(body, PREFIX + json.length)
  return frame
}

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
  if (headerLength > MAX_HEADER)
    return fail('TOO_LARGE', `header of ${headerLength} bytes exceeds ${MAX_HEADER}`)
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
  // Copy the body out so the message never aliases a buffer the transport may reuse.
  return ok((body.length > 0 ? { ...parsed.output, body: body.slice() } : parsed.output) as Wire)
}

function fail(code: WireErrorCode, message: string): Result<never, WireError> {
  return err({ code, message })
}

function describe(issue: v.BaseIssue<unknown>): string {
  const path = issue.path?.map((p) => String(p.key)).join('.')
  return path ? `${path}: ${issue.message}` : issue.message
}
