/**
 * DCMX signaling server: serves the built app, and relays WebRTC offers/answers/candidates between
 * browser nodes over WebSocket (protocol: src/core/signaling-protocol.ts). A `join` is answered with a
 * random sample of the room, a `lookup` with the sessions of the asked peer ids; nobody else is told.
 * `leave` and socket close notify nobody, they only free state. The server never interprets SDP or
 * ICE, it only checks shape and size and forwards.
 *
 * Scale-out seam: everything that knows who is in which room and how to reach a session lives behind
 * the `Rooms` interface (rooms.ts); this file only owns sockets, limits and metrics. To run several
 * signaling processes behind a load balancer, a Redis-backed `Rooms` could keep membership in Redis
 * sets and deliver `route()` through pub/sub on a per-session channel, calling `Member.deliver` on the
 * process that holds the target socket. The interface is synchronous today because the in-memory
 * version is; a distributed version would make its methods return promises, and this file would then
 * serialize each connection's messages so a `signal` cannot overtake the `join` sent before it.
 */
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
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
import { MemoryRooms, type Member, type Rooms } from './rooms.ts'
import { IceProvider, MAX_LINK_REPORTS } from './turn.ts'

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
  /** Terminate every socket and stop listening; the port is free when this resolves. */
  close(): Promise<void>
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
  /** Link reports counted for this session so far (bounded: a client could inflate the metric). */
  reports: number
}

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
  const rooms: Rooms = new MemoryRooms(o.maxRoomSize)
  const connections = new Map<string, Connection>()
  const ice = new IceProvider(o.iceServers, opts.turnAuth)
  let pendingUpgrades = 0
  let closing: Promise<void> | undefined

  const metrics = () =>
    counters.snapshot({
      connections: connections.size,
      rooms: rooms.roomCount(),
      uptimeS: Math.floor((performance.now() - startedAt) / 1000),
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
        ok: true,
        connections: m.connections,
        rooms: m.rooms,
        uptimeS: m.uptimeS,
      })
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(body)
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

  function handle(conn: Connection, msg: ClientMessage): void {
    switch (msg.type) {
      case 'join': {
        const joined = rooms.join(member(conn, msg.peerId), msg.room, o.sampleSize)
        if (!joined.ok) return reject(conn, 'ROOM_FULL', `room is full (${o.maxRoomSize} members)`)
        counters.joins += 1
        return send(conn, { type: 'joined', room: msg.room, peers: joined.value })
      }
      case 'signal': {
        const routed = rooms.route(conn.session, msg.to, msg.data)
        if (routed.ok) {
          counters.relayed += 1
          return
        }
        if (routed.error === 'NOT_JOINED') return reject(conn, 'NOT_JOINED', 'join a room first')
        return reject(conn, 'UNKNOWN_PEER', 'no such session in this room')
      }
      case 'sample': {
        const peers = rooms.sample(conn.session, o.sampleSize)
        if (!peers) return reject(conn, 'NOT_JOINED', 'join a room first')
        return send(conn, { type: 'sample', peers })
      }
      case 'lookup': {
        const peers = rooms.lookup(conn.session, msg.peerIds, LOOKUP_PER_ID)
        if (!peers) return reject(conn, 'NOT_JOINED', 'join a room first')
        return send(conn, { type: 'sample', peers })
      }
      case 'leave':
        rooms.leave(conn.session)
        return
      case 'link-report':
        if (conn.reports++ < MAX_LINK_REPORTS) counters.countLink(msg.link)
        return
      default:
        assertNever(msg)
    }
  }

  function onMessage(conn: Connection, data: RawData, isBinary: boolean): void {
    if (conn.closing) return
    if (!conn.bucket.take(performance.now())) {
      return reject(conn, 'RATE_LIMITED', `over ${o.rateLimit.perSecond} messages per second`)
    }
    if (isBinary) return reject(conn, 'BAD_MESSAGE', 'binary frames are not accepted')
    const decoded = decodeClientMessage(rawToText(data))
    if (!decoded.ok) {
      return reject(
        conn,
        decoded.error.code === 'TOO_LARGE' ? 'TOO_LARGE' : 'BAD_MESSAGE',
        decoded.error.message,
      )
    }
    handle(conn, decoded.value)
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
      reports: 0,
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
    // Fresh TURN credentials well before the current ones expire, for as long as the socket lives.
    const refresh = ice.expires
      ? setInterval(
          () => send(conn, { type: 'ice', iceServers: ice.serversFor(conn.session) }),
          ice.refreshMs,
        )
      : undefined
    refresh?.unref()
    ws.on('close', () => {
      clearInterval(refresh)
      rooms.leave(conn.session)
      connections.delete(conn.session)
    })
    send(conn, { type: 'welcome', session: conn.session, iceServers: ice.serversFor(conn.session) })
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

  const server = opts.tls ? createHttpsServer(opts.tls, onRequest) : createServer(onRequest)
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
  const url = `${opts.tls ? 'https' : 'http'}://${displayHost(o.host)}:${port}`

  async function shutdown(): Promise<void> {
    clearInterval(timer)
    const closed = [...connections.values()].map(
      (conn) => new Promise<void>((resolve) => conn.ws.once('close', () => resolve())),
    )
    for (const conn of connections.values()) conn.ws.terminate()
    wss.close()
    await Promise.all(closed)
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
    close: () => (closing ??= shutdown()),
    metrics,
  }
}
