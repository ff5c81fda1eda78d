/** Counters of the signaling server and their rendering in the Prometheus text exposition format 0.0.4. */
import {
  SIGNALING_ERROR_CODES,
  type LinkReport,
  type SignalingErrorCode,
} from '../src/core/signaling-protocol.ts'
import type { RoomsHealth } from './rooms.ts'
import { HTTP_REFUSALS, type HttpRefusal } from './http-guard.ts'

/** Why an HTTP upgrade to WebSocket was refused before a session existed. */
export type UpgradeRefusal = 'path' | 'origin' | 'server_full' | 'ip_full'
const UPGRADE_REFUSALS: readonly UpgradeRefusal[] = ['path', 'origin', 'server_full', 'ip_full']

/**
 * What a per-client limit refused on an open socket: a message over its address's shared budget,
 * a socket that did not join in time, a sample or lookup over its introductions budget.
 */
export const SOCKET_REFUSALS = ['ip_rate', 'join_timeout', 'introductions'] as const
export type SocketRefusal = (typeof SOCKET_REFUSALS)[number]

/** Why a relay was dropped: over its (sender, recipient) budget, or the recipient is not reading. */
export const RELAY_DROPS = ['pair_budget', 'recipient_busy'] as const
export type RelayDrop = (typeof RELAY_DROPS)[number]

/** Content-Type of the /metrics response. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

/** A point-in-time copy of every metric the server exposes. */
export type MetricsSnapshot = {
  connections: number
  rooms: number
  relayed: number
  rejected: Record<SignalingErrorCode, number>
  joins: number
  heartbeatDrops: number
  upgradesRefused: Record<UpgradeRefusal, number>
  refused: Record<SocketRefusal, number>
  relaysDropped: Record<RelayDrop, number>
  httpRefused: Record<HttpRefusal, number>
  /** Links clients reported, by `<local>-<remote>` candidate type of the selected pair. */
  linksByType: Record<string, number>
  uptimeS: number
  /** The rooms' shared state: in memory, or Redis with its health and cross-server relay counts. */
  shared: RoomsHealth
}

const zeroes = <K extends string>(keys: readonly K[]) =>
  Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>

/** The mutable counters; gauges (connections, rooms) are read from live state when a snapshot is taken. */
export class Counters {
  relayed = 0
  joins = 0
  heartbeatDrops = 0
  readonly rejected = zeroes(SIGNALING_ERROR_CODES)
  readonly upgradesRefused = zeroes(UPGRADE_REFUSALS)
  readonly refused = zeroes(SOCKET_REFUSALS)
  readonly relaysDropped = zeroes(RELAY_DROPS)
  readonly httpRefused = zeroes(HTTP_REFUSALS)
  readonly linksByType: Record<string, number> = {}

  /** Count one link a client reported; keys come from the protocol's picklists, so they are bounded. */
  countLink(link: LinkReport): void {
    const key = `${link.local}-${link.remote}`
    this.linksByType[key] = (this.linksByType[key] ?? 0) + 1
  }

  /** Copy the counters together with the current gauge values. */
  snapshot(gauges: {
    connections: number
    rooms: number
    uptimeS: number
    shared: RoomsHealth
  }): MetricsSnapshot {
    return {
      ...gauges,
      relayed: this.relayed,
      joins: this.joins,
      heartbeatDrops: this.heartbeatDrops,
      rejected: { ...this.rejected },
      upgradesRefused: { ...this.upgradesRefused },
      refused: { ...this.refused },
      relaysDropped: { ...this.relaysDropped },
      httpRefused: { ...this.httpRefused },
      linksByType: { ...this.linksByType },
    }
  }
}

type Family = {
  name: string
  help: string
  type: 'gauge' | 'counter'
  value: number | Record<string, number>
  /** Label of a family's samples (default `reason`). */
  label?: string
}

const PREFIX = 'dcmx_signaling_'

