import SimplePeer from 'simple-peer/simplepeer.min.js'
import { Emitter } from '../core/emitter.ts'
import { DcmxError } from '../core/errors.ts'
import {
  dtlsFingerprint,
  type LinkEvents,
  type LinkFactory,
  type LinkOptions,
  type LinkRoute,
  type RtcLink,
} from '../core/link.ts'
import type { IceServer, SignalData } from '../core/signaling-protocol.ts'
import {
  candidateType,
  diagnose,
  emptyFindings,
  offersRelay,
  restartRelayOnly,
  routeFromStats,
} from './ice-doctor.ts'

/** Above this many queued bytes, `send` waits: enough to keep a fast path busy, small enough to stay fair. */
/** Longest a closing link waits for its send buffer to drain. */
const CLOSE_GRACE_MS = 300
const HIGH_WATER = 1024 * 1024
/** Sending resumes once the queue drains below this. */
const LOW_WATER = 256 * 1024
/** Frames held while simple-peer finishes `connect`; the handshake needs two, a flood is an attack. */
const MAX_EARLY_FRAMES = 64
/**
 * A link whose ICE has not connected by then is given up with a diagnosis: in the NAT lab a
 * relayed pair (TURN over TCP included) connects within ~2 s, and the session's identity
 * handshake would otherwise end it at 15 s with a reason nobody can act on.
 */
const CONNECT_TIMEOUT_MS = 12_000
/** ICE `disconnected` this long (Chromium says so after ~2.5 s without answers): restart ICE. */
const DISCONNECTED_GRACE_MS = 500
/** A restart whose ICE has not reconnected by then counts as failed, and the next one starts. */
const RESTART_TIMEOUT_MS = 4_000
/**
 * Once ICE is back, how long data may take to flow again: SCTP resends only when its
 * retransmission timer (backed off during the stall) fires, a few seconds later.
 */
const RESUME_TIMEOUT_MS = 10_000
/** Restarts (the later ones relay-only) before the link is given up. */
const MAX_RESTARTS = 3
/**
 * Nothing received for this long on an open link means its path stalled, whatever ICE says yet:
 * both DCMX sides ping every 2 s, and ICE itself notices a dead path only seconds later, after
 * the session would have given the link up (7 s without an answer).
 */
const STALL_MS = 4_500
/** How often an open link checks for a stall. */
const STALL_CHECK_MS = 1_000
/** getStats may not name the selected pair at the very moment ICE connects: ask again this often. */
const ROUTE_RETRY_MS = 250
const ROUTE_RETRIES = 8

const ufragOf = (sdp: string | undefined) => (sdp ? /a=ice-ufrag:(\S+)/.exec(sdp)?.[1] : undefined)

/**
 * A WebRTC data channel through simple-peer, seen by the core only as an RtcLink. Everything
 * simple-peer-specific stays in this file, so plain RTCPeerConnection can replace it.
 *
 * simple-peer 9.11 has no ICE restart and destroys the peer when ICE fails, so this class takes
 * over the connection's ICE state handler: a link that was up and loses its path restarts ICE
 * (the initiator calls restartIce() and makes a new offer; the other side asks it to with
 * simple-peer's `renegotiate` signal), and later restarts go relay-only on both sides.
 */
const textBytes = new TextEncoder()

