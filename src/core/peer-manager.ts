import type { Random } from './clock.ts'
import type { StoredPeer } from './mesh-types.ts'
import type { SignedRecord } from './wire.ts'

/** Passive peers remembered at most (the active view is the node's link budget). */
export const PASSIVE_LIMIT = 256
/** After this many failed attempts in a row a peer is no longer dialled (until heard of again). */
const MAX_FAILURES = 3
/**
 * Peers one gossip partner may have in the view at once: an eighth of it, so a liar naming
 * hundreds of ids that nobody answers to (ghosts) cannot crowd out the peers others told us of.
 */
export const MAX_PER_SOURCE = PASSIVE_LIMIT / 8

/** What a refill asks the signaling server for: sessions of known peers, and a fresh sample or not. */
export type RefillPlan = { lookup: string[]; sample: boolean }

/**
 * The passive view: peers this node knows (from gossip or from a previous visit) but is not
 * linked to. When a link is lost the node refills from here, healthy and low-RTT peers first,
 * before falling back to the signaling server's random sample. It takes only records the
 * directory verified (see Gossip's `onRecords`), limits what each source contributes, and counts
 * a lookup the server could not answer as a failed attempt, so ids nobody answers to fade out and
 * refill always comes back to a fresh sample.
 */
export class PeerManager {
  #known = new Map<string, StoredPeer>()
  /** Who told us of each peer heard through gossip (absent: linked, or from a previous visit). */
  #sourceOf = new Map<string, string>()
  #perSource = new Map<string, number>()
  /** Ids in the last lookup that the server has not answered for yet. */
  #lookingUp = new Set<string>()

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

  /** Verified records a gossip partner (`source`) listed, each heard `seenMs` before `now`. */
  heardFrom(source: string, records: { rec: SignedRecord; seenMs: number }[], now: number): void {
    for (const { rec, seenMs } of records) this.heard(rec, now - seenMs, source)
  }

  /** A verified signed record: the peer exists and was alive at `lastSeen`. */
  heard(rec: SignedRecord, lastSeen: number, source?: string): void {
    if (rec.peer === this.self) return
    const known = this.#known.get(rec.peer)
    if (rec.ttl === 0) {
      this.forget(rec.peer)
      return
    }
    if (known && known.lastSeen >= lastSeen) return
    if (!known && source !== undefined) {
      if ((this.#perSource.get(source) ?? 0) >= MAX_PER_SOURCE) return
      this.#perSource.set(source, (this.#perSource.get(source) ?? 0) + 1)
      this.#sourceOf.set(rec.peer, source)
    }
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

  /** A direct link came up (or measured its RTT): it counts against no source any more. */
  linked(peer: Omit<StoredPeer, 'failures'>): void {
    this.#unsource(peer.peerId)
    this.#known.set(peer.peerId, { ...peer, failures: 0 })
    this.#trim()
  }

  /** An attempt to link failed before the peer proved itself. */
  failed(peerId: string): void {
    const known = this.#known.get(peerId)
    if (known) known.failures++
  }

  forget(peerId: string): void {
    this.#unsource(peerId)
    this.#known.delete(peerId)
  }

  /**
   * What the next refill asks for, with `room` links to fill: known peers to look up, and a
   * fresh sample when they are too few or the last lookup found none of them (each id the server
   * did not answer for counts as a failed attempt).
   */
  refill(room: number, exclude: (peerId: string) => boolean): RefillPlan {
    const fruitless = this.#lookingUp.size > 0
    for (const id of this.#lookingUp) this.failed(id)
    this.#lookingUp.clear()
    const lookup = this.candidates(room, exclude)
    for (const id of lookup) this.#lookingUp.add(id)
    return { lookup, sample: fruitless || lookup.length < room }
  }

  /** The signaling server answered with these peers (to a lookup, a sample or on join). */
  found(peerIds: Iterable<string>): void {
    let any = false
    for (const id of peerIds) any = this.#lookingUp.delete(id) || any
    // Some of the lookup was answered: the rest are simply not in the room right now.
    if (any) this.#lookingUp.clear()
  }

  #unsource(peerId: string) {
    const source = this.#sourceOf.get(peerId)
    if (source === undefined) return
    this.#sourceOf.delete(peerId)
    const n = (this.#perSource.get(source) ?? 1) - 1
    if (n > 0) this.#perSource.set(source, n)
    else this.#perSource.delete(source)
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

  /** What to persist: the most recently seen first; peers that keep failing are not kept. */
  snapshot(): StoredPeer[] {
    // Copies: the store may keep what it is given, and failures are counted on our own objects.
    return [...this.#known.values()]
      .filter((p) => p.failures < MAX_FAILURES)
      .sort((a, b) => b.lastSeen - a.lastSeen)
      .slice(0, PASSIVE_LIMIT)
      .map((p) => ({ ...p }))
  }

  #trim() {
    if (this.#known.size <= PASSIVE_LIMIT) return
    const keep = new Set(this.snapshot().map((p) => p.peerId))
    for (const id of [...this.#known.keys()]) if (!keep.has(id)) this.forget(id)
  }
}
