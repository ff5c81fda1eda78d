// The subset of simple-peer 9.11 that src/node/rtc-link.ts uses, from its Node entry point (which
// takes a WebRTC implementation through `wrtc`).
declare module 'simple-peer' {
  export interface NodeSimplePeerOptions {
    initiator?: boolean
    trickle?: boolean
    config?: { iceServers?: { urls: string | string[]; username?: string; credential?: string }[] }
    channelConfig?: { ordered?: boolean }
    wrtc?: unknown
  }
  /** The parts of the wrtc data channel and peer connection read for flow control and fingerprints. */
  export interface NodeChannel {
    readonly bufferedAmount: number
    readonly readyState: string
  }
  export default class SimplePeer {
    constructor(options?: NodeSimplePeerOptions)
    _channel: NodeChannel | null
    _pc: { localDescription: { sdp: string } | null; remoteDescription: { sdp: string } | null } | null
    signal(data: unknown): void
    send(data: Uint8Array): void
    destroy(error?: Error): void
    on(event: 'signal', listener: (data: unknown) => void): this
    on(event: 'connect' | 'close', listener: () => void): this
    on(event: 'data', listener: (data: Uint8Array) => void): this
    on(event: 'error', listener: (error: Error & { code?: string }) => void): this
  }
}
