import { fromBase64, toBase64 } from './bytes.ts'
import type { Clock, Random, TimerHandle } from './clock.ts'
import { every } from './clock.ts'
import { Emitter } from './emitter.ts'
import { DcmxError } from './errors.ts'
import { peerIdOf, proofTranscript, verifySignature, type Identity } from './identity.ts'
import type { Link } from './link.ts'
import { TokenBucket } from './rate.ts'
import { assertNever } from './result.ts'
import { decodeWire, encodeWire, wireTypeOf, type KeyAlg, type Wire, type WireOf } from './wire.ts'

/** What a session needs from the platform's crypto. */
export interface CryptoDeps {
  subtle: SubtleCrypto
  randomBytes(n: number): Uint8Array
}

export type SessionConfig = {
  /** How often a verified link is pinged. */
  pingIntervalMs: number
  /** A link with no pong for this long is dead and closed. */
  deadAfterMs: number
  /** A link that has not proved the remote identity by then is closed. */
  handshakeTimeoutMs: number
  /** Malformed frames or protocol violations tolerated before the link is closed. */
  maxStrikes: number
  /** How long a request waits for its response. */
  requestTimeoutMs: number
  /** Inbound budget: messages per second (and burst) and bytes per second (and burst). */
  rate: {
    messages: number
    messageBurst: number
    bytes: number
    byteBurst: number
    /** Content frames (piece data we asked for) have their own, larger byte budget. */
    contentBytes: number
    contentBurst: number
  }
  /** Frames over budget that are dropped before the link is dropped too. */
  maxThrottled: number
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
}

/** Messages the session hands to the node (everything after the handshake but ping/pong). */
export type AppMessage = WireOf<'discover' | 'peers-req' | 'tracks-req' | 'content-req' | 'pieces-req'>
type Response = WireOf<'peers-res' | 'tracks-res' | 'pieces-res'>
type PieceRequest = {
  buf: Uint8Array | undefined
  received: number
  resolve: (bytes: Uint8Array) => void
  reject: (error: Error) => void
}

/** Counts traffic by message type, for the stats panel. */
export type TrafficMeter = (direction: 'sent' | 'received', type: string, bytes: number) => void

export type SessionState = 'connecting' | 'verifying' | 'connected' | 'closed'

export type SessionEvents = {
  state: [SessionState]
  rtt: [ms: number]
  /** The link was closed; `rejected` is set when the remote side misbehaved (bad proof, floods, lies). */
  closed: [reason: string, rejected: boolean]
}

type Pending = {
  sentAt: number
  timer: TimerHandle
  resolve: (r: PingResult) => void
  reject: (e: Error) => void
}
export type PingResult = { rttMs: number; body: Uint8Array }

const NONCE_BYTES = 32

/**
 * One link to one remote node: the identity handshake (each side signs the other's fresh nonce),
 * then ping/pong for liveness and round-trip time. Untrusted frames pass through `decodeWire`.
 */
export class PeerSession {
  readonly events = new Emitter<SessionEvents>()
  state: SessionState = 'connecting'
  /** The remote peer id, known once its hello has been checked against its public key. */
  remoteId: string | undefined
  /** Smoothed round-trip time (TCP-style EWMA), once measured. */
  rttMs: number | undefined
  lastSeen = 0

