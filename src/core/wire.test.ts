import { describe, expect, it } from 'vitest'
import { decodeWire, encodeWire, MAX_FRAME, WIRE_VERSION, type Wire } from './wire.ts'

const samples: Wire[] = [
  { type: 'hello', peerId: 'a'.repeat(32), alg: 'Ed25519', publicKey: 'AAAA', nonce: 'QUJD' },
  { type: 'proof', sig: 'c2lnbmF0dXJl' },
  { type: 'ping', id: 7 },
  { type: 'ping', id: 0xffffffff, body: new Uint8Array([0, 1, 2, 255]) },
  { type: 'pong', id: 1, body: new Uint8Array(60_000).fill(9) },
]

function frame(type: number, header: unknown, body = new Uint8Array(0), version = WIRE_VERSION) {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header))
  const out = new Uint8Array(4 + json.length + body.length)
  new DataView(out.buffer).setUint16(2, json.length)
  out[0] = version
  out[1] = type
  out.set(json, 4)
  out.set(body, 4 + json.length)
  return out
}

describe('wire codec', () => {
  it.each(samples)('round-trips $type', (msg) => {
    const decoded = decodeWire(encodeWire(msg))
    expect(decoded).toEqual({ ok: true, value: msg })
  })

  it.each([
    ['an empty frame', new Uint8Array(0), 'TRUNCATED'],
    ['a frame over the size cap', new Uint8Array(MAX_FRAME + 1), 'TOO_LARGE'],
    ['another protocol version', frame(3, { type: 'ping', id: 1 }, undefined, 2), 'VERSION'],
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

  it('refuses to encode a frame it could never send', () => {
    expect(() => encodeWire({ type: 'ping', id: 1, body: new Uint8Array(MAX_FRAME) })).toThrow(RangeError)
  })

  it('copies the body out of the frame it was decoded from', () => {
    const bytes = encodeWire({ type: 'ping', id: 1, body: new Uint8Array([1, 2, 3]) })
    const decoded = decodeWire(bytes)
    bytes.fill(0)
    expect(decoded.ok && decoded.value.type === 'ping' && [...(decoded.value.body ?? [])]).toEqual([1, 2, 3])
  })

  it('never throws on random or mutated frames (fuzz)', () => {
    let seed = 42
    const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32
    const valid = samples.map(encodeWire)
    let accepted = 0
    for (let i = 0; i < 30_000; i++) {
      let bytes: Uint8Array
      if (i % 2 === 0) {
        bytes = new Uint8Array(Math.floor(rand() * 96)).map(() => Math.floor(rand() * 256))
        if (bytes.length > 1) bytes[0] = WIRE_VERSION
      } else {
        const base = valid[i % valid.length]!
        bytes = base.slice(0, Math.min(base.length, 200))
        for (let flips = 1 + Math.floor(rand() * 4); flips > 0; flips--) {
          bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256)
        }
      }
      const decoded = decodeWire(bytes)
      if (decoded.ok) {
        accepted++
        // Anything accepted must re-encode to a frame that decodes to the same message.
        expect(decodeWire(encodeWire(decoded.value))).toEqual(decoded)
      }
    }
    expect(accepted).toBeGreaterThan(0)
  })
})
