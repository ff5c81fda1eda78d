import { readFile } from 'node:fs/promises'
import type { PeerStore, StoredPeer } from '../core/mesh-types.ts'
import { normalize } from '../platform/peer-store.ts'
import { writeFileAtomic } from './atomic.ts'

/** Known peers in `metadata/peers.json`, validated on the way out exactly as the tab's store does. */
export class FilePeerStore implements PeerStore {
  constructor(private readonly path: string) {}

  async load(): Promise<StoredPeer[]> {
    try {
      const parsed: unknown = JSON.parse(await readFile(this.path, 'utf8'))
      return normalize(Array.isArray(parsed) ? parsed : [])
    } catch {
      // Missing or unreadable: start from the signaling server's samples, as a fresh node does.
      return []
    }
  }

  async save(peers: StoredPeer[]): Promise<void> {
    await writeFileAtomic(this.path, JSON.stringify(normalize(peers)))
  }
}
