import { fromBase64, toBase64 } from './bytes.ts'
import type { Clock, Random, TimerHandle } from './clock.ts'
import { every } from './clock.ts'
import { Emitter } from './emitter.ts'
import { DcmxError } from './errors.ts'
import { peerIdOf, proofTranscript, verifySignature, type Identity } from './identity.ts'
import type { Link } from './link.ts'
import { assertNever } from './result.ts'
import { decodeWire, encodeWire, type KeyAlg, type Wire } from './wire.ts'

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
  /** Malformed frames tolerated before the link is closed. */
  maxStrikes: number
}

export const DEFAULT_SESSION_CONFIG: SessionConfig = {
  pingIntervalMs: 2_000,
  deadAfterMs: 7_000,
  handshakeTimeoutMs: 15_000,
  maxStrikes: 3,
}

export type SessionState = 'connecting' | 'verifying' | 'connected' | 'closed'

export type SessionEvents = {
  state: [SessionState]
  rtt: [ms: number]
  /** The link was closed; `rejected` is set when the remote side failed to prove its identity. */
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
  #nextPingId = 1
  #pending = new Map<number, Pending>()
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
    },
  ) {
    this.#nonce = deps.crypto.randomBytes(NONCE_BYTES)
    link.events.on('message', (frame) => {
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
    if (this.state === 'closed') return
    const decoded = decodeWire(frame)
    if (!decoded.ok) {
      if (++this.#strikes >= this.deps.config.maxStrikes) {
        this.close(`too many malformed frames (last: ${decoded.error.message})`, this.state !== 'connected')
      }
      return
    }
    this.lastSeen = this.deps.clock.now()
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

  #startPinging() {
    const { clock, random, config } = this.deps
    const probe = () => {
      if (clock.now() - this.lastSeen > config.deadAfterMs) return this.close('no answer to pings')
      this.ping().catch(() => {})
    }
    probe()
    this.#timers.push(every(clock, config.pingIntervalMs, probe, random, 0.1))
  }

  #send(msg: Wire) {
    this.link.send(encodeWire(msg)).catch(() => {
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
    this.events.emit('closed', reason, rejected)
  }
}
