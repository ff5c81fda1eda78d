import { withLock } from '../platform/locks.ts'
import { systemClock } from '../platform/clock.ts'
import { Library } from '../core/library.ts'
import { FileCatalog } from './file-catalog.ts'
import { FsContentStore } from './fs-store.ts'
import { FsPartialStore } from './fs-partial-store.ts'
import { ensureHome, homePaths, type HomePaths } from './home.ts'
import { HomeLock } from './home-lock.ts'
import { NodeLogs } from './logs.ts'
import { nodeTagReader } from './tag-reader.ts'

/** A home opened for writing: this process holds its lock until `close`. */
export type OpenHome = {
  paths: HomePaths
  lock: HomeLock
  store: FsContentStore
  catalog: FileCatalog
  partials: FsPartialStore
  library: Library
  logs: NodeLogs
  close(): Promise<void>
}

/**
 * Take the home's lock (HomeLockedError if another dcmx process holds it), then open its store,
 * catalog and library on the very core code the tab runs; temporaries a killed process left are
 * swept as the library loads.
 */
export async function openHome(root: string, command: string): Promise<OpenHome> {
  const paths = homePaths(root)
  await ensureHome(paths)
  const lock = await HomeLock.acquire(paths.lock, root, command)
  try {
    const store = new FsContentStore(paths.content, paths.tmp)
    const catalog = new FileCatalog(paths.tracks, paths.covers)
    const library = new Library({ store, catalog, tags: nodeTagReader, clock: systemClock, withLock })
    await library.load()
    const logs = new NodeLogs(paths.logs)
    const partials = new FsPartialStore(paths.partial, store)
    return { paths, lock, store, catalog, partials, library, logs, close: () => lock.release() }
  } catch (error) {
    await lock.release()
    throw error
  }
}
