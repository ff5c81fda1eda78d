import { createHash, randomBytes } from 'node:crypto'
import type { Track } from '../catalog.ts'
import type { Clock, TimerHandle } from '../clock.ts'
import { Emitter } from '../emitter.ts'
import type { GossipConfig, GossipPeer } from '../gossip.ts'
import { Mesh, toTrackMeta, type MeshConfig } from '../mesh.ts'
import type { LocalTracks } from '../mesh-types.ts'
import { PeerManager } from '../peer-manager.ts'
import { DEFAULT_SESSION_CONFIG } from '../peer-session.ts'
import { InboundGate } from '../inbound-gate.ts'
import { RequestTable, type Unnumbered } from '../request-table.ts'
import { Reputation, type PenaltyKind } from '../reputation.ts'
import { recordTranscript, type RecordSigner, type RecordVerifier, type Sha256 } from '../records.ts'
import { mulberry32 } from './random.ts'
import { encodeWire, type TrackMeta, type Wire, type WireOf } from '../wire.ts'

/**
 * A mesh simulator: hundreds to thousands of real `Mesh` instances (directory, announcer, gossip,
 * codec) joined by in-memory links that carry real encoded frames, driven round by round. What it
 * fakes: the transport (no WebRTC, no handshake), time (a manual clock), and signatures (a keyed
 * hash, thousands of times cheaper than Ed25519 yet just as unforgeable to code that does not hold
 * the key). Each link runs the real link layer: the inbound gate (budgets, decoder, meter, strikes
 * for failing handlers), the request table and the node's reputation ledger.
 */

const sha256Sync = (data: Uint8Array) => new Uint8Array(createHash('sha256').update(data).digest())
export const simSha256: Sha256 = (data) => Promise.resolve(sha256Sync(data))

/** A cheap signer: the "signature" is sha256(secret ‖ data); peer id = sha256(key) as usual. */
export function simSigner(): RecordSigner & { secret: Uint8Array } {
  const secret = new Uint8Array(randomBytes(32))
  // The "public key" is the secret itself: the verifier below knows nothing else.
  const key = Buffer.from(secret).toString('base64')
  const peerId = Buffer.from(sha256Sync(secret)).toString('hex').slice(0, 32)
  return {
    peerId,
    alg: 'Ed25519',
    key,
    secret,
    sign: (data) => Promise.resolve(sha256Sync(concat(secret, data))),
  }
}

/**
 * Verdicts by everything a signature covers plus the signature itself, shared by all simulated
 * nodes: a record that is checked at 500 nodes is hashed once. A forged field changes the key.
 */
const verdicts = new Map<string, boolean>()

/** Drop the shared verdicts (a memory measurement must not count them as the directory's). */
export function forgetVerdicts(): void {
  verdicts.clear()
}

export const simVerifier: RecordVerifier = (rec) => {
  const transcript = recordTranscript(rec)
  const memo = `${Buffer.from(transcript).toString('latin1')}\0${rec.sig}`
  let valid = verdicts.get(memo)
  if (valid === undefined) {
    const secret = new Uint8Array(Buffer.from(rec.key, 'base64'))
    const peerId = Buffer.from(sha256Sync(secret)).toString('hex').slice(0, 32)
    const expected = Buffer.from(sha256Sync(concat(secret, transcript))).toString('base64')
    valid = peerId === rec.peer && expected === rec.sig
    if (verdicts.size > 200_000) verdicts.clear()
    verdicts.set(memo, valid)
  }
  return Promise.resolve(valid)
}