/** Render a snapshot as Prometheus text: a HELP and a TYPE line before each family's samples. */
export function renderPrometheus(m: MetricsSnapshot): string {
  const families: Family[] = [
    { name: 'connections', type: 'gauge', help: 'Open WebSocket sessions.', value: m.connections },
    { name: 'rooms', type: 'gauge', help: 'Rooms with at least one member.', value: m.rooms },
    { name: 'uptime_seconds', type: 'gauge', help: 'Seconds since the server started.', value: m.uptimeS },
    { name: 'messages_relayed_total', type: 'counter', help: 'Signal messages relayed.', value: m.relayed },
    {
      name: 'messages_rejected_total',
      type: 'counter',
      help: 'Client frames answered with an error or a close, by error code.',
      value: m.rejected,
    },
    { name: 'joins_total', type: 'counter', help: 'Successful room joins.', value: m.joins },
    {
      name: 'heartbeat_drops_total',
      type: 'counter',
      help: 'Sockets terminated for not answering a ping.',
      value: m.heartbeatDrops,
    },
    {
      name: 'upgrades_refused_total',
      type: 'counter',
      help: 'WebSocket upgrades refused, by reason.',
      value: m.upgradesRefused,
    },
    {
      name: 'refused_total',
      type: 'counter',
      help: 'Messages and sockets refused by a per-client limit, by reason.',
      value: m.refused,
    },
    {
      name: 'relays_dropped_total',
      type: 'counter',
      help: 'Signal messages not relayed, by reason.',
      value: m.relaysDropped,
    },
    {
      name: 'http_refused_total',
      type: 'counter',
      help: 'HTTP requests and connections refused before a handler, by reason.',
      value: m.httpRefused,
    },
    {
      name: 'links_reported_total',
      type: 'counter',
      help: 'Links clients reported as connected, by candidate types of the selected pair (local-remote).',
      value: m.linksByType,
      label: 'pair',
    },
    ...redisFamilies(m.shared),
  ]
  const lines: string[] = []
  for (const f of families) {
    const name = PREFIX + f.name
    lines.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`)
    if (typeof f.value === 'number') lines.push(`${name} ${f.value}`)
    else
      for (const [key, v] of Object.entries(f.value))
        lines.push(`${name}{${f.label ?? 'reason'}="${key}"} ${v}`)
  }
  return lines.join('\n') + '\n'
}

/** The Redis families, present only when the rooms are Redis-backed. */
function redisFamilies(shared: RoomsHealth): Family[] {
  if (shared.backend !== 'redis') return []
  return [
    {
      name: 'redis_up',
      type: 'gauge',
      help: 'Whether Redis answers (0: serving local members only).',
      value: shared.up ? 1 : 0,
    },
    {
      name: 'redis_latency_seconds',
      type: 'gauge',
      help: 'Round trip of the last PING to Redis (NaN before the first answer).',
      value: shared.latencyMs / 1000,
    },
    { name: 'redis_commands_total', type: 'counter', help: 'Redis commands sent.', value: shared.commands },
    {
      name: 'redis_command_seconds_total',
      type: 'counter',
      help: 'Summed round-trip time of Redis commands (divide by redis_commands_total for the mean).',
      value: shared.commandMs / 1000,
    },
    {
      name: 'redis_errors_total',
      type: 'counter',
      help: 'Redis commands that failed or timed out.',
      value: shared.errors,
    },
    {
      name: 'cross_server_relayed_total',
      type: 'counter',
      help: 'Signals relayed through Redis, by direction (out: to a member on another server).',
      value: { out: shared.relayedOut, in: shared.relayedIn },
      label: 'direction',
    },
  ]
}

/** Fields /healthz adds to its body: whether the server drains, and whether shared state is reachable. */
export function healthFields(shared: RoomsHealth, draining: boolean) {
  const redis = shared.backend === 'redis' ? { redis: shared.up ? 'up' : 'down' } : {}
  return {
    ok: !draining,
    draining,
    degraded: shared.backend === 'redis' && !shared.up,
    ...redis,
  }
}
