// The subset of simple-peer 9.11 that rtc-link.ts uses. We import its prebundled browser build
// (no Node polyfills under Vite), which @types/simple-peer does not describe without Node's types.
declare module 'simple-peer/simplepeer.min.js' {
  export interface SimplePeerOptions {
    initiator?: boolean
    trickle?: boolean
    config?: RTCConfiguration
    channelConfig?: RTCDataChannelInit
  }
  export default class SimplePeer {
    constructor(options?: SimplePeerOptions)
    /** The underlying data channel once negotiated (a private field, read for backpressure). */
    _channel: RTCDataChannel | null
    /** The underlying peer connection (a private field: DTLS fingerprints of its descriptions, ICE restart and getStats go through it). */
    _pc: RTCPeerConnection
    /** Called with each message of the data channel (a method, replaced per instance by rtc-link.ts). */
    _onChannelMessage(event: MessageEvent): void
    /** Initiator: make a new offer now. */
    negotiate(): void
    signal(data: unknown): void
    send(data: ArrayBufferView | ArrayBuffer | string): void
    destroy(error?: Error): void
    on(event: 'signal', listener: (data: unknown) => void): this
    on(event: 'connect' | 'close', listener: () => void): this
    on(event: 'data', listener: (data: Uint8Array) => void): this
    on(event: 'error', listener: (error: Error & { code?: string }) => void): this
  }
}
