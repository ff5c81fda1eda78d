import { createHash, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { OpfsStore } from '../platform/opfs-store.ts'
import { ReadHandles, releasingAcrossTabs, type ReleaseChannel } from './read-handles.ts'
import { memoryOpfs, type MemoryDir, type MemoryFile } from './testing/memory-opfs.ts'

const hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

/** Store `count` random blobs at their shard paths; their hashes and files. */
async function stored(root: MemoryDir, count: number, size = 4096) {
  const content = await root.getDirectoryHandle('content', { create: true })
  const blobs: { hash: string; bytes: Uint8Array; file: MemoryFile }[] = []
  for (let i = 0; i < count; i++) {
    const bytes = new Uint8Array(randomBytes(size))
    const hash = hex(bytes)
    const shard = await content.getDirectoryHandle(hash.slice(0, 2), { create: true })
    const file = await shard.getFileHandle(hash, { create: true })
    file.data = bytes.slice()
    file.durable = bytes.slice()
    blobs.push({ hash, bytes, file })
  }
  return blobs
}

/** Timers fired by hand: each pending one by its id. */
function manualTimers() {
  const pending = new Map<number, () => void>()
  let next = 0
  return {
    setTimer: (fn: () => void) => {
      const id = next++
      pending.set(id, fn)
      return () => void pending.delete(id)
    },
    fireAll: () => {
      const due = [...pending.values()]
      pending.clear()
      for (const fn of due) fn()
    },
    get count() {
      return pending.size
    },
  }
}

/** Count the sync handles opened on `file`. */
function countOpens(file: MemoryFile) {
  const counts = { opens: 0 }
  const open = file.createSyncAccessHandle.bind(file)
  file.createSyncAccessHandle = (options) => {
    counts.opens++
    return open(options)
  }
  return counts
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0))

