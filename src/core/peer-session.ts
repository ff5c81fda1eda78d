import { fromBase64, toBase64 } from './bytes.ts'
import type { Clock, Random } from './clock.ts'
import type { ContentStats } from './content-stats.ts'
import { every } from './clock.ts'
import { consoleDevLog, type DevLog } from './dev-log.ts'
import { Emitter } from './emitter.ts'
import { DcmxError } from './errors.ts'
import { peerIdOf, proofTranscript, verifySignature, type Identity } from './identity.ts'
import { InboundGate, type GateConfig, type TrafficMeter } from './inbound-gate.ts'
import type { Link } from './link.ts'
import { PieceRequests } from './piece-requests.ts'
import { RequestTable, type Unnumbered } from './request-table.ts'
import { Reputation, type PenaltyKind, type Subject } from './reputation.ts'
import { assertNever } from './result.ts'
import { encodeWire, FramePool, type KeyAlg, type Wire, type WireOf } from './wire.ts'

export type { TrafficMeter }

/** What a session needs from the platform's crypto. */
export interface CryptoDeps {
  subtle: SubtleCrypto
  randomBytes(n: number): Uint8Array
}

export type SessionConfig = GateConfig & {
  /** How often a verified link is pinged. */
  pingIntervalMs: number
  /** A link with no pong for this long is dead and closed. */
  deadAfterMs: number
  /** A link that has not proved the remote identity by then is closed. */
  handshakeTimeoutMs: number
  /** Strikes (see reputation.ts) at which a peer is banned, when the session keeps its own ledger. */
  maxStrikes: number
  /** How long a request waits for its response. */
  requestTimeoutMs: number
  /**
   * Bytes we may have queued to one peer (in JS, waiting for room, plus the link's own buffer):
   * past it the peer is not reading what it asks for, and the link is closed as a slow reader.
   */
  outboundBudget: number
}

export const DEFAULT_SESSION_CONFIG: SessionConfig = {
  pingIntervalMs: 2_000,
  deadAfterMs: 7_000,
  handshakeTimeoutMs: 15_000,
  maxStrikes: 3,
  requestTimeoutMs: 5_000,
  // Control traffic is small: a busy gossip round is tens of frames. Content transfer, when it
  // arrives, gets its own budget.
  rate: {
    messages: 200,
    messageBurst: 400,
    bytes: 2 * 1024 * 1024,
    byteBurst: 4 * 1024 * 1024,
    contentBytes: 256 * 1024 * 1024,
    contentBurst: 64 * 1024 * 1024,
  },
  maxThrottled: 200,
  throttleHalfLifeMs: 60_000,
  // The WebRTC link waits above 1 MiB buffered (rtc-link.ts); the largest burst we queue at once
  // is one full announcement (8 pages, ~470 KB) beside a piece in flight. Four times that is a
  // peer that stopped reading, not a slow one.
  outboundBudget: 4 * 1024 * 1024,
}

/** Messages the session hands to the node (everything after the handshake but ping/pong). */
export type AppMessage = WireOf<
  'discover' | 'peers-req' | 'tracks-req' | 'content-req' | 'content-cancel' | 'pieces-req'
>
type RequestType = 'peers-req' | 'tracks-req' | 'pieces-req'
type ResponseType = 'peers-res' | 'tracks-res' | 'pieces-res'
const ANSWERS: Record<RequestType, ResponseType> = {
  'peers-req': 'peers-res',
  'tracks-req': 'tracks-res',
  'pieces-req': 'pieces-res',
}
/** A request as callers give it: the session's request table numbers it. */
export type RequestMsg = Unnumbered<WireOf<RequestType>>

export type SessionState = 'connecting' | 'verifying' | 'connected' | 'closed'

export type SessionEvents = {
  state: [SessionState]
  rtt: [ms: number]
  /** The link was closed; `rejected` is set when the subject was banned for misbehaving. */
  closed: [reason: string, rejected: boolean]
}

export type PingResult = { rttMs: number; body: Uint8Array }

const NONCE_BYTES = 32
/** Frame buffers that `post` encodes into, shared by every session of this thread (see FramePool). */
const framePool = new FramePool()

let nextLocalSession = 1

/**
 * One link to one remote node: the identity handshake (each side signs the other's fresh nonce
 * and both ends' DTLS fingerprints), then ping/pong, requests and piece transfers. Frames come in
 * through the inbound gate; requests live in request tables; everything wrong the peer does is
 * charged to the reputation ledger, against its proven id or, before the proof, its session.
 */
