import type { IDBPDatabase } from 'idb'
import * as v from 'valibot'
import type { PeerStore, StoredPeer } from '../core/mesh-types.ts'
import { KEY_ALGS } from '../core/wire.ts'
import { sharedDcmxDb, transact, type DcmxDb } from './db.ts'

/** Peers kept across reloads: plenty to find the mesh again, few enough to rewrite on every save. */
export const MAX_STORED_PEERS = 256

/**
 * A usable stored peer. Records are checked on the way out because anything may be in the database:
 * another tab running another version, an interrupted upgrade, or a user editing it in devtools.
 */
const StoredPeerSchema = v.object({
  peerId: v.pipe(v.string(), v.regex(/^[0-9a-f]{32}$/)),
  alg: v.picklist(KEY_ALGS),
  publicKey: v.pipe(v.string(), v.minLength(1), v.maxLength(512), v.regex(/^[A-Za-z0-9+/]*={0,2}$/)),
  lastSeen: v.pipe(v.number(), v.finite()),
  rttMs: v.exactOptional(v.pipe(v.number(), v.finite(), v.minValue(0))),
  failures: v.pipe(v.number(), v.integer(), v.minValue(0)),
})

/** The valid records, one per peer id, most recently seen first, at most MAX_STORED_PEERS. */
export function normalize(records: readonly unknown[]): StoredPeer[] {
  const valid: StoredPeer[] = []
  for (const record of records) {
    const parsed = v.safeParse(StoredPeerSchema, record)
    // The parsed copy has unknown fields stripped, so nothing else is ever written back.
    if (parsed.success) valid.push(parsed.output)
  }
  valid.sort((a, b) => b.lastSeen - a.lastSeen || (a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0))
  const seen = new Set<string>()
  const kept: StoredPeer[] = []
  for (const peer of valid) {
    if (kept.length === MAX_STORED_PEERS) break
    if (seen.has(peer.peerId)) continue
    seen.add(peer.peerId)
    kept.push(peer)
  }
  return kept
}

/**
 * Known peers in the `peers` store of the shared `dcmx` database. Every tab of the origin shares it,
 * so the set a tab saves replaces whatever another tab saved before: the last writer wins, whole.
 */
export class IdbPeerStore implements PeerStore {
  readonly #db: () => Promise<IDBPDatabase<DcmxDb>>

  constructor(db: () => Promise<IDBPDatabase<DcmxDb>> = sharedDcmxDb) {
    this.#db = db
  }

  /** The stored peers that validate, most recently seen first. */
  async load(): Promise<StoredPeer[]> {
    const records: unknown[] = await (await this.#db()).getAll('peers')
    return normalize(records)
  }

  /** Replace the stored set in one transaction; keeps the MAX_STORED_PEERS most recently seen valid peers. */
  async save(peers: StoredPeer[]): Promise<void> {
    const kept = normalize(peers)
    const tx = (await this.#db()).transaction('peers', 'readwrite')
    await transact(tx, async () => {
      await tx.store.clear()
      await Promise.all(kept.map((peer) => tx.store.put(peer)))
    })
  }
}
