/**
 * DCMX signaling server: serves the built app, and relays WebRTC offers/answers/candidates between
 * browser nodes over WebSocket (protocol: src/core/signaling-protocol.ts). A `join` is answered with a
 * random sample of the room, a `lookup` with the sessions of the asked peer ids; nobody else is told.
 * `leave` and socket close notify nobody, they only free state. The server never interprets SDP or
 * ICE, it only checks shape and size and forwards.
 *
 * Scale-out: everything that knows who is in which room and how to reach a session lives behind
 * the `Rooms` interface (rooms.ts); this file only owns sockets, limits and metrics. In memory by
 * default; with `redis` set, RedisRooms (redis-rooms.ts) shares membership through Redis so several
 * processes can run behind a load balancer. Rooms answer asynchronously, so each connection's
 * messages are handled one after the other: a `signal` cannot overtake the `join` sent before it.
 */
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import sirv from 'sirv'
import { WebSocket, WebSocketServer, type RawData } from 'ws'
import { assertNever } from '../src/core/result.ts'
import {
  decodeClientMessage,
  MAX_LOOKUP_IDS,
  MAX_PEER_REFS,
  MAX_SIGNAL_FRAME,
  SIGNALING_PATH,
  type ClientMessage,
  type ServerMessage,
  type SignalingErrorCode,
} from '../src/core/signaling-protocol.ts'
import { appSecurityHeaders, COMMON_SECURITY_HEADERS } from './headers.ts'
import {
  Counters,
  healthFields,
  PROMETHEUS_CONTENT_TYPE,
  renderPrometheus,
  type MetricsSnapshot,
  type UpgradeRefusal,
} from './metrics.ts'
import {
  ASSET_MAX_AGE_S,
  CLOSE_POLICY_VIOLATION,
  FLOOD_MAX_STRIKES,
  FLOOD_WINDOW_MS,
  MAX_BUFFERED_BYTES,
  MAX_ERROR_MESSAGE,
  resolveOptions,
  type SignalingOptions,
} from './options.ts'
import { StrikeCounter, TokenBucket } from './rate-limit.ts'
import { drainConnections } from './drain.ts'
import { connectRedisRooms } from './redis-rooms.ts'
import { MemoryRooms, type Member, type Rooms } from './rooms.ts'

export type { MetricsSnapshot } from './metrics.ts'
export type { SignalingOptions } from './options.ts'
export type { RateLimit } from './rate-limit.ts'

/** A running server. */
export type SignalingServer = {
  port: number
  host: string
  /** Base HTTP URL of the app, e.g. http://localhost:8080 */
  url: string
  /** WebSocket URL of the signaling endpoint. */
  wsUrl: string
  /**
   * Stop listening and close every socket; the port is free when this resolves. With `drainMs`,
   * first withdraw this server's members and tell them to reconnect (to another server) at a
   * random moment within `drainMs`, and wait for them to go, up to that long.
   */
  close(opts?: { drainMs?: number }): Promise<void>
  metrics(): MetricsSnapshot
}

type Connection = {
  ws: WebSocket
  session: string
  bucket: TokenBucket
  strikes: StrikeCounter
  /** Answered a ping since the last heartbeat round. */
  alive: boolean
  /** Being closed by us; further frames are ignored. */
  closing: boolean
  /** The handling of this connection's previous messages: each waits for the one before it. */
  queue: Promise<void>
  /** Messages waiting in `queue`. */
  queued: number
}

/** Frames one connection may have waiting for the rooms (a slow Redis); past that they are dropped. */
const MAX_QUEUED_MESSAGES = 256

/** Sessions returned per looked-up peer id: a full lookup then still fits one `sample` frame. */
const LOOKUP_PER_ID = Math.floor(MAX_PEER_REFS / MAX_LOOKUP_IDS)

const STATUS_TEXT: Record<number, string> = { 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' }

/** Answer an upgrade request with a plain HTTP error and drop the socket. */
function refuseUpgrade(socket: Duplex, status: number): void {
  if (!socket.writable) return void socket.destroy()
  socket.once('finish', () => socket.destroy())
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? ''}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
  )
}

function rawToText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8')
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8')
  return Buffer.from(data).toString('utf8')
}

const displayHost = (host: string) =>
  host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host

