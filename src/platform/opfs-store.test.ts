import { describe, expect, it } from 'vitest'
import { OpfsStore } from './opfs-store.ts'

const HASH = 'ab'.repeat(32)

/** A minimal origin private file system: directories of Files, counting the lookups made in it. */
function fakeRoot(files: Record<string, Uint8Array>) {
  const lookups = { dirs: 0, files: 0, snapshots: 0 }
  const stored = new Map(Object.entries(files))
  const notFound = () => Object.assign(new Error('not found'), { name: 'NotFoundError' })
  const dir = (path: string): FileSystemDirectoryHandle =>
    ({
      kind: 'directory',
      name: path,
      async getDirectoryHandle(name: string) {
        lookups.dirs++
        return dir(`${path}${name}/`)
      },
      async getFileHandle(name: string) {
        lookups.files++
        const at = `${path}${name}`
        if (!stored.has(at)) throw notFound()
        return {
          kind: 'file',
          name,
          async getFile() {
            lookups.snapshots++
            const bytes = stored.get(at)
            if (!bytes) throw notFound()
            return new File([bytes as BlobPart], name)
          },
        }
      },
      async removeEntry(name: string) {
        if (!stored.delete(`${path}${name}`)) throw notFound()
      },
    }) as unknown as FileSystemDirectoryHandle
  return { root: dir(''), lookups, stored }
}

describe('OpfsStore reads through File snapshots (no read-only handles)', () => {
  it('serves many reads of one blob from one open snapshot, without re-resolving its handle', async () => {
    const bytes = new Uint8Array(64 * 1024).map((_, i) => i & 0xff)
    const fs = fakeRoot({ [`content/ab/${HASH}`]: bytes })
    const store = new OpfsStore(async () => fs.root, null)
    for (let i = 0; i < 16; i++)
      expect(await store.read(HASH, i * 4096, (i + 1) * 4096)).toEqual(
        bytes.subarray(i * 4096, (i + 1) * 4096),
      )
    expect(fs.lookups.files).toBe(1)
    expect(fs.lookups.snapshots).toBe(1)
  })

  it('a blob deleted (here or elsewhere) is NOT_FOUND, not served from a stale snapshot', async () => {
    const fs = fakeRoot({ [`content/ab/${HASH}`]: new Uint8Array([1, 2, 3]) })
    const store = new OpfsStore(async () => fs.root, null)
    expect(await store.read(HASH, 0, 3)).toEqual(new Uint8Array([1, 2, 3]))
    await store.delete(HASH)
    await expect(store.read(HASH, 0, 3)).rejects.toMatchObject({ code: 'NOT_FOUND' })
    await expect(store.read('cd'.repeat(32), 0, 3)).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })
})

describe('OpfsStore directory lookups', () => {
  it('looks each directory up once: lookups of blobs in one shard resolve only the file', async () => {
    const other = 'ab' + 'cd'.repeat(31)
    const fs = fakeRoot({ [`content/ab/${HASH}`]: new Uint8Array([1]) })
    const store = new OpfsStore(async () => fs.root, null)
    expect(await store.has(HASH)).toBe(true)
    const dirs = fs.lookups.dirs
    expect(await store.has(other)).toBe(false)
    expect(await store.has(HASH)).toBe(true)
    expect(fs.lookups.dirs).toBe(dirs)
    expect(fs.lookups.files).toBe(3)
  })
})
