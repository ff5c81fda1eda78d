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
 * processes can run behind a load balancer, and the per-client limits count across them
 * (redis-client-limits.ts). Rooms answer asynchronously, so each connection's messages are handled
 * one after the other: a `signal` cannot overtake the `join` sent before it.
 */
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
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
import { clientOf } from './client-address.ts'
import type { SocketLease } from './client-limits.ts'
import { appSecurityHeaders, COMMON_SECURITY_HEADERS } from './headers.ts'
import {
  answerClientErrors,
  capConnectionsPerAddress,
  checkRequest,
  refuse as refuseRequest,
  withErrorBoundary,
} from './http-guard.ts'
import {
  Counters,
  healthFields,
  PROMETHEUS_CONTENT_TYPE,
  renderPrometheus,
  type MetricsSnapshot,
  type UpgradeRefusal,
} from './metrics.ts'
import {
  CLOSE_JOIN_TIMEOUT,
  CLOSE_POLICY_VIOLATION,
  FLOOD_MAX_STRIKES,
  FLOOD_WINDOW_MS,
  MAX_BUFFERED_BYTES,
  MAX_ERROR_MESSAGE,
  MAX_HEADER_BYTES,
  MAX_RELAY_BUFFERED_BYTES,
  RELAY_PAIR_KEYS,
  resolveOptions,
  type ResolvedOptions,
  type SignalingOptions,
} from './options.ts'
import { KeyedBuckets, StrikeCounter, TokenBucket } from './rate-limit.ts'
import { drainConnections } from './drain.ts'
import { connectRedisRooms, RedisRooms } from './redis-rooms.ts'
import { MemoryRooms, type Member, type Rooms } from './rooms.ts'
import { staticFiles } from './static-files.ts'
import { IceProvider, MAX_LINK_REPORTS } from './turn.ts'

export type { MetricsSnapshot } from './metrics.ts'
export type { SignalingOptions } from './options.ts'
export type { RateLimit } from './rate-limit.ts'
export type { ClientLimits, SocketLease } from './client-limits.ts'

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
  /** The client key per-client limits count this socket under (client-address.ts). */
  client: string
  lease: SocketLease
  bucket: TokenBucket
  strikes: StrikeCounter
  /** Relay budget per recipient session. */
  relays: KeyedBuckets
  /** Peer refs this socket may still be handed (joined, sample, lookup). */
  introductions: TokenBucket
  /** Closes the socket unless it joins in time; cleared while it is in a room. */
  joinTimer: NodeJS.Timeout | undefined
  /** Answered a ping since the last heartbeat round. */
  alive: boolean
  /** Being closed by us; further frames are ignored. */
  closing: boolean
  /** Link reports counted for this session so far (bounded: a client could inflate the metric). */
  reports: number
  /** The handling of this connection's previous messages: each waits for the one before it. */
  queue: Promise<void>
  /** Messages waiting in `queue`. */
  queued: number
}

/** Headers Node keeps per request; the app's requests carry about 20. */
const MAX_HEADERS_COUNT = 100

/** Frames one connection may have waiting for the rooms (a slow Redis); past that they are dropped. */
const MAX_QUEUED_MESSAGES = 256

/** Sessions returned per looked-up peer id: a full lookup then still fits one `sample` frame. */
const LOOKUP_PER_ID = Math.floor(MAX_PEER_REFS / MAX_LOOKUP_IDS)

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  414: 'URI Too Long',
  429: 'Too Many Requests',
  503: 'Service Unavailable',
}

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

/**
 * Whether a browser page of `req.headers.origin` may open the socket. By default, the app's own
 * pages: the Origin's host is the Host the request was sent to (both normalised by URL, so a
 * default port matches its absence). A request without Origin is no browser's, and a non-browser
 * can claim any Origin, so refusing it would protect nothing.
 */
function originAllowed(req: IncomingMessage, policy: ResolvedOptions['origins']): boolean {
  const origin = req.headers.origin
  switch (policy.kind) {
    case 'any':
      return true
    case 'list':
      return policy.origins.has(origin ?? '')
    case 'same-host': {
      if (origin === undefined) return true
      const host = req.headers.host
      if (!host || !URL.canParse(origin)) return false
      const from = new URL(origin)
      if (from.protocol !== 'http:' && from.protocol !== 'https:') return false
      const served = `${from.protocol}//${host}`
      return URL.canParse(served) && new URL(served).host === from.host
    }
    default:
      return assertNever(policy)
  }
}