function concat(a: Uint8Array, b: Uint8Array) {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

/** Time that moves only when the simulator says so; timers are kept but never needed to fire. */
export class SimClock implements Clock {
  #now = 1_700_000_000_000
  #timers = new Map<number, { at: number; fn: () => void }>()
  #next = 1
  now() {
    return this.#now
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.#next++
    this.#timers.set(id, { at: this.#now + ms, fn })
    return id
  }
  clearTimeout(handle: TimerHandle) {
    this.#timers.delete(handle as number)
  }
  /** Run `fn` as if it were `ms` earlier (timers set meanwhile keep their due times). */
  async earlier<T>(ms: number, fn: () => Promise<T>): Promise<T> {
    this.#now -= ms
    try {
      return await fn()
    } finally {
      this.#now += ms
    }
  }

  /** Move time on, running the timers that fall due (in no particular order). */
  advance(ms: number) {
    this.#now += ms
    for (const [id, t] of this.#timers) {
      if (t.at > this.#now) continue
      this.#timers.delete(id)
      t.fn()
    }
  }
}

export function simHash(label: string): string {
  return createHash('sha256').update(label).digest('hex')
}

export function simTrack(hash: string, title = `Track ${hash.slice(0, 6)}`): Track {
  return {
    contentHash: hash,
    size: 1_000_000,
    mime: 'audio/mpeg',
    container: 'MPEG',
    title,
    pieceSize: 262_144,
    pieces: [],
    piecesRoot: simHash(`root:${hash}`),
    fileName: `${title}.mp3`,
    addedAt: 0,
    source: 'local',
  }
}

/** A node's own tracks, set by the test. */
export class SimLibrary implements LocalTracks {
  readonly events = new Emitter<{ tracks: [] }>()
  tracks: Track[] = []
  set(tracks: Track[]) {
    this.tracks = tracks
    this.events.emit('tracks')
  }
}

/** A mesh with no peers over `local`, on `clock`: its publishing and its view events, alone. */
export function lonelyMesh(clock: Clock, local: LocalTracks): Mesh {
  return new Mesh({
    signer: simSigner(),
    sha256: simSha256,
    verify: simVerifier,
    clock,
    random: mulberry32(1),
    local,
    peers: () => [],
    strike: () => {},
  })
}

/**
 * Rewrites or swallows a node's outgoing messages (a bad actor); undefined drops the message.
 * Raw frames (Uint8Array) go out as they are, so a bad actor can send what no encoder would.
 */
export type Behaviour = (msg: Wire, to: SimNode) => (Wire | Uint8Array)[] | undefined

export class SimNode {
  readonly links = new Map<string, SimPeer>()
  readonly library = new SimLibrary()
  alive = true
  strikes = new Map<string, number>()
  behaviour: Behaviour | undefined
  /** Bytes sent since the counter was last reset. */
  bytesSent = 0
  mesh!: Mesh
  readonly reputation: Reputation
  /** The passive view, fed by gossip as DcmxNode feeds it. */
  passive!: PeerManager

  constructor(
    readonly sim: MeshSim,
    readonly signer: RecordSigner,
  ) {
    this.reputation = new Reputation(sim.clock, { limit: DEFAULT_SESSION_CONFIG.maxStrikes })
  }

  get peerId(): string {
    return this.signer.peerId
  }
}

/**
 * One direction of a link, as seen from `from`: what gossip calls to talk to `to`. Frames arrive
 * through the same inbound gate a real session uses, requests live in the same request table,
 * and penalties go to the node's reputation ledger, so the simulator runs the real link layer.
 */
class SimPeer implements GossipPeer {
  readonly peerId: string
  #requests: RequestTable<Wire>
  #gate: InboundGate

  constructor(
    readonly from: SimNode,
    readonly to: SimNode,
  ) {
    this.peerId = to.peerId
    this.#requests = new RequestTable(from.sim.clock)
    this.#gate = new InboundGate({
      clock: from.sim.clock,
      config: DEFAULT_SESSION_CONFIG,
      meter: (direction, type, bytes) => from.mesh.meter(direction, type, bytes),
      log: () => {},
      namespace: `sim:${from.peerId}`,
      expectsContent: () => false,
      handle: (msg) => this.#handle(msg),
      penalise: (kind, detail) => this.penalise(kind, detail),
    })
  }

  send(msg: Wire): void {
    if (!this.from.alive) return
    const out = this.from.behaviour ? this.from.behaviour(msg, this.to) : [msg]
    for (const m of out ?? []) {
      const frame = m instanceof Uint8Array ? m : encodeWire(m)
      this.from.bytesSent += frame.length
      this.from.mesh.meter('sent', m instanceof Uint8Array ? 'raw' : m.type, frame.length)
      this.to.links.get(this.from.peerId)?.deliver(frame)
    }
  }

  request(msg: Unnumbered<WireOf<'peers-req' | 'tracks-req'>>): Promise<Wire> {
    if (!this.to.alive || !this.to.links.has(this.from.peerId)) return Promise.reject(new Error('gone'))
    const { id, promise } = this.#requests.open(msg.type, { state: undefined })
    this.send({ ...msg, id } as Wire)
    // A peer that never answers (dropped the message, or misbehaves) times out with the round.
    this.from.sim.onRoundEnd(() => this.#requests.fail(id, new Error('timeout')))
    return promise
  }

  /** The link is gone: every request on it fails now. */
  fail(): void {
    this.#requests.rejectAll(new Error('link closed'))
  }

  /** A frame arriving at `from` from `to` (this object is `from`'s view of the link). */
  deliver(frame: Uint8Array): void {
    const node = this.from
    if (node.alive && node.links.has(this.peerId)) this.#gate.receive(frame)
  }

  async #handle(msg: Wire) {
    const node = this.from
    if (!node.alive || !node.links.has(this.peerId)) return
    if (msg.type === 'peers-res' || msg.type === 'tracks-res') return void this.#requests.settle(msg.id, msg)
    await node.mesh.receive(this, msg)
  }

  /** Charge the other end in this node's ledger; cut (and maybe ban) it as the ledger decides. */
  penalise(kind: PenaltyKind, reason: string) {
    const node = this.from
    if (!node.links.has(this.peerId)) return
    node.strikes.set(this.peerId, (node.strikes.get(this.peerId) ?? 0) + 1)
    const verdict = node.reputation.penalise(this.peerId, kind, reason)
    if (verdict === 'ban') node.sim.unlink(node, this.to, reason)
    else if (verdict === 'close') node.sim.unlink(node, this.to)
  }

  strike(reason: string) {
    this.penalise('protocol', reason)
  }
}

