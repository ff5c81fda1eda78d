import type { ContentStore } from '../core/content.ts'
import type { PartialStore } from '../core/partial.ts'
import { OpfsPartialStore } from './opfs-partial-store.ts'
import { IdbPartialStore } from './partial-store.ts'

/**
 * Where downloads in progress go, given the content store the probe chose: where that store is
 * OPFS (so the worker can open sync access handles), straight into OPFS files through them; else
 * pieces in IndexedDB, joined and ingested on completion.
 */
export function partialStoreFor(store: ContentStore): PartialStore {
  return store.kind === 'opfs' ? new OpfsPartialStore() : new IdbPartialStore(store)
}
