import SimplePeer from 'simple-peer/simplepeer.min.js'
import { Emitter } from '../core/emitter.ts'
import { DcmxError } from '../core/errors.ts'
import {
  dtlsFingerprint,
  type LinkEvents,
  type LinkFactory,
  type LinkOptions,
  type RtcLink,
} from '../core/link.ts'
import type { SignalData } from '../core/signaling-protocol.ts'

/** Above this many queued bytes, `send` waits: enough to keep a fast path busy, small enough to stay fair. */
/** Longest a closing link waits for its send buffer to drain. */
const CLOSE_GRACE_MS = 300
const HIGH_WATER = 1024 * 1024
/** Sending resumes once the queue drains below this. */
const LOW_WATER = 256 * 1024
/** Frames held while simple-peer finishes `connect`; the handshake needs two, a flood is an attack. */
const MAX_EARLY_FRAMES = 64

/**
 * A WebRTC data channel through simple-peer, seen by the core only as an RtcLink. Everything
 * simple-peer-specific stays in this file, so plain RTCPeerConnection can replace it.
 */
class SimplePeerLink implements RtcLink {
  readonly events = new Emitter<LinkEvents>()
  open = false
  readonly #peer: SimplePeer
  #closed = false
  #drain: { promise: Promise<void>; resolve: () => void } | undefined
  /** Frames that arrived before `connect`: simple-peer delivers data as soon as the channel opens,
   * but fires `connect` only after an extra stats round trip, so the remote side may speak first. */
  #early: Uint8Array[] = []

  constructor(options: LinkOptions) {
    this.#peer = new SimplePeer({
      initiator: options.initiator,
      trickle: true,
      config: { iceServers: options.iceServers },
      channelConfig: { ordered: true },
    })
    this.#peer.on('signal', (data) => options.onSignal(data as SignalData))
    this.#peer.on('connect', () => {
      const channel = this.#peer._channel
      if (channel) {
        channel.bufferedAmountLowThreshold = LOW_WATER
        channel.addEventListener('bufferedamountlow', () => this.#wake())
      }
      this.open = true
      this.events.emit('open')
      for (const frame of this.#early.splice(0)) if (this.open) this.events.emit('message', frame)
    })
    this.#peer.on('data', (data) => {
      if (this.open) this.events.emit('message', data)
      else if (this.#early.push(data) > MAX_EARLY_FRAMES) this.close('too many frames before the link opened')
    })
    this.#peer.on('error', (error) => this.#finish(`${error.code ?? 'error'}: ${error.message}`))
    this.#peer.on('close', () => this.#finish('remote closed'))
  }

  get bufferedAmount(): number {
    return this.#peer._channel?.bufferedAmount ?? 0
  }

  get fingerprints(): { local: string; remote: string } | undefined {
    const pc = this.#peer._pc
    const local = dtlsFingerprint(pc?.localDescription?.sdp)
    const remote = dtlsFingerprint(pc?.remoteDescription?.sdp)
    return local && remote ? { local, remote } : undefined
  }

  async send(frame: Uint8Array): Promise<void> {
    while (this.open && this.bufferedAmount > HIGH_WATER) await this.#drained()
    if (!this.open) throw new DcmxError('LINK_CLOSED', 'the link is closed')
    this.#peer.send(frame)
  }

  signal(data: SignalData): void {
    if (!this.#closed) this.#peer.signal(data)
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
    this.#wake()
    this.events.emit('close', reason)
  }
}

/** The browser's LinkFactory. */
export const createRtcLink: LinkFactory = (options) => new SimplePeerLink(options)
