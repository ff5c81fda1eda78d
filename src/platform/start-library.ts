import { Library } from '../core/library.ts'
import { CatalogDb } from './catalog-db.ts'
import { systemClock } from './clock.ts'
import { withLock } from './locks.ts'
import { openContentStore } from './open-store.ts'
import { browserStorageStatus } from './storage-status.ts'
import { workerTagReader } from './tag-reader.ts'

/** Tabs of one origin tell each other here that the shared catalog changed. */
const CHANNEL = 'dcmx-library'

/**
 * Open this tab's library on the browser's storage (OPFS, else IndexedDB), load it, and keep it
 * in step with other tabs of the same origin.
 */
export async function startBrowserLibrary() {
  const store = await openContentStore()
  const catalog = new CatalogDb()
  const library = new Library({ store, catalog, tags: workerTagReader, clock: systemClock, withLock })
  await library.load()
  if ('BroadcastChannel' in globalThis) {
    const channel = new BroadcastChannel(CHANNEL)
    library.events.on('committed', () => channel.postMessage('changed'))
    channel.onmessage = () => void library.refresh()
  }
  return {
    library,
    store,
    catalog,
    storage: browserStorageStatus(),
    covers: async (hash: string) => (await catalog.getCover(hash))?.data,
  }
}
