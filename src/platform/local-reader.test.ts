import { describe, expect, it } from 'vitest'
import type { Track } from '../core/catalog.ts'
import type { ContentReader } from '../core/content-reader.ts'
import { DcmxError } from '../core/errors.ts'
import { firstOf, localReader } from './local-reader.ts'

const A = 'a'.repeat(64)
const B = 'b'.repeat(64)
const bytesOf = (hash: string) => new TextEncoder().encode(`${hash.slice(0, 1)}-0123456789`)

const track = (hash: string, mime = 'audio/flac') => ({ contentHash: hash, size: 12, mime }) as Track

/** A store and catalog that hold the given tracks. */
function local(tracks: Track[]) {
  return localReader({
    catalog: { get: async (hash) => tracks.find((t) => t.contentHash === hash) },
    store: {
      read: async (hash, start, end) => {
        if (!tracks.some((t) => t.contentHash === hash)) throw new DcmxError('NOT_FOUND', 'not stored')
        return bytesOf(hash).slice(start, end)
      },
    },
  })
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

describe('localReader', () => {
  it('describes a track from the catalog and reads its bytes from the store', async () => {
    const reader = local([track(A)])
    expect(await reader.describe(A)).toEqual({ size: 12, mime: 'audio/flac' })
    expect(await reader.describe(B)).toBeUndefined()
    expect(text(await reader.read(A, 2, 7))).toBe('01234')
  })

  it('labels a track without a recorded type as octet-stream', async () => {
    expect(await local([track(A, '')]).describe(A)).toEqual({ size: 12, mime: 'application/octet-stream' })
  })

  it('rejects with NOT_FOUND for bytes it does not have, and ABORTED once abandoned', async () => {
    const reader = local([track(A)])
    await expect(reader.read(B, 0, 1)).rejects.toMatchObject({ code: 'NOT_FOUND' })
    await expect(reader.read(A, 0, 1, AbortSignal.abort())).rejects.toMatchObject({ code: 'ABORTED' })
  })
})

describe('firstOf', () => {
  /** A reader that knows only `hash`, and counts its reads. */
  function only(hash: string, fail?: DcmxError): ContentReader & { reads: number } {
    const r = {
      reads: 0,
      describe: async (h: string) => (h === hash ? { size: 12, mime: 'audio/ogg' } : undefined),
      read: async (h: string, start: number, end: number) => {
        r.reads++
        if (fail) throw fail
        if (h !== hash) throw new DcmxError('NOT_FOUND', 'not here')
        return bytesOf(h).slice(start, end)
      },
    }
    return r
  }

  it('reads locally what the store has, and falls through to the next reader on NOT_FOUND', async () => {
    const remote = only(B)
    const reader = firstOf(local([track(A)]), remote)
    expect(await reader.describe(A)).toEqual({ size: 12, mime: 'audio/flac' })
    expect(await reader.describe(B)).toEqual({ size: 12, mime: 'audio/ogg' })
    expect(text(await reader.read(A, 0, 3))).toBe('a-0')
    expect(remote.reads).toBe(0)
    expect(text(await reader.read(B, 0, 3))).toBe('b-0')
    expect(remote.reads).toBe(1)
  })

  it('stops at the first failure that is not NOT_FOUND', async () => {
    const after = only(A)
    const reader = firstOf(only(A, new DcmxError('PEER_GONE', 'gone')), after)
    await expect(reader.read(A, 0, 1)).rejects.toMatchObject({ code: 'PEER_GONE' })
    expect(after.reads).toBe(0)
  })

  /** `local([...])` that counts its store reads. */
  function counted(tracks: Track[]) {
    const inner = local(tracks)
    const c = {
      reads: 0,
      describe: inner.describe,
      read: (...a: Parameters<ContentReader['read']>) => (c.reads++, inner.read(...a)),
    }
    return c
  }

  it('asks the reader that described a track first for its reads: a remote track does not cost a store read each', async () => {
    const store = counted([track(A)])
    const remote = only(B)
    const reader = firstOf(store, remote)
    expect(await reader.describe(B)).toEqual({ size: 12, mime: 'audio/ogg' })
    for (let i = 0; i < 3; i++) expect(text(await reader.read(B, 0, 3))).toBe('b-0')
    expect(store.reads).toBe(0)
    expect(remote.reads).toBe(3)
    // A stored track still reads from the store alone.
    expect(text(await reader.read(A, 0, 3))).toBe('a-0')
    expect([store.reads, remote.reads]).toEqual([1, 3])
  })

  it('asks in order again once told the library changed, so a track stored since reads locally', async () => {
    const tracks: Track[] = []
    const store = counted(tracks)
    const remote = only(A)
    const reader = firstOf(store, remote)
    await reader.describe(A)
    await reader.read(A, 0, 3)
    expect(remote.reads).toBe(1)
    tracks.push(track(A)) // downloaded (or imported) into the library
    reader.forget()
    expect(text(await reader.read(A, 0, 3))).toBe('a-0')
    expect([store.reads, remote.reads]).toEqual([1, 1])
  })

  it('falls back to the others, in order, when the reader it remembered no longer has the track', async () => {
    const store = counted([track(A)])
    const gone = only(B)
    const reader = firstOf(gone, store)
    await reader.describe(B)
    await reader.read(B, 0, 1)
    await expect(reader.read(A, 0, 3)).resolves.toBeDefined()
    expect(store.reads).toBe(1)
  })

  it('says NOT_FOUND when no reader has the track', async () => {
    const reader = firstOf(only(A), only(B))
    expect(await reader.describe('c'.repeat(64))).toBeUndefined()
    await expect(reader.read('c'.repeat(64), 0, 1)).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })
})
