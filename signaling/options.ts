/** Options of the signaling server: every limit as a named constant, and validation of what callers pass. */
import * as v from 'valibot'
import { IceServersSchema, MAX_SIGNAL_FRAME, type IceServer } from '../src/core/signaling-protocol.ts'
import { MemoryClientLimits, type ClientLimits } from './client-limits.ts'
import type { RateLimit } from './rate-limit.ts'
import type { TlsOptions } from './tls.ts'
import type { TurnOptions } from './turn.ts'

/** 8080: the port the Vite dev proxy (vite.config.ts) forwards /signal to. */
export const DEFAULT_PORT = 8080
/** All interfaces: browsers on the LAN or in other containers must reach the app and the socket. */
export const DEFAULT_HOST = '0.0.0.0'
/** Roughly what one Node process holds comfortably (a few KiB each); past that, scale out. */
export const DEFAULT_MAX_CONNECTIONS = 5_000
/** Sampling keeps a join O(K) however large the room; this only bounds one room's memory. */
export const DEFAULT_MAX_ROOM_SIZE = 2_000
/** K: enough initial links for a connected mesh without a join storm of offers. */
export const DEFAULT_SAMPLE_SIZE = 8
/** The protocol caps `peers` arrays at 64 entries, so K can be no larger. */
export const MAX_SAMPLE_SIZE = 64
/** Burst covers a full join (K=8 offers plus ~10 trickled candidates each); 20/s is far above steady state. */
export const DEFAULT_RATE_LIMIT: RateLimit = { perSecond: 20, burst: 120 }
/** Below the 60 s idle timeout of common proxies (nginx, ALBs), and frees a dead peer within 30 s. */
export const DEFAULT_HEARTBEAT_MS = 15_000
/** More than 50 rate-limited or malformed frames in 10 s is a flood, not a burst: close with 1008. */
export const FLOOD_MAX_STRIKES = 50
/** Window over which flood strikes are counted. */
export const FLOOD_WINDOW_MS = 10_000
/** 64 max-size frames queued for a client that stopped reading: it is not coming back, drop it. */
export const MAX_BUFFERED_BYTES = 64 * MAX_SIGNAL_FRAME
/** The protocol caps error messages at 512 characters. */
export const MAX_ERROR_MESSAGE = 512
/** One year: files under /assets/ carry a content hash in their name, so they never change. */
export const ASSET_MAX_AGE_S = 31_536_000
/** RFC 6455 close code for a policy violation (flooding). */
export const CLOSE_POLICY_VIOLATION = 1008

/** A household or an office behind one NAT: 32 tabs open on one instance at once is a lot of people. */
export const DEFAULT_MAX_SOCKETS_PER_IP = 32
/**
 * Shared by every socket of one address: ten simultaneous joins' worth of burst (one join with its
 * offers and candidates is ~100 frames), and five busy tabs' worth of steady rate.
 */
export const DEFAULT_IP_RATE_LIMIT: RateLimit = { perSecond: 100, burst: 1_000 }
/** A client joins right after `welcome`; 10 s covers a slow start, and a socket idle past it holds no slot. */
export const DEFAULT_JOIN_TIMEOUT_MS = 10_000
/** Close code (application range 4000-4999) for a socket that did not join within the deadline. */
export const CLOSE_JOIN_TIMEOUT = 4008
/** Per (sender, recipient): an offer, an answer and ~40 trickled candidates at once, then 10 a second. */
export const DEFAULT_RELAY_PAIR_LIMIT: RateLimit = { perSecond: 10, burst: 50 }
/** Recipients whose budgets one sender keeps: above the 100 a sender can address within one 5 s refill. */
export const RELAY_PAIR_KEYS = 256
/**
 * A relay to a recipient with more than this queued (16 max-size frames) is dropped and counted,
 * well before MAX_BUFFERED_BYTES would cut the recipient: others' relays never get a member dropped.
 */
export const MAX_RELAY_BUFFERED_BYTES = 16 * MAX_SIGNAL_FRAME
/**
 * Introductions per socket: every peer ref a `joined`, `sample` or `lookup` answer hands out costs
 * one. A join (8) and several refills at once, then one every 2 s: an honest node asks for a few
 * peers when a link drops, a harvester learns a room of 2,000 in over an hour per socket.
 */
export const DEFAULT_INTRODUCTION_LIMIT: RateLimit = { perSecond: 0.5, burst: 64 }
/** Time to send a request's head: slow links send one in well under a second; half-sent heads go. */
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000
/** Time for a whole request; the server takes no request bodies, so this only bounds stragglers. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000
/** Open TCP connections per address (sockets plus HTTP keep-alive, ~6 per browser profile): 4× the socket cap. */
export const DEFAULT_MAX_HTTP_CONNECTIONS_PER_IP = 4 * DEFAULT_MAX_SOCKETS_PER_IP
/** HTTP connections beyond the WebSocket cap, for page loads and API calls. */
const HTTP_HEADROOM = 1_000
/** Largest request head Node will parse (its default, stated so it cannot drift). */
export const MAX_HEADER_BYTES = 16 * 1024

