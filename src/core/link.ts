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
   * The DTLS certificate fingerprints of this end (`local`) and the other (`remote`), as the local
   * and remote session descriptions carry them (`a=fingerprint:sha-256 AB:CD:…`), once both are
   * known (by `open`). The identity proof is bound to them. Undefined only for links without DTLS
   * (in-process test pairs, which model them).
   */
  readonly fingerprints: { local: string; remote: string } | undefined
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
  /**
   * True when `send` has copied the frame's bytes by the time it resolves (an RTCDataChannel
   * does, synchronously), so the sender may encode the next frame into the same buffer.
   */
  readonly copiesOnSend?: boolean
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

/**
 * The DTLS certificate fingerprint a session description commits to (`a=fingerprint:sha-256 AB:…`,
 * at session or media level; with several, all of them in order), normalised to lower case.
 */
export function dtlsFingerprint(sdp: string | undefined): string | undefined {
  if (!sdp) return undefined
  const found = [...sdp.matchAll(/^a=fingerprint:(\S+) ([0-9A-Fa-f:]+)\s*$/gm)].map(
    (m) => `${m[1]!.toLowerCase()} ${m[2]!.toLowerCase()}`,
  )
  return found.length > 0 ? [...new Set(found)].join(',') : undefined
}
