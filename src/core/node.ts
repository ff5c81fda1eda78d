import type { Clock, Random } from './clock.ts'
import { Emitter } from './emitter.ts'
import { DcmxError } from './errors.ts'
import type { Identity } from './identity.ts'
import type { LinkFactory, RtcLink } from './link.ts'
import {
  DEFAULT_SESSION_CONFIG,
  PeerSession,
  type CryptoDeps,
  type PingResult,
  type SessionConfig,
} from './peer-session.ts'
import type { SignalingClient, SignalingState } from './signaling-client.ts'
import type { PeerRef, SignalData } from './signaling-protocol.ts'

export type NodeConfig = {
  /** Links this node opens and keeps, at most. */
  linkBudget: number
  /** Extra inbound links accepted beyond the budget, so late joiners still find a way in. */
  inboundSlack: number
  /** How often a node below its budget asks the server for more peers (doubles while nothing new turns up). */
  refillMs: number
  session: SessionConfig
}

export const DEFAULT_NODE_CONFIG: NodeConfig = {
  linkBudget: 8,
  inboundSlack: 4,
  refillMs: 5_000,
  session: DEFAULT_SESSION_CONFIG,
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
  log: [LogEntry]
}

export type NodeDeps = {
  identity: Identity
  crypto: CryptoDeps
  clock: Clock
  random: Random
  signaling: SignalingClient
  createLink: LinkFactory
  config?: Partial<NodeConfig>
}

type Entry = {
  session: string
  expectedPeerId: string
  direction: PeerView['direction']
  link: RtcLink
  peer: PeerSession
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
  #entries = new Map<string, Entry>()
  #stoppers: (() => void)[] = []
  #refillDelay: number
  #cancelRefill = () => {}
  #started = false

  constructor(private readonly deps: NodeDeps) {
    this.config = { ...DEFAULT_NODE_CONFIG, ...deps.config }
    this.#refillDelay = this.config.refillMs
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
  }

  stop(): void {
    this.#started = false
    for (const stop of this.#stoppers.splice(0)) stop()
    this.#cancelRefill()
    for (const entry of this.#entries.values()) entry.peer.close('node stopped')
    this.#entries.clear()
    this.deps.signaling.stop()
    this.events.emit('change')
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
    let added = 0
    for (const ref of refs) {
      if (this.#entries.size >= this.config.linkBudget) break
      if (ref.peerId === this.peerId || this.#entries.has(ref.session) || this.#knows(ref.peerId)) continue
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
    })
    const entry: Entry = { session: ref.session, expectedPeerId: ref.peerId, direction, link, peer }
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
  }

  #onClosed(entry: Entry, reason: string, rejected: boolean) {
    if (this.#entries.get(entry.session) === entry) this.#entries.delete(entry.session)
    const who = short(entry.peer.remoteId ?? entry.expectedPeerId)
    if (rejected) this.#warn(`Rejected peer ${who}: ${reason}`)
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
        if (signaling.state.state === 'online' && this.#entries.size < this.config.linkBudget) {
          signaling.requestSample()
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
