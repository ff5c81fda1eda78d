import { SignalingClient } from '../signaling-client.ts'
import WebSocket from 'ws'
import type { Clock } from '../clock.ts'
import type { SocketLike } from '../signaling-client.ts'

/** Adapt a `ws` client to the signaling client's SocketLike (the browser adapter's Node twin). */
export function openWsSocket(url: string): SocketLike {
  const ws = new WebSocket(url)
  const socket: SocketLike = {
    send: (text) => ws.send(text),
    close: () => ws.close(),
    onopen: null,
    onmessage: null,
    onclose: null,
  }
  ws.on('open', () => socket.onopen?.())
  ws.on('message', (data, isBinary) => {
    if (!isBinary) socket.onmessage?.(String(data))
  })
  ws.on('close', (code, reason) => socket.onclose?.(code, String(reason)))
  ws.on('error', () => {
    // 'close' follows every 'error'; the client retries from there.
  })
  return socket
}

/** The real clock, for tests that run against a real server. */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
}

/** A signaling client for a test node: real WebSocket, real time, quick reconnects. */
export function testSignaling(url: string, room: string, peerId: string): SignalingClient {
  return new SignalingClient({
    url,
    room,
    peerId,
    openSocket: openWsSocket,
    clock: realClock,
    random: Math.random,
    backoff: { baseMs: 50, maxMs: 400 },
  })
}
