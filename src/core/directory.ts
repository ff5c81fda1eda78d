import type { Clock } from './clock.ts'
import { Emitter } from './emitter.ts'
import { trackSetRoot, type RecordVerifier, type Sha256 } from './records.ts'
import type { SignedRecord } from './wire.ts'

/**
 * The peer directory: every node this one has heard of, by its latest signed record and the track
 * set that record commits to, plus the reverse index (track → holders) the network view needs.
 * Nothing enters it unverified: a record must be newer than any seen for that peer (no replays),
 * carry a valid signature, and its hashes must reproduce its root.
 */

export type DirectoryConfig = {
  /** Gossip rounds a new version stays "hot" (pushed to peers unasked). */
  hotRounds: number
  /** Longest validity honoured, whatever a record's ttl claims (s). */
  maxTtlS: number
  /** A record whose validity ended longer ago than this (clock skew allowance) is a replay (ms). */
  maxSkewMs: number
  /** Peers kept at most; past it the one closest to expiry goes. */
  maxOrigins: number
  /** How long a departed or expired peer's last version is remembered, to refuse replays (ms). */
  tombstoneMs: number
}

export const DEFAULT_DIRECTORY_CONFIG: DirectoryConfig = {
  hotRounds: 4,
  maxTtlS: 3_600,
  maxSkewMs: 10 * 60_000,
  maxOrigins: 20_000,
  tombstoneMs: 60 * 60_000,
}

export type Delta = { base: number; adds: string[]; dels: string[] }

export type Origin = {
  rec: SignedRecord
  tracks: ReadonlySet<string>
  /** Local clock when this version arrived. */
  heardAt: number
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
export type ApplyOutcome = 'applied' | 'stale' | 'gap' | 'forged' | 'mismatch'

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
  #holders = new Map<string, Set<string>>()
  #tombstones = new Map<string, { ver: number; until: number }>()
  #hot = new Set<string>()
  #verified = new Map<string, boolean>()

  constructor(
    private readonly deps: {
      self: string
      clock: Clock
      sha256: Sha256
      verify: RecordVerifier
      config?: Partial<DirectoryConfig>
    },
  ) {
    this.config = { ...DEFAULT_DIRECTORY_CONFIG, ...deps.config }
  }

  get size(): number {
    return this.#origins.size
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
    return this.#holders.get(hash) ?? new Set()
  }

  trackHashes(): IterableIterator<string> {
    return this.#holders.keys()
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

  /** Would this record replace what we know (not a replay, not already held)? */
  isNewer(rec: SignedRecord): boolean {
    return rec.ver > this.version(rec.peer) && rec.peer !== this.deps.self
  }

  /** Install this node's own record (no checks: we made it). */
  setOwn(rec: SignedRecord, tracks: ReadonlySet<string>, delta?: Delta): void {
    this.#install(rec, tracks, delta)
  }

  /** A full track set (all pages joined) for a record. */
  async applyFull(rec: SignedRecord, hashes: readonly string[]): Promise<ApplyOutcome> {
    if (!this.isNewer(rec) || this.#expiredOnArrival(rec)) return 'stale'
    if (!leavingIsEmpty(rec)) return 'mismatch'
    const tracks = new Set(hashes)
    if (tracks.size !== hashes.length || tracks.size !== rec.count) return 'mismatch'
    if ((await trackSetRoot(this.deps.sha256, tracks)) !== rec.root) return 'mismatch'
    if (!(await this.#verify(rec))) return 'forged'
    // Another announcement may have landed while we hashed and verified.
    if (!this.isNewer(rec)) return 'stale'
    this.#install(rec, tracks)
    return 'applied'
  }

  /** A change on top of version `delta.base`; `gap` when we do not hold that base. */
  async applyDelta(rec: SignedRecord, delta: Delta): Promise<ApplyOutcome> {
    if (!this.isNewer(rec) || this.#expiredOnArrival(rec)) return 'stale'
    if (!leavingIsEmpty(rec)) return 'mismatch'
    const known = this.#origins.get(rec.peer)
    if (!known || known.rec.ver !== delta.base) return 'gap'
    const tracks = new Set(known.tracks)
    for (const hash of delta.dels) if (!tracks.delete(hash)) return 'mismatch'
    for (const hash of delta.adds) {
      if (tracks.has(hash)) return 'mismatch'
      tracks.add(hash)
    }
    if (tracks.size !== rec.count) return 'mismatch'
    if ((await trackSetRoot(this.deps.sha256, tracks)) !== rec.root) return 'mismatch'
    if (!(await this.#verify(rec))) return 'forged'
    if (this.#origins.get(rec.peer)?.rec.ver !== delta.base) return 'stale'
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

  #install(rec: SignedRecord, tracks: ReadonlySet<string>, delta?: Delta) {
    const now = this.deps.clock.now()
    const previous = this.#origins.get(rec.peer)
    if (!previous && this.#origins.size >= this.config.maxOrigins) this.#evictOne()
    // A leaving record (ttl 0) empties the peer's set at once and is remembered just long enough
    // to be passed on.
    const ttlMs = rec.ttl === 0 ? 60_000 : Math.min(rec.ttl, this.config.maxTtlS) * 1000
    const origin: Origin = {
      rec,
      tracks: rec.ttl === 0 ? new Set() : tracks,
      heardAt: now,
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
    const changed = this.#reindex(rec.peer, previous?.tracks ?? new Set(), origin.tracks)
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
    this.#tombstones.set(peer, {
      ver: origin.rec.ver,
      until: this.deps.clock.now() + this.config.tombstoneMs,
    })
    this.#reindex(peer, origin.tracks, new Set())
    this.events.emit('peers')
  }

  #evictOne() {
    let victim: Origin | undefined
    for (const origin of this.#origins.values()) {
      if (origin.rec.peer === this.deps.self) continue
      if (!victim || origin.expiresAt < victim.expiresAt) victim = origin
    }
    if (victim) this.#remove(victim.rec.peer)
  }

  /** Move a peer's holdings from `before` to `after`; returns how many tracks changed. */
  #reindex(peer: string, before: ReadonlySet<string>, after: ReadonlySet<string>): number {
    const changed: string[] = []
    for (const hash of before) {
      if (after.has(hash)) continue
      const set = this.#holders.get(hash)
      set?.delete(peer)
      if (set?.size === 0) this.#holders.delete(hash)
      changed.push(hash)
    }
    for (const hash of after) {
      if (before.has(hash)) continue
      let set = this.#holders.get(hash)
      if (!set) this.#holders.set(hash, (set = new Set()))
      set.add(peer)
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