/** Start the HTTP + WebSocket server; resolves once it is listening. Rejects on invalid options. */
export async function startSignaling(opts: SignalingOptions = {}): Promise<SignalingServer> {
  const o = resolveOptions(opts)
  const startedAt = performance.now()
  const counters = new Counters()
  const rooms: Rooms = o.redis
    ? await connectRedisRooms({ url: o.redis, log: o.log }, { maxRoomSize: o.maxRoomSize })
    : new MemoryRooms(o.maxRoomSize)
  const connections = new Map<string, Connection>()
  let pendingUpgrades = 0
  let closing: Promise<void> | undefined

  const metrics = () =>
    counters.snapshot({
      connections: connections.size,
      rooms: rooms.roomCount(),
      uptimeS: Math.floor((performance.now() - startedAt) / 1000),
      shared: rooms.health(),
    })

  const serveStatic = o.staticDir
    ? sirv(o.staticDir, {
        single: true,
        etag: true,
        // Look files up per request instead of listing them once at start: a rebuild or deploy
        // that replaces dist/ under a running server must not make it open a file that is gone
        // (sirv's stream has no error handler, so that would take the whole process down).
        dev: true,
        // Brotli and gzip copies written at build time (scripts/compress-dist.mjs).
        brotli: true,
        gzip: true,
        setHeaders: (res, pathname) =>
          res.setHeader(
            'Cache-Control',
            pathname.startsWith('/assets/') ? `public, max-age=${ASSET_MAX_AGE_S}, immutable` : 'no-cache',
          ),
      })
    : undefined

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    for (const [name, value] of Object.entries(COMMON_SECURITY_HEADERS)) res.setHeader(name, value)
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end()
      return
    }
    const { pathname } = new URL(req.url ?? '/', 'http://localhost')
    if (pathname === '/healthz') {
      const m = metrics()
      const body = JSON.stringify({
        connections: m.connections,
        rooms: m.rooms,
        uptimeS: m.uptimeS,
        ...healthFields(m.shared, closing !== undefined),
      })
      // 503 while draining, so a load balancer stops sending new sockets here.
      res
        .writeHead(closing ? 503 : 200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' })
        .end(body)
    } else if (pathname === '/metrics') {
      res.writeHead(200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE, 'Cache-Control': 'no-store' })
      res.end(renderPrometheus(metrics()))
    } else if (pathname === SIGNALING_PATH) {
      res.writeHead(426, { Upgrade: 'websocket', 'Content-Type': 'text/plain' }).end('WebSocket only\n')
    } else if (serveStatic) {
      // Set before sirv writes its head, so 304s and 404s carry the policy too.
      for (const [name, value] of Object.entries(appSecurityHeaders(req))) res.setHeader(name, value)
      serveStatic(req, res)
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n')
    }
  }

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_SIGNAL_FRAME, perMessageDeflate: false })

  function refuse(socket: Duplex, status: number, reason: UpgradeRefusal): void {
    counters.upgradesRefused[reason] += 1
    refuseUpgrade(socket, status)
  }

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {}) // a client resetting mid-handshake must not crash the process
    const { pathname } = new URL(req.url ?? '/', 'http://localhost')
    if (pathname !== SIGNALING_PATH) return refuse(socket, 404, 'path')
    if (o.allowedOrigins && !o.allowedOrigins.has(req.headers.origin ?? '')) {
      return refuse(socket, 403, 'origin')
    }
    if (closing || connections.size + pendingUpgrades >= o.maxConnections) {
      return refuse(socket, 503, 'server_full')
    }
    // Count the handshake against the cap until it completes or the socket dies.
    pendingUpgrades += 1
    let settled = false
    const settle = () => {
      if (!settled) pendingUpgrades -= 1
      settled = true
    }
    socket.once('close', settle)
    wss.handleUpgrade(req, socket, head, (ws) => {
      settle()
      onConnection(ws)
    })
  }

  function send(conn: Connection, message: ServerMessage): void {
    const { ws } = conn
    if (ws.readyState !== WebSocket.OPEN) return
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      o.log(`session ${conn.session} is not reading (${ws.bufferedAmount} bytes queued); terminating`)
      conn.closing = true
      ws.terminate()
      return
    }
    ws.send(JSON.stringify(message))
  }

  function reject(conn: Connection, code: SignalingErrorCode, message: string): void {
    counters.rejected[code] += 1
    send(conn, { type: 'error', code, message: message.slice(0, MAX_ERROR_MESSAGE) })
    const abusive = code === 'RATE_LIMITED' || code === 'BAD_MESSAGE' || code === 'TOO_LARGE'
    if (abusive && conn.strikes.strike(performance.now())) {
      o.log(`session ${conn.session} is flooding; closing with ${CLOSE_POLICY_VIOLATION}`)
      conn.closing = true
      conn.ws.close(CLOSE_POLICY_VIOLATION, 'flooding')
    }
  }

  function member(conn: Connection, peerId: string): Member {
    return { session: conn.session, peerId, deliver: (message) => send(conn, message) }
  }

  async function handle(conn: Connection, msg: ClientMessage): Promise<void> {
    switch (msg.type) {
      case 'join': {
        const joined = await rooms.join(member(conn, msg.peerId), msg.room, o.sampleSize)
        if (!joined.ok) return reject(conn, 'ROOM_FULL', `room is full (${o.maxRoomSize} members)`)
        counters.joins += 1
        return send(conn, { type: 'joined', room: msg.room, peers: joined.value })
      }
      case 'signal': {
        const routed = await rooms.route(conn.session, msg.to, msg.data)
        if (routed.ok) {
          counters.relayed += 1
          return
        }
        if (routed.error === 'NOT_JOINED') return reject(conn, 'NOT_JOINED', 'join a room first')
        return reject(conn, 'UNKNOWN_PEER', 'no such session in this room')
      }
      case 'sample': {
        const peers = await rooms.sample(conn.session, o.sampleSize)
        if (!peers) return reject(conn, 'NOT_JOINED', 'join a room first')
        return send(conn, { type: 'sample', peers })
      }
      case 'lookup': {
        const peers = await rooms.lookup(conn.session, msg.peerIds, LOOKUP_PER_ID)
        if (!peers) return reject(conn, 'NOT_JOINED', 'join a room first')
        return send(conn, { type: 'sample', peers })
      }
      case 'leave':
        await rooms.leave(conn.session)
        return
      default:
        assertNever(msg)
    }
  }

  /** Run `step` after the connection's earlier messages, so answers keep the order of the frames. */
  function enqueue(conn: Connection, step: () => Promise<void> | void): void {
    if (conn.queued >= MAX_QUEUED_MESSAGES) {
      // Only a client outpacing a slow Redis gets here (the rate limit bounds everyone else).
      counters.rejected.RATE_LIMITED += 1
      return
    }
    conn.queued += 1
    conn.queue = conn.queue
      .then(step)
      .catch((e: unknown) => {
        // A bug here must cost one message, not the process.
        o.log(`internal error handling a message from ${conn.session}: ${String(e)}`)
      })
      .finally(() => (conn.queued -= 1))
  }

  function onMessage(conn: Connection, data: RawData, isBinary: boolean): void {
    if (conn.closing) return
    if (!conn.bucket.take(performance.now())) {
      const text = `over ${o.rateLimit.perSecond} messages per second`
      return enqueue(conn, () => reject(conn, 'RATE_LIMITED', text))
    }
    if (isBinary) return enqueue(conn, () => reject(conn, 'BAD_MESSAGE', 'binary frames are not accepted'))
    const decoded = decodeClientMessage(rawToText(data))
    if (!decoded.ok) {
      const { code, message } = decoded.error
      return enqueue(conn, () => reject(conn, code === 'TOO_LARGE' ? 'TOO_LARGE' : 'BAD_MESSAGE', message))
    }
    const msg = decoded.value
    enqueue(conn, () => handle(conn, msg))
  }

  function onConnection(ws: WebSocket): void {
    const now = performance.now()
    const conn: Connection = {
      ws,
      session: randomBytes(16).toString('base64url'),
      bucket: new TokenBucket(o.rateLimit, now),
      strikes: new StrikeCounter(FLOOD_MAX_STRIKES, FLOOD_WINDOW_MS, now),
      alive: true,
      closing: false,
      queue: Promise.resolve(),
      queued: 0,
    }
    connections.set(conn.session, conn)
    ws.on('pong', () => {
      conn.alive = true
    })
    ws.on('message', (data, isBinary) => {
      try {
        onMessage(conn, data, isBinary)
      } catch (e) {
        // A bug here must cost one message, not the process.
        o.log(`internal error handling a message from ${conn.session}: ${String(e)}`)
      }
    })
    ws.on('error', (e: Error & { code?: string }) => {
      // ws has already failed the connection (1009 for an oversized frame, 1007 for bad UTF-8, ...).
      conn.closing = true
      counters.rejected[e.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'TOO_LARGE' : 'BAD_MESSAGE'] += 1
    })
    ws.on('close', () => {
      connections.delete(conn.session)
      // After whatever is still waiting, and whatever the cap on waiting frames.
      conn.queue = conn.queue
        .then(() => rooms.leave(conn.session))
        .then(
          () => {},
          (e: unknown) => o.log(`internal error freeing ${conn.session}: ${String(e)}`),
        )
    })
    send(conn, { type: 'welcome', session: conn.session, iceServers: o.iceServers })
  }

  function heartbeat(): void {
    for (const conn of connections.values()) {
      if (conn.closing || conn.ws.readyState !== WebSocket.OPEN) continue
      if (!conn.alive) {
        counters.heartbeatDrops += 1
        conn.closing = true
        conn.ws.terminate()
        continue
      }
      conn.alive = false
      conn.ws.ping()
    }
  }

  const server = createServer(onRequest)
  server.on('upgrade', onUpgrade)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.port, o.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const timer = setInterval(heartbeat, o.heartbeatMs)
  timer.unref()

  const port = (server.address() as AddressInfo).port
  const url = `http://${displayHost(o.host)}:${port}`

  async function shutdown(drainMs: number): Promise<void> {
    clearInterval(timer)
    if (drainMs > 0) await drainConnections(connections.values(), rooms, drainMs)
    const closed = [...connections.values()].map(
      (conn) => new Promise<void>((resolve) => conn.ws.once('close', () => resolve())),
    )
    for (const conn of connections.values()) conn.ws.terminate()
    wss.close()
    await Promise.all(closed)
    await rooms.close()
    await new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
  }

  return {
    port,
    host: o.host,
    url,
    wsUrl: `${url.replace(/^http/, 'ws')}${SIGNALING_PATH}`,
    close: (opts) => (closing ??= shutdown(opts?.drainMs ?? 0)),
    metrics,
  }
}
