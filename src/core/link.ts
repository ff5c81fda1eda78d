import type { Emitter } from './emitter.ts'
import type { CandidateType, IceServer, SignalData } from './signaling-protocol.ts'

/** How a WebRTC link connected: the selected candidate pair, as getStats() reports it. */
export type LinkRoute = {
  local: CandidateType
  remote: CandidateType
  /** Transport of the path: udp, or tcp (TURN over TCP/TLS, or ICE-TCP). */
  protocol: 'udp' | 'tcp'
  /** For a relayed local end: how we reach the relay (udp, tcp or tls). */
  relayProtocol?: 'udp' | 'tcp' | 'tls'
}

/** Events of one link: it opens once, then carries frames (never before `open`), and closes once. */
export type LinkEvents = {
  open: []
  message: [frame: Uint8Array]
  close: [reason: string]
  /** The path the link uses is known or changed (WebRTC links only). */
  route: [LinkRoute]
}

/**
 * A framed, reliable, ordered message channel to one other node (a WebRTC data channel in the
 * browser, an in-memory pair in tests). The core never sees what is underneath.
 */
export interface Link {
  readonly events: Emitter<LinkEvents>
  /** True between `open` and `close`. */
  readonly open: boolean
  /** Bytes queued but not yet sent. */
  readonly bufferedAmount: number
  /**
   * True while the link restores a broken path by itself (a WebRTC ICE restart). It gives that a
   * bounded time and closes if it fails, so silence meanwhile does not mean the peer is gone.
   */
  readonly repairing?: boolean
  /**
   * Queue one frame (≤ MAX_FRAME). Resolves once the frame is accepted below the link's
   * high-water mark, so awaiting each send applies backpressure; rejects if the link closes.
   */
  send(frame: Uint8Array): Promise<void>
  /** Close the link; `close` fires once (also when the other side or the network closes it). */
  close(reason?: string): void
}

/** A link still being negotiated: SDP/ICE from the remote side is fed in through `signal`. */
export interface RtcLink extends Link {
  signal(data: SignalData): void
  /** The path in use, once known (WebRTC links only). */
  readonly route?: LinkRoute | undefined
}

/** Options for creating a WebRTC link; `onSignal` carries our SDP/ICE to the remote side. */
export type LinkOptions = {
  initiator: boolean
  iceServers: IceServer[]
  onSignal: (data: SignalData) => void
  /** Privacy mode: gather relay candidates only, so the peer never learns our addresses. */
  relayOnly?: boolean
  /** The ICE servers as they are now (TURN credentials expire): used when the link restarts ICE. */
  freshIceServers?: () => IceServer[]
}

/** Makes links; the browser passes a simple-peer backed factory, tests an in-memory one. */
export type LinkFactory = (options: LinkOptions) => RtcLink