class SimplePeerLink implements RtcLink {
  readonly events = new Emitter<LinkEvents>()
  /** RTCDataChannel.send copies the bytes before it returns (see Link.copiesOnSend). */
  readonly copiesOnSend = true
  open = false
  route: LinkRoute | undefined
  readonly #peer: SimplePeer
  readonly #pc: RTCPeerConnection
  readonly #initiator: boolean
  #iceServers: IceServer[]
  readonly #freshIceServers: (() => IceServer[]) | undefined
  readonly #onSignal: (data: SignalData) => void
  #relayOnly: boolean
  #closed = false
  #drain: { promise: Promise<void>; resolve: () => void } | undefined
  /** Frames that arrived before `connect`: simple-peer delivers data as soon as the channel opens,
   * but fires `connect` only after an extra stats round trip, so the remote side may speak first. */
  #early: Uint8Array[] = []
  #findings = emptyFindings()
  /** ICE restarts this link went through (made, or answered), and restart attempts asked for. */
  #restarts = 0
  #attempts = 0
  #restarting = false
  /** The other side took part in the current restart (its offer or answer came back). */
  #peerAnswered = false
  #remoteUfrag: string | undefined
  #timers = new Map<'connect' | 'disconnected' | 'restart', ReturnType<typeof setTimeout>>()
  #lastInbound = 0
  #stallCheck: ReturnType<typeof setInterval> | undefined

