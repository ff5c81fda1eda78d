import { createSHA256, type IHasher } from 'hash-wasm'
import { toHex } from '../core/bytes.ts'
import { PIECE_SIZE, type Digest } from '../core/content.ts'

/** One streaming pass over a blob's bytes: whole-file SHA-256 and per-piece SHA-256 at once. */
export interface Digester {
  /** Feed the next bytes; chunks may be any size and need not line up with pieces. */
  update(chunk: Uint8Array): void
  /** Bytes fed so far. */
  readonly bytes: number
  /** Finish the pass and return its digest; the digester cannot be used again. */
  finish(): Promise<Digest>
  /** Give the hasher back without a result (an aborted pass). Safe to call more than once. */
  release(): void
}

/**
 * Whole-file hashers kept for reuse: instantiating hash-wasm's WASM costs far more than init().
 * A worker normally runs one pass at a time and so holds one; concurrent passes take another
 * rather than interleaving updates on a shared hasher.
 */
const idle: IHasher[] = []

/** An idle hasher if there is one, else a new one; reset either way. Not given back: it is the caller's. */
export async function takeHasher(): Promise<IHasher> {
  const hasher = idle.pop() ?? (await createSHA256())
  hasher.init()
  return hasher
}

/**
 * Bytes hashed once when the worker has started. Fresh WebAssembly runs in V8's baseline tier until
 * it has done enough work to be optimised: the first 256 KiB piece of a download took about 25 ms
 * to hash there, on the way to the first sound of a track. Hashing this much while the worker is
 * idle gets the optimised code compiled before any piece or import needs it.
 */
export const WARM_BYTES = 512 * 1024

/** Run SHA-256 over WARM_BYTES of zeros and keep the hasher for the next pass. */
export async function warmHasher(): Promise<void> {
  const hasher = await takeHasher()
  hasher.update(new Uint8Array(WARM_BYTES))
  hasher.digest()
  idle.push(hasher)
}

/**
 * Start a digest pass. The whole-file hash streams through hash-wasm (WebCrypto cannot stream);
 * each fixed-size piece is a one-shot WebCrypto digest, which Chromium computes off this thread,
 * so the two hashes of every byte run in parallel instead of one after the other. Memory stays
 * bounded: one piece buffer and the 32-byte piece hashes.
 */
export async function createDigester(subtle: SubtleCrypto = crypto.subtle): Promise<Digester> {
  let file: IHasher | undefined = await takeHasher()
  const pieces: Promise<ArrayBuffer>[] = []
  const piece = new Uint8Array(PIECE_SIZE)
  let pieceFill = 0
  let bytes = 0

  const using = (): IHasher => {
    if (!file) throw new Error('digester already finished')
    return file
  }
  const release = () => {
    if (file) idle.push(file)
    file = undefined
  }
  // digest() copies its input before returning, so the piece buffer can be refilled at once.
  const hashPiece = (data: Uint8Array) => pieces.push(subtle.digest('SHA-256', data as BufferSource))

  return {
    get bytes() {
      return bytes
    },
    update(chunk) {
      using().update(chunk)
      let at = 0
      // Whole pieces straight from the chunk; only pieces split across chunks are copied.
      while (at < chunk.length) {
        if (pieceFill === 0 && chunk.length - at >= PIECE_SIZE) {
          hashPiece(chunk.subarray(at, at + PIECE_SIZE))
          at += PIECE_SIZE
          continue
        }
        const take = Math.min(PIECE_SIZE - pieceFill, chunk.length - at)
        piece.set(chunk.subarray(at, at + take), pieceFill)
        pieceFill += take
        at += take
        if (pieceFill === PIECE_SIZE) {
          hashPiece(piece)
          pieceFill = 0
        }
      }
      bytes += chunk.length
    },
    async finish() {
      const contentHash = using().digest('hex')
      release()
      if (pieceFill > 0) hashPiece(piece.subarray(0, pieceFill))
      const raw = (await Promise.all(pieces)).map((p) => new Uint8Array(p))
      // The root: SHA-256 over the raw 32-byte piece hashes, in order.
      const joined = new Uint8Array(raw.length * 32)
      raw.forEach((p, i) => joined.set(p, i * 32))
      const piecesRoot = toHex(new Uint8Array(await subtle.digest('SHA-256', joined)))
      return { contentHash, size: bytes, pieces: raw.map(toHex), piecesRoot }
    },
    release,
  }
}