describe('ReadHandles', () => {
  it('reads ranges through one read-only handle, reused from read to read', async () => {
    const root = memoryOpfs()
    const [blob] = await stored(root, 1, 64 * 1024)
    const counts = countOpens(blob!.file)
    const reads = new ReadHandles(async () => root, { setTimer: manualTimers().setTimer })
    for (let i = 0; i < 16; i++) {
      const bytes = await reads.read(blob!.hash, i * 4096, (i + 1) * 4096)
      expect(bytes).toEqual(blob!.bytes.subarray(i * 4096, (i + 1) * 4096))
      // A fresh buffer of its own, so it can be transferred whole.
      expect(bytes.byteLength).toBe(bytes.buffer.byteLength)
    }
    expect(counts.opens).toBe(1)
    expect(blob!.file.readers.size).toBe(1)
    expect([...blob!.file.readers][0]!.readOnly).toBe(true)
    // getFile still works beside it (the player reads the same blob).
    expect(new Uint8Array(await (await blob!.file.getFile()).arrayBuffer())).toEqual(blob!.bytes)
  })

  it('clips a range past the end like a Blob slice, and a missing blob is NOT_FOUND', async () => {
    const root = memoryOpfs()
    const [blob] = await stored(root, 1, 1000)
    const reads = new ReadHandles(async () => root)
    expect(await reads.read(blob!.hash, 900, 2000)).toEqual(blob!.bytes.subarray(900))
    await expect(reads.read('cd'.repeat(32), 0, 3)).rejects.toMatchObject({ code: 'NOT_FOUND' })
    await expect(reads.read('../etc', 0, 3)).rejects.toMatchObject({ code: 'NOT_FOUND' })
    await expect(reads.read(blob!.hash, 10, 5)).rejects.toThrow(RangeError)
    await reads.releaseAll()
  })

  it('keeps at most `capacity` handles open, closing the least recently used', async () => {
    const root = memoryOpfs()
    const blobs = await stored(root, 5)
    const reads = new ReadHandles(async () => root, { capacity: 2, setTimer: manualTimers().setTimer })
    for (const { hash } of blobs) await reads.read(hash, 0, 10)
    await settle()
    expect(reads.size).toBe(2)
    expect(blobs.map((b) => b.file.readers.size)).toEqual([0, 0, 0, 1, 1])
    // The evicted one opens again when asked.
    expect(await reads.read(blobs[0]!.hash, 0, 10)).toEqual(blobs[0]!.bytes.subarray(0, 10))
  })

  it('closes a handle left unused, and reopens it on the next read', async () => {
    const root = memoryOpfs()
    const [blob] = await stored(root, 1)
    const timers = manualTimers()
    const reads = new ReadHandles(async () => root, { setTimer: timers.setTimer })
    await reads.read(blob!.hash, 0, 10)
    await reads.read(blob!.hash, 10, 20)
    // Each read restarts the idle timer: one pending, not one per read.
    expect(timers.count).toBe(1)
    timers.fireAll()
    await settle()
    expect(blob!.file.readers.size).toBe(0)
    expect(reads.size).toBe(0)
    expect(await reads.read(blob!.hash, 0, 10)).toEqual(blob!.bytes.subarray(0, 10))
  })

  it('reads into a buffer it is given when it is large enough, else into a fresh one', async () => {
    const root = memoryOpfs()
    const [blob] = await stored(root, 1)
    const reads = new ReadHandles(async () => root)
    const given = new Uint8Array(100)
    const bytes = await reads.read(blob!.hash, 10, 60, given.subarray(20, 30))
    expect(bytes.buffer).toBe(given.buffer)
    expect(bytes.byteOffset).toBe(0)
    expect(bytes).toEqual(blob!.bytes.subarray(10, 60))
    const fresh = await reads.read(blob!.hash, 0, 200, given)
    expect(fresh.buffer).not.toBe(given.buffer)
    expect(fresh).toEqual(blob!.bytes.subarray(0, 200))
    await reads.releaseAll()
  })

  it('reopens once a handle the browser closed under it', async () => {
    const root = memoryOpfs()
    const [blob] = await stored(root, 1)
    const reads = new ReadHandles(async () => root)
    await reads.read(blob!.hash, 0, 10)
    for (const reader of [...blob!.file.readers]) reader.close()
    expect(await reads.read(blob!.hash, 0, 10)).toEqual(blob!.bytes.subarray(0, 10))
    await reads.releaseAll()
  })

  it('says read-only mode works only where two read-only handles share a file, writing no content file', async () => {
    for (const readOnlyMode of [true, false]) {
      const root = memoryOpfs(Infinity, { readOnlyMode })
      const [blob] = await stored(root, 1)
      const before = [...root.files().keys()]
      expect(await new ReadHandles(async () => root).supported('probe-1')).toBe(readOnlyMode)
      // The probe file is gone and nothing else changed.
      expect([...root.files().keys()]).toEqual(before)
      expect(blob!.file.data).toEqual(blob!.bytes)
      expect(blob!.file.locked).toBe(false)
    }
  })

  it('a release on one tab closes the other tabs’ handles on that file', async () => {
    const root = memoryOpfs()
    const [blob] = await stored(root, 1)
    // Two tabs' workers on one origin, linked as BroadcastChannel links them (not to themselves).
    const listeners: ((event: { data: unknown }) => void)[][] = [[], []]
    const channel = (me: number): ReleaseChannel => ({
      postMessage: (data) => listeners[1 - me]!.forEach((listen) => listen({ data })),
      addEventListener: (_, listen) => void listeners[me]!.push(listen),
    })
    const tabs = [0, 1].map((i) => releasingAcrossTabs(new ReadHandles(async () => root), channel(i)))
    await tabs[0]!.read(blob!.hash, 0, 10)
    await tabs[1]!.read(blob!.hash, 0, 10)
    expect(blob!.file.readers.size).toBe(2)
    await tabs[1]!.release(blob!.hash)
    await settle()
    expect(blob!.file.readers.size).toBe(0)
  })
})

