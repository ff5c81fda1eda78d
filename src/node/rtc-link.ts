import wrtc from '@roamhq/wrtc'
import SimplePeer from 'simple-peer'
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

/**
 * Above this many queued bytes, `send` waits: the same high-water mark as the tab's link.
 *
 * Flow control polls instead of waiting for `bufferedamountlow`: @roamhq/wrtc 0.10 exposes
 * `bufferedAmount` but neither `bufferedAmountLowThreshold` nor the `bufferedamountlow` event (the
 * property is a plain expando there and the event never fires — measured, see docs/cli.md), and
 * its `bufferedAmount` only counts a frame once the network thread has taken it, so a burst of
 * synchronous sends reads 0 throughout. Bytes handed over since the last poll are therefore
 * counted here as well, and a poll only trusts the native figure after yielding to the event loop.
 */
export const HIGH_WATER = 1024 * 1024
/** How often a waiting sender re-reads the queue: at 1 MiB per 4 ms the pipe never runs dry below 250 MB/s. */
const POLL_MS = 4
/** Longest a closing link waits for its send buffer to drain. */
const CLOSE_GRACE_MS = 300
/** Frames held while simple-peer finishes `connect`; the handshake needs two, a flood is an attack. */
const MAX_EARLY_FRAMES = 64

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** A WebRTC data channel through simple-peer over @roamhq/wrtc, seen by the core only as an RtcLink. */
export class NodeRtcLink implements RtcLink {
  readonly events = new Emitter<LinkEvents>()
  open = false
  readonly #peer: SimplePeer
  #closed = false
  /** Bytes handed to wrtc in this turn of the event loop (not yet in its `bufferedAmount`). */
  #unsettled = 0
  /** The largest queue this link has seen (native + unsettled), for tests and stats. */
  peakBuffered = 0
  #early: Uint8Array[] = []

  constructor(options: LinkOptions) {
    this.#peer = new SimplePeer({
      initiator: options.initiator,
      trickle: true,
      config: { iceServers: options.iceServers },
      channelConfig: { ordered: true },
      wrtc,
    })
    this.#peer.on('signal', (data) => options.onSignal(data as SignalData))
    this.#peer.on('connect', () => {
      this.open = true
      this.events.emit('open')
      for (const frame of this.#early.splice(0)) if (this.open) this.events.emit('message', frame)
    })
    this.#peer.on('data', (data) => {
      // simple-peer hands Node Buffers over; the core wants plain bytes.
      const frame = new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      if (this.open) this.events.emit('message', frame)
      else if (this.#early.push(frame) > MAX_EARLY_FRAMES)
        this.close('too many frames before the link opened')
    })
    this.#peer.on('error', (error) => this.#finish(`${error.code ?? 'error'}: ${error.message}`))
    this.#peer.on('close', () => this.#finish('remote closed'))
  }

  /** The queue as wrtc itself reports it (lagging what was handed over; see HIGH_WATER). */
  get nativeBufferedAmount(): number {
    return this.#peer._channel?.bufferedAmount ?? 0
  }

  get bufferedAmount(): number {
    return (this.#peer._channel?.bufferedAmount ?? 0) + this.#unsettled
  }

  /** Both ends' DTLS fingerprints, as the local and remote descriptions announce them (see Link). */
  get fingerprints(): { local: string; remote: string } | undefined {
    const local = dtlsFingerprint(this.#peer._pc?.localDescription?.sdp)
    const remote = dtlsFingerprint(this.#peer._pc?.remoteDescription?.sdp)
    return local && remote ? { local, remote } : undefined
  }

  async send(frame: Uint8Array): Promise<void> {
    while (this.open && this.bufferedAmount + frame.length > HIGH_WATER) await sleep(POLL_MS)
    if (!this.open) throw new DcmxError('LINK_CLOSED', 'the link is closed')
    this.#peer.send(frame)
    // Once the event loop has turned, the network thread has taken what was handed over and the
    // native figure holds it; until then it is counted here.
    if (this.#unsettled === 0) setImmediate(() => (this.#unsettled = 0))
    this.#unsettled += frame.length
    this.peakBuffered = Math.max(this.peakBuffered, this.bufferedAmount)
  }

  signal(data: SignalData): void {
    if (!this.#closed) this.#peer.signal(data)
  }

  close(reason = 'closed'): void {
    if (this.#closed) return
    this.#finish(reason)
    // Tearing the connection down drops what the channel still buffers: let it drain first, briefly.
    const started = Date.now()
    const destroy = () => {
      const queued = this.#peer._channel?.bufferedAmount ?? 0
      if (queued > 0 && Date.now() - started < CLOSE_GRACE_MS) setTimeout(destroy, 20)
      else setTimeout(() => this.#peer.destroy(), 50)
    }
    destroy()
  }

  #finish(reason: string) {
    if (this.#closed) return
    this.#closed = true
    this.open = false
    this.events.emit('close', reason)
  }
}

/** The Node LinkFactory. */
export const createNodeLink: LinkFactory = (options) => new NodeRtcLink(options)
