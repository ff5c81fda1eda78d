import { describe, expect, it } from 'vitest'
import { owned } from './content-worker.ts'

/** What a piece write hands the worker: its own buffer, moved; never a buffer other bytes share. */
describe('owned (piece buffers handed to the content worker)', () => {
  it('moves a view that spans its whole buffer: the caller keeps nothing, nothing is copied', () => {
    const piece = new Uint8Array([1, 2, 3, 4])
    const sent = owned(piece)
    expect(sent).toBe(piece)
    const { port1 } = new MessageChannel()
    port1.postMessage(sent, [sent.buffer])
    port1.close()
    expect(piece.byteLength).toBe(0) // detached: transferred, not cloned
  })

  it('copies a view of part of a larger buffer, so moving it cannot detach the bytes around it', () => {
    const frame = new Uint8Array([9, 9, 1, 2, 3, 9])
    const piece = frame.subarray(2, 5)
    const sent = owned(piece)
    expect(sent).not.toBe(piece)
    expect(sent.buffer).not.toBe(frame.buffer)
    expect([...sent]).toEqual([1, 2, 3])
    const { port1 } = new MessageChannel()
    port1.postMessage(sent, [sent.buffer])
    port1.close()
    expect([...frame]).toEqual([9, 9, 1, 2, 3, 9])
  })
})
