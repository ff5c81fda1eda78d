import { describe, expect, it } from 'vitest'
import { PieceBuffers } from './piece-buffers.ts'
import { PieceRequests } from './piece-requests.ts'
import { FakeClock } from './testing/fake-clock.ts'

const LENGTH = 1000

/** A piece's frames: `length` bytes of `fill + i`, cut into `frame`-byte bodies. */
function frames(id: number, fill: number, length = LENGTH, frame = 300) {
  const bytes = Uint8Array.from({ length }, (_, i) => (fill + i) & 0xff)
  const out = []
  for (let offset = 0; offset < length; offset += frame)
    out.push({
      type: 'content-piece' as const,
      id,
      offset,
      length,
      body: bytes.slice(offset, offset + frame),
    })
  return { bytes, frames: out }
}

function setup(buffers = new PieceBuffers()) {
  const penalties: string[] = []
  const requests = new PieceRequests(
    new FakeClock(),
    (kind) => void penalties.push(kind),
    () => {},
    undefined,
    buffers,
  )
  return { requests, penalties, buffers }
}

describe('PieceBuffers', () => {
  it('hands back a returned buffer of the right length, keeps at most its capacity, and only whole views', () => {
    const pool = new PieceBuffers(2)
    const a = new Uint8Array(LENGTH)
    pool.give(a)
    pool.give(a) // the same buffer twice is kept once
    pool.give(new Uint8Array(new ArrayBuffer(2 * LENGTH), 0, LENGTH)) // part of a larger buffer
    pool.give(new Uint8Array(0))
    expect(pool.idle).toBe(1)
    expect(pool.take(LENGTH - 1).buffer).not.toBe(a.buffer)
    expect(pool.take(LENGTH).buffer).toBe(a.buffer)
    expect(pool.idle).toBe(0)
    for (let i = 0; i < 3; i++) pool.give(new Uint8Array(LENGTH))
    expect(pool.idle).toBe(2)
    const moved = new Uint8Array(LENGTH)
    structuredClone(moved.buffer, { transfer: [moved.buffer] }) // detached: nothing to keep
    pool.take(LENGTH)
    pool.give(moved)
    expect(pool.idle).toBe(1)
  })
})

describe('PieceRequests with reused buffers', () => {
  it('a piece assembled in a used buffer holds exactly its own frames, nothing of the last piece', async () => {
    const { requests, buffers } = setup()
    const stale = new Uint8Array(LENGTH).fill(0xee)
    buffers.give(stale)
    const { id, promise } = requests.open(LENGTH)
    const { bytes, frames: parts } = frames(id, 7)
    for (const part of parts) requests.onPiece(part)
    const piece = await promise
    expect(piece.buffer).toBe(stale.buffer)
    expect(piece).toEqual(bytes)
  })

  it('a piece given up on mid-way returns its buffer, never handing out what it held', async () => {
    const { requests, buffers, penalties } = setup()
    const ac = new AbortController()
    const first = requests.open(LENGTH, ac.signal)
    first.promise.catch(() => {})
    const { frames: head } = frames(first.id, 1)
    requests.onPiece(head[0]!)
    ac.abort()
    await expect(first.promise).rejects.toThrow(/aborted/)
    expect(buffers.idle).toBe(1)
    // The aborted piece's later frames are dropped harmlessly; the next piece reuses its buffer.
    requests.onPiece(head[1]!)
    const second = requests.open(LENGTH)
    const { bytes, frames: parts } = frames(second.id, 99)
    for (const part of parts) requests.onPiece(part)
    expect(await second.promise).toEqual(bytes)
    expect(buffers.idle).toBe(0)
    expect(penalties).toEqual([])
  })

  it('frames out of order fail the piece (a bad piece) and its buffer goes back unread', async () => {
    const { requests, buffers, penalties } = setup()
    const { id, promise } = requests.open(LENGTH)
    promise.catch(() => {})
    const { frames: parts } = frames(id, 3)
    requests.onPiece(parts[0]!)
    requests.onPiece(parts[2]!)
    await expect(promise).rejects.toThrow(/out of order/)
    expect(penalties).toEqual(['bad-piece'])
    expect(buffers.idle).toBe(1)
  })
})
