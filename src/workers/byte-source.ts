/**
 * What the tag readers read from: a Blob (read by byte ranges, each read a round trip to wherever
 * the Blob's bytes live), or a small file's bytes already in memory after one read.
 */
export type ByteSource = {
  readonly size: number
  slice(start?: number, end?: number): { arrayBuffer(): Promise<ArrayBuffer> }
}

/** Bytes in memory, read as a Blob is: a slice is a view, a read copies only what it returns. */
export class InMemory implements ByteSource {
  constructor(readonly bytes: Uint8Array) {}

  get size(): number {
    return this.bytes.length
  }

  slice(start?: number, end?: number): InMemory {
    return new InMemory(this.bytes.subarray(start, end))
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    return this.bytes.slice().buffer
  }
}
