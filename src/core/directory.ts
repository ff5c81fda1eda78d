import type { Clock } from './clock.ts'
import { Emitter } from './emitter.ts'
import {
  trackSetRoot,
  type RecordVerifier,
  type Sha256,
  type TrackEntries,
  type TrackEntry,
} from './records.ts'
import type { SignedRecord } from './wire.ts'

/**
 * The peer directory: every node this one has heard of, by its latest signed record and the track
 * set that record commits to (each track with the digest of its descriptor), plus the reverse index (track → holders) the network view needs.
 * Nothing enters it unverified: a record must be newer than any seen for that peer (no replays),
 * not dated beyond this node's clock plus the skew allowance, carry a valid signature, and its
 * hashes must reproduce its root.
 *
 * Memory is bounded whatever peers send: at most `maxOrigins` records, `maxEntries` (peer, track)
 * pairs in total and `maxTombstones` remembered departures. When a record does not fit, the
 * lowest standing goes (see `#standing`): linked and useful peers, then peers known for longer
 * than `establishedMs`, are kept; among equals the one refreshed least recently goes, whatever
 * ttl it claims (a long ttl buys a Sybil nothing). A newcomer never displaces a peer of higher
 * standing: when only those are left it is refused (`full`).
 */

export type DirectoryConfig = {
  /** Gossip rounds a new version stays "hot" (pushed to peers unasked). */
  hotRounds: number
  /** Longest validity honoured, whatever a record's ttl claims (s). */
  maxTtlS: number
  /** A record whose validity ended longer ago than this (clock skew allowance) is a replay (ms). */
  maxSkewMs: number
  /** Peers kept at most; past it the one of lowest standing goes. */
  maxOrigins: number
  /** (peer, track) pairs kept at most, over all peers (the bulk of the directory's memory). */
  maxEntries: number
  /** How long a departed or expired peer's last version is remembered, to refuse replays (ms). */
  tombstoneMs: number
  /** Departures remembered at most; past it the one that lapses soonest goes. */
  maxTombstones: number
  /** A peer heard of this long ago (and still refreshing) has standing over newcomers (ms). */
  establishedMs: number
}

export const DEFAULT_DIRECTORY_CONFIG: DirectoryConfig = {
  hotRounds: 4,
  maxTtlS: 3_600,
  maxSkewMs: 10 * 60_000,
  // Heap per item measured in docs/benchmarks.md ("directory-memory"): about 1.3 KB per record,
  // 230 B per (peer, track) entry, 340 B per tombstone, so these caps hold the directory to about
  // 25 + 32 + 3 = 60 MiB whatever peers send.
  maxOrigins: 20_000,
  maxEntries: 150_000,
  tombstoneMs: 60 * 60_000,
  maxTombstones: 10_000,
  establishedMs: 10 * 60_000,
}

/** Standing a peer has from outside the directory: linked to us, or useful to us (it served us). */
export const STANDING_LINKED = 3
export const STANDING_USEFUL = 2
/** Known for longer than `establishedMs`. */
const STANDING_ESTABLISHED = 1
/** Origins sampled when looking for one to evict (Redis-style approximate eviction: O(1) per eviction). */
const EVICTION_SAMPLE = 32

export type Delta = { base: number; adds: TrackEntry[]; dels: TrackEntry[] }

const NO_TRACKS: TrackEntries = new Map()

export type Origin = {
  rec: SignedRecord
  /** Content hash → digest of the descriptor this peer signed for it. */
  tracks: TrackEntries
  /** Local clock when this version arrived. */
  heardAt: number
  /** Local clock when this peer was first heard of (kept across its versions). */
  firstSeen: number
  expiresAt: number
  /** Rounds left in which this version is pushed to peers. */
  hot: number
  /**
   * This version is news (a new peer, a changed track set, a goodbye), not a mere refresh: news
   * is pushed before refreshes, so a new track spreads fast however many peers are refreshing.
   */
  news: boolean
  /** The change that produced this version, kept so it can be forwarded cheaply. */
  delta?: Delta
}

