import WebSocket from 'ws'
import type { SocketLike } from '../core/signaling-client.ts'

/** The signaling server's frames are small JSON; anything bigger is refused by `ws` itself. */
const MAX_PAYLOAD = 256 * 1024

/** Adapt a `ws` client to the signaling client's SocketLike (the browser adapter's Node twin). */
export function openNodeSocket(url: string, origin?: string): SocketLike {
  const ws = new WebSocket(url, { maxPayload: MAX_PAYLOAD, ...(origin ? { origin } : {}) })
  const socket: SocketLike = {
    send: (text) => ws.send(text),
    close: () => ws.close(),
    onopen: null,
    onmessage: null,
    onclose: null,
  }
  ws.on('open', () => socket.onopen?.())
  ws.on('message', (data, isBinary) => {
    // The server only sends text; anything else is dropped here rather than decoded.
    if (!isBinary) socket.onmessage?.(String(data))
  })
  ws.on('close', (code, reason) => socket.onclose?.(code, String(reason)))
  ws.on('error', () => {
    // 'close' follows every 'error'; the client retries from there.
  })
  return socket
}