  readonly #nonce: Uint8Array
  #remote: { alg: KeyAlg; publicKey: Uint8Array; nonce: Uint8Array } | undefined
  #strikes = 0
  #throttled = 0
  #nextPingId = 1
  #pending = new Map<number, Pending>()
  #requests = new Map<
    number,
    { timer: TimerHandle; resolve: (r: Wire) => void; reject: (e: Error) => void }
  >()
  #messages: TokenBucket
  #bytes: TokenBucket
  #contentBytes: TokenBucket
  #pieces = new Map<number, PieceRequest>()
  #nextPieceId = 1
  #nextRequestId = 1
  /** Handles the messages past the handshake (set by the node); awaited, so order is kept. */
  onMessage: ((msg: AppMessage) => Promise<void>) | undefined
  #queue: Promise<void> = Promise.resolve()
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
      meter?: TrafficMeter
    },
  ) {
    this.#nonce = deps.crypto.randomBytes(NONCE_BYTES)
    const { rate } = deps.config
    this.#messages = new TokenBucket(rate.messages, rate.messageBurst, deps.clock.now())
    this.#bytes = new TokenBucket(rate.bytes, rate.byteBurst, deps.clock.now())
    this.#contentBytes = new TokenBucket(rate.contentBytes, rate.contentBurst, deps.clock.now())
    link.events.on('message', (frame) => {
      // A frame that arrived while the link was up is handled even if the link closes meanwhile:
      // a peer's last words (its goodbye record) come just before its close.
      if (this.state === 'closed') return
      this.#queue = this.#queue.then(() => this.#receive(frame))
    })
    link.events.on('close', (reason) => this.#closed(reason, false))
    link.events.on('open', () => this.#opened())
    const timeout = deps.clock.setTimeout(() => {
      if (this.state !== 'connected') this.close('identity handshake timed out', true)
    }, deps.config.handshakeTimeoutMs)
    this.#timers.push(() => deps.clock.clearTimeout(timeout))
    if (link.open) this.#opened()
  }

  /** Send a ping carrying `body` (echoed back); resolves with the round trip. */
  ping(body: Uint8Array = new Uint8Array(0)): Promise<PingResult> {
    if (this.state !== 'connected')
      return Promise.reject(new DcmxError('LINK_CLOSED', 'the link is not connected'))
    const id = this.#nextPingId++
    return new Promise((resolve, reject) => {
      const timer = this.deps.clock.setTimeout(() => {
        this.#pending.delete(id)
        reject(new DcmxError('TIMEOUT', 'no answer to ping'))
      }, this.deps.config.deadAfterMs)
      this.#pending.set(id, { sentAt: this.deps.clock.now(), timer, resolve, reject })
      this.#send({ type: 'ping', id, body })
    })
  }

  /** Send a request; resolves with the response echoing its id, rejects on timeout or close. */
  request(msg: WireOf<'peers-req' | 'tracks-req' | 'pieces-req'>): Promise<Wire> {
    if (this.state !== 'connected')
      return Promise.reject(new DcmxError('LINK_CLOSED', 'the link is not connected'))
    // The session numbers its own requests, so callers cannot collide on an id.
    const id = this.#nextRequestId++
    return new Promise((resolve, reject) => {
      const timer = this.deps.clock.setTimeout(() => {
        this.#requests.delete(id)
        reject(new DcmxError('TIMEOUT', `no answer to ${msg.type}`))
      }, this.deps.config.requestTimeoutMs)
      this.#requests.set(id, { timer, resolve, reject })
      this.send({ ...msg, id })
    })
  }

  /**
   * Fetch piece `index` of `hash`: resolves with its bytes as sent (the caller verifies them),
   * rejects on content-error, link close or abort. Timing out is the caller's choice (abort).
   */
  fetchPiece(hash: string, index: number, signal?: AbortSignal): Promise<Uint8Array> {
    if (this.state !== 'connected')
      return Promise.reject(new DcmxError('LINK_CLOSED', 'the link is not connected'))
    if (signal?.aborted) return Promise.reject(new DcmxError('ABORTED', 'piece request aborted'))
    const id = this.#nextPieceId++
    return new Promise((resolve, reject) => {
      const onAbort = () => done(undefined, new DcmxError('ABORTED', 'piece request aborted'))
      const done = (bytes: Uint8Array | undefined, error?: Error) => {
        this.#pieces.delete(id)
        signal?.removeEventListener('abort', onAbort)
        if (error) reject(error)
        else resolve(bytes!)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#pieces.set(id, {
        buf: undefined,
        received: 0,
        resolve: (bytes) => done(bytes),
        reject: (error) => done(undefined, error),
      })
      this.send({ type: 'content-req', id, hash, index })
    })
  }

  /** Send and wait until the link has room again (backpressure for bulk senders). */
  async post(msg: Wire): Promise<void> {
    if (this.state === 'closed') throw new DcmxError('LINK_CLOSED', 'the link is closed')
    const frame = encodeWire(msg)
    this.deps.meter?.('sent', msg.type, frame.length)
    await this.link.send(frame)
  }

  /** Send a message on a connected link (dropped silently if the link is gone). */
  send(msg: Wire): void {
    if (this.state === 'closed') return
    this.#send(msg)
  }

  /** Count a protocol violation; past `maxStrikes` the link is closed as misbehaving. */
  strike(reason: string): void {
    if (++this.#strikes >= this.deps.config.maxStrikes)
      this.close(`too many violations (last: ${reason})`, true)
  }

  close(reason: string, rejected = false): void {
    if (this.state === 'closed') return
    this.#closed(reason, rejected)
    this.link.close(reason)
  }

  #opened() {
    if (this.state !== 'connecting') return
    this.#setState('verifying')
    this.#send({
      type: 'hello',
      peerId: this.deps.identity.peerId,
      alg: this.deps.identity.alg,
      publicKey: toBase64(this.deps.identity.publicKey),
      nonce: toBase64(this.#nonce),
    })
  }

  async #receive(frame: Uint8Array) {
    const now = this.deps.clock.now()
    const admitted =
      wireTypeOf(frame) === 'content-piece'
        ? this.#contentBytes.take(frame.length, now)
        : this.#messages.take(1, now) && this.#bytes.take(frame.length, now)
    if (!admitted) {
      // Over budget: the frame is dropped unread; a peer that keeps flooding is dropped too.
      this.deps.meter?.('received', 'throttled', frame.length)
      if (++this.#throttled >= this.deps.config.maxThrottled)
        this.close('flooding: over its rate budget', true)
      return
    }
    const decoded = decodeWire(frame)
    if (!decoded.ok) {
      this.deps.meter?.('received', 'rejected', frame.length)
      if (++this.#strikes >= this.deps.config.maxStrikes) {
        this.close(`too many malformed frames (last: ${decoded.error.message})`, true)
      }
      return
    }
    this.deps.meter?.('received', decoded.value.type, frame.length)
    this.lastSeen = now
    await this.#handle(decoded.value)
  }

  async #handle(msg: Wire) {
    switch (msg.type) {
      case 'hello':
        return this.#onHello(msg)
      case 'proof':
        return this.#onProof(msg.sig)
      case 'ping':
        if (this.state !== 'connected') return this.close('ping before identity proof', true)
        return this.#send(
          msg.body ? { type: 'pong', id: msg.id, body: msg.body } : { type: 'pong', id: msg.id },
        )
      case 'pong':
        return this.#onPong(msg.id, msg.body ?? new Uint8Array(0))
      case 'discover':
      case 'peers-req':
      case 'tracks-req':
      case 'content-req':
      case 'pieces-req':
        if (this.state !== 'connected') return this.close(`${msg.type} before identity proof`, true)
        return this.onMessage?.(msg)
      case 'peers-res':
      case 'tracks-res':
      case 'pieces-res':
        return this.#onResponse(msg)
      case 'content-piece':
        return this.#onPiece(msg)
      case 'content-error': {
        const pending = this.#pieces.get(msg.id)
        return pending?.reject(new DcmxError('NOT_FOUND', `peer could not serve the piece: ${msg.message}`))
      }
      default:
        return assertNever(msg)
    }
  }

  async #onHello(msg: Extract<Wire, { type: 'hello' }>) {
    if (this.#remote) return this.close('second hello on one link', true)
    const publicKey = fromBase64(msg.publicKey)
    const nonce = fromBase64(msg.nonce)
    if (!publicKey || !nonce || nonce.length !== NONCE_BYTES) return this.close('malformed hello', true)
    const derived = await peerIdOf(this.deps.crypto.subtle, publicKey)
    if (derived !== msg.peerId) return this.close('peer id does not match its public key', true)
    if (this.deps.expectedPeerId && derived !== this.deps.expectedPeerId) {
      return this.close('peer id differs from the one it announced to the signaling server', true)
    }
    if (derived === this.deps.identity.peerId) return this.close('linked to itself', true)
    this.#remote = { alg: msg.alg, publicKey, nonce }
    this.remoteId = derived
    const sig = await this.deps.identity.sign(proofTranscript(this.deps.identity.peerId, derived, nonce))
    this.#send({ type: 'proof', sig: toBase64(sig) })
  }

  async #onProof(sigText: string) {
    const remote = this.#remote
    if (!remote || !this.remoteId || this.state === 'connected') return this.close('unexpected proof', true)
    const sig = fromBase64(sigText)
    const transcript = proofTranscript(this.remoteId, this.deps.identity.peerId, this.#nonce)
    const valid =
      sig !== undefined &&
      (await verifySignature(this.deps.crypto.subtle, remote.alg, remote.publicKey, transcript, sig))
    if (!valid) return this.close('identity proof failed', true)
    if (this.state !== 'verifying') return
    this.#setState('connected')
    this.#startPinging()
  }

  #onPong(id: number, body: Uint8Array) {
    const pending = this.#pending.get(id)
    if (!pending) return // late or unsolicited: harmless
    this.#pending.delete(id)
    this.deps.clock.clearTimeout(pending.timer)
    const sample = Math.max(0, this.deps.clock.now() - pending.sentAt)
    this.rttMs = this.rttMs === undefined ? sample : this.rttMs + (sample - this.rttMs) / 8
    this.events.emit('rtt', this.rttMs)
    pending.resolve({ rttMs: sample, body })
  }

  #onPiece(msg: WireOf<'content-piece'>) {
    const pending = this.#pieces.get(msg.id)
    if (!pending) return // late (aborted or timed out): harmless
    const body = msg.body ?? new Uint8Array(0)
    pending.buf ??= new Uint8Array(msg.length)
    if (
      msg.length !== pending.buf.length ||
      msg.offset !== pending.received ||
      msg.offset + body.length > msg.length
    ) {
      pending.reject(new DcmxError('BAD_MESSAGE', 'piece frames out of order or of the wrong size'))
      return this.strike('malformed piece stream')
    }
    pending.buf.set(body, msg.offset)
    pending.received += body.length
    if (pending.received === msg.length) pending.resolve(pending.buf)
  }

  #onResponse(msg: Response) {
    const pending = this.#requests.get(msg.id)
    if (!pending) return // late (timed out) or unsolicited: harmless
    this.#requests.delete(msg.id)
    this.deps.clock.clearTimeout(pending.timer)
    pending.resolve(msg)
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

  #send(msg: Wire) {
    const frame = encodeWire(msg)
    this.deps.meter?.('sent', msg.type, frame.length)
    this.link.send(frame).catch(() => {
      // The link closed under us; its close event tidies up.
    })
  }

  #setState(state: SessionState) {
    this.state = state
    this.events.emit('state', state)
  }

  #closed(reason: string, rejected: boolean) {
    if (this.state === 'closed') return
    this.#setState('closed')
    for (const cancel of this.#timers) cancel()
    for (const pending of this.#pending.values()) {
      this.deps.clock.clearTimeout(pending.timer)
      pending.reject(new DcmxError('LINK_CLOSED', `link closed: ${reason}`))
    }
    this.#pending.clear()
    for (const request of this.#requests.values()) {
      this.deps.clock.clearTimeout(request.timer)
      request.reject(new DcmxError('LINK_CLOSED', `link closed: ${reason}`))
    }
    this.#requests.clear()
    for (const piece of [...this.#pieces.values()])
      piece.reject(new DcmxError('LINK_CLOSED', `link closed: ${reason}`))
    this.events.emit('closed', reason, rejected)
  }
}
