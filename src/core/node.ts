import { every, type Clock, type Random } from './clock.ts'
import { Emitter } from './emitter.ts'
import { DcmxError } from './errors.ts'
import type { Identity } from './identity.ts'
import { ContentServer, type ContentPeer } from './content-server.ts'
import type { Track } from './catalog.ts'
import { Fetcher, type FetcherConfig, type FetchPeer } from './fetcher.ts'
import type { GossipPeer } from './gossip.ts'
import type { PartialStore } from './partial.ts'
import type { LinkFactory, RtcLink } from './link.ts'
import { Mesh, type MeshConfig } from './mesh.ts'
import type { KnownPeer, LocalTracks, MeshStats, NetworkTrack, PeerStore } from './mesh-types.ts'
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
import type { PeerRef, SignalData } from './signaling-protocol.ts'

export type NodeConfig = {
  /** Links this node opens and keeps, at most. */
  linkBudget: number
  /** Extra inbound links accepted beyond the budget, so late joiners still find a way in. */
  inboundSlack: number
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
  refillMs: 5_000,
  banMs: 10 * 60_000,
  saveMs: 30_000,
  session: DEFAULT_SESSION_CONFIG,
  mesh: {},
  fetch: {},
}

/** The longest a node below its budget waits between sample requests. */
const MAX_REFILL_MS = 60_000
/** Entries kept in the in-memory activity log. */
const LOG_LIMIT = 200

export type PeerView = {
  peerId: string
  state: 'connecting' | 'verifying' | 'connected'
  direction: 'outbound' | 'inbound'
  rttMs: number | undefined
  lastSeen: number | undefined
}

export type LogEntry = { at: number; level: 'info' | 'warn'; message: string }

export type NodeEvents = {
  /** Something visible changed: signaling state, a peer's state or RTT. */
  change: []
  /** The network-wide track list changed. */
  network: []
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
    partials: PartialStore
    /** A download is stored and verified: add it to the library. */
    adopt(track: Track): Promise<void>
  }
  config?: Partial<NodeConfig>
}

type Entry = {
  session: string
  expectedPeerId: string
  direction: PeerView['direction']
  link: RtcLink
  peer: PeerSession
  gossip: GossipPeer
  content: ContentPeer & FetchPeer
}

/**
 * A DCMX node: one identity, a signaling connection, and a budget of verified links to other
 * nodes. It links to the peers the server samples for it, accepts inbound links within its
 * budget, drops duplicates and dead links, and refills its budget as links are lost.
 */
export class DcmxNode {
  readonly events = new Emitter<NodeEvents>()
  readonly log: LogEntry[] = []
  readonly config: NodeConfig
  readonly mesh: Mesh
  readonly passive: PeerManager
  readonly server: ContentServer
  readonly fetcher: Fetcher | undefined
  #localTracks = new Map<string, Track>()
  /** Peers our downloaded tracks came from: useful, so kept in a full directory. */
  #sources = new Set<string>()
  #entries = new Map<string, Entry>()
  #banned = new Map<string, number>()
  #stoppers: (() => void)[] = []
  #refillDelay: number
  #cancelRefill = () => {}
  #started = false