export type SimOptions = {
  /** Links each node opens (the graph's mean degree is twice this, plus a ring for connectivity). */
  degree: number
  gossip?: Partial<GossipConfig>
  mesh?: Partial<MeshConfig>
  random?: () => number
}

export class MeshSim {
  readonly clock = new SimClock()
  readonly nodes: SimNode[] = []
  readonly random: () => number
  /** Peers each node refuses after they misbehaved. */
  readonly banned = new Map<string, Set<string>>()
  /** Every ban, in order: who cut whom, and the last violation that made it do so. */
  readonly bans: { by: SimNode; other: SimNode; reason: string }[] = []
  rounds = 0
  #roundEnd: (() => void)[] = []

  constructor(readonly options: SimOptions) {
    this.random = options.random ?? mulberry32(42)
  }

  get alive(): SimNode[] {
    return this.nodes.filter((n) => n.alive)
  }

  /** Add a node, link it to `degree` random live nodes, and let it announce itself. */
  async join(tracks: Track[] = []): Promise<SimNode> {
    const node = this.#create()
    node.library.tracks = tracks
    const others = this.alive.filter((n) => n !== node)
    const ring = others[others.length - 1]
    if (ring) this.link(node, ring)
    for (let i = 0; i < this.options.degree && others.length > 0; i++) {
      this.link(node, others[Math.floor(this.random() * others.length)]!)
    }
    await node.mesh.start('manual')
    for (const peer of node.links.values()) {
      void node.mesh.linked(peer)
      void peer.to.mesh.linked(peer.to.links.get(node.peerId)!)
    }
    await this.settle()
    return node
  }

  /**
   * Build `n` nodes already linked, each knowing only itself: the state of a mesh the moment its
   * links came up, before any gossip. Cheaper than n joins for large n.
   */
  async populate(n: number, tracksOf: (i: number) => Track[] = () => []): Promise<void> {
    const fresh: SimNode[] = []
    for (let i = 0; i < n; i++) {
      const node = this.#create()
      node.library.tracks = tracksOf(i)
      fresh.push(node)
    }
    const all = this.nodes
    const first = all.length - fresh.length
    for (let i = 0; i < fresh.length; i++) {
      const node = fresh[i]!
      if (all.length > 1) this.link(node, all[(first + i + all.length - 1) % all.length]!)
      for (let d = 0; d < this.options.degree; d++) {
        const other = all[Math.floor(this.random() * all.length)]!
        if (other !== node) this.link(node, other)
      }
    }
    await Promise.all(fresh.map((node) => node.mesh.start('manual')))
  }

  link(a: SimNode, b: SimNode): void {
    if (a === b || a.links.has(b.peerId)) return
    if (this.banned.get(a.peerId)?.has(b.peerId) || this.banned.get(b.peerId)?.has(a.peerId)) return
    a.links.set(b.peerId, new SimPeer(a, b))
    b.links.set(a.peerId, new SimPeer(b, a))
  }

  /** Cut a link; a ban (with the reason) makes `by` refuse `other` from now on (it misbehaved). */
  unlink(by: SimNode, other: SimNode, ban?: string): void {
    by.links.get(other.peerId)?.fail()
    other.links.get(by.peerId)?.fail()
    by.links.delete(other.peerId)
    other.links.delete(by.peerId)
    if (ban !== undefined) {
      let set = this.banned.get(by.peerId)
      if (!set) this.banned.set(by.peerId, (set = new Set()))
      set.add(other.peerId)
      this.bans.push({ by, other, reason: ban })
    }
  }

  /** A node leaves: politely (signed goodbye) or by vanishing. */
  async leave(node: SimNode, politely = false): Promise<void> {
    if (politely) {
      await node.mesh.stop()
      // The goodbye is on the wire: let it arrive before the links go (a frame on a link that is
      // gone is dropped).
      await this.settle()
    }
    node.alive = false
    for (const peer of [...node.links.values()]) this.unlink(node, peer.to)
  }

