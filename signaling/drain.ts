/** Graceful shutdown of a signaling server: withdraw its members, send them elsewhere, wait for them to go. */
import { WebSocket } from 'ws'
import type { ServerMessage } from '../src/core/signaling-protocol.ts'
import type { Rooms } from './rooms.ts'

/** After the reconnect spread, how long stragglers get to close before the server terminates them. */
export const DRAIN_GRACE_MS = 500

/** The part of a connection a drain needs. */
export type Drainable = { ws: WebSocket; closing: boolean }

/**
 * Withdraw this server's members from the rooms first (so a member that rejoins through another
 * server never meets its own stale entry there), then tell every client to reconnect at a random
 * moment within `drainMs`, and wait until they have all closed or `drainMs` plus a grace has passed.
 * Frames the clients send meanwhile are ignored (`closing`).
 */
export async function drainConnections(
  connections: Iterable<Drainable>,
  rooms: Rooms,
  drainMs: number,
): Promise<void> {
  const list = [...connections]
  for (const conn of list) conn.closing = true
  await rooms.close()
  const gone = list.map((conn) =>
    conn.ws.readyState === WebSocket.CLOSED
      ? Promise.resolve()
      : new Promise<void>((resolve) => conn.ws.once('close', () => resolve())),
  )
  const message: ServerMessage = { type: 'reconnect', withinMs: drainMs }
  const text = JSON.stringify(message)
  for (const conn of list) if (conn.ws.readyState === WebSocket.OPEN) conn.ws.send(text)
  let timer: NodeJS.Timeout | undefined
  await Promise.race([
    Promise.all(gone),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs + DRAIN_GRACE_MS))),
  ])
  clearTimeout(timer)
}
