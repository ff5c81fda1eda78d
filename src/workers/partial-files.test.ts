import { createHash, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { DcmxError } from '../core/errors.ts'
import { isPieceMismatch } from '../core/partial.ts'
import { OpfsStore } from '../platform/opfs-store.ts'
import { PartialFiles } from './partial-files.ts'
import { memoryOpfs, MemoryFile, type MemoryDir } from './testing/memory-opfs.ts'
import { decodeWorkerError, encodeWorkerError } from './worker-errors.ts'

const PIECE = 1024
const hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')
const piece = (bytes: Uint8Array, i: number) => bytes.slice(i * PIECE, (i + 1) * PIECE)
/** A piece and the digest its (here honest) list gives it. */
const ok = (bytes: Uint8Array) => [bytes, hex(bytes)] as const

/** A timer the test fires by hand: the batch of pieces is recorded when `fire()` runs it. */
function manualTimer() {
  let pending: (() => void) | undefined
  return {
    setTimer: (fn: () => void) => {
      pending = fn
      return () => (pending = undefined)
    },
    fire: () => {
      const fn = pending
      pending = undefined
      fn?.()
    },
  }
}

function setup(root: MemoryDir = memoryOpfs(), recordBytes = Infinity) {
  const timer = manualTimer()
  const files = new PartialFiles(async () => root, {
    recordBytes,
    setTimer: timer.setTimer,
    sleep: async () => {},
  })
  return { root, files, timer }
}

const track = (pieces: number, tail = 100) => {
  const bytes = new Uint8Array(randomBytes(pieces * PIECE + tail))
  return { bytes, hash: hex(bytes), count: pieces + (tail > 0 ? 1 : 0) }
}

const file = (root: MemoryDir, path: string) => root.files().get(path)

describe('PartialFiles (the content worker’s partial downloads over OPFS)', () => {
  it('writes pieces at their offsets in one file, in any order, and reads ranges across them', async () => {
    const { root, files } = setup()
    const { bytes, hash } = track(3)
    expect(await files.open(hash, bytes.length, PIECE)).toEqual([])
    await files.write(hash, 2, ...ok(piece(bytes, 2)))
    await files.write(hash, 0, ...ok(piece(bytes, 0)))
    await files.write(hash, 1, ...ok(piece(bytes, 1)))

    const data = file(root, `partial/${hash}`)!
    expect(data.data.length).toBe(bytes.length) // sized up front
    expect(data.data.subarray(0, 3 * PIECE)).toEqual(bytes.subarray(0, 3 * PIECE))
    expect([...root.files().keys()].sort()).toEqual([`partial/${hash}`, `partial/${hash}.state`])
    expect((await files.have(hash)).sort()).toEqual([0, 1, 2])
    expect(await files.read(hash, PIECE - 10, 2 * PIECE + 5)).toEqual(
      bytes.subarray(PIECE - 10, 2 * PIECE + 5),
    )
    await expect(files.read(hash, 3 * PIECE, 3 * PIECE + 1)).rejects.toThrow(/piece 3 is not downloaded/)
  })

  it('refuses a piece of the wrong length or index (nothing is written)', async () => {
    const { root, files } = setup()
    const { bytes, hash } = track(2)
    await files.open(hash, bytes.length, PIECE)
    await expect(files.write(hash, 2, ...ok(new Uint8Array(PIECE)))).rejects.toThrow(RangeError)
    await expect(files.write(hash, 3, ...ok(new Uint8Array(100)))).rejects.toThrow(RangeError)
    await expect(files.write(hash, 0, ...ok(new Uint8Array(PIECE - 1)))).rejects.toThrow(RangeError)
    expect(await files.have(hash)).toEqual([])
    expect(file(root, `partial/${hash}`)!.data).toEqual(new Uint8Array(bytes.length))
  })

  it('resumes after a crash with the recorded pieces only: what was not flushed and recorded is not held', async () => {
    const { root, files, timer } = setup()
    const { bytes, hash, count } = track(5)
    await files.open(hash, bytes.length, PIECE)
    await files.write(hash, 0, ...ok(piece(bytes, 0)))
    await files.write(hash, 3, ...ok(piece(bytes, 3)))
    timer.fire() // the batch is flushed, then recorded
    await files.write(hash, 1, ...ok(piece(bytes, 1))) // written, not yet flushed nor recorded
    root.crash()

    const again = setup(root).files
    expect((await again.open(hash, bytes.length, PIECE)).sort()).toEqual([0, 3])
    expect(await again.read(hash, 3 * PIECE, 4 * PIECE)).toEqual(piece(bytes, 3))
    await expect(again.read(hash, PIECE, PIECE + 1)).rejects.toThrow(/piece 1/)
    for (const i of [1, 2, 4, 5]) await again.write(hash, i, ...ok(piece(bytes, i)))
    expect((await again.have(hash)).length).toBe(count)
    expect(await again.complete(hash)).toBe(true)
    expect(file(root, `content/${hash.slice(0, 2)}/${hash}`)!.data).toEqual(bytes)
  })

  it('records pieces only after their bytes are flushed: a failed flush leaves them unheld after a crash', async () => {
    const { root, files, timer } = setup()
    const { bytes, hash } = track(2)
    await files.open(hash, bytes.length, PIECE)
    await files.write(hash, 0, ...ok(piece(bytes, 0)))
    file(root, `partial/${hash}`)!.faults.flush = true
    timer.fire() // the flush fails: nothing may be recorded
    root.crash()
    const again = setup(root).files
    expect(await again.open(hash, bytes.length, PIECE)).toEqual([])
  })

  it('a write cut short (the disk filled mid-piece) fails with QuotaExceededError and is not held', async () => {
    const { root, files, timer } = setup()
    const { bytes, hash } = track(2)
    await files.open(hash, bytes.length, PIECE)
    file(root, `partial/${hash}`)!.faults.shortWrite = 100
    await expect(files.write(hash, 1, ...ok(piece(bytes, 1)))).rejects.toMatchObject({
      name: 'QuotaExceededError',
    })
    await files.write(hash, 0, ...ok(piece(bytes, 0)))
    expect(await files.have(hash)).toEqual([0])
    await files.close(hash)
    timer.fire()
    expect(await setup(root).files.open(hash, bytes.length, PIECE)).toEqual([0])
  })

  it('records a batch once enough bytes are written, without waiting for the timer', async () => {
    const { root, files } = setup(memoryOpfs(), 2 * PIECE)
    const { bytes, hash } = track(4)
    await files.open(hash, bytes.length, PIECE)
    for (const i of [0, 1, 2]) await files.write(hash, i, ...ok(piece(bytes, i)))
    root.crash()
    expect((await setup(root).files.open(hash, bytes.length, PIECE)).sort()).toEqual([0, 1])
  })

  it('commits only after the whole-file hash: a wrong file is deleted and never reaches the content store', async () => {
    const root = memoryOpfs()
    const { files } = setup(root)
    const store = new OpfsStore(async () => root as unknown as FileSystemDirectoryHandle)
    const { bytes, hash, count } = track(2)
    await files.open(hash, bytes.length, PIECE)
    for (let i = 0; i < count; i++)
      await files.write(hash, i, ...ok(i === 1 ? new Uint8Array(PIECE) : piece(bytes, i)))
    // Every piece is in, but the download is not a stored blob (or a track) until it verifies.
    expect(await store.has(hash)).toBe(false)
    expect(await store.list()).toEqual([])
    expect(await files.complete(hash)).toBe(false)
    expect([...root.files().keys()]).toEqual([])
    expect(await files.list()).toEqual([])
    expect(await store.has(hash)).toBe(false)
  })

  it('refuses to complete with a piece missing, and keeps the download', async () => {
    const { files } = setup()
    const { bytes, hash } = track(2)
    await files.open(hash, bytes.length, PIECE)
    await files.write(hash, 0, ...ok(piece(bytes, 0)))
    expect(await files.complete(hash)).toBe(false)
    expect(await files.have(hash)).toEqual([0])
    expect(await files.list()).toEqual([hash])
  })

  it('moves a verified file in place: the content store sees it whole, the partial is gone', async () => {
    const root = memoryOpfs()
    const { files } = setup(root)
    const store = new OpfsStore(async () => root as unknown as FileSystemDirectoryHandle)
    const { bytes, hash, count } = track(3, 0)
    await files.open(hash, bytes.length, PIECE)
    const data = file(root, `partial/${hash}`)
    for (let i = 0; i < count; i++) await files.write(hash, i, ...ok(piece(bytes, i)))
    expect(await files.complete(hash)).toBe(true)
    // The same file object, renamed: no second copy was made.
    expect(file(root, `content/${hash.slice(0, 2)}/${hash}`)).toBe(data)
    expect(await store.list()).toEqual([hash])
    expect(await store.read(hash, 0, bytes.length)).toEqual(bytes)
    expect(await files.list()).toEqual([])
    expect([...root.files().keys()]).toEqual([`content/${hash.slice(0, 2)}/${hash}`])
    await expect(files.read(hash, 0, 1)).rejects.toThrow(DcmxError)
  })

  it('keeps the stored copy when another tab committed the same bytes first', async () => {
    const root = memoryOpfs()
    const { files } = setup(root)
    const { bytes, hash } = track(0)
    const shard = await (
      await root.getDirectoryHandle('content', { create: true })
    ).getDirectoryHandle(hash.slice(0, 2), { create: true })
    const stored = await shard.getFileHandle(hash, { create: true })
    stored.data = bytes.slice()
    await files.open(hash, bytes.length, PIECE)
    await files.write(hash, 0, ...ok(bytes.slice()))
    expect(await files.complete(hash)).toBe(true)
    expect(file(root, `content/${hash.slice(0, 2)}/${hash}`)).toBe(stored)
    expect(await files.list()).toEqual([])
  })

  it('starts over when the same hash is opened with another size (what was kept came from a liar)', async () => {
    const { root, files, timer } = setup()
    const hash = 'ab'.repeat(32)
    await files.open(hash, 5 * PIECE, PIECE)
    await files.write(hash, 0, ...ok(new Uint8Array(PIECE)))
    timer.fire()
    expect(await files.open(hash, 3 * PIECE, PIECE)).toEqual([])
    await files.close(hash)
    expect(await setup(root).files.open(hash, 3 * PIECE, PIECE)).toEqual([])
    expect(file(root, `partial/${hash}`)!.data.length).toBe(3 * PIECE)
  })

  it('does not trust a sidecar that is not this download’s (torn, or of another size)', async () => {
    const { root, files, timer } = setup()
    const { bytes, hash } = track(3)
    await files.open(hash, bytes.length, PIECE)
    await files.write(hash, 0, ...ok(piece(bytes, 0)))
    timer.fire()
    await files.close(hash)
    const state = file(root, `partial/${hash}.state`)!
    state.data = state.data.slice(0, 10)
    state.durable = state.data.slice()
    expect(await setup(root).files.open(hash, bytes.length, PIECE)).toEqual([])
  })

  it('a full disk fails the open with QuotaExceededError and leaves nothing behind', async () => {
    const root = memoryOpfs(10 * PIECE)
    const { files } = setup(root)
    const { bytes, hash } = track(20)
    await expect(files.open(hash, bytes.length, PIECE)).rejects.toMatchObject({ name: 'QuotaExceededError' })
    expect([...root.files().keys()]).toEqual([])
    expect(await files.list()).toEqual([])
  })

  it('a second writer of the same download (another tab) is refused with a clear error, never interleaved', async () => {
    const root = memoryOpfs()
    const first = setup(root).files
    const second = setup(root).files
    const { bytes, hash } = track(1)
    await first.open(hash, bytes.length, PIECE)
    await first.write(hash, 0, ...ok(piece(bytes, 0)))
    await expect(second.open(hash, bytes.length, PIECE)).rejects.toThrow(
      /Another tab is writing this download/,
    )
    await first.close(hash)
    expect(await second.open(hash, bytes.length, PIECE)).toEqual([0])
  })

  it('the store’s sweep of stale temporaries leaves a live partial alone', async () => {
    const root = memoryOpfs()
    const { files } = setup(root)
    const store = new OpfsStore(async () => root as unknown as FileSystemDirectoryHandle)
    const { bytes, hash } = track(1)
    await files.open(hash, bytes.length, PIECE)
    await files.write(hash, 0, ...ok(piece(bytes, 0)))
    await store.sweep()
    expect(await files.read(hash, 0, PIECE)).toEqual(piece(bytes, 0))
    expect(file(root, `partial/${hash}`)).toBeInstanceOf(MemoryFile)
  })

  it('verifies each piece as it writes it: wrong bytes are not written and reject as a bad piece', async () => {
    const { root, files } = setup()
    const { bytes, hash } = track(2)
    await files.open(hash, bytes.length, PIECE)
    const forged = piece(bytes, 1)
    forged[7]! ^= 1
    const error = await files.write(hash, 1, forged, hex(piece(bytes, 1))).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DcmxError)
    expect(isPieceMismatch(error)).toBe(true)
    // …and it still says so once it has crossed the worker boundary (Comlink keeps name and message).
    expect(isPieceMismatch(decodeWorkerError(encodeWorkerError(error)))).toBe(true)
    await expect(files.write(hash, 0, piece(bytes, 0), 'not a digest')).rejects.toThrow(RangeError)
    expect(await files.have(hash)).toEqual([])
    expect(file(root, `partial/${hash}`)!.data).toEqual(new Uint8Array(bytes.length))
    // The honest copy of the same piece is taken afterwards.
    await files.write(hash, 1, ...ok(piece(bytes, 1)))
    expect(await files.have(hash)).toEqual([1])
  })

  it('keeps the whole-file hash as pieces land, so completion reads nothing back', async () => {
    const { root, files } = setup()
    const { bytes, hash, count } = track(6)
    await files.open(hash, bytes.length, PIECE)
    for (let i = 0; i < count; i++) await files.write(hash, i, ...ok(piece(bytes, i)))
    const data = file(root, `partial/${hash}`)!
    expect(await files.complete(hash)).toBe(true)
    expect(data.bytesRead).toBe(0)
    expect(file(root, `content/${hash.slice(0, 2)}/${hash}`)!.data).toEqual(bytes)
  })

  it.each([
    { name: 'held in memory', aheadBytes: Infinity },
    { name: 'read back from the file', aheadBytes: 0 },
  ])(
    'the incremental hash equals the whole-file hash with pieces out of order ($name)',
    async ({ aheadBytes }) => {
      const root = memoryOpfs()
      const files = new PartialFiles(async () => root, { sleep: async () => {}, aheadBytes })
      const { bytes, hash, count } = track(9)
      await files.open(hash, bytes.length, PIECE)
      for (const i of [3, 1, 2, 9, 0, 8, 5, 4, 7, 6]) await files.write(hash, i, ...ok(piece(bytes, i)))
      expect(count).toBe(10)
      const data = file(root, `partial/${hash}`)!
      expect(await files.complete(hash)).toBe(true)
      // Pieces ahead of the prefix are read back at most once each, never the whole file again.
      expect(data.bytesRead).toBeLessThanOrEqual(aheadBytes === 0 ? 8 * PIECE : 0)
      expect(file(root, `content/${hash.slice(0, 2)}/${hash}`)!.data).toEqual(bytes)
    },
  )

  it('hands each piece’s buffer back once written, except one it keeps for the whole-file hash', async () => {
    const { files } = setup()
    const { bytes, hash } = track(3)
    await files.open(hash, bytes.length, PIECE)
    const [first, second, third] = [0, 1, 2].map((i) => piece(bytes, i))
    expect(await files.write(hash, 0, ...ok(first!))).toBe(first)
    expect(await files.write(hash, 2, ...ok(third!))).toBeUndefined() // ahead of the prefix: kept
    expect(await files.write(hash, 1, ...ok(second!))).toBe(second)
    expect(await files.write(hash, 1, ...ok(second!))).toBe(second) // already held: not written again
  })

  it('a resumed download hashes what is on disk once, then the rest as it lands (out of order)', async () => {
    const { root, files, timer } = setup()
    const { bytes, hash, count } = track(7)
    await files.open(hash, bytes.length, PIECE)
    for (const i of [0, 1, 4]) await files.write(hash, i, ...ok(piece(bytes, i)))
    timer.fire()
    root.crash()
    const again = setup(root).files
    expect((await again.open(hash, bytes.length, PIECE)).sort()).toEqual([0, 1, 4])
    for (const i of [6, 3, 7, 2, 5]) await again.write(hash, i, ...ok(piece(bytes, i)))
    expect((await again.have(hash)).length).toBe(count)
    const data = file(root, `partial/${hash}`)!
    expect(await again.complete(hash)).toBe(true)
    expect(data.bytesRead).toBeLessThanOrEqual(3 * PIECE)
    expect(file(root, `content/${hash.slice(0, 2)}/${hash}`)!.data).toEqual(bytes)
  })

  it('a resumed file whose bytes were damaged on disk fails the whole-file hash and is deleted', async () => {
    const { root, files, timer } = setup()
    const { bytes, hash, count } = track(3)
    await files.open(hash, bytes.length, PIECE)
    await files.write(hash, 0, ...ok(piece(bytes, 0)))
    timer.fire()
    await files.close(hash)
    const data = file(root, `partial/${hash}`)!
    data.data[5]! ^= 1
    data.durable = data.data.slice()
    const again = setup(root).files
    await again.open(hash, bytes.length, PIECE)
    for (let i = 1; i < count; i++) await again.write(hash, i, ...ok(piece(bytes, i)))
    expect(await again.complete(hash)).toBe(false)
    expect([...root.files().keys()]).toEqual([])
  })

  it('hashing a resumed download lets other calls run between its steps (another download streams meanwhile)', async () => {
    const root = memoryOpfs()
    const big = new Uint8Array(randomBytes(9 * 1024 * 1024)) // three 4 MiB read-back steps
    const bigHash = hex(big)
    const first = new PartialFiles(async () => root, { recordBytes: 1, sleep: async () => {} })
    await first.open(bigHash, big.length, 1024 * 1024)
    for (let i = 0; i < 9; i++)
      await first.write(bigHash, i, ...ok(big.slice(i * 1024 * 1024, (i + 1) * 1024 * 1024)))
    await first.close(bigHash)
    const small = track(1)
    const seen: Uint8Array[] = []
    let streaming = false
    const files: PartialFiles = new PartialFiles(async () => root, {
      sleep: async () => {},
      yieldToEvents: async () => void (streaming && seen.push(await files.read(small.hash, 0, 10))),
    })
    await files.open(small.hash, small.bytes.length, PIECE)
    await files.write(small.hash, 0, ...ok(piece(small.bytes, 0)))
    streaming = true
    expect((await files.open(bigHash, big.length, 1024 * 1024)).length).toBe(9)
    expect(await files.complete(bigHash)).toBe(true)
    expect(seen).toEqual([small.bytes.subarray(0, 10), small.bytes.subarray(0, 10)])
  })
})
