import type { Announcement } from './announcer.ts'
import type { Clock, Random } from './clock.ts'
import type { Delta, Directory, Origin } from './directory.ts'
import { LinkIntake, type IntakeConfig } from './intake.ts'
import { describeTrack } from './descriptors.ts'
import { packEntries, unpackEntries, type Sha256, type TrackEntries, type TrackEntry } from './records.ts'
import type { Unnumbered } from './request-table.ts'
import type { PenaltyKind } from './reputation.ts'
import {
  MAX_DIGEST,
  MAX_TRACKS_PAGE,
  ENTRY_BYTES,
  PAGE_ENTRIES,
  headerCap,
  wireSize,
  type SignedRecord,
  type TrackMeta,
  type Wire,
  type WireOf,
} from './wire.ts'

/**
 * Push-pull gossip over the node's links. Each round a node picks a few linked peers; to each it
 * pushes the small changes it heard recently (rumour mongering, so a new track spreads in
 * O(log N) rounds) and sends a bounded digest of the versions it knows; the answer brings back
 * whatever either side has newer (anti-entropy, so nothing stays missing for long). Every byte a
 * node sends per round is bounded by the config, whatever the size of the mesh.
 */

export type GossipConfig = {
  /** Mean time between rounds (ms); each wait is jittered by ± `jitter`. */
  intervalMs: number
  jitter: number
  /** Linked peers exchanged with per round. */
  fanout: number
  /** Versions listed in one digest (the rest of the directory is sampled over rounds). */
  digestSize: number
  /** Records returned per peers request besides the ones the asker lacks. */
  sampleSize: number
  /** Hot versions pushed per peer per round. */
  hotPerRound: number
  /**
   * Announcement bytes pushed to one peer in one round or one answer. One track set larger than
   * this (up to MAX_ANNOUNCED hashes, in pages) still goes when it is the first thing sent, or a
   * large library could never travel past its owner's neighbours.
   */
  pushBytes: number
  requestTimeoutMs: number
  /** Per-link quotas on new origins and announcement bytes. */
  intake: Partial<IntakeConfig>
}

export const DEFAULT_GOSSIP_CONFIG: GossipConfig = {
  intervalMs: 10_000,
  jitter: 0.5,
  fanout: 3,
  digestSize: 32,
  sampleSize: 8,
  hotPerRound: 16,
  pushBytes: 96 * 1024,
  requestTimeoutMs: 5_000,
  intake: {},
}

/** A linked, verified peer as gossip sees it. */
export interface GossipPeer {
  readonly peerId: string
  send(msg: Wire): void
  /** Send a request (its link numbers it) and resolve with the response (rejects on timeout/close). */
  request(msg: Unnumbered<WireOf<'peers-req' | 'tracks-req'>>): Promise<Wire>
}

export type GossipDeps = {
  directory: Directory
  clock: Clock
  random: Random
  config?: Partial<GossipConfig>
  /** The verified links gossip may use. */
  peers(): GossipPeer[]
  /** Metadata this node can describe its own tracks with. */
  localMeta(hash: string): TrackMeta | undefined
  /** Checks metadata against the descriptors holders signed. */
  sha256: Sha256
  /** Charge a peer with a penalty (the node's reputation ledger throttles and bans). */
  strike(peerId: string, reason: string, kind?: PenaltyKind): void
  /**
   * Records seen in a peer's answer, as the directory verified them (the directory's own copy,
   * heard `seenMs` ago by us): candidates for the peer manager, from `source`.
   */
  onRecords?(records: { rec: SignedRecord; seenMs: number }[], source: string): void
  /** A peer told us something new (an announcement we applied): it is worth keeping linked. */
  credit?(peerId: string, bytes: number): void
}

export type GossipEvents = { meta: [] }

type PendingFull = { origin: string; ver: number; pages: (TrackEntry[] | undefined)[]; at: number }

/** Partial full announcements kept at once (each up to MAX_PAGES pages). */
const MAX_PENDING_FULL = 16
/**
 * Track metadata kept, bounded by count and by an estimate of its heap bytes (the text fields are
 * peers' words, each up to MAX_TEXT characters): room for a 100,000-track network view at typical
 * sizes, and a hard ceiling whatever peers write. Past either cap, metadata for tracks nobody
 * announces any more goes first, then the oldest; down to 90 % of the caps, so eviction runs
 * once per overflow rather than on every page.
 */