  constructor(options: LinkOptions) {
    this.#initiator = options.initiator
    this.#iceServers = options.iceServers
    this.#freshIceServers = options.freshIceServers
    this.#onSignal = options.onSignal
    this.#relayOnly = options.relayOnly === true
    this.#peer = new SimplePeer({
      initiator: options.initiator,
      trickle: true,
      config: { iceServers: options.iceServers, iceTransportPolicy: this.#relayOnly ? 'relay' : 'all' },
      channelConfig: { ordered: true },
    })
    this.#pc = this.#peer._pc
    this.#watchIce()
    this.#arm('connect', CONNECT_TIMEOUT_MS, () => {
      if (!this.#findings.everConnected) this.#giveUp()
    })
    this.#peer.on('signal', (data) => options.onSignal(data as SignalData))
    this.#peer.on('connect', () => {
      const channel = this.#peer._channel
      if (channel) {
        channel.bufferedAmountLowThreshold = LOW_WATER
        channel.addEventListener('bufferedamountlow', () => this.#wake())
      }
      this.open = true
      this.#lastInbound = Date.now()
      this.#stallCheck = setInterval(() => {
        if (this.open && Date.now() - this.#lastInbound > STALL_MS) this.#wantRestart()
      }, STALL_CHECK_MS)
      this.events.emit('open')
      for (const frame of this.#early.splice(0)) if (this.open) this.events.emit('message', frame)
    })
    // Each message straight to the link, not through simple-peer's stream (a Buffer view and a
    // readable-stream push per frame cost the receiving main thread for nothing: a frame is
    // decoded and dropped at once, and backpressure is the channel's own bufferedAmount).
    this.#peer._onChannelMessage = (event) => {
      if (this.#closed) return
      // A text message is no frame of ours: its bytes go on to the codec, which refuses them (as
      // simple-peer's stream did, turning strings into bytes; tests/e2e/hostile.spec.ts holds it).
      const data: unknown = event.data
      this.#onFrame(typeof data === 'string' ? textBytes.encode(data) : new Uint8Array(data as ArrayBuffer))
    }
    this.#peer.on('error', (error) => this.#finish(`${error.code ?? 'error'}: ${error.message}`))
    this.#peer.on('close', () => this.#finish('remote closed'))
  }

  #onFrame(data: Uint8Array): void {
    this.#lastInbound = Date.now()
    // ICE may stay `connected` through a restart: data flowing again is the sign it worked.
    if (this.#restarting) this.#recovered()
    if (this.open) this.events.emit('message', data)
    else if (this.#early.push(data) > MAX_EARLY_FRAMES) this.close('too many frames before the link opened')
  }

  /**
   * Only a restart the other side answers counts as repair: a peer that is gone (its tab closed
   * without a goodbye) never answers, and its session ends after the usual silence.
   */
  get repairing(): boolean {
    return this.#restarting && this.#peerAnswered
  }

  get bufferedAmount(): number {
    return this.#peer._channel?.bufferedAmount ?? 0
  }

  get fingerprints(): { local: string; remote: string } | undefined {
    const pc = this.#peer._pc
    const local = dtlsFingerprint(pc.localDescription?.sdp)
    const remote = dtlsFingerprint(pc.remoteDescription?.sdp)
    return local && remote ? { local, remote } : undefined
  }

  async send(frame: Uint8Array): Promise<void> {
    while (this.open && this.bufferedAmount > HIGH_WATER) await this.#drained()
    if (!this.open) throw new DcmxError('LINK_CLOSED', 'the link is closed')
    this.#peer.send(frame)
  }

  signal(data: SignalData): void {
    if (this.#closed) return
    if (data.type === 'candidate') {
      const type = candidateType(data.candidate.candidate)
      if (type) this.#findings.received[type]++
    }
    if (data.type === 'renegotiate') {
      // DCMX never renegotiates media: the other side asks for an ICE restart.
      if (this.#initiator) this.#wantRestart()
      return
    }
    if (data.type === 'offer' || data.type === 'answer') {
      const ufrag = ufragOf(data.sdp)
      if (data.type === 'answer' && this.#restarting && ufrag !== this.#remoteUfrag) this.#peerAnswered = true
      if (data.type === 'offer' && this.#remoteUfrag && ufrag !== this.#remoteUfrag) this.#answerRestart()
      this.#remoteUfrag = ufrag
    }
    this.#peer.signal(data)
  }

  close(reason = 'closed'): void {
    if (this.#closed) return
    this.#finish(reason)
    // Tearing the connection down drops what the channel still buffers (a goodbye record, the
    // last frames of an answer): let it drain first, briefly.
    const started = Date.now()
    const destroy = () => {
      if (this.bufferedAmount > 0 && Date.now() - started < CLOSE_GRACE_MS) setTimeout(destroy, 20)
      else setTimeout(() => this.#peer.destroy(), 50)
    }
    destroy()
  }

  /** Put our handler in front of simple-peer's, which would destroy the link on ICE failure. */
  #watchIce() {
    const pc = this.#pc
    const simplePeerIce = pc.oniceconnectionstatechange
    const simplePeerConnection = pc.onconnectionstatechange
    pc.oniceconnectionstatechange = (event) => {
      if (this.#onIceState()) simplePeerIce?.call(pc, event)
    }
    pc.onconnectionstatechange = (event) => {
      if (pc.connectionState !== 'failed') simplePeerConnection?.call(pc, event)
    }
    pc.addEventListener('icecandidate', (event) => {
      const type = event.candidate && candidateType(event.candidate.candidate)
      if (type) this.#findings.gathered[type]++
    })
    pc.addEventListener('icecandidateerror', (event) => {
      this.#findings.serverErrors.push((event as RTCPeerConnectionIceErrorEvent).errorCode)
    })
  }

  /** React to an ICE state; true lets simple-peer see it too. */
  #onIceState(): boolean {
    if (this.#closed) return false
    switch (this.#pc.iceConnectionState) {
      case 'connected':
      case 'completed':
        this.#findings.everConnected = true
        this.#disarm('connect')
        this.#disarm('disconnected')
        this.#readRoute(ROUTE_RETRIES)
        // Mid-restart, only data flowing again proves the link is back (see `data`).
        if (this.#restarting) this.#arm('restart', RESUME_TIMEOUT_MS, () => this.#retryRestart())
        return true
      case 'disconnected':
        // Mid-restart, the old path failing before the new one took over means this attempt's
        // candidates did not get through (seen when a restart begins while ICE still trusts the
        // dying pair): try again now rather than when the attempt times out.
        if (this.#findings.everConnected)
          this.#arm('disconnected', DISCONNECTED_GRACE_MS, () =>
            this.#restarting ? this.#retryRestart() : this.#wantRestart(),
          )
        return true
      case 'failed':
        if (this.#findings.everConnected) this.#wantRestart()
        else this.#giveUp()
        return false
      default:
        return true
    }
  }

  #recovered() {
    this.#restarting = false
    this.#peerAnswered = false
    this.#attempts = 0
    for (const name of ['connect', 'disconnected', 'restart'] as const) this.#disarm(name)
    this.#readRoute(ROUTE_RETRIES)
  }

  #retryRestart() {
    this.#restarting = false
    this.#wantRestart()
  }

  #wantRestart() {
    if (this.#closed || this.#restarting) return
    if (this.#attempts >= MAX_RESTARTS) return this.#giveUp()
    // A retry within one repair keeps what the first attempt learnt: the other side is there.
    if (this.#attempts === 0) this.#peerAnswered = false
    this.#attempts++
    this.#restarting = true
    this.#lastInbound = Date.now()
    this.#arm('restart', RESTART_TIMEOUT_MS, () => this.#retryRestart())
    if (!this.#initiator) return this.#onSignal({ type: 'renegotiate', renegotiate: true })
    this.#restarts++
    this.#maybeRelayOnly()
    this.#pc.restartIce()
    this.#peer.negotiate()
  }

  /** The initiator restarted ICE (its offer has new credentials): follow its relay-only decision. */
  #answerRestart() {
    this.#restarts++
    this.#maybeRelayOnly()
    this.#restarting = true
    this.#peerAnswered = true
    this.#arm('restart', RESTART_TIMEOUT_MS, () => this.#retryRestart())
  }

  /** Before a restart: the current ICE servers (TURN credentials expire), relay-only when it should. */
  #maybeRelayOnly() {
    const iceServers = this.#freshIceServers?.() ?? this.#iceServers
    const relay = this.#relayOnly || (offersRelay(iceServers) && restartRelayOnly(this.#restarts, this.route))
    try {
      this.#pc.setConfiguration({
        ...this.#pc.getConfiguration(),
        iceServers,
        iceTransportPolicy: relay ? 'relay' : 'all',
      })
      this.#iceServers = iceServers
      this.#relayOnly = relay
    } catch {
      // A browser that refuses the change restarts as it was configured.
    }
  }

  #readRoute(retries: number) {
    this.#pc.getStats().then(
      (report) => {
        const route = routeFromStats(report.values() as Iterable<{ id: string; type: string }>)
        if (!route) {
          if (retries > 0 && !this.#closed) setTimeout(() => this.#readRoute(retries - 1), ROUTE_RETRY_MS)
          return
        }
        const same = JSON.stringify(route) === JSON.stringify(this.route)
        this.route = route
        if (!same && !this.#closed) this.events.emit('route', route)
      },
      () => {},
    )
  }

  #giveUp() {
    this.close(diagnose(this.#findings, this.#iceServers, this.#relayOnly))
  }

  #arm(name: 'connect' | 'disconnected' | 'restart', ms: number, fn: () => void) {
    this.#disarm(name)
    this.#timers.set(
      name,
      setTimeout(() => {
        this.#timers.delete(name)
        if (!this.#closed) fn()
      }, ms),
    )
  }

  #disarm(name: 'connect' | 'disconnected' | 'restart') {
    clearTimeout(this.#timers.get(name))
    this.#timers.delete(name)
  }

  #drained(): Promise<void> {
    if (!this.#drain) {
      let resolve = () => {}
      const promise = new Promise<void>((r) => (resolve = r))
      this.#drain = { promise, resolve }
    }
    return this.#drain.promise
  }

  #wake() {
    const drain = this.#drain
    this.#drain = undefined
    drain?.resolve()
  }

  #finish(reason: string) {
    if (this.#closed) return
    this.#closed = true
    this.open = false
    for (const timer of this.#timers.values()) clearTimeout(timer)
    this.#timers.clear()
    clearInterval(this.#stallCheck)
    this.#wake()
    this.events.emit('close', reason)
  }
}

/** The browser's LinkFactory. */
export const createRtcLink: LinkFactory = (options) => new SimplePeerLink(options)
