import { every, type Clock, type Random } from './clock.ts'
import { Emitter } from './emitter.ts'
import { DcmxError } from './errors.ts'
import type { Identity } from './identity.ts'
import { ContentServer, type ContentPeer } from './content-server.ts'
import { emptyContentStats, type ContentStats } from './content-stats.ts'
import type { Track } from './catalog.ts'
import { Fetcher, type FetcherConfig, type FetchPeer } from './fetcher.ts'
import type { GossipPeer } from './gossip.ts'
import type { PartialStore } from './partial.ts'
import type { LinkFactory, LinkRoute, RtcLink } from './link.ts'
import { CROSSED_DIAL, LinkManager, type Direction, type ManagedLink } from './link-manager.ts'
import { consoleDevLog, type DevLog } from './dev-log.ts'
import { Reputation, type PenaltyKind } from './reputation.ts'
import { Mesh, type MeshConfig } from './mesh.ts'
import type {
  KnownPeer,
  LocalTracks,
  MeshStats,
  NetworkChange,
  NetworkTrack,
  PeerStore,
} from './mesh-types.ts'
import {
  DEFAULT_SESSION_CONFIG,
  PeerSession,
  type CryptoDeps,
  type PingResult,
  type SessionConfig,
} from './peer-session.ts'
import { PeerManager } from './peer-manager.ts'
import { STANDING_LINKED, STANDING_USEFUL } from './directory.ts'
import { signerFor, webCryptoSha256, webCryptoVerifier, type RecordVerifier } from './records.ts'
import type { SignalingClient, SignalingState } from './signaling-client.ts'
import type { PeerRef } from './signaling-protocol.ts'

export type NodeConfig = {
  /** Links this node opens and keeps, at most. */
  linkBudget: number
  /** Extra inbound links accepted beyond the budget, so late joiners still find a way in. */
  inboundSlack: number
  /** Inbound links still proving who they are, at once (apart from the budget). */
  pendingCap: number
  /** How often a node below its budget asks the server for more peers (doubles while nothing new turns up). */
  refillMs: number
  /** How long a peer that misbehaved (forged, lied, flooded) is refused. */
  banMs: number
  /** How often the passive view is saved. */
  saveMs: number
  session: SessionConfig
  mesh: Partial<MeshConfig>
  fetch: Partial<FetcherConfig>
}

export const DEFAULT_NODE_CONFIG: NodeConfig = {
  linkBudget: 8,
  inboundSlack: 4,
  pendingCap: 4,
  refillMs: 5_000,
  banMs: 10 * 60_000,
  saveMs: 30_000,
  session: DEFAULT_SESSION_CONFIG,
  mesh: {},
  fetch: {},
}

/** Entries kept in the in-memory activity log. */
const LOG_LIMIT = 200

export type PeerView = {
  peerId: string
  state: 'connecting' | 'verifying' | 'connected'
  direction: 'outbound' | 'inbound'
  rttMs: number | undefined
  lastSeen: number | undefined
  /** How the link connected (host, server-reflexive, relayed), once known. */
  route?: LinkRoute | undefined
}

export type LogEntry = { at: number; level: 'info' | 'warn'; message: string }

export type NodeEvents = {
  /** Something visible changed: signaling state, a peer's state or RTT. */
  change: []
  /** The network-wide track list changed (which tracks, or 'all'). */
  network: [change: NetworkChange]
  /** A download started, progressed or ended. */
  downloads: []
  log: [LogEntry]
}

export type NodeDeps = {
  identity: Identity
  crypto: CryptoDeps
  clock: Clock
  random: Random
  signaling: SignalingClient
  createLink: LinkFactory
  /** This node's own tracks, announced to the mesh. */
  local?: LocalTracks
  /** Where the passive view persists across reloads. */
  peerStore?: PeerStore
  /** Record signature check; WebCrypto unless a test swaps in a cheaper one. */
  verify?: RecordVerifier
  /** Serving our tracks to peers and fetching theirs (absent when local storage is unavailable). */
  content?: {
    read(hash: string, start: number, end: number): Promise<Uint8Array>
    /** Bytes `read` gave that the server is done with (see ContentStore.recycle). */
    recycle?(bytes: Uint8Array): void
    partials: PartialStore
    /** A download is stored and verified: add it to the library. */
    adopt(track: Track): Promise<void>
  }
  config?: Partial<NodeConfig>
  /** The developer log (the console unless a test or a headless node passes its own). */
  devLog?: DevLog
}