export const META_LIMITS = { entries: 150_000, bytes: 48 * 1024 * 1024 }

/** V8 keeps a Latin-1 string at 1 byte a character and anything else at 2; count 2 to be safe. */
export function metaBytes(meta: TrackMeta): number {
  let chars = 0
  for (const value of Object.values(meta)) if (typeof value === 'string') chars += value.length
  return 160 + 2 * chars
}

export class Gossip {
  readonly config: GossipConfig
  rounds = 0
  /** Track metadata heard from peers (untrusted text, validated by the codec). */
  readonly meta = new Map<string, TrackMeta>()
  /** `metaBytes` summed over `meta`. */
  #metaBytes = 0
  /**
   * Full announcements arriving in pages, by sender and origin: pages from different senders are
   * never mixed, so one liar's page cannot spoil (and get blamed on) an honest sender's set.
   */
  #pendingFull = new Map<string, PendingFull>()
  #metaInFlight = new Set<string>()
  /** Origins whose full set we are pulling after a delta on a base we lack: one pull each at a time. */
  #gapPulls = new Set<string>()
  #onMeta: ((hashes: string[]) => void) | undefined
  #intake: LinkIntake
  /** Announcements dropped unjudged: over a link's quota, or no room left for their standing. */
  readonly refused = { quota: 0, full: 0, future: 0 }

  constructor(private readonly deps: GossipDeps) {
    this.config = { ...DEFAULT_GOSSIP_CONFIG, ...deps.config }
    this.#intake = new LinkIntake(deps.clock, this.config.intake)
  }

  /** Called with the tracks whose metadata arrived or was forgotten (the network view updates those rows). */
  set onMeta(fn: (hashes: string[]) => void) {
    this.#onMeta = fn
  }

  /** One gossip round with `fanout` random linked peers. */
  async round(): Promise<void> {
    this.rounds++
    const { directory, random } = this.deps
    directory.expire()
    const peers = shuffle(this.deps.peers(), random).slice(0, this.config.fanout)
    // The first `hotPerRound` are pushed; the next ones are offered in the digest instead.
    const hot = directory.takeHot(this.config.hotPerRound + this.config.digestSize / 2)
    await Promise.all(peers.map((peer) => this.#exchange(peer, hot)))
    directory.cool()
    await this.#fetchMissingMeta()
  }

  /** A newly verified link: push our own record in full and swap digests at once. */
  async linked(peer: GossipPeer, own: Announcement | undefined): Promise<void> {
    if (own) this.#pushFull(peer, own.rec, own.tracks, Infinity)
    await this.#exchange(peer, [])
    await this.#fetchMissingMeta()
  }

  /** Spread our own new announcement to every link right away. */
  announce(own: Announcement): void {
    for (const peer of this.deps.peers()) this.#pushOrigin(peer, own, Infinity)
  }

  /** Handle one gossip message from a peer (responses are matched to requests by the session). */
  async receive(peer: GossipPeer, msg: Wire): Promise<void> {
    switch (msg.type) {
      case 'discover':
        return this.#onDiscover(peer, msg)
      case 'peers-req':
        return this.#onPeersReq(peer, msg)
      case 'tracks-req':
        return this.#onTracksReq(peer, msg)
      default:
        return
    }
  }

  async #exchange(peer: GossipPeer, hot: Origin[]) {
    let budget = this.config.pushBytes
    const pushed = new Set<Origin>()
    for (const origin of hot.slice(0, this.config.hotPerRound)) {
      if (origin.rec.peer === peer.peerId || !origin.delta) continue
      const sent = this.#pushOrigin(peer, origin, budget, false)
      budget -= sent
      if (sent > 0) pushed.add(origin)
    }
    // Listing what we just pushed would waste the digest: the peer has it by the time it reads it.
    const have = this.#digest(
      peer,
      hot.filter((o) => !pushed.has(o)),
    )
    await this.#pull(peer, have)
  }

