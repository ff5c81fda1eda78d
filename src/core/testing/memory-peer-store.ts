import type { PeerStore, StoredPeer } from '../mesh-types.ts'

/**
 * A PeerStore in memory. Like the IndexedDB one, a save replaces the whole set and a load returns
 * copies, most recently seen first, so a test cannot pass by mutating what the node still holds.
 * It does not validate or cap: core tests see exactly what the node saved.
 */
export class MemoryPeerStore implements PeerStore {
  /** What the last save stored (or the initial set). */
  peers: StoredPeer[]
  /** Completed saves, to assert that (or how often) the node persisted. */
  saves = 0
  /** While set, load and save reject with it, as a closed or full database would. */
  failWith: Error | undefined

  constructor(initial: StoredPeer[] = []) {
    this.peers = initial.map((p) => ({ ...p }))
  }

  async load(): Promise<StoredPeer[]> {
    if (this.failWith) throw this.failWith
    return this.peers.map((p) => ({ ...p })).sort((a, b) => b.lastSeen - a.lastSeen)
  }

  async save(peers: StoredPeer[]): Promise<void> {
    if (this.failWith) throw this.failWith
    this.peers = peers.map((p) => ({ ...p }))
    this.saves += 1
  }
}
