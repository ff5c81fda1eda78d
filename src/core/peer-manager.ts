import type { Random } from './clock.ts'
import type { StoredPeer } from './mesh-types.ts'
import type { SignedRecord } from './wire.ts'

/** Passive peers remembered at most (the active view is the node's link budget). */
export const PASSIVE_LIMIT = 256
/** After this many failed attempts in a row a peer is no longer dialled (until heard of again). */
const MAX_FAILURES = 3

/**
 * The passive view: peers this node knows (from gossip or from a previous visit) but is not
 * linked to. When a link is lost the node refills from here, healthy and low-RTT peers first,
 * before falling back to the signaling server's random sample.
 */
export class PeerManager {
  #known = new Map<string, StoredPeer>()

  constructor(
    private readonly self: string,
    private readonly random: Random,
  ) {}

  get size(): number {
    return this.#known.size
  }

  /** Peers from a previous visit (loaded asynchronously: what was heard since is newer and wins). */
  restore(peers: StoredPeer[]): void {
    for (const peer of peers) {
      const known = this.#known.get(peer.peerId)
      if (peer.peerId === this.self || (known && known.lastSeen >= peer.lastSeen)) continue
      this.#known.set(peer.peerId, { ...peer })
    }
    this.#trim()
  }

  /** A signed record heard through gossip: the peer exists and was alive `seenMs` ago. */
  heard(rec: SignedRecord, lastSeen: number): void {
    if (rec.peer === this.self) return
    const known = this.#known.get(rec.peer)
    if (rec.ttl === 0) {
      this.#known.delete(rec.peer)
      return
    }
    if (known && known.lastSeen >= lastSeen) return
    this.#known.set(rec.peer, {
      peerId: rec.peer,
      alg: rec.alg,
      publicKey: rec.key,
      lastSeen,
      ...(known?.rttMs !== undefined ? { rttMs: known.rttMs } : {}),
      // Fresh news of a peer gives it another chance.
      failures: 0,
    })
    this.#trim()
  }

  /** A direct link came up (or measured its RTT). */
  linked(peer: Omit<StoredPeer, 'failures'>): void {
    this.#known.set(peer.peerId, { ...peer, failures: 0 })
    this.#trim()
  }

  /** An attempt to link failed before the peer proved itself. */
  failed(peerId: string): void {
    const known = this.#known.get(peerId)
    if (known) known.failures++
  }

  forget(peerId: string): void {
    this.#known.delete(peerId)
  }

  /**
   * Up to `n` peers to dial, not in `exclude`: fewest failures, then lowest RTT and freshest,
   * with a random tie-break so two nodes do not all chase the same peer.
   */
  candidates(n: number, exclude: (peerId: string) => boolean): string[] {
    const score = (p: StoredPeer) => p.failures * 1000 + (p.rttMs ?? 250) + this.random() * 50
    return [...this.#known.values()]
      .filter((p) => p.failures < MAX_FAILURES && !exclude(p.peerId))
      .map((p) => ({ id: p.peerId, score: score(p) }))
      .sort((a, b) => a.score - b.score)
      .slice(0, n)
      .map((p) => p.id)
  }

  /** What to persist: the most recently seen first. */
  snapshot(): StoredPeer[] {
    // Copies: the store may keep what it is given, and failures are counted on our own objects.
    return [...this.#known.values()]
      .sort((a, b) => b.lastSeen - a.lastSeen)
      .slice(0, PASSIVE_LIMIT)
      .map((p) => ({ ...p }))
  }

  #trim() {
    if (this.#known.size <= PASSIVE_LIMIT) return
    const keep = new Set(this.snapshot().map((p) => p.peerId))
    for (const id of this.#known.keys()) if (!keep.has(id)) this.#known.delete(id)
  }
}
