import type { SocketLike } from '../core/signaling-client.ts'

/** Adapt the browser's WebSocket to the signaling client's SocketLike. */
export function openBrowserSocket(url: string): SocketLike {
  const ws = new WebSocket(url)
  const socket: SocketLike = {
    send: (text) => ws.send(text),
    close: () => ws.close(),
    onopen: null,
    onmessage: null,
    onclose: null,
  }
  ws.onopen = () => socket.onopen?.()
  ws.onmessage = (event) => {
    // The server only sends text; anything else is dropped here rather than decoded.
    if (typeof event.data === 'string') socket.onmessage?.(event.data)
  }
  ws.onclose = (event) => socket.onclose?.(event.code, event.reason)
  return socket
}