/** Everything configurable about one server; every field has a default. */
export type SignalingOptions = {
  /** TCP port; 0 picks an ephemeral one. */
  port?: number
  host?: string
  /** Directory of the built app (vite build output); without it, non-API paths answer 404. */
  staticDir?: string
  /** Sent to every client in `welcome`; validated with IceServersSchema. */
  iceServers?: IceServer[]
  maxConnections?: number
  maxRoomSize?: number
  /** K: how many peers a `joined` or `sample` answer holds at most. */
  sampleSize?: number
  /** Per-connection message budget. */
  rateLimit?: RateLimit
  heartbeatMs?: number
  /**
   * Origins allowed to open the socket. Unset: the app's own (the Origin's host equals the Host the
   * request was sent to; a request without Origin, which no browser sends, is let through). `['*']`:
   * any. A list: exactly those (and a request without Origin is refused).
   */
  allowedOrigins?: string[]
  /** redis:// or rediss:// URL: share rooms with every server on that Redis (redis-rooms.ts). */
  redis?: string
  /** Most sockets one client address holds at once. */
  maxSocketsPerIp?: number
  /** Message budget shared by all sockets of one client address. */
  ipRateLimit?: RateLimit
  /** A socket that has not joined a room this long after opening (or after leaving one) is closed. */
  joinTimeoutMs?: number
  /** Behind a TLS proxy: take the client address from Forwarded / X-Forwarded-For (last entry). */
  trustProxy?: boolean
  /** Relay budget per (sender, recipient) pair. */
  relayPairLimit?: RateLimit
  /** Budget of peer refs (introductions) per socket, over joined, sample and lookup answers. */
  introductionLimit?: RateLimit
  headersTimeoutMs?: number
  requestTimeoutMs?: number
  /** Open TCP connections per client address (not applied with trustProxy: every one is the proxy's). */
  maxHttpConnectionsPerIp?: number
  /** Open TCP connections in total; default maxConnections + 1,000. */
  maxHttpConnections?: number
  /** Per-client accounting; default in-memory (see client-limits.ts). */
  clientLimits?: ClientLimits
  /** TURN REST shared secret and URLs: each session gets its own expiring credentials (turn.ts). */
  turnAuth?: TurnOptions
  /** Serve HTTPS and WSS with this certificate (tls.ts). */
  tls?: TlsOptions
  log?: (line: string) => void
}

/** Which Origins may open the socket. */
export type OriginPolicy = { kind: 'same-host' } | { kind: 'any' } | { kind: 'list'; origins: Set<string> }

/** Sanity bound on counts (connections, room size): far beyond one process, so only a typo exceeds it. */
const MAX_SANE_COUNT = 10_000_000
/** Pinging more often than every 10 ms would cost more than the sockets it protects. */
const MIN_HEARTBEAT_MS = 10
/** Past an hour, dead sockets would hold their slots for too long to be useful. */
const MAX_HEARTBEAT_MS = 3_600_000
/** Bounds of the join and HTTP timeouts: a few ms only in tests, past 10 minutes a typo. */
const MIN_TIMEOUT_MS = 10
const MAX_TIMEOUT_MS = 600_000

