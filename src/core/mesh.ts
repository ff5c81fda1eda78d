import * as v from 'valibot'
import { Announcer, type Announcement } from './announcer.ts'
import type { Track } from './catalog.ts'
import { every, type Clock, type Random, type TimerHandle } from './clock.ts'
import { Directory, type DirectoryConfig } from './directory.ts'
import { Emitter } from './emitter.ts'
import { Gossip, type GossipConfig, type GossipPeer } from './gossip.ts'
import type { LocalTracks, MeshStats, NetworkChange, NetworkTrack, TypeCount } from './mesh-types.ts'
import { describeTrack, type TrackDescriptor } from './descriptors.ts'
import type { RecordSigner, RecordVerifier, Sha256 } from './records.ts'
import type { PenaltyKind } from './reputation.ts'
import { MAX_TEXT, TrackMetaSchema, type SignedRecord, type TrackMeta, type Wire } from './wire.ts'

export type MeshConfig = {
  gossip: Partial<GossipConfig>
  directory: Partial<DirectoryConfig>
  /** Own record re-announced every this many gossip intervals (grows with the mesh, see below). */
  refreshRounds: number
  /** Validity of each own record, in refresh periods: a peer silent for that long is gone. */
  ttlRefreshes: number
}

export const DEFAULT_MESH_CONFIG: MeshConfig = {
  gossip: {},
  directory: {},
  refreshRounds: 6,
  ttlRefreshes: 3,
}

/**
 * Refreshes per round the mesh can carry for everyone: with N peers each refreshing every R
 * rounds, a node relays about N / R refreshes per round, so R grows with N to keep bytes per round
 * flat (and a departed peer takes longer to expire in a large mesh).
 */
// 16, not more: a refresh is relayed by rumour (hotPerRound × fanout = 48 pushes per node and
// round, with the redundancy of random pushes) and by digests. In the simulator (200–400 nodes)
// 32 per round left refreshes so far behind that live records expired; 16 keeps a refresh about
// two rounds from everyone on average.
const REFRESHES_PER_ROUND = 16
/**
 * Each refresh period is shortened by up to this fraction, at random, so nodes that started
 * together (a page reload across a room, the simulator) do not all refresh in the same round. It
 * only ever shortens the period, so a record is always refreshed within its ttl.
 */
const REFRESH_JITTER = 0.25
/** The network view is told of changes at most this often: a gossip burst is one update, not hundreds. */
const NETWORK_UPDATE_MS = 50
/**
 * A change naming tracks without metadata waits this long at most for it (gossip asks for every
 * announced track's at once): a first link's rows then appear once, titled, instead of as hashes
 * a round trip before (a render on the page's main thread just when the titles' answer is due).
 * Metadata that does not come in time leaves the rows to say "details pending".
 */
export const META_HOLD_MS = 500

export type MeshEvents = {
  /** The network track list changed (coalesced): which tracks, so a view can update only those. */
  network: [change: NetworkChange]
}

export type MeshDeps = {
  signer: RecordSigner
  sha256: Sha256
  verify: RecordVerifier
  clock: Clock
  random: Random
  local?: LocalTracks
  config?: Partial<MeshConfig>
  peers(): GossipPeer[]
  strike(peerId: string, reason: string, kind?: PenaltyKind): void
  onRecords?(records: { rec: SignedRecord; seenMs: number }[], source: string): void
  credit?(peerId: string, bytes: number): void
  /** Standing a peer has in this node's eyes (linked, useful), kept when the directory is full. */
  standing?(peerId: string): number
}

/**
 * The mesh protocol for one node: its own announcement, the directory of everyone else's, gossip
 * to keep them in sync, and the network-wide track list and traffic stats the UI shows.
 */
export class Mesh {
  readonly events = new Emitter<MeshEvents>()
  readonly directory: Directory
  readonly gossip: Gossip
  readonly announcer: Announcer
  readonly config: MeshConfig
  readonly sent: Record<string, TypeCount> = {}
  readonly received: Record<string, TypeCount> = {}
  #localMeta = new Map<string, TrackMeta>()
  /**
   * Each local track's meta (null: it does not pass), by the track object it came from. A track
   * is replaced when it changes, never changed in place, so a publish checks only new tracks: a
   * batch import publishes every half second, and checking the whole library each time cost O(n).
   */
  #metaOf = new WeakMap<Track, TrackMeta | null>()
  /** Our own tracks' descriptors, as our record signs them (by content hash). */
  #localDesc = new Map<string, { descriptor: TrackDescriptor; digest: string }>()
  #stoppers: (() => void)[] = []
  #networkTimer: TimerHandle | undefined
  #networkEmittedAt = -Infinity
  /** When the last update that told a metadata change went out. */
  #describedEmittedAt = -Infinity
  /** When the pending update goes out, and whether it tells a metadata change. */
  #networkDueAt = Infinity
  #networkDescribes = false
  /** Since when the pending update has waited for titles on their way (META_HOLD_MS). */
  #heldSince: number | undefined
  #network: NetworkTrack[] | undefined
  /** Every network track by hash, kept current one changed hash at a time (see `#sync`). */
  #entries = new Map<string, NetworkTrack>()
  /** Entries to recompute before the next read; `#rebuild` recomputes them all. */
  #stale = new Set<string>()
  #rebuild = true
  /** What changed since the last 'network' event. */
  #changed = new Set<string>()
  #changedAll = true
  #running = false
  /** When our record was last announced, and this period's share of the refresh interval. */
  #announcedAt = 0
  #refreshFactor = 1

