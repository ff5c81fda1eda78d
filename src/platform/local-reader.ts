import type { Catalog } from '../core/catalog.ts'
import type { ContentReader } from '../core/content-reader.ts'
import type { ContentStore } from '../core/content.ts'
import { DcmxError } from '../core/errors.ts'
import { Lru } from '../core/lru.ts'

/** Stored bytes without a recorded type are served as this. */
const UNKNOWN_MIME = 'application/octet-stream'

/** What a local reader needs: the catalog says a track exists (and its size and type), the store has its bytes. */
export type LocalContent = { store: Pick<ContentStore, 'read'>; catalog: Pick<Catalog, 'get'> }

/** A ContentReader over this node's own tracks: described from the catalog, read from the store. */
export function localReader({ store, catalog }: LocalContent): ContentReader {
  return {
    async describe(hash) {
      const track = await catalog.get(hash)
      return track ? { size: track.size, mime: track.mime || UNKNOWN_MIME } : undefined
    },
    async read(hash, start, end, signal) {
      throwIfAborted(signal)
      // The store is the authority on bytes (it throws NOT_FOUND); a catalog lookup per read would cost a record read.
      const bytes = await store.read(hash, start, end)
      throwIfAborted(signal)
      return bytes
    },
  }
}

/** Tracks whose answering reader `firstOf` remembers (the few being played or sought in). */
export const READER_HINTS = 256

/**
 * One reader over several, in order: the first that knows a track describes it, and a read falls
 * through to the next reader only when one says NOT_FOUND. `firstOf(local, remote)` plays a
 * stored track from the store and anything else from peers; a download that completes mid-song
 * is read by the fetcher from the store. The reader that last described or read a track is asked
 * first for it: a remote track's every read would otherwise ask the store first (a round trip to
 * the content worker) for bytes it does not have, on the way to the first sound of the track.
 * Call `forget` whenever the library changes (a track imported, downloaded or removed): what the
 * readers had is then asked again in order.
 */
export function firstOf(...readers: ContentReader[]): ContentReader & { forget(): void } {
  let answered = new Lru<string, ContentReader>(READER_HINTS)
  const inOrder = (hash: string): ContentReader[] => {
    const hint = answered.get(hash)
    return hint ? [hint, ...readers.filter((r) => r !== hint)] : readers
  }
  return {
    async describe(hash) {
      for (const reader of inOrder(hash)) {
        const described = await reader.describe(hash)
        if (!described) continue
        answered.set(hash, reader)
        return described
      }
      answered.delete(hash)
      return undefined
    },
    async read(hash, start, end, signal) {
      let notFound: unknown = new DcmxError('NOT_FOUND', 'No such track here or among known peers.')
      for (const reader of inOrder(hash)) {
        try {
          const bytes = await reader.read(hash, start, end, signal)
          answered.set(hash, reader)
          return bytes
        } catch (error) {
          if (!(error instanceof DcmxError && error.code === 'NOT_FOUND')) throw error
          notFound = error
        }
      }
      answered.delete(hash)
      throw notFound
    },
    forget() {
      answered = new Lru(READER_HINTS)
    },
  }
}

function throwIfAborted(signal: AbortSignal | undefined) {
  if (signal?.aborted) throw new DcmxError('ABORTED', 'The read was abandoned.')
}

/** A reader that knows no track (no storage, or no node to fetch with). */
export const emptyReader: ContentReader = {
  describe: async () => undefined,
  read: async () => {
    throw new DcmxError('NOT_FOUND', 'This track is not available here.')
  },
}
