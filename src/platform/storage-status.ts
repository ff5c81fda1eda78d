import type { StorageEstimate, StorageStatus } from '../core/storage-status.ts'

/**
 * The browser's storage manager. Any part of it may be missing (older browsers, some private modes)
 * or may reject; then the answer is "nothing known": quota 0, not persisted. It never throws.
 */
export function browserStorageStatus(
  storage: Partial<StorageManager> | undefined = typeof navigator === 'undefined'
    ? undefined
    : navigator.storage,
): StorageStatus {
  return {
    async estimate(): Promise<StorageEstimate> {
      const [estimate, persisted] = await Promise.all([
        attempt(() => storage?.estimate?.()),
        attempt(() => storage?.persisted?.()),
      ])
      return {
        usage: finite(estimate?.usage),
        quota: finite(estimate?.quota),
        persisted: persisted === true,
      }
    },
    async persist(): Promise<boolean> {
      return (await attempt(() => storage?.persist?.())) === true
    },
  }
}

const finite = (n: number | undefined): number =>
  typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : 0

/** The call's result, or undefined if it threw or rejected. */
async function attempt<T>(call: () => Promise<T> | undefined): Promise<T | undefined> {
  try {
    return await call()
  } catch {
    return undefined
  }
}