  constructor(private readonly deps: NodeDeps) {
    this.config = { ...DEFAULT_NODE_CONFIG, ...deps.config }
    this.#refillDelay = this.config.refillMs
    this.passive = new PeerManager(deps.identity.peerId, deps.random)
    this.mesh = new Mesh({
      signer: signerFor(deps.identity),
      sha256: webCryptoSha256(deps.crypto.subtle),
      verify: deps.verify ?? webCryptoVerifier(deps.crypto.subtle),
      clock: deps.clock,
      random: deps.random,
      ...(deps.local ? { local: deps.local } : {}),
      config: this.config.mesh,
      peers: () => this.#gossipPeers(),
      strike: (peerId, reason) => this.#strike(peerId, reason),
      onRecords: (records, source) => this.passive.heardFrom(source, records, deps.clock.now()),
      standing: (peerId) =>
        this.#connected(peerId) ? STANDING_LINKED : this.#sources.has(peerId) ? STANDING_USEFUL : 0,
    })
    this.mesh.events.on('network', () => this.events.emit('network'))
    const content = deps.content
    const indexLocal = () => {
      this.#localTracks = new Map(deps.local?.tracks.map((t) => [t.contentHash, t]))
      this.#sources = new Set(deps.local?.tracks.map((t) => t.source))
    }
    indexLocal()
    deps.local?.events.on('tracks', indexLocal)
    this.server = new ContentServer({
      clock: deps.clock,
      track: (hash) => this.#localTracks.get(hash),
      descriptor: (hash) => this.mesh.descriptor(hash),
      read: (hash, start, end) =>
        content
          ? content.read(hash, start, end)
          : Promise.reject(new DcmxError('NOT_FOUND', 'no local storage')),
    })
    this.fetcher = content
      ? new Fetcher({
          clock: deps.clock,
          random: deps.random,
          sha256: webCryptoSha256(deps.crypto.subtle),
          partials: content.partials,
          meta: (hash) => this.mesh.gossip.meta.get(hash),
          holders: (hash) => [...this.mesh.directory.holders(hash)].filter((id) => id !== this.peerId),
          descriptor: (peerId, hash) => this.mesh.directory.descriptor(peerId, hash),
          linked: (peerId) => this.#connected(peerId)?.content,
          connect: (peerIds) => {
            const wanted = peerIds.filter((id) => !this.#knows(id) && !this.#isBanned(id)).slice(0, 16)
            if (wanted.length > 0) deps.signaling.lookup(wanted)
          },
          readStored: (hash, start, end) => content.read(hash, start, end),
          adopt: (track) => content.adopt(track),
          penalise: (peerId, reason, ban) => {
            if (!ban) return this.#strike(peerId, reason)
            this.#warn(`Peer ${short(peerId)} ${reason}`)
            this.#connected(peerId)?.peer.close(reason, true)
          },
          config: this.config.fetch,
        })
      : undefined
    this.fetcher?.events.on('change', () => this.events.emit('downloads'))
    this.mesh.events.on('network', () => {
      if (this.#started) this.fetcher?.resume().catch(() => {})
    })
    this.mesh.directory.events.on('peers', () => this.events.emit('change'))
  }

  /** Every track heard of in the mesh. */
  get network(): NetworkTrack[] {
    return this.mesh.network
  }

  get stats(): MeshStats {
    return this.mesh.stats
  }

  /** Direct links first, then peers known through gossip, with their track counts. */
  get knownPeers(): KnownPeer[] {
    const out = new Map<string, KnownPeer>()
    const tracksOf = (peerId: string) => this.mesh.directory.get(peerId)?.tracks.size ?? 0
    for (const link of this.peers) {
      const origin = this.mesh.directory.get(link.peerId)
      out.set(link.peerId, {
        peerId: link.peerId,
        link: link.state,
        direction: link.direction,
        ...(link.rttMs !== undefined ? { rttMs: link.rttMs } : {}),
        ...(link.lastSeen !== undefined || origin
          ? { lastSeen: Math.max(link.lastSeen ?? 0, origin?.heardAt ?? 0) }
          : {}),
        tracks: tracksOf(link.peerId),
      })
    }
    const gossiped = [...this.mesh.directory.origins()]
      .filter((o) => o.rec.peer !== this.peerId && o.rec.ttl > 0 && !out.has(o.rec.peer))
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

  get peerId(): string {
    return this.deps.identity.peerId
  }

  get signaling(): SignalingState {
    return this.deps.signaling.state
  }

  /** Every link in progress or up, connected ones first, then by peer id. */
  get peers(): PeerView[] {
    const rank = { connected: 0, verifying: 1, connecting: 2 }
    return [...this.#entries.values()]
      .filter((e) => e.peer.state !== 'closed')
      .map((e) => ({
        peerId: e.peer.remoteId ?? e.expectedPeerId,
        state: e.peer.state as PeerView['state'],
        direction: e.direction,
        rttMs: e.peer.rttMs,
        lastSeen: e.peer.lastSeen || undefined,
      }))
      .sort((a, b) => rank[a.state] - rank[b.state] || a.peerId.localeCompare(b.peerId))
  }

  start(): void {
    if (this.#started) return
    this.#started = true
    const { signaling } = this.deps
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
      signaling.events.on('peers', (refs) => this.#linkTo(refs)),
      signaling.events.on('signal', (from, data) => this.#onSignal(from, data)),
      signaling.events.on('error', (code, message) => this.#warn(`Signaling server: ${message} (${code})`)),
    )
    this.#armRefill()
    signaling.start()
    void this.mesh.start()
    void this.deps.peerStore
      ?.load()
      .then((peers) => this.passive.restore(peers))
      .catch((error) => this.#warn(`Could not load known peers: ${String(error)}`))
    this.#stoppers.push(every(this.deps.clock, this.config.saveMs, () => void this.#savePeers()))
  }

  stop(): void {
    if (!this.#started) return
    this.#started = false
    for (const stop of this.#stoppers.splice(0)) stop()
    this.#cancelRefill()
    void this.#savePeers()
    // The leaving record is signed asynchronously; the links close once it is on its way.
    const close = () => {
      for (const entry of [...this.#entries.values()]) entry.peer.close('node stopped')
      this.#entries.clear()
    }
    void this.mesh.stop().then(close, close)
    this.deps.signaling.stop()
    this.events.emit('change')
  }

  async #savePeers() {
    for (const e of this.#entries.values()) {
      const origin = e.peer.remoteId ? this.mesh.directory.get(e.peer.remoteId) : undefined
      if (e.peer.state === 'connected' && origin) {
        this.passive.linked({
          peerId: origin.rec.peer,
          alg: origin.rec.alg,
          publicKey: origin.rec.key,
          lastSeen: this.deps.clock.now(),
          ...(e.peer.rttMs !== undefined ? { rttMs: e.peer.rttMs } : {}),
        })
      }
    }
    await this.deps.peerStore?.save(this.passive.snapshot()).catch(() => {})
  }

  #gossipPeers(): GossipPeer[] {
    return [...this.#entries.values()].filter((e) => e.peer.state === 'connected').map((e) => e.gossip)
  }

  /** A protocol violation by a linked peer: counted by its session, which closes past the limit. */
  #strike(peerId: string, reason: string) {
    const entry = this.#connected(peerId)
    if (!entry) return
    this.#warn(`Peer ${short(peerId)} sent a bad message: ${reason}`)
    entry.peer.strike(reason)
  }

  #isBanned(peerId: string): boolean {
    const until = this.#banned.get(peerId)
    if (until === undefined) return false
    if (until > this.deps.clock.now()) return true
    this.#banned.delete(peerId)
    return false
  }

  /** Ping a connected peer with an optional payload; resolves with the echo and round trip. */
  ping(peerId: string, body?: Uint8Array): Promise<PingResult> {
    const entry = this.#connected(peerId)
    if (!entry) return Promise.reject(new DcmxError('PEER_GONE', `no connected link to ${peerId}`))
    return entry.peer.ping(body)
  }

  #connected(peerId: string): Entry | undefined {
    for (const e of this.#entries.values())
      if (e.peer.state === 'connected' && e.peer.remoteId === peerId) return e
    return undefined
  }

  #knows(peerId: string): boolean {
    for (const e of this.#entries.values()) if ((e.peer.remoteId ?? e.expectedPeerId) === peerId) return true
    return false
  }

  #linkTo(refs: PeerRef[]) {
    this.passive.found(refs.map((ref) => ref.peerId))
    let added = 0
    for (const ref of refs) {
      if (this.#entries.size >= this.config.linkBudget) break
      if (ref.peerId === this.peerId || this.#entries.has(ref.session) || this.#knows(ref.peerId)) continue
      if (this.#isBanned(ref.peerId)) continue
      this.#open(ref, 'outbound')
      added++
    }
    this.#refillDelay = added > 0 ? this.config.refillMs : Math.min(MAX_REFILL_MS, this.#refillDelay * 2)
  }

  #onSignal(from: PeerRef, data: SignalData) {
    let entry = this.#entries.get(from.session)
    if (!entry) {
      // Only an offer opens an inbound link; stray ICE for a link we dropped is ignored.
      if (data.type !== 'offer' || from.peerId === this.peerId || this.#connected(from.peerId)) return
      if (this.#isBanned(from.peerId)) return
      const full = this.#entries.size >= this.config.linkBudget + this.config.inboundSlack
      if (full && !this.#evictOne()) return
      entry = this.#open(from, 'inbound')
    }
    try {
      entry.link.signal(data)
    } catch (error) {
      entry.peer.close(`bad signaling data: ${String(error)}`)
    }
  }

  /**
   * Full, but someone new wants in: drop one random link so the newcomer is never shut out of
   * the mesh (as in HyParView's active view). The dropped peer refills from a fresh sample.
   */
  #evictOne(): boolean {
    const victims = [...this.#entries.values()].filter((e) => e.peer.state === 'connected')
    const victim = victims[Math.floor(this.deps.random() * victims.length)]
    victim?.peer.close('making room for a new peer')
    return victim !== undefined
  }

  #open(ref: PeerRef, direction: Entry['direction']): Entry {
    const { signaling } = this.deps
    const link = this.deps.createLink({
      initiator: direction === 'outbound',
      iceServers: signaling.iceServers,
      onSignal: (data) => signaling.signal(ref.session, data),
    })
    const peer = new PeerSession(link, {
      identity: this.deps.identity,
      crypto: this.deps.crypto,
      clock: this.deps.clock,
      random: this.deps.random,
      config: this.config.session,
      expectedPeerId: ref.peerId,
      meter: this.mesh.meter,
    })
    const gossip: GossipPeer = {
      peerId: ref.peerId,
      send: (msg) => peer.send(msg),
      request: (msg) => peer.request(msg),
    }
    const content: Entry['content'] = {
      peerId: ref.peerId,
      post: (msg) => peer.post(msg),
      fetchPiece: (hash, index, signal) => peer.fetchPiece(hash, index, signal),
      request: (msg) => peer.request(msg),
    }
    peer.onMessage = async (msg) => {
      if (msg.type === 'content-req' || msg.type === 'pieces-req') return this.server.handle(content, msg)
      return this.mesh.receive(gossip, msg)
    }
    const entry: Entry = {
      session: ref.session,
      expectedPeerId: ref.peerId,
      direction,
      link,
      peer,
      gossip,
      content,
    }
    this.#entries.set(ref.session, entry)
    peer.events.on('state', (state) => {
      if (state === 'connected') this.#onVerified(entry)
      this.events.emit('change')
    })
    peer.events.on('rtt', () => this.events.emit('change'))
    peer.events.on('closed', (reason, rejected) => this.#onClosed(entry, reason, rejected))
    this.events.emit('change')
    return entry
  }

  #onVerified(entry: Entry) {
    const remoteId = entry.peer.remoteId ?? entry.expectedPeerId
    for (const other of this.#entries.values()) {
      if (other === entry || other.peer.state !== 'connected' || other.peer.remoteId !== remoteId) continue
      // Two links to one peer (both dialled at once, or a re-join): both sides keep the link
      // dialled by the smaller peer id, so they agree without talking about it.
      const dialler = (e: Entry) => (e.direction === 'outbound' ? this.peerId : remoteId)
      const loser = dialler(entry) <= dialler(other) ? other : entry
      loser.peer.close('duplicate link')
      if (loser === entry) return
    }
    this.#info(`Linked with ${short(remoteId)} (${entry.direction})`)
    this.fetcher?.sourcesChanged()
    void this.mesh.linked(entry.gossip)
  }

  #onClosed(entry: Entry, reason: string, rejected: boolean) {
    if (this.#entries.get(entry.session) === entry) this.#entries.delete(entry.session)
    this.fetcher?.sourcesChanged()
    const peerId = entry.peer.remoteId ?? entry.expectedPeerId
    const who = short(peerId)
    if (rejected) {
      this.#banned.set(peerId, this.deps.clock.now() + this.config.banMs)
      this.passive.forget(peerId)
      this.#warn(
        `Rejected peer ${who}: ${reason}; refusing it for ${Math.round(this.config.banMs / 60_000)} min`,
      )
    } else if (entry.direction === 'outbound' && !entry.peer.remoteId) this.passive.failed(peerId)
    else if (reason !== 'duplicate link' && reason !== 'node stopped')
      this.#info(`Link to ${who} closed: ${reason}`)
    if (this.#started) {
      this.#refillDelay = this.config.refillMs
      this.#armRefill()
    }
    this.events.emit('change')
  }

  /** (Re)arm the refill timer with the current delay; below budget, ask the server for more peers. */
  #armRefill() {
    const { clock, random, signaling } = this.deps
    this.#cancelRefill()
    const handle = clock.setTimeout(
      () => {
        const room = this.config.linkBudget - this.#entries.size
        if (signaling.state.state === 'online' && room > 0) {
          // Peers learned by gossip first (HyParView's passive view), the server's sample as well
          // when that is not enough; the answers to both arrive as `peers` and are dialled.
          const plan = this.passive.refill(room, (id) => this.#knows(id) || this.#isBanned(id))
          if (plan.lookup.length > 0) signaling.lookup(plan.lookup)
          if (plan.sample) signaling.requestSample()
        }
        this.#armRefill()
      },
      this.#refillDelay * (0.8 + 0.4 * random()),
    )
    this.#cancelRefill = () => clock.clearTimeout(handle)
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

/** Peer ids in log lines: the first 8 hex characters are enough to tell peers apart by eye. */
function short(peerId: string) {
  return peerId.slice(0, 8)
}
