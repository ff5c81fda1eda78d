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
  finish(): Digest
  /** Give the hashers back without a result (an aborted pass). Safe to call more than once. */
  release(): void
}

type Hashers = { file: IHasher; piece: IHasher }

/**
 * Hashers kept for reuse: instantiating hash-wasm's WASM costs far more than init(). A worker
 * normally runs one pass at a time and so holds one pair; concurrent passes take another pair
 * rather than interleaving updates on a shared hasher.
 */
const idle: Hashers[] = []

async function acquire(): Promise<Hashers> {
  return idle.pop() ?? { file: await createSHA256(), piece: await createSHA256() }
}

/** Start a digest pass. Memory stays bounded: only the 32-byte piece hashes are kept. */
export async function createDigester(): Promise<Digester> {
  let hashers: Hashers | undefined = await acquire()
  hashers.file.init()
  hashers.piece.init()
  const pieces: Uint8Array[] = []
  let bytes = 0
  let pieceFill = 0

  const using = (): Hashers => {
    if (!hashers) throw new Error('digester already finished')
    return hashers
  }
  const release = () => {
    if (hashers) idle.push(hashers)
    hashers = undefined
  }

  return {
    get bytes() {
      return bytes
    },
    update(chunk) {
      const { file, piece } = using()
      file.update(chunk)
      for (let at = 0; at < chunk.length;) {
        const take = Math.min(PIECE_SIZE - pieceFill, chunk.length - at)
        piece.update(chunk.subarray(at, at + take))
        at += take
        pieceFill += take
        if (pieceFill === PIECE_SIZE) {
          pieces.push(piece.digest('binary').slice())
          piece.init()
          pieceFill = 0
        }
      }
      bytes += chunk.length
    },
    finish() {
      const { file, piece } = using()
      if (pieceFill > 0) pieces.push(piece.digest('binary').slice())
      const contentHash = file.digest('hex')
      // The root reuses the piece hasher: SHA-256 over the raw 32-byte piece hashes, in order.
      piece.init()
      for (const p of pieces) piece.update(p)
      const piecesRoot = piece.digest('hex')
      release()
      return { contentHash, size: bytes, pieces: pieces.map(toHex), piecesRoot }
    },
    release,
  }
}
