import { SignalingClient } from '../signaling-client.ts'
import type { Clock } from '../clock.ts'
import { openNodeSocket } from '../../node/ws-socket.ts'

/** Tests open the same `ws` adapter the headless node uses. */
export const openWsSocket = openNodeSocket

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