/** What the node talks to one linked peer through: gossip, and content both ways. */
type Ports = { gossip: GossipPeer; content: ContentPeer & FetchPeer }

/**
 * A DCMX node: one identity, a signaling connection, and a budget of verified links to other
 * nodes. It is a composition: the link manager holds the links (each a PeerSession with its
 * inbound gate and request tables), the reputation ledger judges every peer, the mesh gossips,
 * the content server and fetcher move tracks. No browser type appears here.
 */
export class DcmxNode {
  readonly events = new Emitter<NodeEvents>()
  readonly log: LogEntry[] = []
  readonly config: NodeConfig
  readonly mesh: Mesh
  readonly passive: PeerManager
  readonly server: ContentServer
  readonly fetcher: Fetcher | undefined
  readonly reputation: Reputation
  readonly links: LinkManager
  /**
   * Our tracks by hash and the peers they came from, built on the first look after the library
   * changed: a batch import changes it every half second, and rebuilding both for a library of
   * n tracks each time made every import pay O(n) for lookups that rarely come meanwhile.
   */
  #localIndex: { tracks: Map<string, Track>; sources: Set<string> } | undefined
  readonly #contentStats = emptyContentStats()
  #ports = new WeakMap<PeerSession, Ports>()
  #stoppers: (() => void)[] = []
  #started = false