  /** Ask a peer for what it has newer than `have`; push back what it wants; chase the rest. */
  async #pull(peer: GossipPeer, have: [string, number][], depth = 0): Promise<void> {
    let res: Wire
    try {
      res = await peer.request({ type: 'peers-req', have, max: this.config.sampleSize })
    } catch {
      return // timed out or the link closed: the next round tries someone else
    }
    if (res.type !== 'peers-res') return
    const { directory } = this.deps
    let budget = this.config.pushBytes
    for (const wanted of res.want) {
      if (wanted === peer.peerId) continue // its own record: never reflected back to it
      const origin = directory.get(wanted)
      const first = budget === this.config.pushBytes
      if (origin && budget > 0) budget -= this.#pushFull(peer, origin.rec, origin.tracks, budget, first)
    }
    // Versions it listed that are still newer than ours after its pushes: ask for them by name.
    const missing = res.peers
      .filter((p) => directory.isNewer(p.rec) && !this.#isPending(p.rec.peer))
      .map((p): [string, number] => [p.rec.peer, directory.version(p.rec.peer)])
      .slice(0, MAX_DIGEST)
    if (missing.length > 0 && depth === 0) await this.#pull(peer, missing, 1)
    this.#reportVerified(peer, res.peers)
  }

  /**
   * Pass on the records of an answer that the directory holds (it checked their signatures when
   * they were announced; what it pulled above is in by now): its own copy, never the answer's, so
   * a forged "leaving" record or a bare claim that some id exists reaches nobody.
   */
  #reportVerified(peer: GossipPeer, listed: WireOf<'peers-res'>['peers']) {
    if (!this.deps.onRecords) return
    const now = this.deps.clock.now()
    const verified: { rec: SignedRecord; seenMs: number }[] = []
    for (const { rec } of listed) {
      const origin = this.deps.directory.get(rec.peer)
      if (origin && origin.rec.ver >= rec.ver)
        verified.push({ rec: origin.rec, seenMs: now - origin.heardAt })
    }
    if (verified.length > 0) this.deps.onRecords(verified, peer.peerId)
  }

  /** Our side of a digest: hot versions (at most half of it), then a random sample of the directory. */
  #digest(peer: GossipPeer, hot: Origin[]): [string, number][] {
    const out = new Map<string, number>()
    for (const o of hot.slice(0, this.config.digestSize / 2)) out.set(o.rec.peer, o.rec.ver)
    const sample = this.deps.directory.sample(this.config.digestSize, this.deps.random)
    for (const o of sample) if (out.size < this.config.digestSize) out.set(o.rec.peer, o.rec.ver)
    out.delete(peer.peerId)
    return [...out]
  }

  #onPeersReq(peer: GossipPeer, msg: WireOf<'peers-req'>) {
    const { directory } = this.deps
    const now = this.deps.clock.now()
    const want: string[] = []
    const newer: Origin[] = []
    for (const [id, ver] of msg.have) {
      // Never its own record: it has the newest version by definition, and asking for it back
      // would make us an amplifier (87 bytes in, its whole track set out).
      if (id === peer.peerId) continue
      const mine = directory.version(id)
      const origin = directory.get(id)
      if (ver > mine) want.push(id)
      else if (origin && origin.rec.ver > ver) newer.push(origin)
    }
    // What it lacks: pushed as announcements (within budget) before the answer, so they are
    // applied by the time it reads the answer.
    let budget = this.config.pushBytes
    for (const origin of newer) {
      if (budget <= 0) break
      const asked = msg.have.find(([id]) => id === origin.rec.peer)![1]
      const first = budget === this.config.pushBytes
      const sent =
        origin.delta && origin.delta.base === asked
          ? this.#pushDelta(peer, origin.rec, origin.delta, budget)
          : 0
      budget -= sent || this.#pushFull(peer, origin.rec, origin.tracks, budget, first)
    }
    const records = new Map<string, Origin>()
    for (const o of newer) if (records.size < msg.max) records.set(o.rec.peer, o)
    const listed = new Map(msg.have)
    for (const o of directory.sample(msg.max, this.deps.random)) {
      // Nothing to learn from a record the asker just told us it holds.
      if (records.size < msg.max && (listed.get(o.rec.peer) ?? 0) < o.rec.ver) records.set(o.rec.peer, o)
    }
    records.delete(peer.peerId)
    const peers = [...records.values()].map((o) => ({ rec: o.rec, seen: clampSeen(now - o.heardAt) }))
    const res: WireOf<'peers-res'> = { type: 'peers-res', id: msg.id, peers, want }
    while (wireSize(res) - 4 > headerCap('peers-res') && res.peers.length > 0) res.peers.pop()
    peer.send(res)
  }

  #onTracksReq(peer: GossipPeer, msg: WireOf<'tracks-req'>) {
    const tracks: TrackMeta[] = []
    const missing: string[] = []
    for (const hash of new Set(msg.hashes)) {
      const meta = this.deps.localMeta(hash) ?? this.meta.get(hash)
      if (meta) tracks.push(meta)
      else missing.push(hash)
    }
    const res: WireOf<'tracks-res'> = { type: 'tracks-res', id: msg.id, tracks, missing }
    // Long titles in many scripts can outgrow a frame: what does not fit is reported missing.
    while (wireSize(res) - 4 > headerCap('tracks-res')) res.missing.push(res.tracks.pop()!.hash)
    peer.send(res)
  }

  async #onDiscover(peer: GossipPeer, msg: WireOf<'discover'>) {
    const { directory } = this.deps
    const { rec } = msg
    if (!directory.isNewer(rec)) return // old news, a replay or future-dated: harmless, ignored
    // Charged before the body is even read: decoding and hashing a set is the cost being bounded.
    if (!this.#intake.bytes(peer, msg.body?.length ?? 0)) return void this.refused.quota++
    const hashes = unpackEntries(msg.body)
    if (!hashes) return this.deps.strike(peer.peerId, 'announcement body is not whole entries', 'malformed')
    let outcome
    if (msg.mode === 'delta') {
      if (msg.base === undefined || msg.adds > hashes.length || msg.pages !== 1) {
        return this.deps.strike(peer.peerId, 'malformed delta announcement')
      }
      const delta = { base: msg.base, adds: hashes.slice(0, msg.adds), dels: hashes.slice(msg.adds) }
      outcome = await directory.applyDelta(rec, delta)
      if (outcome === 'gap') {
        // We missed a version in between: ask this peer for the whole set. Several peers push the
        // same delta, and for several rounds: one pull is enough (more would be a storm).
        if (this.#gapPulls.has(rec.peer)) return
        this.#gapPulls.add(rec.peer)
        void this.#pull(peer, [[rec.peer, directory.version(rec.peer)]], 1).finally(() =>
          this.#gapPulls.delete(rec.peer),
        )
        return
      }
    } else {
      const all = this.#collectPages(peer.peerId, rec, msg.page, msg.pages, hashes)
      if (!all) return
      if (!directory.get(rec.peer) && !this.#intake.origin(peer)) return void this.refused.quota++
      outcome = await directory.applyFull(rec, all)
    }
    if (outcome === 'full' || outcome === 'future') return void this.refused[outcome]++
    if (outcome === 'forged') return this.deps.strike(peer.peerId, 'forged announcement', 'forged')
    if (outcome === 'mismatch')
      return this.deps.strike(peer.peerId, 'announcement does not match its root', 'forged')
    if (outcome !== 'applied') return
    this.deps.credit?.(peer.peerId, msg.body?.length ?? 0)
    // Not awaited: the answer arrives on this same link, behind the message being handled now.
    // All of it from the origin itself; from a relay, a first batch (the rounds fetch the rest):
    // a relay of Sybil sets would otherwise cost a metadata request per 32 tracks it passed on.
    const tracks = [...(directory.get(rec.peer)?.tracks.keys() ?? [])]
    void this.#fetchMeta(peer, peer.peerId === rec.peer ? tracks : tracks.slice(0, 2 * MAX_TRACKS_PAGE))
  }

  /** Join the pages of a full announcement from one sender; undefined until the last one is in. */
  #collectPages(
    sender: string,
    rec: SignedRecord,
    page: number,
    pages: number,
    hashes: TrackEntry[],
  ): TrackEntry[] | undefined {
    if (pages === 1) return hashes
    const now = this.deps.clock.now()
    const key = `${sender}:${rec.peer}`
    let pending = this.#pendingFull.get(key)
    if (!pending || pending.ver !== rec.ver) {
      if (pending && pending.ver > rec.ver) return undefined
      const empty = new Array<TrackEntry[] | undefined>(pages).fill(undefined)
      pending = { origin: rec.peer, ver: rec.ver, pages: empty, at: now }
      this.#pendingFull.set(key, pending)
      if (this.#pendingFull.size > MAX_PENDING_FULL) {
        const oldest = [...this.#pendingFull].sort((a, b) => a[1].at - b[1].at)[0]![0]
        this.#pendingFull.delete(oldest)
      }
    }
    if (page >= pending.pages.length) return undefined
    pending.pages[page] = hashes
    if (pending.pages.some((p) => p === undefined)) return undefined
    this.#pendingFull.delete(key)
    return pending.pages.flatMap((p) => p!)
  }

  /** Some sender is part-way through a full set of this origin's. */
  #isPending(origin: string): boolean {
    for (const pending of this.#pendingFull.values()) if (pending.origin === origin) return true
    return false
  }

  /** Push one origin's version: as its delta when it has one, else in full. Returns bytes sent. */
  #pushOrigin(
    peer: GossipPeer,
    origin: Pick<Origin, 'rec' | 'tracks' | 'delta'>,
    budget: number,
    oversize = true,
  ): number {
    if (origin.delta) {
      const sent = this.#pushDelta(peer, origin.rec, origin.delta, budget)
      if (sent) return sent
    }
    return this.#pushFull(peer, origin.rec, origin.tracks, budget, oversize)
  }

  /** Send a delta if it fits the budget; returns bytes sent (0 if it did not). */
  #pushDelta(peer: GossipPeer, rec: SignedRecord, delta: Delta, budget: number): number {
    if (delta.adds.length + delta.dels.length > PAGE_ENTRIES) return 0
    const msg: WireOf<'discover'> = {
      type: 'discover',
      rec,
      mode: 'delta',
      base: delta.base,
      adds: delta.adds.length,
      page: 0,
      pages: 1,
      body: packEntries([...delta.adds, ...delta.dels]),
    }
    const size = wireSize(msg)
    if (size > budget) return 0
    peer.send(msg)
    return size
  }

  /**
   * Send a full set (in pages) if it fits the budget, or if `oversize` allows one set larger than
   * the whole budget to go first; returns bytes sent (0 if nothing was sent).
   */
  #pushFull(
    peer: GossipPeer,
    rec: SignedRecord,
    tracks: TrackEntries,
    budget: number,
    oversize = false,
  ): number {
    const all = [...tracks]
    const pages = Math.max(1, Math.ceil(all.length / PAGE_ENTRIES))
    const estimate = all.length * ENTRY_BYTES + pages * 600
    if (estimate > budget && !(oversize && estimate > this.config.pushBytes)) return 0
    let sent = 0
    for (const msg of fullPages(rec, packEntries(all))) {
      peer.send(msg)
      sent += wireSize(msg)
    }
    return sent
  }

  /** Ask `peer` for metadata of those hashes we have none for, a page at a time. */
  async #fetchMeta(peer: GossipPeer, hashes: string[]): Promise<void> {
    const needed = hashes.filter(
      (h) => !this.meta.has(h) && !this.deps.localMeta(h) && !this.#metaInFlight.has(h),
    )
    // All of them are in flight from now on, not only the page being asked for: otherwise a round
    // starting meanwhile would ask for the later pages a second time.
    for (const h of needed) this.#metaInFlight.add(h)
    let i = 0
    try {
      for (; i < needed.length; i += MAX_TRACKS_PAGE) {
        const batch = needed.slice(i, i + MAX_TRACKS_PAGE)
        const res = await peer.request({ type: 'tracks-req', hashes: batch })
        if (res.type === 'tracks-res') await this.#acceptMeta(peer, batch, res)
        for (const h of batch) this.#metaInFlight.delete(h)
      }
    } catch {
      // Timed out or closed: the rest is left to the next round, which asks someone else.
    } finally {
      for (const h of needed.slice(i)) this.#metaInFlight.delete(h)
    }
  }

  /**
   * Keep metadata only if some holder of the track signed its descriptor: whoever relays it, it
   * is then what a holder vouched for. A holder describing its own track otherwise contradicts
   * its signature (a lie); a relay whose copy matches no current holder is merely out of date.
   */
  async #acceptMeta(peer: GossipPeer, asked: string[], res: WireOf<'tracks-res'>) {
    const wanted = new Set(asked)
    const changed: string[] = []
    for (const meta of res.tracks) {
      if (!wanted.has(meta.hash)) return this.deps.strike(peer.peerId, 'metadata for a track not asked for')
      if (this.meta.has(meta.hash)) continue
      const { digest } = await describeTrack(this.deps.sha256, meta)
      const { directory } = this.deps
      if (!directory.descriptors(meta.hash).has(digest)) {
        const own = directory.descriptor(peer.peerId, meta.hash)
        if (own !== undefined)
          this.deps.strike(peer.peerId, 'metadata that contradicts its signed descriptor', 'lying-list')
        continue
      }
      if (this.meta.has(meta.hash)) continue
      this.keepMeta(meta)
      changed.push(meta.hash)
    }
    if (changed.length > 0) this.#onMeta?.(changed)
  }

  /**
   * Keep metadata already checked (or this node's own, for a track it no longer holds). Tracks
   * whose metadata the caps then push out are reported through `onMeta` at once.
   */
  keepMeta(meta: TrackMeta): void {
    const previous = this.meta.get(meta.hash)
    if (previous) this.#metaBytes -= metaBytes(previous)
    this.meta.set(meta.hash, meta)
    this.#metaBytes += metaBytes(meta)
    if (this.meta.size <= META_LIMITS.entries && this.#metaBytes <= META_LIMITS.bytes) return
    const dropped = this.#shrinkMeta()
    if (dropped.length > 0) this.#onMeta?.(dropped)
  }

  /** Heap bytes the metadata cache is estimated to hold (bounded by META_LIMITS.bytes). */
  get metaBytes(): number {
    return this.#metaBytes
  }

  /** Down to 90 % of both caps: unannounced tracks first, then the oldest heard. Returns their hashes. */
  #shrinkMeta(): string[] {
    const entries = Math.floor(META_LIMITS.entries * 0.9)
    const bytes = Math.floor(META_LIMITS.bytes * 0.9)
    const over = () => this.meta.size > entries || this.#metaBytes > bytes
    const dropped: string[] = []
    const drop = (hash: string, meta: TrackMeta) => {
      this.meta.delete(hash)
      this.#metaBytes -= metaBytes(meta)
      dropped.push(hash)
    }
    for (const [hash, meta] of this.meta) {
      if (!over()) return dropped
      if (this.deps.directory.holderCount(hash) === 0) drop(hash, meta)
    }
    for (const [hash, meta] of this.meta) {
      if (!over()) return dropped
      drop(hash, meta)
    }
    return dropped
  }

  /** Announced tracks still without metadata: ask linked holders first, else any linked peer. */
  async #fetchMissingMeta() {
    const missing: string[] = []
    for (const hash of this.deps.directory.trackHashes()) {
      if (!this.meta.has(hash) && !this.deps.localMeta(hash) && !this.#metaInFlight.has(hash)) {
        missing.push(hash)
        if (missing.length >= MAX_TRACKS_PAGE * 2) break
      }
    }
    if (missing.length === 0) return
    const peers = this.deps.peers()
    if (peers.length === 0) return
    const byPeer = new Map<GossipPeer, string[]>()
    for (const hash of missing) {
      const holders = this.deps.directory.holders(hash)
      const peer =
        peers.find((p) => holders.has(p.peerId)) ?? peers[Math.floor(this.deps.random() * peers.length)]!
      byPeer.set(peer, [...(byPeer.get(peer) ?? []), hash])
    }
    await Promise.all([...byPeer].map(([peer, hashes]) => this.#fetchMeta(peer, hashes)))
  }
}

/** A full track set as the discover pages that carry it; `body` is its packed entries. */
export function fullPages(rec: SignedRecord, body: Uint8Array): WireOf<'discover'>[] {
  const pageBytes = PAGE_ENTRIES * ENTRY_BYTES
  const pages = Math.max(1, Math.ceil(body.length / pageBytes))
  return Array.from({ length: pages }, (_, page) => ({
    type: 'discover',
    rec,
    mode: 'full',
    adds: 0,
    page,
    pages,
    body: body.subarray(page * pageBytes, (page + 1) * pageBytes),
  }))
}

function shuffle<T>(items: T[], random: Random): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

function clampSeen(ms: number): number {
  return Math.min(86_400_000, Math.max(0, Math.round(ms)))
}