/** What became of an announcement: only `forged` and `mismatch` are the sender's fault. */
export type ApplyOutcome = 'applied' | 'stale' | 'gap' | 'forged' | 'mismatch' | 'future' | 'full'

/** What the directory holds, for the stats panel and the memory bound. */
export type DirectoryStats = { origins: number; entries: number; tombstones: number }

export type DirectoryEvents = {
  /** Holders of these tracks changed. */
  tracks: [hashes: string[]]
  /** A peer appeared, changed version, left or expired. */
  peers: []
}

export class Directory {
  readonly events = new Emitter<DirectoryEvents>()
  readonly config: DirectoryConfig
  #origins = new Map<string, Origin>()
  /** Peer ids in an array too, so a random pick is O(1) however large the directory. */
  #ids: string[] = []
  #index = new Map<string, number>()
  /**
   * Track → its holders: the peer id itself while there is one (most tracks, and every track of a
   * Sybil flood), a set from the second on; a set per entry would be a third of the heap.
   */
  #holders = new Map<string, string | Set<string>>()
  #tombstones = new Map<string, { ver: number; until: number }>()
  #entries = 0
  #cursor = 0
  #hot = new Set<string>()
  #verified = new Map<string, boolean>()

  constructor(
    private readonly deps: {
      self: string
      clock: Clock
      sha256: Sha256
      verify: RecordVerifier
      config?: Partial<DirectoryConfig>
      /** Standing a peer has from outside (STANDING_LINKED, STANDING_USEFUL), else 0. */
      standing?: (peer: string) => number
    },
  ) {
    this.config = { ...DEFAULT_DIRECTORY_CONFIG, ...deps.config }
  }

  get size(): number {
    return this.#origins.size
  }

