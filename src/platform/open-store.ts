import type { ContentStore } from '../core/content.ts'
import { probeSyncAccessInWorker } from './content-worker.ts'
import { IdbStore } from './idb-store.ts'
import { holdLock, tmpLockName } from './locks.ts'
import { OpfsStore } from './opfs-store.ts'

export { IdbStore } from './idb-store.ts'
export { OpfsStore } from './opfs-store.ts'

/**
 * The content store this browser supports best: OPFS when a worker can really open a sync access
 * handle there (the API can exist and still fail, e.g. in some private modes), else IndexedDB.
 */
export async function openContentStore(): Promise<ContentStore> {
  return (await opfsWorks()) ? new OpfsStore() : new IdbStore()
}

/** A probe that has not answered by then counts as "no OPFS" rather than holding up startup. */
const PROBE_TIMEOUT_MS = 10_000

const timeout = (ms: number) => new Promise<false>((resolve) => setTimeout(() => resolve(false), ms))

async function opfsWorks(): Promise<boolean> {
  if (typeof navigator === 'undefined' || typeof navigator.storage?.getDirectory !== 'function') return false
  const name = `probe-${crypto.randomUUID()}`
  // The probe file is a temporary like any other: locked, so another tab's sweep leaves it alone.
  const release = await holdLock(tmpLockName(name))
  try {
    return await Promise.race([probeSyncAccessInWorker(name), timeout(PROBE_TIMEOUT_MS)])
  } catch {
    return false
  } finally {
    await release()
  }
}