  /**
   * Skip the cold sync: give every live node every other live node's current record (through
   * `applyFull`, so each is checked as gossip would check it) and its tracks' metadata, as if the
   * mesh had been gossiping for a long while. A record signed while its node knew only itself
   * carries the short ttl of a small mesh, so directories are filled first, then every node
   * re-signs (now sized for the whole mesh) and those versions are the ones installed. A cold sync
   * with bounded gossip takes O(N) rounds; this takes two passes.
   */
  async warm(): Promise<void> {
    await this.settle()
    // First pass unchecked: those versions are replaced below; they only size the directories.
    for (const node of this.alive) {
      for (const other of this.alive) {
        const own = other.mesh.own
        if (other !== node && own && node.mesh.directory.isNewer(own.rec)) {
          node.mesh.directory.setOwn(own.rec, own.tracks)
        }
      }
    }
    // Each node last refreshed at some point in its refresh period (not all at once, as a mesh
    // whose nodes came and went over time): their next refreshes are spread evenly, not a burst.
    // Time first moves a period on, so each of those records is signed after the node's first.
    this.clock.advance(Math.max(...this.alive.map((node) => node.mesh.refreshMs)))
    for (const node of this.alive) {
      await this.clock.earlier(Math.floor(this.random() * node.mesh.refreshMs), () => node.mesh.publish(true))
    }
    await this.settle()
    await this.#installAll()
  }

  async #installAll(): Promise<void> {
    const alive = this.alive
    const meta = new Map<string, TrackMeta>()
    for (const node of alive) {
      for (const track of node.library.tracks) {
        const m = toTrackMeta(track)
        if (m) meta.set(m.hash, m)
      }
    }
    for (const node of alive) {
      const { directory, gossip } = node.mesh
      for (const other of alive) {
        const own = other.mesh.own
        if (other === node || !own || !directory.isNewer(own.rec)) continue
        // 'stale' only if gossip still in flight delivered it first.
        const outcome = await directory.applyFull(own.rec, [...own.tracks])
        if (outcome === 'forged' || outcome === 'mismatch') throw new Error(`warm: ${outcome} record`)
      }
      for (const hash of directory.trackHashes()) {
        const m = meta.get(hash)
        if (m && !node.library.tracks.some((t) => t.contentHash === hash)) gossip.meta.set(hash, m)
      }
      // Long ago: nothing is hot any more.
      for (let i = 0; i < directory.config.hotRounds; i++) directory.cool()
    }
  }

  /** One gossip round at every live node, then let all traffic settle; time moves one interval. */
  async round(): Promise<void> {
    this.rounds++
    for (const node of this.nodes) node.bytesSent = 0
    const alive = this.alive
    // Refreshes first, as a node's timers would fire them; they count towards this round's bytes.
    await Promise.all(alive.map((node) => node.mesh.refreshIfDue()))
    const rounds = Promise.all(alive.map((node) => node.mesh.gossip.round()))
    await this.settle()
    // Whatever has not been answered by now never will be (timeouts); requests made while
    // handling those timeouts get the same treatment.
    for (let i = 0; i < 4; i++) {
      for (const fn of this.#roundEnd.splice(0)) fn()
      await this.settle()
    }
    await rounds
    this.clock.advance(alive[0]?.mesh.gossip.config.intervalMs ?? 10_000)
  }

  onRoundEnd(fn: () => void): void {
    this.#roundEnd.push(fn)
  }

  /** Let in-flight messages be delivered and handled. */
  async settle(): Promise<void> {
    for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve))
  }

  /** Live nodes whose directory lists `peerId` as holding `hash`. */
  holdersSeen(hash: string, holder: string): number {
    return this.alive.filter((n) => n.mesh.directory.holders(hash).has(holder)).length
  }

  #create(): SimNode {
    const node = new SimNode(this, simSigner())
    node.mesh = new Mesh({
      signer: node.signer,
      sha256: simSha256,
      verify: simVerifier,
      clock: this.clock,
      random: this.random,
      local: node.library,
      config: { ...this.options.mesh, gossip: { jitter: 0, ...this.options.gossip } },
      peers: () => [...node.links.values()].filter((p) => p.to.alive),
      strike: (peerId, reason, kind) => node.links.get(peerId)?.penalise(kind ?? 'protocol', reason),
      onRecords: (records, source) => node.passive.heardFrom(source, records, this.clock.now()),
    })
    node.passive = new PeerManager(node.peerId, this.random)
    this.nodes.push(node)
    return node
  }
}

export { mulberry32 }
