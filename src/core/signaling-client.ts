import { backoffDelay, DEFAULT_BACKOFF, type BackoffConfig } from './backoff.ts'
import type { Clock, Random, TimerHandle } from './clock.ts'
import { Emitter, holdEvents } from './emitter.ts'
import { assertNever } from './result.ts'
import {
  decodeServerMessage,
  isPeerId,
  MAX_LOOKUP_IDS,
  type ClientMessage,
  type IceServer,
  type LinkReport,
  type PeerRef,
  type SignalData,
} from './signaling-protocol.ts'

/** The part of a WebSocket the client uses; the browser's WebSocket and `ws` both adapt to it. */
export interface SocketLike {
  send(text: string): void
  close(): void
  onopen: (() => void) | null
  onmessage: ((text: string) => void) | null
  onclose: ((code: number, reason: string) => void) | null
}

export type SignalingState =
  | { state: 'connecting'; attempt: number }
  | { state: 'online'; session: string }
  | { state: 'reconnecting'; attempt: number; retryAt: number; lastError: string }
  | { state: 'stopped' }

export type SignalingEvents = {
  state: [SignalingState]
  /** Peers to link to: the sample that answers `join` or `sample`. */
  peers: [PeerRef[]]
  signal: [from: PeerRef, data: SignalData]
  /** A non-fatal error the server reported (rate limit, unknown peer, …). */
  error: [code: string, message: string]
  /** The server sent fresh ICE servers (new TURN credentials); new links use them. */
  ice: [IceServer[]]
}

export type SignalingClientDeps = {
  url: string
  room: string
  peerId: string
  openSocket: (url: string) => SocketLike
  clock: Clock
  random: Random
  backoff?: BackoffConfig
  /** A socket that has not been welcomed and joined by then is dropped and retried. */
  joinTimeoutMs?: number
}

/**
 * The node's connection to the signaling server: joins its room, relays SDP/ICE, and on any loss
 * reconnects with exponential backoff and jitter, then re-joins. Server frames are decoded and
 * validated before use.
 */
export class SignalingClient {
  readonly events = new Emitter<SignalingEvents>()
  #state: SignalingState = { state: 'stopped' }
  #socket: SocketLike | undefined
  #attempt = 0
  #timer: TimerHandle | undefined
  #iceServers: IceServer[] = []
  #sessionId: string | undefined

  constructor(private readonly deps: SignalingClientDeps) {}

  get state(): SignalingState {
    return this.#state
  }

  /** ICE servers the operator configured, as handed out in the last welcome. */
  get iceServers(): IceServer[] {
    return this.#iceServers
  }

  start(): void {
    if (this.#state.state !== 'stopped') return
    this.#connect()
  }

  stop(): void {
    this.#clearTimer()
    if (this.#socket) this.#sendRaw({ type: 'leave' })
    this.#drop()
    this.#setState({ state: 'stopped' })
  }

  /** Relay SDP/ICE to another session in the room; dropped silently while offline. */
  signal(to: string, data: SignalData): void {
    this.#send({ type: 'signal', to, data })
  }

  /** Ask the server for a fresh random sample of the room. */
  requestSample(): void {
    this.#send({ type: 'sample' })
  }

  /**
   * Ask the server for the sessions of these peers (learnt through gossip); those in the room come
   * back as a `peers` event. Dropped silently while offline, like `requestSample`. Malformed and
   * repeated ids are left out, since the server counts a bad frame as a strike; more than
   * MAX_LOOKUP_IDS go out as several frames, each one against the server's rate limit.
   */
  lookup(peerIds: string[]): void {
    const ids = [...new Set(peerIds)].filter(isPeerId)
    for (let i = 0; i < ids.length; i += MAX_LOOKUP_IDS) {
      this.#send({ type: 'lookup', peerIds: ids.slice(i, i + MAX_LOOKUP_IDS) })
    }
  }

  /** Tell the server how a link connected, for its /metrics; dropped silently while offline. */
  report(link: LinkReport): void {
    this.#send({ type: 'link-report', link })
  }

  #connect() {
    this.#setState({ state: 'connecting', attempt: this.#attempt })
    let socket: SocketLike
    try {
      socket = this.deps.openSocket(this.deps.url)
    } catch (error) {
      return this.#retry(`cannot open ${this.deps.url}: ${String(error)}`)
    }
    this.#socket = socket
    this.#timer = this.deps.clock.setTimeout(() => {
      if (this.#socket === socket) this.#lost('the server did not answer in time')
    }, this.deps.joinTimeoutMs ?? 10_000)
    socket.onmessage = (text) => this.#receive(text)
    socket.onclose = (code, reason) => {
      if (this.#socket === socket) this.#lost(`connection closed (${code}${reason ? ` ${reason}` : ''})`)
    }
  }

  #receive(text: string) {
    const decoded = decodeServerMessage(text)
    if (!decoded.ok) {
      this.events.emit('error', 'BAD_MESSAGE', `ignored a malformed server frame: ${decoded.error.message}`)
      return
    }
    const msg = decoded.value
    switch (msg.type) {
      case 'welcome':
        this.#iceServers = msg.iceServers
        this.#sessionId = msg.session
        this.#sendRaw({ type: 'join', room: this.deps.room, peerId: this.deps.peerId })
        return
      case 'joined':
        this.#clearTimer()
        this.#attempt = 0
        this.#setState({ state: 'online', session: this.#sessionId ?? '' })
        this.events.emit('peers', msg.peers)
        return
      case 'sample':
        this.events.emit('peers', msg.peers)
        return
      case 'signal':
        this.events.emit('signal', msg.from, msg.data)
        return
      case 'ice':
        this.#iceServers = msg.iceServers
        this.events.emit('ice', msg.iceServers)
        return
      case 'error':
        this.events.emit('error', msg.code, msg.message)
        return
      case 'reconnect':
        this.#redirected(msg.withinMs)
        return
      default:
        return assertNever(msg)
    }
  }

