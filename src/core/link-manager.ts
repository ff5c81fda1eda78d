import type { Clock, Random } from './clock.ts'
import { Emitter } from './emitter.ts'
import type { LinkFactory, RtcLink } from './link.ts'
import type { PeerSession } from './peer-session.ts'
import type { RefillPlan } from './peer-manager.ts'
import type { Reputation } from './reputation.ts'
import type { SignalingClient } from './signaling-client.ts'
import type { PeerRef, SignalData } from './signaling-protocol.ts'

export type LinkManagerConfig = {
  /** Links this node opens and keeps, at most. */
  linkBudget: number
  /** Extra verified inbound links kept beyond the budget, so late joiners still find a way in. */
  inboundSlack: number
  /**
   * Inbound links still proving who they are, at once. Kept apart from (and far below) the
   * budget: offers cost nothing to send, so unverified links never take a verified one's place.
   */
  pendingCap: number
  /** How often a node below its budget asks for more peers (doubles while nothing new turns up). */
  refillMs: number
}

export const DEFAULT_LINK_MANAGER_CONFIG: LinkManagerConfig = {
  linkBudget: 8,
  inboundSlack: 4,
  pendingCap: 4,
  refillMs: 5_000,
}

/** The longest a node below its budget waits between sample requests. */
const MAX_REFILL_MS = 60_000
/** A node at its budget asks for a sample to look for strangers at most once per this many refill periods. */
const PROBE_EVERY_REFILLS = 6

export type Direction = 'outbound' | 'inbound'

/** One link the manager holds, from offer to close. */
export type ManagedLink = {
  session: string
  expectedPeerId: string
  direction: Direction
  link: RtcLink
  peer: PeerSession
  openedAt: number
  /** When its proof verified. */
  verifiedAt: number | undefined
  /** What it has done for us: bytes of pieces and records it delivered (see `credit`). */
  useful: number
  /** Our dial crossed theirs and ours is kept: their ICE is dropped until they answer ours. */
  crossed: boolean
}

/** The reason the older of two proven links to one peer closes. */
export const PEER_REJOINED = 'peer re-joined'
/** Why a dial of ours was dropped for the other side's, when both dialled at once. */
export const CROSSED_DIAL = 'both dialled at once; answering theirs'

export type LinkManagerEvents = {
  change: []
  verified: [ManagedLink]
  closed: [entry: ManagedLink, reason: string, rejected: boolean]
}

export type LinkManagerDeps = {
  self: string
  clock: Clock
  random: Random
  signaling: Pick<SignalingClient, 'events' | 'signal' | 'lookup' | 'requestSample' | 'state' | 'iceServers'>
  createLink: LinkFactory
  reputation: Reputation
  /** A session on a new link (the node attaches its handlers). */
  session(link: RtcLink, ref: PeerRef, direction: Direction): PeerSession
  /**
   * Whether gossip told this node of the peer (its directory holds the peer's signed record). A
   * node at its budget still dials one sampled peer it never heard of: in a room split in two,
   * each half's links are full and gossip never crosses, so only such a peer joins the halves.
   */
  heardOf?(peerId: string): boolean
  /** What to ask the server for when refilling: known peers (the passive view) and/or a fresh sample. */
  refill(room: number, exclude: (peerId: string) => boolean): RefillPlan
  /** The server answered with these peers (so the passive view knows its lookup was fruitful). */
  found?(peerIds: string[]): void
  config: LinkManagerConfig
}

/**
 * The node's links: dials the peers the server (or the passive view) offers, admits inbound
 * offers into a small pending pool of their own, keeps one link per peer, evicts by value once a
 * newcomer has verified, and refills its budget as links are lost. Nothing unverified ever
 * displaces a verified link; the oldest and the fastest links are protected from eviction.
 */
export class LinkManager {
  readonly events = new Emitter<LinkManagerEvents>()
  #entries = new Map<string, ManagedLink>()
  #refillDelay: number
  /** A sample asked for at the budget, to find a stranger, is outstanding; and when the next may go. */
  #probing = false
  #nextProbeAt = 0
  #cancelRefill = () => {}
  #stoppers: (() => void)[] = []
  #running = false

  constructor(private readonly deps: LinkManagerDeps) {
    this.#refillDelay = deps.config.refillMs
  }

