/** How much the browser lets this origin store, and whether it may evict it. */
export type StorageEstimate = {
  /** Bytes this origin uses (all storage, not only audio). */
  usage: number
  /** Bytes this origin may use. */
  quota: number
  /** True when the browser promised not to evict this origin's data under pressure. */
  persisted: boolean
}

/** The browser's storage manager as the core sees it (navigator.storage in browsers). */
export interface StorageStatus {
  estimate(): Promise<StorageEstimate>
  /** Ask for persistent storage; resolves with whether it is granted. */
  persist(): Promise<boolean>
}
