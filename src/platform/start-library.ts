import { DeferredStore } from '../core/deferred-store.ts'
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
 * Open this tab's library on the browser's storage, load its catalog, and keep it in step with
 * other tabs of the same origin. The content store (OPFS, else IndexedDB) is chosen once
 * `chooseStoreAfter` settles (the app's first render: the probe needs the content worker, whose
 * script the first render does not); until then every store call waits for the choice.
 */
export async function startBrowserLibrary(chooseStoreAfter: Promise<unknown> = Promise.resolve()) {
  const store = new DeferredStore(chooseStoreAfter.then(openContentStore))
  const catalog = new CatalogDb()
  const library = new Library({ store, catalog, tags: workerTagReader, clock: systemClock, withLock })
  // The catalog lists the tracks; the sweep of crashed imports' temporaries (the rest of
  // `library.load()`) needs the store, so it runs once the store is chosen.
  await library.refresh()
  store.ready
    .then((chosen) => chosen.sweep())
    .catch((error: unknown) => console.warn('dcmx: the store could not be swept', error))
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