export class PeerSession {
  readonly events = new Emitter<SessionEvents>()
  state: SessionState = 'connecting'
  /** The peer id the remote's hello claims (derived from its key; not yet proven until `provenId`). */
  remoteId: string | undefined
  /** The remote peer id once its proof verified: the only id a penalty may ban. */
  provenId: string | undefined
  /** Smoothed round-trip time (TCP-style EWMA), once measured. */
  rttMs: number | undefined
  /** Handles the messages past the handshake (set by the node); awaited, so order is kept. */
  onMessage: ((msg: AppMessage) => Promise<void>) | undefined

  readonly #nonce: Uint8Array
  readonly #gate: InboundGate
  readonly #reputation: Reputation
  readonly #session: string
  readonly #log: DevLog
  readonly #namespace: string
  #remote: { alg: KeyAlg; publicKey: Uint8Array; nonce: Uint8Array } | undefined
  #pings: RequestTable<Uint8Array>
  #requests: RequestTable<Wire, ResponseType>
  #pieces: PieceRequests
  /** Bytes handed to the link and not yet accepted by it (held in JS). */
  #queued = 0
  #timers: (() => void)[] = []

  constructor(
    readonly link: Link,
    private readonly deps: {
      identity: Identity
      crypto: CryptoDeps
      clock: Clock
      random: Random
      config: SessionConfig
      /** The peer id the signaling server said this session belongs to, if any. */
      expectedPeerId?: string
      /**
       * This end answered the other's offer. It sends its hello in reply to the dialler's, never
       * at open: a hello sent at this end's open could be lost on the way in Chromium, and the
       * dialler then got our proof with no hello before it (which it must refuse). Once the
       * dialler has spoken, its end is surely open.
       */
      answering?: boolean
      /** The signaling session the link came through: what is charged before the proof. */
      session?: string
      /** The node's ledger; a session on its own keeps one of its own. */
      reputation?: Reputation
      meter?: TrafficMeter
      log?: DevLog
      /** The node's bulk-path counters (cancels sent, bytes they saved). */
      contentStats?: ContentStats
    },
  ) {
    const { clock, config } = deps
    this.#nonce = deps.crypto.randomBytes(NONCE_BYTES)
    this.#session = deps.session ?? `local-${nextLocalSession++}`
    this.#log = deps.log ?? consoleDevLog
    this.#namespace = `dcmx:link:${this.#session}`
    this.#reputation = deps.reputation ?? new Reputation(clock, { limit: config.maxStrikes })
    this.#pings = new RequestTable(clock)
    this.#requests = new RequestTable(clock)
    this.#pieces = new PieceRequests(
      clock,
      (kind, detail) => this.penalise(kind, detail),
      (id) => this.send({ type: 'content-cancel', id }),
      deps.contentStats,
    )
    this.#gate = new InboundGate({
      clock,
      config,
      meter: deps.meter,
      log: this.#log,
      namespace: this.#namespace,
      expectsContent: () => this.state === 'connected' && this.#pieces.expecting,
      handle: (msg) => this.#handle(msg),
      penalise: (kind, detail) => this.penalise(kind, detail),
    })
    link.events.on('message', (frame) => {
      // A frame that arrived while the link was up is handled even if the link closes meanwhile:
      // a peer's last words (its goodbye record) come just before its close.
      if (this.state !== 'closed') this.#gate.receive(frame)
    })
    link.events.on('close', (reason) => this.#closed(reason, false))
    link.events.on('open', () => this.#opened())
    const timeout = clock.setTimeout(() => {
      // Not a penalty: ICE that never completes looks the same, and the slot is what matters.
      if (this.state !== 'connected') this.close('identity handshake timed out')
    }, config.handshakeTimeoutMs)
    this.#timers.push(() => clock.clearTimeout(timeout))
    if (link.open) this.#opened()
  }

  /** When the last well-formed frame arrived. */
  get lastSeen(): number {
    return this.#gate.lastSeen
  }

  /** Who is charged for this link's misbehaviour: the proven id, else the signaling session. */
  get subject(): Subject {
    return this.provenId ? { peer: this.provenId } : { session: this.#session }
  }

  /** Send a ping carrying `body` (echoed back); resolves with the round trip. */
  ping(body: Uint8Array = new Uint8Array(0)): Promise<PingResult> {
    if (this.state !== 'connected') return Promise.reject(closedError())
    const sentAt = this.deps.clock.now()
    const { id, promise } = this.#pings.open('ping', {
      timeoutMs: this.deps.config.deadAfterMs,
      state: undefined,
    })
    this.#send({ type: 'ping', id, body })
    return promise.then((echo) => {
      const sample = Math.max(0, this.deps.clock.now() - sentAt)
      this.rttMs = this.rttMs === undefined ? sample : this.rttMs + (sample - this.rttMs) / 8
      this.events.emit('rtt', this.rttMs)
      return { rttMs: sample, body: echo }
    })
  }

  /** Send a request (numbered here); resolves with the response, rejects on timeout or close. */
  request(msg: RequestMsg): Promise<Wire> {
    if (this.state !== 'connected') return Promise.reject(closedError())
    const { id, promise } = this.#requests.open(msg.type, {
      timeoutMs: this.deps.config.requestTimeoutMs,
      state: ANSWERS[msg.type],
    })
    this.#send({ ...msg, id } as Wire)
    return promise
  }

  /**
   * Fetch piece `index` of `hash`, `length` bytes long (from the verified piece list: the sender's
   * headers are held to it). Resolves with its bytes as sent (the caller verifies them); rejects
   * on content-error, a frame that does not fit, link close or abort.
   */
  fetchPiece(hash: string, index: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    if (this.state !== 'connected') return Promise.reject(closedError())
    if (signal?.aborted) return Promise.reject(new DcmxError('ABORTED', 'piece request aborted'))
    const { id, promise } = this.#pieces.open(length, signal)
    this.#send({ type: 'content-req', id, hash, index })
    return promise
  }

  /**
   * Send and wait until the link has room again (backpressure for bulk senders). Over a link that
   * copies what it sends, the frame is built in a pooled buffer, taken back once the send resolves.
   */
  async post(msg: Wire): Promise<void> {
    if (this.state === 'closed') throw closedError()
    const buffer = this.link.copiesOnSend ? framePool.take() : undefined
    const frame = encodeWire(msg, buffer)
    this.deps.meter?.('sent', msg.type, frame.length)
    this.#queued += frame.length
    try {
      await this.link.send(frame)
    } finally {
      this.#queued -= frame.length
      if (buffer) framePool.give(buffer)
    }
  }

  /** Send a message on a connected link (dropped silently if the link is gone). */
  send(msg: Wire): void {
    if (this.state === 'closed') return
    this.#send(msg)
  }

  /** Bytes queued to this peer: in JS waiting for room, plus the link's buffer. */
  get queuedBytes(): number {
    return this.#queued + this.link.bufferedAmount
  }

  /** Count a protocol violation (see `penalise`). */
  strike(reason: string): void {
    this.penalise('protocol', reason)
  }

  /** Charge the peer (or, before its proof, its session); close or ban as the ledger decides. */
  penalise(kind: PenaltyKind, detail: string): void {
    if (this.state === 'closed') return
    const verdict = this.#reputation.charge(this.subject, kind, detail)
    if (verdict === 'ban') this.close(detail, true)
    else if (verdict === 'close') this.close(detail)
  }

  close(reason: string, rejected = false): void {
    if (this.state === 'closed') return
    this.#closed(reason, rejected)
    this.link.close(reason)
  }

  #opened() {
    if (this.state !== 'connecting') return
    this.#setState('verifying')
    if (!this.deps.answering) this.#sendHello()
  }

  #sendHello() {
    this.#send({
      type: 'hello',
      peerId: this.deps.identity.peerId,
      alg: this.deps.identity.alg,
      publicKey: toBase64(this.deps.identity.publicKey),
      nonce: toBase64(this.#nonce),
    })
  }

  async #handle(msg: Wire) {
    if (this.state !== 'connected' && msg.type !== 'hello' && msg.type !== 'proof') {
      return this.penalise('handshake', `${msg.type} before identity proof`)
    }
    switch (msg.type) {
      case 'hello':
        return this.#onHello(msg)
      case 'proof':
        return this.#onProof(msg.sig)
      case 'ping':
        return this.#send(
          msg.body ? { type: 'pong', id: msg.id, body: msg.body } : { type: 'pong', id: msg.id },
        )
      case 'pong':
        return void this.#pings.settle(msg.id, msg.body ?? new Uint8Array(0)) // late: harmless
      case 'discover':
      case 'peers-req':
      case 'tracks-req':
      case 'content-req':
      case 'content-cancel':
      case 'pieces-req':
        return this.onMessage?.(msg)
      case 'peers-res':
      case 'tracks-res':
      case 'pieces-res':
        return this.#onResponse(msg)
      case 'content-piece':
        return this.#pieces.onPiece(msg)
      case 'content-error':
        return this.#pieces.onError(msg)
      default:
        return assertNever(msg)
    }
  }

  async #onHello(msg: WireOf<'hello'>) {
    if (this.#remote) return this.penalise('handshake', 'second hello on one link')
    // The dialler's end is open (it sent this): ours goes now, before we check theirs.
    if (this.deps.answering) this.#sendHello()
    const publicKey = fromBase64(msg.publicKey)
    const nonce = fromBase64(msg.nonce)
    if (!publicKey || !nonce || nonce.length !== NONCE_BYTES)
      return this.penalise('handshake', 'malformed hello')
    const derived = await peerIdOf(this.deps.crypto.subtle, publicKey)
    if (derived !== msg.peerId) return this.penalise('handshake', 'peer id does not match its public key')
    if (this.deps.expectedPeerId && derived !== this.deps.expectedPeerId) {
      return this.penalise('handshake', 'peer id differs from the one it announced to the signaling server')
    }
    if (derived === this.deps.identity.peerId) return this.close('linked to itself')
    this.#remote = { alg: msg.alg, publicKey, nonce }
    this.remoteId = derived
    const fp = this.link.fingerprints
    const transcript = proofTranscript(this.deps.identity.peerId, derived, nonce, {
      prover: fp?.local ?? '',
      verifier: fp?.remote ?? '',
    })
    const sig = await this.deps.identity.sign(transcript)
    this.#send({ type: 'proof', sig: toBase64(sig) })
  }

  async #onProof(sigText: string) {
    const remote = this.#remote
    if (!remote || !this.remoteId) return this.penalise('handshake', 'unexpected proof')
    // Checked before the signature: each proof costs a verification, and one is all a link needs.
    if (this.state === 'connected') return this.strike('second proof on one link')
    const sig = fromBase64(sigText)
    const fp = this.link.fingerprints
    const transcript = proofTranscript(this.remoteId, this.deps.identity.peerId, this.#nonce, {
      prover: fp?.remote ?? '',
      verifier: fp?.local ?? '',
    })
    const valid =
      sig !== undefined &&
      (await verifySignature(this.deps.crypto.subtle, remote.alg, remote.publicKey, transcript, sig))
    if (!valid) return this.penalise('handshake', 'identity proof failed')
    if (this.state !== 'verifying') return
    this.provenId = this.remoteId
    this.#setState('connected')
    this.#startPinging()
  }

  #onResponse(msg: WireOf<ResponseType>) {
    const expects = this.#requests.get(msg.id)
    if (expects === undefined) {
      // Late (timed out) answers are harmless; answers to requests never made are not.
      return this.#requests.issued(msg.id) ? undefined : this.strike(`${msg.type} to a request never made`)
    }
    if (expects !== msg.type) {
      this.#requests.fail(msg.id, new DcmxError('BAD_MESSAGE', `${msg.type} answering a ${expects} request`))
      return this.strike(`${msg.type} answering a request for ${expects}`)
    }
    this.#requests.settle(msg.id, msg)
  }

  #startPinging() {
    const { clock, random, config } = this.deps
    const probe = () => {
      // A link restoring its path (an ICE restart, bounded by the link) is not silent, only away.
      const away = this.link.repairing === true
      if (!away && clock.now() - this.lastSeen > config.deadAfterMs) return this.close('no answer to pings')
      this.ping().catch(() => {})
    }
    probe()
    this.#timers.push(every(clock, config.pingIntervalMs, probe, random, 0.1))
  }

  /** Queue a frame within the outbound budget; a peer that lets the queue grow past it is closed. */
  #send(msg: Wire) {
    const frame = encodeWire(msg)
    if (this.queuedBytes + frame.length > this.deps.config.outboundBudget) {
      return this.penalise('slow-reader', `slow reader: over ${this.deps.config.outboundBudget} bytes queued`)
    }
    this.deps.meter?.('sent', msg.type, frame.length)
    this.#queued += frame.length
    this.link.send(frame).then(
      () => (this.#queued -= frame.length),
      (error: unknown) => {
        this.#queued -= frame.length
        // The link closed under us (its close event tidies up); anything else is a lost frame.
        if (this.link.open) this.#log(this.#namespace, `${msg.type} frame lost`, error)
      },
    )
  }

  #setState(state: SessionState) {
    this.state = state
    this.events.emit('state', state)
  }

  #closed(reason: string, rejected: boolean) {
    if (this.state === 'closed') return
    this.#setState('closed')
    for (const cancel of this.#timers) cancel()
    const error = new DcmxError('LINK_CLOSED', `link closed: ${reason}`)
    this.#pings.rejectAll(error)
    this.#requests.rejectAll(error)
    this.#pieces.rejectAll(error)
    this.events.emit('closed', reason, rejected)
  }
}

function closedError() {
  return new DcmxError('LINK_CLOSED', 'the link is not connected')
}