function integer(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  const n = value ?? fallback
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${String(value)}`)
  }
  return n
}

/** A rate limit as given, or its default; throws a RangeError naming the option if it is unusable. */
function rateLimit(name: string, value: RateLimit | undefined, fallback: RateLimit): RateLimit {
  const rate = value ?? fallback
  if (!(rate.perSecond > 0) || !(rate.burst >= 1)) {
    throw new RangeError(`${name} needs perSecond > 0 and burst >= 1`)
  }
  return rate
}

function originPolicy(origins: string[] | undefined): OriginPolicy {
  if (!origins) return { kind: 'same-host' }
  if (origins.includes('*')) {
    if (origins.length > 1) throw new RangeError("allowedOrigins: '*' cannot be combined with origins")
    return { kind: 'any' }
  }
  return { kind: 'list', origins: new Set(origins) }
}

/** Apply defaults and validate; throws a RangeError/TypeError naming the offending option. */
export function resolveOptions(opts: SignalingOptions): ResolvedOptions {
  const ice = v.safeParse(IceServersSchema, opts.iceServers ?? [])
  if (!ice.success) throw new TypeError(`invalid iceServers: ${ice.issues[0].message}`)
  const rate = rateLimit('rateLimit', opts.rateLimit, DEFAULT_RATE_LIMIT)
  const maxConnections = integer(
    'maxConnections',
    opts.maxConnections,
    DEFAULT_MAX_CONNECTIONS,
    1,
    MAX_SANE_COUNT,
  )
  const headersTimeoutMs = integer(
    'headersTimeoutMs',
    opts.headersTimeoutMs,
    DEFAULT_HEADERS_TIMEOUT_MS,
    MIN_TIMEOUT_MS,
    MAX_TIMEOUT_MS,
  )
  const requestTimeoutMs = integer(
    'requestTimeoutMs',
    opts.requestTimeoutMs,
    Math.max(DEFAULT_REQUEST_TIMEOUT_MS, headersTimeoutMs),
    headersTimeoutMs, // Node requires a request to have at least as long as its head
    MAX_TIMEOUT_MS,
  )
  const maxSocketsPerIp = integer(
    'maxSocketsPerIp',
    opts.maxSocketsPerIp,
    DEFAULT_MAX_SOCKETS_PER_IP,
    1,
    MAX_SANE_COUNT,
  )
  const ipRateLimit = rateLimit('ipRateLimit', opts.ipRateLimit, DEFAULT_IP_RATE_LIMIT)
  if (opts.redis !== undefined && !isRedisUrl(opts.redis)) {
    throw new TypeError(`redis must be a redis:// or rediss:// URL, got ${JSON.stringify(opts.redis)}`)
  }
  return {
    redis: opts.redis,
    maxSocketsPerIp,
    ipRateLimit,
    joinTimeoutMs: integer(
      'joinTimeoutMs',
      opts.joinTimeoutMs,
      DEFAULT_JOIN_TIMEOUT_MS,
      MIN_TIMEOUT_MS,
      MAX_TIMEOUT_MS,
    ),
    trustProxy: opts.trustProxy ?? false,
    relayPairLimit: rateLimit('relayPairLimit', opts.relayPairLimit, DEFAULT_RELAY_PAIR_LIMIT),
    introductionLimit: rateLimit('introductionLimit', opts.introductionLimit, DEFAULT_INTRODUCTION_LIMIT),
    headersTimeoutMs,
    requestTimeoutMs,
    maxHttpConnectionsPerIp: integer(
      'maxHttpConnectionsPerIp',
      opts.maxHttpConnectionsPerIp,
      Math.max(DEFAULT_MAX_HTTP_CONNECTIONS_PER_IP, 2 * maxSocketsPerIp),
      1,
      MAX_SANE_COUNT,
    ),
    maxHttpConnections: integer(
      'maxHttpConnections',
      opts.maxHttpConnections,
      maxConnections + HTTP_HEADROOM,
      1,
      MAX_SANE_COUNT,
    ),
    clientLimits: opts.clientLimits ?? new MemoryClientLimits(maxSocketsPerIp, ipRateLimit),
    origins: originPolicy(opts.allowedOrigins),
    port: integer('port', opts.port, DEFAULT_PORT, 0, 65_535),
    host: opts.host ?? DEFAULT_HOST,
    staticDir: opts.staticDir,
    iceServers: ice.output,
    maxConnections,
    maxRoomSize: integer('maxRoomSize', opts.maxRoomSize, DEFAULT_MAX_ROOM_SIZE, 1, MAX_SANE_COUNT),
    sampleSize: integer('sampleSize', opts.sampleSize, DEFAULT_SAMPLE_SIZE, 1, MAX_SAMPLE_SIZE),
    rateLimit: rate,
    heartbeatMs: integer(
      'heartbeatMs',
      opts.heartbeatMs,
      DEFAULT_HEARTBEAT_MS,
      MIN_HEARTBEAT_MS,
      MAX_HEARTBEAT_MS,
    ),
    log: opts.log ?? ((line: string) => console.log(`[dcmx-signaling] ${line}`)),
  }
}

/** Options with every default applied. */
export type ResolvedOptions = {
  port: number
  host: string
  staticDir: string | undefined
  iceServers: IceServer[]
  maxConnections: number
  maxRoomSize: number
  sampleSize: number
  rateLimit: RateLimit
  heartbeatMs: number
  redis: string | undefined
  origins: OriginPolicy
  maxSocketsPerIp: number
  ipRateLimit: RateLimit
  joinTimeoutMs: number
  trustProxy: boolean
  relayPairLimit: RateLimit
  introductionLimit: RateLimit
  headersTimeoutMs: number
  requestTimeoutMs: number
  maxHttpConnectionsPerIp: number
  maxHttpConnections: number
  clientLimits: ClientLimits
  log: (line: string) => void
}

/** A URL node-redis can connect to: redis:// (plain) or rediss:// (TLS), with a host. */
export function isRedisUrl(text: string): boolean {
  if (!URL.canParse(text)) return false
  const url = new URL(text)
  return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== ''
}