  /** The server drains: go now, come back at a random moment within `withinMs`, without backoff. */
  #redirected(withinMs: number) {
    this.#clearTimer()
    this.#drop()
    this.#attempt = 0
    const delay = Math.floor(this.deps.random() * withinMs)
    this.#setState({
      state: 'reconnecting',
      attempt: 0,
      retryAt: this.deps.clock.now() + delay,
      lastError: 'the server is shutting down',
    })
    this.#timer = this.deps.clock.setTimeout(() => {
      this.#timer = undefined
      this.#connect()
    }, delay)
  }

  #lost(reason: string) {
    this.#clearTimer()
    this.#drop()
    this.#retry(reason)
  }

  #retry(lastError: string) {
    const delay = backoffDelay(this.#attempt, this.deps.random, this.deps.backoff ?? DEFAULT_BACKOFF)
    this.#attempt++
    this.#setState({
      state: 'reconnecting',
      attempt: this.#attempt,
      retryAt: this.deps.clock.now() + delay,
      lastError,
    })
    this.#timer = this.deps.clock.setTimeout(() => {
      this.#timer = undefined
      this.#connect()
    }, delay)
  }

  #send(msg: ClientMessage) {
    if (this.#state.state === 'online') this.#sendRaw(msg)
  }

  #sendRaw(msg: ClientMessage) {
    try {
      this.#socket?.send(JSON.stringify(msg))
    } catch {
      // A socket that cannot send is about to close; onclose drives the retry.
    }
  }

  #drop() {
    const socket = this.#socket
    this.#socket = undefined
    this.#sessionId = undefined
    if (!socket) return
    socket.onmessage = socket.onclose = socket.onopen = null
    try {
      socket.close()
    } catch {
      // already closed
    }
  }

  #clearTimer() {
    if (this.#timer !== undefined) this.deps.clock.clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #setState(state: SignalingState) {
    this.#state = state
    this.events.emit('state', state)
  }
}

/**
 * Signaling events held until the node starts (its WebRTC code loads meanwhile): a join's sample,
 * a few offers and their ICE (tens); a room that relays more meanwhile loses its oldest, which the
 * peers' retries resend.
 */
const MAX_HELD_SIGNALING_EVENTS = 256

/**
 * Hold what a signaling client says before its node starts, and tell it on `release` (right after
 * the node subscribes), the peers to dial last: an offer that came in meanwhile is a peer already
 * dialling us, so its link exists when the join's sample is dialled and we never dial it back (two
 * offers crossing would break both links).
 */
export function holdSignaling(events: Emitter<SignalingEvents>): { release(): void } {
  const first = holdEvents(events, ['state', 'signal', 'error', 'ice'], MAX_HELD_SIGNALING_EVENTS)
  const last = holdEvents(events, ['peers'], MAX_HELD_SIGNALING_EVENTS)
  return {
    release() {
      first.release()
      last.release()
    },
  }
}