  constructor(private readonly deps: MeshDeps) {
    this.config = { ...DEFAULT_MESH_CONFIG, ...deps.config }
    this.directory = new Directory({
      self: deps.signer.peerId,
      clock: deps.clock,
      sha256: deps.sha256,
      verify: deps.verify,
      config: this.config.directory,
      ...(deps.standing ? { standing: deps.standing } : {}),
    })
    this.gossip = new Gossip({
      directory: this.directory,
      clock: deps.clock,
      random: deps.random,
      config: this.config.gossip,
      peers: deps.peers,
      localMeta: (hash) => this.#localMeta.get(hash),
      sha256: deps.sha256,
      strike: deps.strike,
      ...(deps.onRecords ? { onRecords: deps.onRecords } : {}),
      ...(deps.credit ? { credit: deps.credit } : {}),
    })
    this.gossip.onMeta = (hashes) => this.#networkChanged(hashes, true)
    this.announcer = new Announcer({
      signer: deps.signer,
      sha256: deps.sha256,
      clock: deps.clock,
      ttlS: () => Math.ceil((this.refreshMs * this.config.ttlRefreshes) / 1000),
    })
    this.directory.events.on('tracks', (hashes) => this.#networkChanged(hashes))
  }

  /**
   * Announce our tracks and start gossiping on timers; with `manual`, rounds and refreshes are
   * left to the caller (the simulator drives thousands of nodes round by round).
   */
  async start(drive: 'timers' | 'manual' = 'timers'): Promise<void> {
    if (this.#running) return
    this.#running = true
    const { clock, random, local } = this.deps
    const interval = this.gossip.config.intervalMs
    if (local) this.#stoppers.push(local.events.on('tracks', () => void this.publish()))
    await this.publish()
    if (drive === 'manual') return
    this.#stoppers.push(
      every(clock, interval, () => void this.gossip.round(), random, this.gossip.config.jitter),
    )
    // Checked every round so the refresh period can follow the mesh's size.
    this.#stoppers.push(every(clock, interval, () => void this.refreshIfDue()))
  }

  /** Re-announce our record (unchanged) when its refresh period has passed; the simulator calls this each round. */
  async refreshIfDue(): Promise<void> {
    const now = this.deps.clock.now()
    // The period grows with the directory, but never past what the record out there was signed
    // for: one signed while the directory was small carries a short ttl.
    const ttlMs = ((this.announcer.current?.rec.ttl ?? 0) * 1000) / this.config.ttlRefreshes
    const period = Math.min(this.refreshMs, ttlMs || Infinity)
    if (!this.#running || now - this.#announcedAt < period * this.#refreshFactor) return
    this.#announcedAt = now
    await this.publish(true)
  }

  /** Stop gossiping; tell linked peers we are leaving (best effort: the links close next). */
  async stop(): Promise<void> {
    if (!this.#running) return
    this.#running = false
    for (const stop of this.#stoppers.splice(0)) stop()
    if (this.#networkTimer !== undefined) this.deps.clock.clearTimeout(this.#networkTimer)
    this.#networkTimer = undefined
    this.#networkDueAt = Infinity
    const leaving = await this.announcer.leave()
    this.gossip.announce(leaving)
  }

  /** (Re-)announce our track set; pushed to every link at once when it changed. */
  async publish(refresh = false): Promise<void> {
    const tracks = this.deps.local?.tracks ?? []
    const before = this.#localMeta
    this.#localMeta = new Map()
    for (const track of tracks) {
      let meta = this.#metaOf.get(track)
      if (meta === undefined) this.#metaOf.set(track, (meta = toTrackMeta(track) ?? null))
      if (meta) this.#localMeta.set(track.contentHash, meta)
    }
    // A track removed here may live on elsewhere: keep describing it like any network track.
    for (const [hash, meta] of before) if (!this.#localMeta.has(hash)) this.gossip.keepMeta(meta)
    const described = new Map<string, { descriptor: TrackDescriptor; digest: string }>()
    for (const [hash, meta] of this.#localMeta) {
      described.set(hash, this.#localDesc.get(hash) ?? (await describeTrack(this.deps.sha256, meta)))
    }
    this.#localDesc = described
    const own = await this.announcer.publish(
      [...described].map(([hash, d]) => [hash, d.digest] as const),
      refresh,
    )
    if (!own || !this.#running) return
    // Any new version refreshes us in other nodes' directories: the next refresh is a period away
    // (the first one anywhere in a period, so nodes started together spread their refreshes out).
    const first = this.#announcedAt === 0
    this.#announcedAt = this.deps.clock.now()
    this.#refreshFactor = first ? this.deps.random() : 1 - REFRESH_JITTER * this.deps.random()
    this.directory.setOwn(own.rec, own.tracks, own.delta)
    this.gossip.announce(own)
    this.#networkChanged(changedMeta(before, this.#localMeta))
  }

  /** A verified link: exchange announcements at once. */
  linked(peer: GossipPeer): Promise<void> {
    return this.gossip.linked(peer, this.announcer.current)
  }

  receive(peer: GossipPeer, msg: Wire): Promise<void> {
    return this.gossip.receive(peer, msg)
  }

  /** Count a frame for the stats panel. */
  meter = (direction: 'sent' | 'received', type: string, bytes: number): void => {
    const table = direction === 'sent' ? this.sent : this.received
    const row = (table[type] ??= { messages: 0, bytes: 0 })
    row.messages++
    row.bytes += bytes
  }

  /** The descriptor our record signs for one of our tracks (what we serve its piece list with). */
  descriptor(hash: string): TrackDescriptor | undefined {
    return this.#localDesc.get(hash)?.descriptor
  }

  get own(): Announcement | undefined {
    return this.announcer.current
  }

  get stats(): MeshStats {
    const rejected = (this.received['rejected']?.messages ?? 0) + (this.received['throttled']?.messages ?? 0)
    return {
      sent: structuredClone(this.sent),
      received: structuredClone(this.received),
      rejected,
      gossipRounds: this.gossip.rounds,
      knownPeers: Math.max(0, this.directory.size - 1),
      knownTracks: this.directory.trackCount,
    }
  }

  /** Every track this node has heard of, with its holders. */
  get network(): NetworkTrack[] {
    this.#sync()
    this.#network ??= [...this.#entries.values()]
    return this.#network
  }

  /** One network track, as `network` lists it (O(1), for a view applying a change). */
  networkTrack(hash: string): NetworkTrack | undefined {
    this.#sync()
    return this.#entries.get(hash)
  }

  /** Bring `#entries` up to date: only the stale hashes, unless everything is. */
  #sync() {
    if (this.#rebuild) {
      this.#rebuild = false
      this.#stale.clear()
      this.#entries.clear()
      for (const hash of new Set([...this.directory.trackHashes(), ...this.gossip.meta.keys()])) {
        this.#entries.set(hash, this.#entry(hash))
      }
      return
    }
    for (const hash of this.#stale) {
      if (this.directory.holderCount(hash) > 0 || this.gossip.meta.has(hash)) {
        this.#entries.set(hash, this.#entry(hash))
      } else this.#entries.delete(hash)
    }
    this.#stale.clear()
  }

  #entry(hash: string): NetworkTrack {
    const meta = this.#localMeta.get(hash) ?? this.gossip.meta.get(hash)
    return {
      contentHash: hash,
      title: meta?.title ?? `${hash.slice(0, 12)}…`,
      ...(meta?.artist ? { artist: meta.artist } : {}),
      ...(meta?.album ? { album: meta.album } : {}),
      ...(meta?.durationS !== undefined ? { durationS: meta.durationS } : {}),
      ...(meta ? { size: meta.size, mime: meta.mime } : {}),
      holders: this.directory.holderCount(hash),
      local: this.#localMeta.has(hash),
      described: meta !== undefined,
    }
  }

  /** How often our record is re-announced now (grows with the directory, capped by the longest ttl). */
  get refreshMs(): number {
    const base = this.gossip.config.intervalMs * this.config.refreshRounds
    const rounds = Math.max(this.config.refreshRounds, this.directory.size / REFRESHES_PER_ROUND)
    const maxTtlMs = (this.directory.config.maxTtlS * 1000) / this.config.ttlRefreshes
    return Math.min(Math.max(base, rounds * this.gossip.config.intervalMs), maxTtlMs)
  }

  /**
   * Coalesce bursts of directory changes (these tracks') into one view update. `described`: the
   * tracks' metadata came (or went), which is what gives a row its title and its Play button a
   * name; such a change has a coalescing period of its own, so a first link's titles, which land a
   * round trip after its holder counts, are not held back for the rest of the counts' period.
   */
  #networkChanged(hashes: Iterable<string>, described = false) {
    let any = false
    for (const hash of hashes) {
      any = true
      this.#stale.add(hash)
      if (!this.#changedAll) this.#changed.add(hash)
    }
    // A refresh that changed nothing (the node's own record re-signed) is no change to the view.
    if (!any) return
    this.#network = undefined
    // At most one update per NETWORK_UPDATE_MS, the first after a quiet spell in the next task:
    // a first link's tracks are listed as soon as they are described, not a coalescing wait later.
    // Metadata changes count their period apart (so at most two updates per period in all).
    const now = this.deps.clock.now()
    const since = described ? this.#describedEmittedAt : this.#networkEmittedAt
    const dueAt = Math.max(now, since + NETWORK_UPDATE_MS)
    if (described) this.#networkDescribes = true
    if (this.#networkTimer !== undefined) {
      if (dueAt >= this.#networkDueAt) return
      this.deps.clock.clearTimeout(this.#networkTimer)
    }
    this.#armNetwork(dueAt, now)
  }

  #armNetwork(dueAt: number, now: number) {
    this.#networkDueAt = dueAt
    this.#networkTimer = this.deps.clock.setTimeout(() => {
      this.#networkTimer = undefined
      this.#networkDueAt = Infinity
      if (this.#holdForTitles()) return
      this.#networkEmittedAt = this.deps.clock.now()
      if (this.#networkDescribes) this.#describedEmittedAt = this.#networkEmittedAt
      this.#networkDescribes = false
      const change: NetworkChange = this.#changedAll ? 'all' : { hashes: [...this.#changed] }
      this.#changedAll = false
      this.#changed.clear()
      this.events.emit('network', change)
    }, dueAt - now)
  }

  /**
   * Whether the update due now waits for metadata (at most META_HOLD_MS; its arrival is a change
   * of its own, which comes sooner): it then re-arms itself for the deadline.
   */
  #holdForTitles(): boolean {
    const untitled = (hash: string) => !this.#localMeta.has(hash) && !this.gossip.meta.has(hash)
    const pending = someOf(this.#changedAll ? this.directory.trackHashes() : this.#changed, untitled)
    const now = this.deps.clock.now()
    if (!pending || (this.#heldSince !== undefined && now - this.#heldSince >= META_HOLD_MS)) {
      this.#heldSince = undefined
      return false
    }
    this.#heldSince ??= now
    this.#armNetwork(this.#heldSince + META_HOLD_MS, now)
    return true
  }
}

/** Whether some item `test` accepts (stopping at the first). */
function someOf<T>(items: Iterable<T>, test: (item: T) => boolean): boolean {
  for (const item of items) if (test(item)) return true
  return false
}

/** Our tracks whose metadata a publish added, removed or changed. */
function changedMeta(
  before: ReadonlyMap<string, TrackMeta>,
  after: ReadonlyMap<string, TrackMeta>,
): string[] {
  const changed: string[] = []
  for (const [hash, meta] of after) {
    const old = before.get(hash)
    const same =
      old?.title === meta.title &&
      old.artist === meta.artist &&
      old.album === meta.album &&
      old.durationS === meta.durationS &&
      old.size === meta.size &&
      old.mime === meta.mime
    if (!same) changed.push(hash)
  }
  for (const hash of before.keys()) if (!after.has(hash)) changed.push(hash)
  return changed
}

/**
 * Our own track as peers will see it, held to the same rules we hold theirs to: text capped and
 * stripped of control characters; undefined if it still would not pass (it is then not announced).
 */
export function toTrackMeta(track: Track): TrackMeta | undefined {
  const text = (s: string | undefined) => {
    // eslint-disable-next-line no-control-regex
    const clean = s?.replace(/[\u0000-\u001f\u007f]/g, ' ').trim()
    if (!clean) return undefined
    // Cut at a whole code point: the cap counts UTF-16 units, and half a surrogate pair is not text.
    let out = ''
    for (const ch of clean) {
      if (out.length + ch.length > MAX_TEXT) break
      out += ch
    }
    return out
  }
  const optional = (key: string, value: unknown) => (value === undefined ? {} : { [key]: value })
  const meta = {
    hash: track.contentHash,
    size: track.size,
    mime: track.mime,
    ...optional('container', text(track.container)),
    ...optional('codec', text(track.codec)),
    title: text(track.title) ?? 'Untitled',
    ...optional('artist', text(track.artist)),
    ...optional('album', text(track.album)),
    ...optional('trackNo', track.trackNo),
    ...optional('durationS', track.durationS),
    pieceSize: track.pieceSize,
    piecesRoot: track.piecesRoot,
  }
  return v.is(TrackMetaSchema, meta) ? meta : undefined
}
