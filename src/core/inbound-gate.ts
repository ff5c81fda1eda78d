import type { Clock } from './clock.ts'
import type { DevLog } from './dev-log.ts'
import { TokenBucket } from './rate.ts'
import { DecayingCounter, type PenaltyKind } from './reputation.ts'
import { decodeWire, wireTypeOf, type Wire } from './wire.ts'

/** Counts traffic by message type, for the stats panel. */
export type TrafficMeter = (direction: 'sent' | 'received', type: string, bytes: number) => void

export type GateConfig = {
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
  /** Frames over budget, dropped unread, before the sender is charged with a flood. */
  maxThrottled: number
  /** Time for the count of dropped frames to halve: bursts long apart never add up to a flood. */
  throttleHalfLifeMs: number
}

export type GateDeps = {
  clock: Clock
  config: GateConfig
  meter?: TrafficMeter | undefined
  log: DevLog
  /** Namespace of this link's log lines. */
  namespace: string
  /** A frame that says it is a content piece is charged to the content budget only when we asked for pieces. */
  expectsContent(): boolean
  /** The message's handler; awaited, so messages are handled in order. */
  handle(msg: Wire): Promise<void> | void
  /** Charge the sender (the session decides who that is and what follows). */
  penalise(kind: PenaltyKind, detail: string): void
}

/**
 * Everything that arrives on a link passes through here, in order: the inbound budget (a frame
 * over it is dropped unread), the validating decoder, the traffic meter, then its handler. It is
 * the one place where a handler's failure becomes one counted strike and one developer log line:
 * one bad message costs one message, never the link's later frames.
 */
export class InboundGate {
  /** When the last well-formed frame arrived. */
  lastSeen = 0
  #queue: Promise<void> = Promise.resolve()
  #messages: TokenBucket
  #bytes: TokenBucket
  #contentBytes: TokenBucket
  #throttled: DecayingCounter
  #now = 0

  constructor(private readonly deps: GateDeps) {
    const { rate, throttleHalfLifeMs } = deps.config
    const now = (this.#now = deps.clock.now())
    this.#messages = new TokenBucket(rate.messages, rate.messageBurst, now)
    this.#bytes = new TokenBucket(rate.bytes, rate.byteBurst, now)
    this.#contentBytes = new TokenBucket(rate.contentBytes, rate.contentBurst, now)
    this.#throttled = new DecayingCounter(throttleHalfLifeMs, now)
  }

  /** Queue one frame for handling, behind the ones before it. */
  receive(frame: Uint8Array): void {
    this.#queue = this.#queue
      .then(() => this.#step(frame))
      .catch((error: unknown) => this.deps.log(this.deps.namespace, 'inbound gate failed', error))
  }

  async #step(frame: Uint8Array) {
    const { deps } = this
    // Never backwards: a bucket refilled by negative time would go negative.
    const now = (this.#now = Math.max(this.#now, deps.clock.now()))
    const content = wireTypeOf(frame) === 'content-piece' && deps.expectsContent()
    const admitted = content
      ? this.#contentBytes.take(frame.length, now)
      : this.#messages.take(1, now) && this.#bytes.take(frame.length, now)
    if (!admitted) {
      deps.meter?.('received', 'throttled', frame.length)
      if (this.#throttled.add(1, now) >= deps.config.maxThrottled) {
        this.#throttled = new DecayingCounter(deps.config.throttleHalfLifeMs, now)
        deps.penalise('flood', 'flooding: over its rate budget')
      }
      return
    }
    const decoded = decodeWire(frame)
    if (!decoded.ok) {
      deps.meter?.('received', 'rejected', frame.length)
      return deps.penalise('malformed', `malformed frame: ${decoded.error.message}`)
    }
    const msg = decoded.value
    deps.meter?.('received', msg.type, frame.length)
    this.lastSeen = now
    try {
      await deps.handle(msg)
    } catch (error) {
      deps.log(deps.namespace, `handling ${msg.type} failed`, error)
      deps.penalise('handler', `${msg.type} made its handler fail: ${describe(error)}`)
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