/** Start the HTTP + WebSocket server; resolves once it is listening. Rejects on invalid options. */
export async function startSignaling(opts: SignalingOptions = {}): Promise<SignalingServer> {
  const o = resolveOptions(opts)
  const startedAt = performance.now()
  const counters = new Counters()
  const rooms: Rooms = o.redis
    ? await connectRedisRooms({ url: o.redis, log: o.log }, { maxRoomSize: o.maxRoomSize })
    : new MemoryRooms(o.maxRoomSize)
  const connections = new Map<string, Connection>()
  const ice = new IceProvider(o.iceServers, opts.turnAuth)
  let pendingUpgrades = 0
  let closing: Promise<void> | undefined

  const metrics = () =>
    counters.snapshot({
      connections: connections.size,
      rooms: rooms.roomCount(),
      uptimeS: Math.floor((performance.now() - startedAt) / 1000),
      shared: rooms.health(),
    })

  const serveStatic = o.staticDir ? staticFiles(o.staticDir, o.log) : undefined
  // On Redis, the per-client limits count across all servers (unless the caller brought its own).
  const limits =
    rooms instanceof RedisRooms && !opts.clientLimits
      ? rooms.clientLimits({ maxSockets: o.maxSocketsPerIp, budget: o.ipRateLimit })
      : o.clientLimits

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    for (const [name, value] of Object.entries(COMMON_SECURITY_HEADERS)) res.setHeader(name, value)
    const verdict = checkRequest(req.method, req.url)
    if (!verdict.ok) {
      counters.httpRefused[verdict.reason] += 1
      return refuseRequest(
        res,
        verdict.status,
        verdict.message,
        verdict.status === 405 ? { Allow: 'GET, HEAD' } : {},
      )
    }
    const { pathname } = verdict
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
      // Set before the file server writes its head, so 304s, 404s and 416s carry the policy too.
      for (const [name, value] of Object.entries(appSecurityHeaders(req))) res.setHeader(name, value)
      serveStatic({ req, res, pathname })
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n')
    }
  }

  function onRequestError(error: unknown, req: IncomingMessage): void {
    counters.httpRefused.internal_error += 1
    o.log(`HTTP ${req.method ?? '?'} ${(req.url ?? '').slice(0, 200)} failed: ${String(error)}`)
  }

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_SIGNAL_FRAME, perMessageDeflate: false })

  function refuse(socket: Duplex, status: number, reason: UpgradeRefusal): void {
    counters.upgradesRefused[reason] += 1
    refuseUpgrade(socket, status)
  }

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {}) // a client resetting mid-handshake must not crash the process
    // Same URL rules as plain requests (`new URL` throws on some request targets, such as `//`).
    const target = checkRequest('GET', req.url)
    if (!target.ok) return refuse(socket, target.status, 'path')
    if (target.pathname !== SIGNALING_PATH) return refuse(socket, 404, 'path')
    if (!originAllowed(req, o.origins)) return refuse(socket, 403, 'origin')
    if (closing || connections.size + pendingUpgrades >= o.maxConnections) {
      return refuse(socket, 503, 'server_full')
    }
    const client = clientOf(req, o.trustProxy)
    // Count the handshake against the cap until it completes or the socket dies.
    pendingUpgrades += 1
    let settled = false
    const settle = () => {
      if (!settled) pendingUpgrades -= 1
      settled = true
    }
    socket.once('close', settle)
    limits.admit(client).then(
      (lease) => {
        if (!lease) {
          settle()
          return refuse(socket, 429, 'ip_full')
        }
        // A socket that dies before the handshake completes gives its slot back.
        const early = () => lease.release()
        socket.once('close', early)
        if (closing || socket.destroyed) return socket.destroy()
        wss.handleUpgrade(req, socket, head, (ws) => {
          // From here the WebSocket's own close releases it; dropping these listeners also lets
          // the upgrade request (and its headers) be collected while the socket lives on.
          socket.off('close', early)
          socket.off('close', settle)
          settle()
          onConnection(ws, client, lease)
        })
      },
      (error: unknown) => {
        settle()
        o.log(`client limits failed for an upgrade: ${String(error)}`)
        refuse(socket, 503, 'server_full')
      },
    )
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

  /** Relay to a member, unless it is not reading: then the relay is dropped, never the member. */
  function relayTo(conn: Connection, message: ServerMessage): void {
    if (conn.ws.readyState !== WebSocket.OPEN) return
    if (conn.ws.bufferedAmount > MAX_RELAY_BUFFERED_BYTES) {
      counters.relaysDropped.recipient_busy += 1
      return
    }
    counters.relayed += 1
    send(conn, message)
  }

  /**
   * Answer a frame with an error. Codes that mean abuse of the socket's own budget or of the
   * protocol count a strike (enough strikes close it); `strike: false` for limits an honest client
   * can touch through others (its address's shared budget) or by being eager (introductions, a pair).
   */
  function reject(conn: Connection, code: SignalingErrorCode, message: string, strike = true): void {
    counters.rejected[code] += 1
    send(conn, { type: 'error', code, message: message.slice(0, MAX_ERROR_MESSAGE) })
    const abusive = code === 'RATE_LIMITED' || code === 'BAD_MESSAGE' || code === 'TOO_LARGE'
    if (strike && abusive && conn.strikes.strike(performance.now())) {
      o.log(`session ${conn.session} is flooding; closing with ${CLOSE_POLICY_VIOLATION}`)
      conn.closing = true
      conn.ws.close(CLOSE_POLICY_VIOLATION, 'flooding')
    }
  }

  /** (Re)start the join deadline: a socket outside any room may stay that long. */
  function armJoinDeadline(conn: Connection): void {
    clearTimeout(conn.joinTimer)
    conn.joinTimer = setTimeout(() => {
      if (conn.closing) return
      counters.refused.join_timeout += 1
      conn.closing = true
      conn.ws.close(CLOSE_JOIN_TIMEOUT, 'join a room first')
    }, o.joinTimeoutMs)
    conn.joinTimer.unref()
  }

  /** How many peer refs the socket may be handed now (its introductions budget). */
  const introductionsLeft = (conn: Connection, now: number) => conn.introductions.available(now)

  /** Hand `peers` out, spending their count from the budget. */
  function introduce(conn: Connection, now: number, peers: readonly unknown[]): void {
    conn.introductions.take(now, peers.length)
  }

  function refuseIntroductions(conn: Connection): void {
    counters.refused.introductions += 1
    reject(conn, 'RATE_LIMITED', 'asking for peers too often; retry in a few seconds', false)
  }

  function member(conn: Connection, peerId: string): Member {
    return {
      session: conn.session,
      peerId,
      deliver: (message) => (message.type === 'signal' ? relayTo(conn, message) : send(conn, message)),
    }
  }

  async function handle(conn: Connection, msg: ClientMessage, now: number): Promise<void> {
    switch (msg.type) {
      case 'join': {
        // A join always succeeds within the room cap; only its sample is cut to the budget left.
        const k = Math.min(o.sampleSize, introductionsLeft(conn, now))
        const joined = await rooms.join(member(conn, msg.peerId), msg.room, k)
        if (!joined.ok) return reject(conn, 'ROOM_FULL', `room is full (${o.maxRoomSize} members)`)
        if (k < o.sampleSize) counters.refused.introductions += 1
        counters.joins += 1
        clearTimeout(conn.joinTimer)
        conn.joinTimer = undefined
        introduce(conn, now, joined.value)
        return send(conn, { type: 'joined', room: msg.room, peers: joined.value })
      }
      case 'signal': {
        if (!conn.relays.take(msg.to, now)) {
          counters.relaysDropped.pair_budget += 1
          return reject(conn, 'RATE_LIMITED', 'too many signals to this peer', false)
        }
        const routed = await rooms.route(conn.session, msg.to, msg.data)
        if (routed.ok) return
        if (routed.error === 'NOT_JOINED') return reject(conn, 'NOT_JOINED', 'join a room first')
        return reject(conn, 'UNKNOWN_PEER', 'no such session in this room')
      }
      case 'sample': {
        const k = Math.min(o.sampleSize, introductionsLeft(conn, now))
        const peers = await rooms.sample(conn.session, k)
        if (!peers) return reject(conn, 'NOT_JOINED', 'join a room first')
        if (k < 1) return refuseIntroductions(conn)
        introduce(conn, now, peers)
        return send(conn, { type: 'sample', peers })
      }
      case 'lookup': {
        // Only as many sessions as `sample` could have handed out anyway: see "Introductions" in
        // docs/architecture.md.
        const found = await rooms.lookup(conn.session, msg.peerIds, LOOKUP_PER_ID)
        if (!found) return reject(conn, 'NOT_JOINED', 'join a room first')
        const left = introductionsLeft(conn, now)
        if (found.length > 0 && left < 1) return refuseIntroductions(conn)
        const peers = found.slice(0, left)
        if (peers.length < found.length) counters.refused.introductions += 1
        introduce(conn, now, peers)
        return send(conn, { type: 'sample', peers })
      }
      case 'leave':
        if (await rooms.leave(conn.session)) armJoinDeadline(conn)
        return
      case 'link-report':
        if (conn.reports++ < MAX_LINK_REPORTS) counters.countLink(msg.link)
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
    const now = performance.now()
    // Budgets are spent on arrival; answers wait behind the messages still being handled.
    if (!conn.bucket.take(now)) {
      const text = `over ${o.rateLimit.perSecond} messages per second`
      return enqueue(conn, () => reject(conn, 'RATE_LIMITED', text))
    }
    if (!limits.spend(conn.client, now)) {
      counters.refused.ip_rate += 1
      const text = 'too many messages from your network; slow down'
      return enqueue(conn, () => reject(conn, 'RATE_LIMITED', text, false))
    }
    if (isBinary) return enqueue(conn, () => reject(conn, 'BAD_MESSAGE', 'binary frames are not accepted'))
    const decoded = decodeClientMessage(rawToText(data))
    if (!decoded.ok) {
      const { code, message } = decoded.error
      return enqueue(conn, () => reject(conn, code === 'TOO_LARGE' ? 'TOO_LARGE' : 'BAD_MESSAGE', message))
    }
    const msg = decoded.value
    enqueue(conn, () => handle(conn, msg, now))
  }

  function onConnection(ws: WebSocket, client: string, lease: SocketLease): void {
    const now = performance.now()
    const conn: Connection = {
      ws,
      session: randomBytes(16).toString('base64url'),
      client,
      lease,
      bucket: new TokenBucket(o.rateLimit, now),
      strikes: new StrikeCounter(FLOOD_MAX_STRIKES, FLOOD_WINDOW_MS, now),
      relays: new KeyedBuckets(o.relayPairLimit, RELAY_PAIR_KEYS),
      introductions: new TokenBucket(o.introductionLimit, now),
      joinTimer: undefined,
      alive: true,
      closing: false,
      reports: 0,
      queue: Promise.resolve(),
      queued: 0,
    }
    connections.set(conn.session, conn)
    armJoinDeadline(conn)
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
      clearTimeout(conn.joinTimer)
      clearInterval(refresh)
      connections.delete(conn.session)
      conn.lease.release()
      // After whatever is still waiting, and whatever the cap on waiting frames.
      conn.queue = conn.queue
        .then(() => rooms.leave(conn.session))
        .then(
          () => {},
          (e: unknown) => o.log(`internal error freeing ${conn.session}: ${String(e)}`),
        )
    })
    send(conn, { type: 'welcome', session: conn.session, iceServers: ice.serversFor(conn.session) })
  }

  function heartbeat(): void {
    limits.sweep(performance.now())
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

  const serverOptions = {
    headersTimeout: o.headersTimeoutMs,
    requestTimeout: o.requestTimeoutMs,
    // How often Node looks for requests past those timeouts (its default, 30 s, would let
    // half-sent heads linger far beyond them).
    connectionsCheckingInterval: Math.min(1_000, o.headersTimeoutMs),
    maxHeaderSize: MAX_HEADER_BYTES,
  }
  const handler = withErrorBoundary(onRequest, onRequestError)
  // HTTPS (tls.ts) gets the same timeouts, caps and error boundary as plain HTTP.
  const server = opts.tls
    ? createHttpsServer({ ...serverOptions, ...opts.tls }, handler)
    : createServer(serverOptions, handler)
  server.maxConnections = o.maxHttpConnections
  server.maxHeadersCount = MAX_HEADERS_COUNT
  answerClientErrors(server, (reason) => (counters.httpRefused[reason] += 1))
  if (!o.trustProxy) {
    capConnectionsPerAddress(
      server,
      o.maxHttpConnectionsPerIp,
      () => (counters.httpRefused.ip_connections += 1),
    )
  }
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    try {
      onUpgrade(req, socket, head)
    } catch (error) {
      onRequestError(error, req)
      socket.destroy()
    }
  })
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
