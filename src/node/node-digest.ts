import { createHash, type Hash } from 'node:crypto'
import { Worker } from 'node:worker_threads'
import { PIECE_SIZE, type Digest } from '../core/content.ts'

/** Piece hashing moves to a worker thread for files at least this large (a worker costs ~30 ms to start). */
export const PARALLEL_FROM_BYTES = 16 * 1024 * 1024

/**
 * The piece hasher as a worker thread: plain JavaScript with only node:crypto, so it runs without
 * the TypeScript loader. It answers each chunk with 1 (hashed) and `null` with the piece hashes.
 */
const PIECE_WORKER = `
const { parentPort } = require('node:worker_threads')
const { createHash } = require('node:crypto')
const SIZE = ${PIECE_SIZE}
let hash = createHash('sha256'), fill = 0
const out = []
parentPort.on('message', (chunk) => {
  if (chunk === null) {
    if (fill > 0) out.push(hash.digest())
    parentPort.postMessage(Buffer.concat(out))
    return
  }
  const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
  for (let at = 0; at < bytes.length; ) {
    const take = Math.min(SIZE - fill, bytes.length - at)
    hash.update(bytes.subarray(at, at + take))
    fill += take
    at += take
    if (fill === SIZE) { out.push(hash.digest()); hash = createHash('sha256'); fill = 0 }
  }
  parentPort.postMessage(1)
})`

/** Fixed-size piece hashes computed in this thread. */
class InlinePieces {
  #piece: Hash = createHash('sha256')
  #fill = 0
  #pieces: Buffer[] = []

  update(chunk: Uint8Array) {
    for (let at = 0; at < chunk.length;) {
      const take = Math.min(PIECE_SIZE - this.#fill, chunk.length - at)
      this.#piece.update(chunk.subarray(at, at + take))
      this.#fill += take
      at += take
      if (this.#fill === PIECE_SIZE) this.#end()
    }
    return Promise.resolve()
  }

  async finish(): Promise<Buffer[]> {
    if (this.#fill > 0) this.#end()
    return this.#pieces
  }

  release() {}

  #end() {
    this.#pieces.push(this.#piece.digest())
    this.#piece = createHash('sha256')
    this.#fill = 0
  }
}

/** Fixed-size piece hashes computed in a worker thread, in parallel with the whole-file hash. */
class WorkerPieces {
  readonly #worker = new Worker(PIECE_WORKER, { eval: true })
  #acks: { resolve: () => void; reject: (error: Error) => void }[] = []
  #result: ((hashes: Buffer) => void) | undefined
  #failed: Error | undefined

  constructor() {
    this.#worker.on('message', (message: number | Uint8Array) => {
      if (message === 1) {
        this.#acks.shift()?.resolve()
      } else this.#result?.(Buffer.from(message as Uint8Array))
    })
    this.#worker.on('error', (error) => {
      this.#failed = error
      for (const ack of this.#acks.splice(0)) ack.reject(error)
    })
  }

  /**
   * Hand a chunk over; resolves once the worker has hashed it (so its buffer may be reused). A view
   * of a SharedArrayBuffer is shared, not copied; any other is copied by postMessage.
   */
  update(chunk: Uint8Array): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed)
    this.#worker.postMessage(chunk)
    return new Promise<void>((resolve, reject) => this.#acks.push({ resolve, reject }))
  }

  async finish(): Promise<Buffer[]> {
    const joined = await new Promise<Buffer>((resolve, reject) => {
      this.#result = resolve
      if (this.#failed) reject(this.#failed)
      this.#worker.once('error', reject)
      this.#worker.postMessage(null)
    })
    this.release()
    const pieces: Buffer[] = []
    for (let at = 0; at < joined.length; at += 32) pieces.push(joined.subarray(at, at + 32))
    return pieces
  }

  release() {
    void this.#worker.terminate()
  }
}

/**
 * One streaming pass over a blob's bytes with node:crypto (native, SHA-NI where the CPU has it):
 * the whole-file SHA-256 and each fixed piece's SHA-256 at once. For a large file (`sizeHint` ≥
 * PARALLEL_FROM_BYTES) the pieces are hashed in a worker thread while this thread hashes the whole,
 * so the two passes take one pass's time on two cores. Memory stays bounded whatever the file size.
 */
export class NodeDigester {
  #file: Hash = createHash('sha256')
  #pieces: InlinePieces | WorkerPieces
  bytes = 0

  constructor(sizeHint = 0) {
    this.#pieces = sizeHint >= PARALLEL_FROM_BYTES ? new WorkerPieces() : new InlinePieces()
  }

  /**
   * Feed the next bytes. The whole-file hash takes them at once; the returned promise settles once
   * the piece hasher has them too, and only then may `chunk`'s memory be reused.
   */
  update(chunk: Uint8Array): Promise<void> {
    this.#file.update(chunk)
    this.bytes += chunk.length
    return this.#pieces.update(chunk)
  }

  async finish(): Promise<Digest> {
    const pieces = await this.#pieces.finish()
    const piecesRoot = createHash('sha256').update(Buffer.concat(pieces)).digest('hex')
    return {
      contentHash: this.#file.digest('hex'),
      size: this.bytes,
      pieces: pieces.map((p) => p.toString('hex')),
      piecesRoot,
    }
  }

  /** Stop without a result (an aborted or failed pass). */
  release(): void {
    this.#pieces.release()
  }
}
