/** Options of the signaling server: every limit as a named constant, and validation of what callers pass. */
import * as v from 'valibot'
import { IceServersSchema, MAX_SIGNAL_FRAME, type IceServer } from '../src/core/signaling-protocol.ts'
import type { RateLimit } from './rate-limit.ts'

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
  /** If set, WebSocket upgrades whose Origin header is not listed are refused with 403. */
  allowedOrigins?: string[]
  /** redis:// or rediss:// URL: share rooms with every server on that Redis (redis-rooms.ts). */
  redis?: string
  log?: (line: string) => void
}

/** Sanity bound on counts (connections, room size): far beyond one process, so only a typo exceeds it. */
const MAX_SANE_COUNT = 10_000_000
/** Pinging more often than every 10 ms would cost more than the sockets it protects. */
const MIN_HEARTBEAT_MS = 10
/** Past an hour, dead sockets would hold their slots for too long to be useful. */
const MAX_HEARTBEAT_MS = 3_600_000

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

/** Apply defaults and validate; throws a RangeError/TypeError naming the offending option. */
export function resolveOptions(opts: SignalingOptions): ResolvedOptions {
  const ice = v.safeParse(IceServersSchema, opts.iceServers ?? [])
  if (!ice.success) throw new TypeError(`invalid iceServers: ${ice.issues[0].message}`)
  const rate = opts.rateLimit ?? DEFAULT_RATE_LIMIT
  if (!(rate.perSecond > 0) || !(rate.burst >= 1)) {
    throw new RangeError('rateLimit needs perSecond > 0 and burst >= 1')
  }
  if (opts.redis !== undefined && !isRedisUrl(opts.redis)) {
    throw new TypeError(`redis must be a redis:// or rediss:// URL, got ${JSON.stringify(opts.redis)}`)
  }
  return {
    redis: opts.redis,
    port: integer('port', opts.port, DEFAULT_PORT, 0, 65_535),
    host: opts.host ?? DEFAULT_HOST,
    staticDir: opts.staticDir,
    iceServers: ice.output,
    maxConnections: integer(
      'maxConnections',
      opts.maxConnections,
      DEFAULT_MAX_CONNECTIONS,
      1,
      MAX_SANE_COUNT,
    ),
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
    allowedOrigins: opts.allowedOrigins ? new Set(opts.allowedOrigins) : undefined,
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
  allowedOrigins: Set<string> | undefined
  redis: string | undefined
  log: (line: string) => void
}

/** A URL ioredis can connect to: redis:// (plain) or rediss:// (TLS), with a host. */
export function isRedisUrl(text: string): boolean {
  if (!URL.canParse(text)) return false
  const url = new URL(text)
  return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== ''
}
