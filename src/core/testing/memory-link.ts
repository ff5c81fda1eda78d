import { Emitter } from '../emitter.ts'
import type { LinkEvents, LinkFactory, LinkOptions, RtcLink } from '../link.ts'
import type { SignalData } from '../signaling-protocol.ts'
import { MAX_FRAME } from '../wire.ts'

/** Above this many buffered bytes `send` waits, as the WebRTC link does (src/platform/rtc-link.ts). */
const HIGH_WATER = 1024 * 1024

let nextFingerprint = 1

/**
 * An in-memory link: frames are delivered asynchronously, in order, to the other end. Used by
 * unit tests in place of a WebRTC data channel. Each end has a made-up DTLS fingerprint (so a
 * relay that terminates two links shows two different pairs), and an end can stop reading
 * (`stall`): what the other end sends then piles up in its `bufferedAmount`, and its `send` waits
 * above the high-water mark, as a data channel to a peer that does not read would.
 */
export class MemoryLink implements RtcLink {
  readonly events = new Emitter<LinkEvents>()
  /** `send` copies the frame (see below) before it resolves, as a data channel does (tests may say otherwise). */
  copiesOnSend = true
  open = false
  other: MemoryLink | undefined
  /** When set, frames sent by this end are replaced by the result (fault injection). */
  tamper: ((frame: Uint8Array) => Uint8Array | undefined) | undefined
  /** This end's DTLS certificate fingerprint, as an SDP `a=fingerprint` value would carry it. */
  readonly fingerprint = `sha-256 ${(nextFingerprint++).toString(16).padStart(8, '0')}`
  /** Bytes handed to `send` and still waiting for room (held in JS, not yet buffered). */
  waiting = 0
  #closed = false
  #stalled = false
  #backlog: Uint8Array[] = []
  #backlogBytes = 0
  #drain: (() => void)[] = []

  get bufferedAmount(): number {
    return this.#backlogBytes
  }

  get fingerprints(): { local: string; remote: string } | undefined {
    return this.other ? { local: this.fingerprint, remote: this.other.fingerprint } : undefined
  }

  /** This end stops reading (frames for it queue at the sender) until `resume`. */
  stall(): void {
    this.#stalled = true
  }

  resume(): void {
    this.#stalled = false
    const other = this.other
    if (other) other.#flush()
  }

  /**
   * Pair this end with `other`; both open in a microtask, or `other` only `otherOpensAfterMs`
   * later, as the dialling end of a data channel can open after the answering end: what reaches
   * an end before it opens is lost.
   */
  connect(other: MemoryLink, { otherOpensAfterMs }: { otherOpensAfterMs?: number } = {}): void {
    this.other = other
    other.other = this
    queueMicrotask(() => {
      this.#opened()
      if (otherOpensAfterMs === undefined) other.#opened()
      else setTimeout(() => other.#opened(), otherOpensAfterMs)
    })
  }

  async send(frame: Uint8Array): Promise<void> {
    if (!this.open || !this.other) throw new Error('link is not open')
    if (frame.length > MAX_FRAME) throw new RangeError('frame too large')
    this.waiting += frame.length
    try {
      while (this.open && this.#backlogBytes > HIGH_WATER) await new Promise<void>((r) => this.#drain.push(r))
    } finally {
      this.waiting -= frame.length
    }
    if (!this.open) throw new Error('link is not open')
    const out = this.tamper ? this.tamper(frame.slice()) : frame.slice()
    const other = this.other
    if (!out) return
    if (other.#stalled || this.#backlog.length > 0) {
      this.#backlog.push(out)
      this.#backlogBytes += out.length
      return
    }
    setImmediate(() => other.open && other.events.emit('message', out))
  }

  #flush() {
    const other = this.other
    if (!other) return
    for (const out of this.#backlog.splice(0))
      setImmediate(() => other.open && other.events.emit('message', out))
    this.#backlogBytes = 0
    for (const wake of this.#drain.splice(0)) wake()
  }

  close(reason = 'closed'): void {
    if (this.#closed) return
    this.#closed = true
    this.open = false
    this.#backlog = []
    this.#backlogBytes = 0
    for (const wake of this.#drain.splice(0)) wake()
    this.events.emit('close', reason)
    const other = this.other
    if (other) setImmediate(() => other.close('remote closed'))
  }

  /** Simulate a link that goes silent without closing (a frozen tab, a dead network path). */
  freeze(): void {
    this.tamper = () => undefined
  }

  /** A pre-connected pair needs no negotiation. */
  signal(_data: SignalData): void {}

  #opened() {
    if (this.#closed || this.open) return
    this.open = true
    this.events.emit('open')
  }
}

/** Two connected in-memory links. */
export function linkPair(): [MemoryLink, MemoryLink] {
  const a = new MemoryLink()
  const b = new MemoryLink()
  a.connect(b)
  return [a, b]
}

/**
 * A LinkFactory for node tests: links negotiate through the real signaling path. The initiator
 * sends an offer naming itself; the answerer looks it up here and connects the pair.
 */
export function memoryLinkNetwork(): { factory: (name: string) => LinkFactory; links: MemoryLink[] } {
  const byId = new Map<string, MemoryLink>()
  const links: MemoryLink[] = []
  let next = 0
  const factory =
    (_name: string): LinkFactory =>
    (options) => {
      const id = `m${next++}`
      const link = new NegotiatingLink(options, id, byId)
      byId.set(id, link)
      links.push(link)
      if (options.initiator) queueMicrotask(() => options.onSignal({ type: 'offer', sdp: id }))
      return link
    }
  return { factory, links }
}

class NegotiatingLink extends MemoryLink {
  constructor(
    private readonly opts: LinkOptions,
    readonly id: string,
    private readonly byId: Map<string, MemoryLink>,
  ) {
    super()
  }

  override signal(data: SignalData): void {
    if (data.type !== 'offer' || !('sdp' in data) || !data.sdp) return
    const remote = this.byId.get(data.sdp)
    if (!remote || remote.other) return
    this.connect(remote)
    this.opts.onSignal({ type: 'answer', sdp: this.id })
  }
}