  start(): void {
    if (this.#running) return
    this.#running = true
    const { signaling } = this.deps
    this.#nextProbeAt = this.deps.clock.now() + this.#probeMs()
    this.#stoppers.push(
      signaling.events.on('peers', (refs) => this.dial(refs)),
      signaling.events.on('signal', (from, data) => this.#onSignal(from, data)),
    )
    this.#armRefill()
  }

  stop(): void {
    this.#running = false
    for (const stop of this.#stoppers.splice(0)) stop()
    this.#cancelRefill()
  }

  /** Close every link. */
  closeAll(reason: string): void {
    for (const entry of [...this.#entries.values()]) entry.peer.close(reason)
    this.#entries.clear()
  }

  /** Every link not yet closed. */
  get links(): ManagedLink[] {
    return [...this.#entries.values()].filter((e) => e.peer.state !== 'closed')
  }

  get verified(): ManagedLink[] {
    return this.links.filter((e) => e.peer.state === 'connected')
  }

  connected(peerId: string): ManagedLink | undefined {
    for (const e of this.#entries.values())
      if (e.peer.state === 'connected' && e.peer.provenId === peerId) return e
    return undefined
  }

  /** Linked or being linked to this peer (by proven, claimed or announced id). */
  knows(peerId: string): boolean {
    for (const e of this.#entries.values()) if ((e.peer.remoteId ?? e.expectedPeerId) === peerId) return true
    return false
  }

  /** A linked peer delivered something we wanted (piece bytes, new records): it is worth keeping. */
  credit(peerId: string, amount: number): void {
    const entry = this.connected(peerId)
    if (entry) entry.useful += amount
  }

  /** Dial these peers, within the budget. */
  dial(refs: PeerRef[]): void {
    this.deps.found?.(refs.map((ref) => ref.peerId))
    let added = 0
    for (const ref of refs) {
      if (this.#dialled() >= this.deps.config.linkBudget) break
      if (!this.#dialable(ref)) continue
      this.#open(ref, 'outbound')
      added++
    }
    if (this.#probing) {
      // The answer to a sample asked for at the budget: one peer gossip never told us of, if any.
      this.#probing = false
      const { heardOf } = this.deps
      const stranger = refs.find((ref) => this.#dialable(ref) && heardOf?.(ref.peerId) === false)
      if (stranger && added === 0 && this.#belowCap()) {
        this.#open(stranger, 'outbound')
        added++
      }
    }
    const { refillMs } = this.deps.config
    this.#refillDelay = added > 0 ? refillMs : Math.min(MAX_REFILL_MS, this.#refillDelay * 2)
  }

  #dialable(ref: PeerRef): boolean {
    if (ref.peerId === this.deps.self || this.#entries.has(ref.session) || this.knows(ref.peerId))
      return false
    const { reputation } = this.deps
    return !reputation.isBanned(ref.peerId) && !reputation.isBanned({ session: ref.session })
  }

  /** Fewer links (verified or not) than the budget and slack allow. */
  #belowCap(): boolean {
    const { linkBudget, inboundSlack } = this.deps.config
    return this.links.length < linkBudget + inboundSlack
  }

  #probeMs(): number {
    return PROBE_EVERY_REFILLS * this.deps.config.refillMs
  }

  /** Links counted against the budget: verified ones and our own dials in progress. */
  #dialled(): number {
    return this.links.filter((e) => e.peer.state === 'connected' || e.direction === 'outbound').length
  }

  #onSignal(from: PeerRef, data: SignalData) {
    let entry = this.#entries.get(from.session)
    if (entry?.direction === 'outbound' && entry.peer.state !== 'connected') {
      if (data.type === 'offer') {
        // They dialled us while we dialled them (glare): each offer would break the other link.
        // Both sides keep the one dialled by the smaller peer id.
        if (this.deps.self < from.peerId) {
          entry.crossed = true
          return
        }
        entry.peer.close(CROSSED_DIAL)
        this.#entries.delete(from.session)
        entry = undefined
      } else if (entry.crossed) {
        // The ICE of the offer we left unanswered; theirs for our link follows their answer.
        if (data.type !== 'answer') return
        entry.crossed = false
      }
    }
    if (!entry) {
      // Only an offer opens an inbound link; stray ICE for a link we dropped is ignored. An offer
      // from a peer we are linked to comes from a new session of it (a reload, whose old page we
      // have not yet seen go): it is answered, and replaces the old link once it proves itself.
      if (data.type !== 'offer' || from.peerId === this.deps.self) return
      const { reputation } = this.deps
      if (reputation.isBanned(from.peerId) || reputation.isBanned({ session: from.session })) return
      this.#makePendingRoom()
      entry = this.#open(from, 'inbound')
    }
    try {
      entry.link.signal(data)
    } catch (error) {
      entry.peer.close(`bad signaling data: ${String(error)}`)
    }
  }

  /** The pending pool is full: the oldest unverified inbound link goes (it has had the longest to prove itself). */
  #makePendingRoom() {
    const pending = this.links.filter((e) => e.direction === 'inbound' && e.peer.state !== 'connected')
    for (let i = 0; i <= pending.length - this.deps.config.pendingCap; i++) {
      pending[i]!.peer.close('making room for a newer offer')
    }
  }

  #open(ref: PeerRef, direction: Direction): ManagedLink {
    const { signaling } = this.deps
    let opened: ManagedLink | undefined
    const link = this.deps.createLink({
      initiator: direction === 'outbound',
      iceServers: signaling.iceServers,
      // Only the live link for the session speaks (a closed one leaves #entries at once): a closed
      // one still gathers ICE for a moment, and its late candidates would reach whatever link the
      // remote holds for us by then (the one answering theirs, after both dialled at once), which
      // fails on them.
      onSignal: (data) => {
        if (!opened || this.#entries.get(ref.session) === opened) signaling.signal(ref.session, data)
      },
    })
    const peer = this.deps.session(link, ref, direction)
    const entry: ManagedLink = (opened = {
      session: ref.session,
      expectedPeerId: ref.peerId,
      direction,
      link,
      peer,
      openedAt: this.deps.clock.now(),
      verifiedAt: undefined,
      useful: 0,
      crossed: false,
    })
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

  #onVerified(entry: ManagedLink) {
    const remoteId = entry.peer.provenId!
    entry.verifiedAt = this.deps.clock.now()
    for (const other of this.#entries.values()) {
      if (other === entry || other.peer.state !== 'connected' || other.peer.provenId !== remoteId) continue
      // Links are keyed by the remote's session, so this one reaches the peer under a new session:
      // it dials only peers it is not linked to (a crossing dial of one session collapses in
      // #onSignal), so its old page is gone. The proven newcomer replaces the old link.
      other.peer.close(PEER_REJOINED)
    }
    const { linkBudget, inboundSlack } = this.deps.config
    if (this.verified.length > linkBudget + inboundSlack) this.#evictFor(entry)
    if (entry.peer.state === 'connected') this.events.emit('verified', entry)
  }

  /**
   * Full, and a newcomer has proved itself: one link goes so it is never shut out (as in
   * HyParView's active view). Not a random pick among all: the oldest links (half the budget),
   * the two that delivered most and the two fastest are protected, so a stream of newcomers
   * churns only other newcomers. The dropped peer refills from a fresh sample.
   */
  #evictFor(newcomer: ManagedLink) {
    const others = this.verified.filter((e) => e !== newcomer)
    const oldest = [...others].sort((a, b) => a.verifiedAt! - b.verifiedAt!)
    const protect = new Set(oldest.slice(0, Math.ceil(this.deps.config.linkBudget / 2)))
    const fastest = others
      .filter((e) => e.peer.rttMs !== undefined)
      .sort((a, b) => a.peer.rttMs! - b.peer.rttMs!)
      .slice(0, 2)
    const useful = others
      .filter((e) => e.useful > 0)
      .sort((a, b) => b.useful - a.useful)
      .slice(0, 2)
    for (const e of [...fastest, ...useful]) protect.add(e)
    const victims = others.filter((e) => !protect.has(e))
    const victim = victims[Math.floor(this.deps.random() * victims.length)] ?? newcomer
    victim.peer.close('making room for a new peer')
  }

  #onClosed(entry: ManagedLink, reason: string, rejected: boolean) {
    if (this.#entries.get(entry.session) === entry) this.#entries.delete(entry.session)
    this.events.emit('closed', entry, reason, rejected)
    if (this.#running) {
      this.#refillDelay = this.deps.config.refillMs
      this.#armRefill()
    }
    this.events.emit('change')
  }

  /** At the budget, with room in the slack, and not probed lately: time to look for a stranger. */
  #mayProbe(): boolean {
    return this.deps.heardOf !== undefined && this.#belowCap() && this.deps.clock.now() >= this.#nextProbeAt
  }

  /** (Re)arm the refill timer with the current delay; below budget, ask for more peers. */
  #armRefill() {
    const { clock, random, signaling } = this.deps
    this.#cancelRefill()
    const handle = clock.setTimeout(
      () => {
        const room = this.deps.config.linkBudget - this.#dialled()
        if (signaling.state.state === 'online' && room > 0) {
          // Peers learned by gossip first (HyParView's passive view), the server's sample as well
          // when that is not enough; the answers to both arrive as `peers` and are dialled.
          const plan = this.deps.refill(room, (id) => this.knows(id) || this.deps.reputation.isBanned(id))
          if (plan.lookup.length > 0) signaling.lookup(plan.lookup)
          if (plan.sample) signaling.requestSample()
        } else if (signaling.state.state === 'online' && this.#mayProbe()) {
          this.#probing = true
          this.#nextProbeAt = clock.now() + this.#probeMs()
          signaling.requestSample()
        }
        this.#armRefill()
      },
      this.#refillDelay * (0.8 + 0.4 * random()),
    )
    this.#cancelRefill = () => clock.clearTimeout(handle)
  }
}