describe('OpfsStore over read handles', () => {
  const storeOver = (root: MemoryDir, reads = new ReadHandles(async () => root)) => ({
    store: new OpfsStore(async () => root as unknown as FileSystemDirectoryHandle, reads),
    reads,
  })

  it('serves reads through one read-only handle, without a File snapshot', async () => {
    const root = memoryOpfs()
    const [blob] = await stored(root, 1, 8192)
    let snapshots = 0
    const getFile = blob!.file.getFile.bind(blob!.file)
    blob!.file.getFile = () => (snapshots++, getFile())
    const { store, reads } = storeOver(root)
    for (let i = 0; i < 4; i++)
      expect(await store.read(blob!.hash, i * 2048, (i + 1) * 2048)).toEqual(
        blob!.bytes.subarray(i * 2048, (i + 1) * 2048),
      )
    expect(snapshots).toBe(0)
    expect(blob!.file.readers.size).toBe(1)
    await reads.releaseAll()
  })

  it('closes the handle before a delete, so the delete succeeds and later reads are NOT_FOUND', async () => {
    const root = memoryOpfs()
    const [blob] = await stored(root, 1)
    const { store } = storeOver(root)
    await store.read(blob!.hash, 0, 10)
    expect(blob!.file.locked).toBe(true)
    await store.delete(blob!.hash)
    expect(await store.has(blob!.hash)).toBe(false)
    await expect(store.read(blob!.hash, 0, 10)).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })

  it('a read asked for while its blob is being deleted is NOT_FOUND, and does not hold the delete up', async () => {
    const root = memoryOpfs()
    const [blob] = await stored(root, 1)
    const { store } = storeOver(root)
    await store.read(blob!.hash, 0, 10)
    const deleted = store.delete(blob!.hash)
    const during = store.read(blob!.hash, 0, 10)
    await expect(during).rejects.toMatchObject({ code: 'NOT_FOUND' })
    await deleted
    expect(await store.has(blob!.hash)).toBe(false)
  })

  it('a delete waits for a handle another tab holds (one that missed the request) to close', async () => {
    const root = memoryOpfs()
    const [blob] = await stored(root, 1)
    const { store } = storeOver(root)
    const elsewhere = new ReadHandles(async () => root)
    await elsewhere.read(blob!.hash, 0, 10)
    setTimeout(() => void elsewhere.release(blob!.hash), 200) // its idle close
    await store.delete(blob!.hash)
    expect(await store.has(blob!.hash)).toBe(false)
  })

  it('keeps the Blob path where the browser ignores read-only mode, and never holds a content file', async () => {
    const root = memoryOpfs(Infinity, { readOnlyMode: false })
    const [blob] = await stored(root, 1)
    const counts = countOpens(blob!.file)
    const { store } = storeOver(root)
    expect(await store.read(blob!.hash, 5, 50)).toEqual(blob!.bytes.subarray(5, 50))
    expect(counts.opens).toBe(0)
    expect(blob!.file.locked).toBe(false)
    await store.delete(blob!.hash)
    expect(await store.has(blob!.hash)).toBe(false)
  })

  it('reads into the buffers the server gives back, a few of them; the Blob path keeps none', async () => {
    const root = memoryOpfs()
    const [blob] = await stored(root, 1, 8192)
    const given: Uint8Array[] = []
    const reads = new ReadHandles(async () => root)
    const store = new OpfsStore(async () => root as unknown as FileSystemDirectoryHandle, {
      supported: (name) => reads.supported(name),
      read: (hash, start, end, into) => (into && given.push(into), reads.read(hash, start, end, into)),
      release: (hash) => reads.release(hash),
    })
    const first = await store.read(blob!.hash, 0, 4096)
    store.recycle(first)
    store.recycle(first) // twice is once
    const second = await store.read(blob!.hash, 4096, 8192)
    expect(second.buffer).toBe(first.buffer)
    expect(second).toEqual(blob!.bytes.subarray(4096))
    // No spare left: a fresh buffer; and at most four are kept.
    expect((await store.read(blob!.hash, 0, 10)).buffer).not.toBe(first.buffer)
    expect(given).toHaveLength(1)
    for (let i = 0; i < 6; i++) store.recycle(new Uint8Array(4096))
    for (let i = 0; i < 6; i++) await store.read(blob!.hash, 0, 4096)
    expect(given).toHaveLength(5)
    await reads.releaseAll()

    const blobs = new OpfsStore(async () => root as unknown as FileSystemDirectoryHandle, null)
    const bytes = await blobs.read(blob!.hash, 0, 4096)
    blobs.recycle(bytes)
    expect((await blobs.read(blob!.hash, 0, 4096)).buffer).not.toBe(bytes.buffer)
  })

  it('a read that fails is one failed read with a sentence, and the next read works', async () => {
    const root = memoryOpfs()
    const [blob] = await stored(root, 1)
    const { store, reads } = storeOver(root)
    const open = blob!.file.createSyncAccessHandle.bind(blob!.file)
    blob!.file.createSyncAccessHandle = async () => {
      blob!.file.createSyncAccessHandle = open
      throw new DOMException('disk went away', 'NotReadableError')
    }
    await expect(store.read(blob!.hash, 0, 10)).rejects.toMatchObject({
      code: 'UNREADABLE',
      message: expect.stringContaining('could not be read'),
    })
    expect(await store.read(blob!.hash, 0, 10)).toEqual(blob!.bytes.subarray(0, 10))
    await reads.releaseAll()
  })
})
