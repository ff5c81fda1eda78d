import { fromBase64, toBase64, toHex } from './bytes.ts'
import { peerIdOf, verifySignature, type Identity } from './identity.ts'
import type { SignedRecord } from './wire.ts'

/**
 * Signed peer records (see RecordSchema in wire.ts): making one for this node, checking one from
 * elsewhere, and the root that binds a record to its track set.
 */

/** SHA-256, as the platform provides it (WebCrypto in browsers and under Node). */
export type Sha256 = (data: Uint8Array) => Promise<Uint8Array>

/** Checks a record's signature and that its peer id derives from its key. */
export type RecordVerifier = (rec: SignedRecord) => Promise<boolean>

/** Signs records as this node. */
export type RecordSigner = {
  readonly peerId: string
  readonly alg: SignedRecord['alg']
  /** SPKI public key, base64. */
  readonly key: string
  sign(data: Uint8Array): Promise<Uint8Array>
}

// v2: the root commits to (content hash, descriptor digest) entries, not bare hashes.
const CONTEXT = 'dcmx record v2\0'

/** The bytes a record's signature covers: every field but the signature, in a fixed order. */
export function recordTranscript(rec: Omit<SignedRecord, 'sig'>): Uint8Array {
  const fields = [rec.peer, rec.alg, rec.key, rec.ver, rec.ttl, rec.root, rec.count]
  return new TextEncoder().encode(CONTEXT + fields.join('\0'))
}

export function signerFor(identity: Identity): RecordSigner {
  return {
    peerId: identity.peerId,
    alg: identity.alg,
    key: toBase64(identity.publicKey),
    sign: (data) => identity.sign(data),
  }
}

export async function signRecord(
  signer: RecordSigner,
  fields: Pick<SignedRecord, 'ver' | 'ttl' | 'root' | 'count'>,
): Promise<SignedRecord> {
  const unsigned = { peer: signer.peerId, alg: signer.alg, key: signer.key, ...fields }
  const sig = await signer.sign(recordTranscript(unsigned))
  return { ...unsigned, sig: toBase64(sig) }
}

/** The WebCrypto verifier: the key must hash to the peer id, and the signature must hold. */
export function webCryptoVerifier(subtle: SubtleCrypto): RecordVerifier {
  return async (rec) => {
    const key = fromBase64(rec.key)
    const sig = fromBase64(rec.sig)
    if (!key || !sig) return false
    if ((await peerIdOf(subtle, key)) !== rec.peer) return false
    return verifySignature(subtle, rec.alg, key, recordTranscript(rec), sig)
  }
}

/** One announced track: its content hash and the digest of its signed descriptor (both hex). */
export type TrackEntry = readonly [hash: string, desc: string]
/** A track set: content hash → descriptor digest. */
export type TrackEntries = ReadonlyMap<string, string>

/**
 * Root of a track set: SHA-256 over its entries (hash ‖ digest, raw) in ascending order of hash
 * (empty set included). Signing the root signs every track's descriptor.
 */
export async function trackSetRoot(
  sha256: Sha256,
  entries: TrackEntries | Iterable<TrackEntry>,
): Promise<string> {
  const set = entries instanceof Map ? (entries as TrackEntries) : new Map(entries)
  // The default sort on bare keys: several times faster than a comparator over pairs.
  const sorted = [...set.keys()].sort()
  const packed = new Uint8Array(sorted.length * 64)
  sorted.forEach((hash, i) => {
    writeHex(packed, i * 64, hash)
    writeHex(packed, i * 64 + 32, set.get(hash)!)
  })
  return toHex(await sha256(packed))
}

/** Entries to the raw 64-byte values a discover body carries. */
export function packEntries(entries: readonly TrackEntry[]): Uint8Array {
  const out = new Uint8Array(entries.length * 64)
  entries.forEach(([hash, desc], i) => {
    writeHex(out, i * 64, hash)
    writeHex(out, i * 64 + 32, desc)
  })
  return out
}

/** A discover body back into entries; undefined if it is not a whole number of them. */
export function unpackEntries(body: Uint8Array | undefined): TrackEntry[] | undefined {
  if (!body) return []
  if (body.length % 64 !== 0) return undefined
  const out: TrackEntry[] = []
  for (let i = 0; i < body.length; i += 64) out.push([hex32(body, i), hex32(body, i + 32)])
  return out
}

/** Hex hashes to raw 32-byte values (a pieces-res body). */
export function packHashes(hashes: readonly string[]): Uint8Array {
  const out = new Uint8Array(hashes.length * 32)
  hashes.forEach((hash, i) => writeHex(out, i * 32, hash))
  return out
}

/** Raw 32-byte values back into hex hashes; undefined if it is not a whole number of hashes. */
export function unpackHashes(body: Uint8Array | undefined): string[] | undefined {
  if (!body) return []
  if (body.length % 32 !== 0) return undefined
  const out: string[] = []
  for (let i = 0; i < body.length; i += 32) out.push(hex32(body, i))
  return out
}

/** Char codes of each byte's two hex digits. */
const HEX_CODES = new Uint16Array(512).map((_, i) =>
  '0123456789abcdef'.charCodeAt(i % 2 ? (i >> 1) & 15 : i >> 5),
)
const HEX_OUT = new Uint16Array(64)

/**
 * 32 bytes at `at` as lower-case hex, built flat in one call: a peer's full set is 14,400 of
 * these, and concatenating digit pairs made that several times slower (it is paid per record).
 */
function hex32(bytes: Uint8Array, at: number): string {
  for (let i = 0; i < 32; i++) {
    const b = bytes[at + i]!
    HEX_OUT[2 * i] = HEX_CODES[2 * b]!
    HEX_OUT[2 * i + 1] = HEX_CODES[2 * b + 1]!
  }
  // `apply` with a typed array, not a spread: the spread goes through the iterator, 4× slower.
  return String.fromCharCode.apply(null, HEX_OUT as unknown as number[])
}

/** Write lower-case hex (as the codec admits it) into `out` at `at`, without slicing strings. */
function writeHex(out: Uint8Array, at: number, hex: string) {
  for (let i = 0; i < hex.length >> 1; i++) {
    out[at + i] = (nibble(hex.charCodeAt(2 * i)) << 4) | nibble(hex.charCodeAt(2 * i + 1))
  }
}

function nibble(code: number): number {
  return code <= 57 ? code - 48 : (code | 32) - 87
}

/** WebCrypto SHA-256 as a Sha256. */
export function webCryptoSha256(subtle: SubtleCrypto): Sha256 {
  return async (data) => new Uint8Array(await subtle.digest('SHA-256', data as BufferSource))
}
