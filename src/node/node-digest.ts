import { createHash, type Hash } from 'node:crypto'
import { PIECE_SIZE, type Digest } from '../core/content.ts'

/**
 * One streaming pass over a blob's bytes with node:crypto (native, SHA-NI where the CPU has it):
 * the whole-file SHA-256 and each fixed piece's SHA-256 at once. Memory stays bounded whatever the
 * file size: one hash state per kind and the 32-byte piece hashes.
 */
export class NodeDigester {
  #file: Hash = createHash('sha256')
  #piece: Hash = createHash('sha256')
  #pieceFill = 0
  #pieces: Buffer[] = []
  bytes = 0

  update(chunk: Uint8Array): void {
    this.#file.update(chunk)
    let at = 0
    while (at < chunk.length) {
      const take = Math.min(PIECE_SIZE - this.#pieceFill, chunk.length - at)
      this.#piece.update(chunk.subarray(at, at + take))
      this.#pieceFill += take
      at += take
      if (this.#pieceFill === PIECE_SIZE) this.#endPiece()
    }
    this.bytes += chunk.length
  }

  finish(): Digest {
    if (this.#pieceFill > 0) this.#endPiece()
    const piecesRoot = createHash('sha256').update(Buffer.concat(this.#pieces)).digest('hex')
    return {
      contentHash: this.#file.digest('hex'),
      size: this.bytes,
      pieces: this.#pieces.map((p) => p.toString('hex')),
      piecesRoot,
    }
  }

  #endPiece() {
    this.#pieces.push(this.#piece.digest())
    this.#piece = createHash('sha256')
    this.#pieceFill = 0
  }
}