  get stats(): DirectoryStats {
    return { origins: this.#origins.size, entries: this.#entries, tombstones: this.#tombstones.size }
  }

  get(peer: string): Origin | undefined {
    return this.#origins.get(peer)
  }

  /** The newest version seen for a peer (kept after it leaves), or 0. */
  version(peer: string): number {
    return Math.max(this.#origins.get(peer)?.rec.ver ?? 0, this.#tombstones.get(peer)?.ver ?? 0)
  }

  /** Peers announcing this track right now (departed peers excluded). */
  holders(hash: string): ReadonlySet<string> {
    const held = this.#holders.get(hash)
    return typeof held === 'string' ? new Set([held]) : (held ?? new Set())
  }

  /** How many peers announce this track right now. */
  holderCount(hash: string): number {
    const held = this.#holders.get(hash)
    return typeof held === 'string' ? 1 : (held?.size ?? 0)
  }

  /** The descriptor digest `peer` signed for this track, if it announces it. */
  descriptor(peer: string, hash: string): string | undefined {
    return this.#origins.get(peer)?.tracks.get(hash)
  }

  /** Every descriptor digest some current holder signed for this track. */
  descriptors(hash: string): Set<string> {
    const out = new Set<string>()
    for (const peer of this.holders(hash)) {
      const desc = this.descriptor(peer, hash)
      if (desc) out.add(desc)
    }
    return out
  }

  trackHashes(): IterableIterator<string> {
    return this.#holders.keys()
  }

  /** How many tracks some peer announces right now (O(1): the stats read it every second). */
  get trackCount(): number {
    return this.#holders.size
  }

  origins(): IterableIterator<Origin> {
    return this.#origins.values()
  }

  /** Up to `n` distinct peers picked uniformly at random. */
  sample(n: number, random: () => number): Origin[] {
    const picked = new Set<number>()
    const want = Math.min(n, this.#ids.length)
    while (picked.size < want) picked.add(Math.floor(random() * this.#ids.length))
    return [...picked].map((i) => this.#origins.get(this.#ids[i]!)!)
  }

  /** Up to `limit` hot versions: news first, then refreshes, newest first within each. */
  takeHot(limit: number): Origin[] {
    const hot = [...this.#hot]
      .map((peer) => this.#origins.get(peer))
      .filter((o): o is Origin => o !== undefined)
      .sort((a, b) => Number(b.news) - Number(a.news) || b.heardAt - a.heardAt)
      .slice(0, limit)
    return hot
  }

  /** End of a gossip round: every hot version cools by one. */
  cool(): void {
    for (const peer of this.#hot) {
      const origin = this.#origins.get(peer)
      if (!origin || --origin.hot <= 0) this.#hot.delete(peer)
    }
  }

  /** Would this record replace what we know (not a replay, not already held, not from the future)? */
  isNewer(rec: SignedRecord): boolean {
    return rec.ver > this.version(rec.peer) && rec.peer !== this.deps.self && !this.#future(rec)
  }

  /** Install this node's own record (no checks: we made it). */
  setOwn(rec: SignedRecord, tracks: TrackEntries, delta?: Delta): void {
    this.#install(rec, tracks, delta)
  }

  /** A full track set (all pages joined) for a record. */
  async applyFull(rec: SignedRecord, entries: readonly TrackEntry[]): Promise<ApplyOutcome> {
    if (this.#future(rec)) return 'future'
    if (!this.isNewer(rec) || this.#expiredOnArrival(rec)) return 'stale'
    if (!leavingIsEmpty(rec)) return 'mismatch'
    const tracks = new Map(entries)
    if (tracks.size !== entries.length || tracks.size !== rec.count) return 'mismatch'
    // Before any hashing: a newcomer with no room is refused at the cost of a sample.
    if (!this.#fits(rec.peer, rec.ttl === 0 ? 0 : tracks.size)) return 'full'
    if ((await trackSetRoot(this.deps.sha256, tracks)) !== rec.root) return 'mismatch'
    if (!(await this.#verify(rec))) return 'forged'
    // Another announcement may have landed while we hashed and verified.
    if (!this.isNewer(rec)) return 'stale'
    if (!this.#makeRoom(rec.peer, rec.ttl === 0 ? 0 : tracks.size)) return 'full'
    this.#install(rec, tracks)
    return 'applied'
  }

  /** A change on top of version `delta.base`; `gap` when we do not hold that base. */
  async applyDelta(rec: SignedRecord, delta: Delta): Promise<ApplyOutcome> {
    if (this.#future(rec)) return 'future'
    if (!this.isNewer(rec) || this.#expiredOnArrival(rec)) return 'stale'
    if (!leavingIsEmpty(rec)) return 'mismatch'
    const known = this.#origins.get(rec.peer)
    if (!known || known.rec.ver !== delta.base) return 'gap'
    const tracks = new Map(known.tracks)
    for (const [hash, desc] of delta.dels) {
      if (tracks.get(hash) !== desc) return 'mismatch'
      tracks.delete(hash)
    }
    for (const [hash, desc] of delta.adds) {
      if (tracks.has(hash)) return 'mismatch'
      tracks.set(hash, desc)
    }
    if (tracks.size !== rec.count) return 'mismatch'
    if ((await trackSetRoot(this.deps.sha256, tracks)) !== rec.root) return 'mismatch'
    if (!(await this.#verify(rec))) return 'forged'
    if (this.#origins.get(rec.peer)?.rec.ver !== delta.base) return 'stale'
    if (!this.#makeRoom(rec.peer, rec.ttl === 0 ? 0 : tracks.size)) return 'full'
    this.#install(rec, tracks, delta)
    return 'applied'
  }

  /** Drop records whose validity ran out (their peers stopped refreshing: gone). */
  expire(): void {
    const now = this.deps.clock.now()
    for (const origin of [...this.#origins.values()]) {
      if (origin.expiresAt <= now && origin.rec.peer !== this.deps.self) this.#remove(origin.rec.peer)
    }
    for (const [peer, stone] of this.#tombstones) if (stone.until <= now) this.#tombstones.delete(peer)
  }

  /** Dated beyond our clock plus the skew: once its tombstone lapsed it could be replayed as news. */
  #future(rec: SignedRecord): boolean {
    return rec.ver > this.deps.clock.now() + this.config.maxSkewMs
  }

  #expiredOnArrival(rec: SignedRecord): boolean {
    const validUntil = rec.ver + Math.min(rec.ttl || 60, this.config.maxTtlS) * 1000
    return validUntil + this.config.maxSkewMs <= this.deps.clock.now()
  }

  async #verify(rec: SignedRecord): Promise<boolean> {
    // Keyed by every signed field and the signature: a forged copy (same signature, other fields)
    // must neither borrow the genuine record's verdict nor leave its own for the genuine one.
    const key = [rec.peer, rec.alg, rec.key, rec.ver, rec.ttl, rec.root, rec.count, rec.sig].join('\0')
    let valid = this.#verified.get(key)
    if (valid === undefined) {
      valid = await this.deps.verify(rec)
      this.#verified.set(key, valid)
      if (this.#verified.size > 4096) this.#verified.delete(this.#verified.keys().next().value!)
    }
    return valid
  }

  #install(rec: SignedRecord, tracks: TrackEntries, delta?: Delta) {
    const now = this.deps.clock.now()
    const previous = this.#origins.get(rec.peer)
    // A leaving record (ttl 0) empties the peer's set at once and is remembered just long enough
    // to be passed on.
    const ttlMs = rec.ttl === 0 ? 60_000 : Math.min(rec.ttl, this.config.maxTtlS) * 1000
    const origin: Origin = {
      rec,
      tracks: rec.ttl === 0 ? NO_TRACKS : tracks,
      heardAt: now,
      firstSeen: previous?.firstSeen ?? now,
      // Valid for ttl from when we heard it, but never past the signer's own clock + ttl (+ skew):
      // otherwise each relay would restart the ttl and a vanished peer could linger for many ttls.
      expiresAt: Math.min(now + ttlMs, rec.ver + ttlMs + this.config.maxSkewMs),
      hot: this.config.hotRounds,
      news: false,
      ...(delta ? { delta } : {}),
    }
    this.#origins.set(rec.peer, origin)
    if (!this.#index.has(rec.peer)) {
      this.#index.set(rec.peer, this.#ids.length)
      this.#ids.push(rec.peer)
    }
    this.#hot.add(rec.peer)
    this.#tombstones.delete(rec.peer)
    this.#entries += origin.tracks.size - (previous?.tracks.size ?? 0)
    const changed = this.#reindex(rec.peer, previous?.tracks ?? NO_TRACKS, origin.tracks)
    origin.news = !previous || rec.ttl === 0 || changed > 0
    this.events.emit('peers')
  }

  #remove(peer: string) {
    const origin = this.#origins.get(peer)
    if (!origin) return
    this.#origins.delete(peer)
    this.#hot.delete(peer)
    const at = this.#index.get(peer)!
    const last = this.#ids.pop()!
    if (last !== peer) {
      this.#ids[at] = last
      this.#index.set(last, at)
    }
    this.#index.delete(peer)
    this.#entries -= origin.tracks.size
    this.#bury(origin.rec)
    this.#reindex(peer, origin.tracks, NO_TRACKS)
    this.events.emit('peers')
  }

  /**
   * Remember a departed version until a replay of it would be refused as expired anyway (an
   * evicted record may have most of its validity left), and at least `tombstoneMs`.
   */
  #bury(rec: SignedRecord) {
    const now = this.deps.clock.now()
    const validity = Math.min(rec.ttl || 60, this.config.maxTtlS) * 1000 + this.config.maxSkewMs
    const until = Math.max(now + this.config.tombstoneMs, rec.ver + validity)
    this.#tombstones.delete(rec.peer)
    this.#tombstones.set(rec.peer, { ver: rec.ver, until })
    if (this.#tombstones.size <= this.config.maxTombstones) return
    // Tombstones are made in time order with nearly the same lifetime: the first is (about) the
    // one that lapses soonest.
    this.#tombstones.delete(this.#tombstones.keys().next().value!)
  }

  /** Could `peer` with `tracks` entries be let in now (room, or someone of no higher standing to evict)? */
  #fits(peer: string, tracks: number): boolean {
    const previous = this.#origins.get(peer)
    if (tracks > this.config.maxEntries) return false
    const full =
      (!previous && this.#origins.size >= this.config.maxOrigins) ||
      this.#entries - (previous?.tracks.size ?? 0) + tracks > this.config.maxEntries
    if (!full) return true
    const victim = this.#lowest(peer)
    return victim !== undefined && this.#standing(victim.rec.peer, victim) <= this.#standing(peer, previous)
  }

  /**
   * Make room for `peer` holding `tracks` entries, evicting peers of lower or equal standing;
   * false if that would take evicting someone of higher standing (the newcomer is refused).
   */
  #makeRoom(peer: string, tracks: number): boolean {
    const previous = this.#origins.get(peer)
    const over = () =>
      (!previous && this.#origins.size >= this.config.maxOrigins) ||
      this.#entries - (previous?.tracks.size ?? 0) + tracks > this.config.maxEntries
    if (tracks > this.config.maxEntries) return false
    const mine = this.#standing(peer, previous)
    while (over()) {
      const victim = this.#lowest(peer)
      if (!victim || this.#standing(victim.rec.peer, victim) > mine) return false
      this.#remove(victim.rec.peer)
    }
    return true
  }

  /** The lowest-standing origin in a random sample (self and `except` never), or undefined. */
  #lowest(except: string): Origin | undefined {
    let victim: Origin | undefined
    let low = Infinity
    const n = this.#ids.length
    const tries = Math.min(EVICTION_SAMPLE, n)
    // Evenly spaced ids from an offset that moves on each time: a sample without replacement
    // that sweeps the whole directory over successive evictions (ids are in arrival order,
    // shuffled by removals, so no attacker lines its records up with it).
    const start = (this.#cursor = (this.#cursor + 1) % n)
    for (let i = 0; i < tries; i++) {
      const id = this.#ids[(start + Math.floor((i * n) / tries)) % n]!
      if (id === this.deps.self || id === except) continue
      const origin = this.#origins.get(id)!
      const standing = this.#standing(id, origin)
      // Among equals, the one refreshed least recently: ttl normalised, it plays no part.
      if (standing < low || (standing === low && origin.heardAt < victim!.heardAt)) {
        victim = origin
        low = standing
      }
    }
    return victim
  }

  /** Linked or useful (from outside), else established (known a while), else 0 (a newcomer). */
  #standing(peer: string, origin: Origin | undefined): number {
    const outside = this.deps.standing?.(peer) ?? 0
    const established =
      origin && this.deps.clock.now() - origin.firstSeen >= this.config.establishedMs
        ? STANDING_ESTABLISHED
        : 0
    return Math.max(outside, established)
  }

  /** Move a peer's holdings from `before` to `after`; returns how many tracks changed. */
  #reindex(peer: string, before: TrackEntries, after: TrackEntries): number {
    const changed: string[] = []
    for (const [hash, desc] of before) {
      if (after.get(hash) === desc) continue
      if (after.has(hash)) {
        changed.push(hash) // same track, another descriptor: still a holder
        continue
      }
      const held = this.#holders.get(hash)
      if (held === peer) this.#holders.delete(hash)
      else if (typeof held === 'object') {
        held.delete(peer)
        if (held.size === 1) this.#holders.set(hash, held.values().next().value!)
      }
      changed.push(hash)
    }
    for (const hash of after.keys()) {
      if (before.has(hash)) continue
      const held = this.#holders.get(hash)
      if (held === undefined) this.#holders.set(hash, peer)
      else if (typeof held === 'string') this.#holders.set(hash, new Set([held, peer]))
      else held.add(peer)
      changed.push(hash)
    }
    if (changed.length > 0) this.events.emit('tracks', changed)
    return changed.length
  }
}

/**
 * A leaving record (ttl 0) must announce no tracks: we index it as empty and relay it with an
 * empty body, so one that claims tracks would make every honest relay look like a liar.
 */
function leavingIsEmpty(rec: SignedRecord): boolean {
  return rec.ttl > 0 || rec.count === 0
}