  constructor(private readonly deps: NodeDeps) {
    const config = (this.config = { ...DEFAULT_NODE_CONFIG, ...deps.config })
    const { clock, random, crypto } = deps
    this.reputation = new Reputation(clock, { limit: config.session.maxStrikes, banMs: config.banMs })
    this.passive = new PeerManager(deps.identity.peerId, random)
    this.mesh = new Mesh({
      signer: signerFor(deps.identity),
      sha256: webCryptoSha256(crypto.subtle),
      verify: deps.verify ?? webCryptoVerifier(crypto.subtle),
      clock,
      random,
      ...(deps.local ? { local: deps.local } : {}),
      config: config.mesh,
      peers: () => this.links.verified.map((e) => this.#ports.get(e.peer)!.gossip),
      strike: (peerId, reason, kind) => this.penalise(peerId, kind ?? 'protocol', reason),
      credit: (peerId, bytes) => this.links.credit(peerId, bytes),
      onRecords: (records, source) => this.passive.heardFrom(source, records, clock.now()),
      standing: (peerId) =>
        // Peers our downloaded tracks came from are useful: kept in a full directory.
        this.links.connected(peerId)
          ? STANDING_LINKED
          : this.#local().sources.has(peerId)
            ? STANDING_USEFUL
            : 0,
    })
    this.mesh.events.on('network', (change) => this.events.emit('network', change))
    deps.local?.events.on('tracks', () => (this.#localIndex = undefined))
    const content = deps.content
    this.server = new ContentServer({
      clock,
      stats: this.#contentStats,
      track: (hash) => this.#local().tracks.get(hash),
      descriptor: (hash) => this.mesh.descriptor(hash),
      read: (hash, start, end) =>
        content
          ? content.read(hash, start, end)
          : Promise.reject(new DcmxError('NOT_FOUND', 'no local storage')),
      recycle: (bytes) => content?.recycle?.(bytes),
    })
    this.fetcher = content ? this.#fetcher(content) : undefined
    this.links = new LinkManager({
      self: deps.identity.peerId,
      clock,
      random,
      signaling: deps.signaling,
      createLink: deps.createLink,
      reputation: this.reputation,
      session: (link, ref, direction) => this.#session(link, ref, direction),
      heardOf: (peerId) => this.mesh.directory.get(peerId) !== undefined,
      refill: (room, exclude) => this.passive.refill(room, exclude),
      found: (peerIds) => this.passive.found(peerIds),
      config,
    })
    this.links.events.on('change', () => this.events.emit('change'))
    this.links.events.on('verified', (entry) => this.#onVerified(entry))
    this.links.events.on('closed', (entry, reason, rejected) => this.#onClosed(entry, reason, rejected))
    this.fetcher?.events.on('change', () => this.events.emit('downloads'))
    this.mesh.events.on('network', () => {
      if (this.#started) this.fetcher?.resume().catch((e) => this.#dev('resuming downloads failed', e))
    })
    this.mesh.directory.events.on('peers', () => this.events.emit('change'))
  }

  /** Every track heard of in the mesh. */
  get network(): NetworkTrack[] {
    return this.mesh.network
  }

  /** One track of `network`, found in O(1). */
  networkTrack(hash: string): NetworkTrack | undefined {
    return this.mesh.networkTrack(hash)
  }

  /** Traffic and gossip counters, and the bulk path's (`content`: cancels, bytes saved, drains). */
  get stats(): MeshStats & { content: ContentStats } {
    return { ...this.mesh.stats, content: { ...this.#contentStats } }
  }

  /** Direct links first, then peers known through gossip, with their track counts. */
  get knownPeers(): KnownPeer[] {
    return knownPeers(this.peers, this.mesh, this.peerId)
  }

  get peerId(): string {
    return this.deps.identity.peerId
  }

  get signaling(): SignalingState {
    return this.deps.signaling.state
  }

  /** Proven peers this node refuses right now (for misbehaving). */
  get banned(): string[] {
    return this.reputation.banned
  }

  /** Every link in progress or up, connected ones first, then by peer id. */
  get peers(): PeerView[] {
    const rank = { connected: 0, verifying: 1, connecting: 2 }
    return this.links.links
      .map((e) => ({
        peerId: e.peer.provenId ?? e.peer.remoteId ?? e.expectedPeerId,
        state: e.peer.state as PeerView['state'],
        direction: e.direction,
        rttMs: e.peer.rttMs,
        lastSeen: e.peer.lastSeen || undefined,
        route: e.link.route,
      }))
      .sort((a, b) => rank[a.state] - rank[b.state] || a.peerId.localeCompare(b.peerId))
  }

  start(): void {
    if (this.#started) return
    this.#started = true
    const { signaling, clock } = this.deps
    let wasDown = false
    this.#stoppers.push(
      signaling.events.on('state', (state) => {
        // Log transitions, not every retry: one line when the server goes, one when it is back.
        if (state.state === 'online') this.#info('Joined the room on the signaling server')
        if (state.state === 'reconnecting' && !wasDown) {
          this.#warn(`Signaling server unreachable (${state.lastError}); links stay up, retrying`)
        }
        if (state.state === 'reconnecting') wasDown = true
        if (state.state === 'online') wasDown = false
        this.events.emit('change')
      }),
      signaling.events.on('error', (code, message) => this.#warn(`Signaling server: ${message} (${code})`)),
      this.reputation.events.on('banned', (peerId) => this.passive.forget(peerId)),
    )
    this.links.start()
    signaling.start()
    void this.mesh.start()
    void this.deps.peerStore
      ?.load()
      .then((peers) => this.passive.restore(peers))
      .catch((error) => this.#warn(`Could not load known peers: ${String(error)}`))
    this.#stoppers.push(every(clock, this.config.saveMs, () => void this.#savePeers()))
  }

  stop(): void {
    if (!this.#started) return
    this.#started = false
    for (const stop of this.#stoppers.splice(0)) stop()
    this.links.stop()
    void this.#savePeers()
    // The leaving record is signed asynchronously; the links close once it is on its way.
    const close = () => this.links.closeAll('node stopped')
    void this.mesh.stop().then(close, close)
    this.deps.signaling.stop()
    this.events.emit('change')
  }

  /** Ping a connected peer with an optional payload; resolves with the echo and round trip. */
  ping(peerId: string, body?: Uint8Array): Promise<PingResult> {
    const entry = this.links.connected(peerId)
    if (!entry) return Promise.reject(new DcmxError('PEER_GONE', `no connected link to ${peerId}`))
    return entry.peer.ping(body)
  }

  /**
   * Charge a peer with a named penalty (the entry point for every part that detects one): through
   * its link's session when linked (which closes or bans as the ledger decides), else the ledger.
   */
  penalise(peerId: string, kind: PenaltyKind, detail: string): void {
    this.#warn(`Peer ${short(peerId)}: ${detail}`)
    const entry = this.links.connected(peerId)
    if (entry) entry.peer.penalise(kind, detail)
    else this.reputation.penalise(peerId, kind, detail)
  }

  #fetcher(content: NonNullable<NodeDeps['content']>): Fetcher {
    const { deps } = this
    return new Fetcher({
      clock: deps.clock,
      random: deps.random,
      sha256: webCryptoSha256(deps.crypto.subtle),
      partials: content.partials,
      meta: (hash) => this.mesh.gossip.meta.get(hash),
      holders: (hash) => [...this.mesh.directory.holders(hash)].filter((id) => id !== this.peerId),
      descriptor: (peerId, hash) => this.mesh.directory.descriptor(peerId, hash),
      linked: (peerId) => {
        const entry = this.links.connected(peerId)
        return entry && this.#ports.get(entry.peer)?.content
      },
      connect: (peerIds) => {
        const wanted = peerIds
          .filter((id) => !this.links.knows(id) && !this.reputation.isBanned(id))
          .slice(0, 16)
        if (wanted.length > 0) deps.signaling.lookup(wanted)
      },
      readStored: (hash, start, end) => content.read(hash, start, end),
      adopt: (track) => content.adopt(track),
      penalise: (peerId, reason, ban) =>
        this.penalise(
          peerId,
          ban ? 'bad-file' : /piece list/.test(reason) ? 'lying-list' : 'bad-piece',
          reason,
        ),
      config: this.config.fetch,
    })
  }

  /** A session for a new link, with the ports gossip and content use to talk through it. */
  #session(link: RtcLink, ref: PeerRef, direction: Direction): PeerSession {
    const { deps } = this
    const peer = new PeerSession(link, {
      identity: deps.identity,
      crypto: deps.crypto,
      clock: deps.clock,
      random: deps.random,
      config: this.config.session,
      expectedPeerId: ref.peerId,
      answering: direction === 'inbound',
      session: ref.session,
      reputation: this.reputation,
      meter: this.mesh.meter,
      log: this.#devLog,
      contentStats: this.#contentStats,
    })
    const gossip: GossipPeer = {
      peerId: ref.peerId,
      send: (msg) => peer.send(msg),
      request: (msg) => peer.request(msg),
    }
    const content: Ports['content'] = {
      peerId: ref.peerId,
      post: (msg) => peer.post(msg),
      queuedBytes: () => peer.queuedBytes,
      rttMs: () => peer.rttMs,
      repairing: () => peer.link.repairing === true,
      fetchPiece: async (hash, index, length, signal) => {
        const bytes = await peer.fetchPiece(hash, index, length, signal)
        this.links.credit(ref.peerId, bytes.length)
        return bytes
      },
      request: (msg) => peer.request(msg),
    }
    peer.onMessage = async (msg) => {
      if (msg.type === 'content-cancel') return this.server.cancel(content, msg.id)
      if (msg.type === 'content-req' || msg.type === 'pieces-req') return this.server.handle(content, msg)
      return this.mesh.receive(gossip, msg)
    }
    // How the link connected (host, reflexive, relayed) shows in the peer list as it changes.
    link.events.on('route', () => this.events.emit('change'))
    this.#ports.set(peer, { gossip, content })
    return peer
  }

  #local(): { tracks: Map<string, Track>; sources: Set<string> } {
    if (this.#localIndex) return this.#localIndex
    const tracks = this.deps.local?.tracks ?? []
    return (this.#localIndex = {
      tracks: new Map(tracks.map((t) => [t.contentHash, t])),
      sources: new Set(tracks.map((t) => t.source)),
    })
  }

  #onVerified(entry: ManagedLink) {
    this.#info(`Linked with ${short(entry.peer.provenId!)} (${entry.direction})`)
    this.fetcher?.sourcesChanged()
    void this.mesh
      .linked(this.#ports.get(entry.peer)!.gossip)
      .catch((e) => this.#dev('first exchange failed', e))
  }

  #onClosed(entry: ManagedLink, reason: string, rejected: boolean) {
    this.fetcher?.sourcesChanged()
    const proven = entry.peer.provenId
    const who = short(proven ?? entry.peer.remoteId ?? entry.expectedPeerId)
    if (rejected && proven) {
      const minutes = Math.round(this.config.banMs / 60_000)
      this.#warn(`Rejected peer ${who}: ${reason}; refusing it for ${minutes} min`)
    } else if (rejected) {
      // Before its proof, a link's failure is its session's: the id it claimed may be someone else's.
      this.#warn(`Refused a link that claimed to be ${who}: ${reason}`)
    } else if (entry.direction === 'outbound' && !proven && reason !== CROSSED_DIAL) {
      this.passive.failed(entry.expectedPeerId)
      this.#info(`Could not link with ${who}: ${reason}`)
    } else if (reason !== 'node stopped' && reason !== CROSSED_DIAL)
      this.#info(`Link to ${who} closed: ${reason}`)
  }

  async #savePeers() {
    for (const e of this.links.verified) {
      const origin = this.mesh.directory.get(e.peer.provenId!)
      if (!origin) continue
      this.passive.linked({
        peerId: origin.rec.peer,
        alg: origin.rec.alg,
        publicKey: origin.rec.key,
        lastSeen: this.deps.clock.now(),
        ...(e.peer.rttMs !== undefined ? { rttMs: e.peer.rttMs } : {}),
      })
    }
    await this.deps.peerStore?.save(this.passive.snapshot()).catch((e) => this.#dev('saving peers failed', e))
  }

  #devLog: DevLog = (namespace, message, detail) =>
    (this.deps.devLog ?? consoleDevLog)(namespace, message, detail)

  #dev(message: string, detail: unknown) {
    this.#devLog('dcmx:node', message, detail)
  }

  #info(message: string) {
    this.#append({ at: this.deps.clock.now(), level: 'info', message })
  }

  #warn(message: string) {
    this.#append({ at: this.deps.clock.now(), level: 'warn', message })
  }

  #append(entry: LogEntry) {
    this.log.push(entry)
    if (this.log.length > LOG_LIMIT) this.log.splice(0, this.log.length - LOG_LIMIT)
    this.events.emit('log', entry)
  }
}

/** Direct links first, then peers known only through gossip, each with its track count. */
function knownPeers(links: PeerView[], mesh: Mesh, self: string): KnownPeer[] {
  const out = new Map<string, KnownPeer>()
  const { directory } = mesh
  for (const link of links) {
    // A peer back under a new session has a second link being proven: the connected one shows.
    if (out.has(link.peerId)) continue
    const origin = directory.get(link.peerId)
    out.set(link.peerId, {
      peerId: link.peerId,
      link: link.state,
      direction: link.direction,
      ...(link.rttMs !== undefined ? { rttMs: link.rttMs } : {}),
      ...(link.lastSeen !== undefined || origin
        ? { lastSeen: Math.max(link.lastSeen ?? 0, origin?.heardAt ?? 0) }
        : {}),
      tracks: directory.get(link.peerId)?.tracks.size ?? 0,
    })
  }
  const gossiped = [...directory.origins()]
    .filter((o) => o.rec.peer !== self && o.rec.ttl > 0 && !out.has(o.rec.peer))
    .sort((a, b) => b.heardAt - a.heardAt)
  for (const origin of gossiped) {
    out.set(origin.rec.peer, {
      peerId: origin.rec.peer,
      link: 'none',
      lastSeen: origin.heardAt,
      tracks: origin.tracks.size,
    })
  }
  return [...out.values()]
}

/** Peer ids in log lines: the first 8 hex characters are enough to tell peers apart by eye. */
function short(peerId: string) {
  return peerId.slice(0, 8)
}
