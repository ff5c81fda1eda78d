/**
 * Rooms shared by every signaling server on one Redis (node-redis client), so several servers can
 * run behind a load balancer without any of them owning a room.
 *
 * Keys (all under `dcmx:`; the room and peer id formats of the protocol contain no spaces):
 *  - `room:<room>`: sorted set of `"<session> <peerId>"`, scored by the entry's expiry (Redis time, ms)
 *  - `peer:<room>:<peerId>`: sorted set of the sessions claiming that peer id, scored likewise
 *  - `sess:<session>`: string `"<serverId> <room> <peerId>"` with a TTL: where to relay to
 *  - channel `srv:<serverId>`: signals for the members held by that server (one per server)
 * Every server re-stamps its own members every `refreshMs`; an entry that nobody re-stamps for
 * `memberTtlMs` is dead (its server is gone) and is dropped by the next read of that room, and the keys
 * themselves expire. Each operation is one Lua script, so it is atomic and costs one round trip.
 *
 * Faults: the members this server holds are also kept in a local MemoryRooms. While Redis does not
 * answer, every operation falls back to it (local members still find and signal each other) and
 * health() reports `up: false`; when Redis answers again, the next refresh re-adds every local member
 * (reconciling a Redis that lost its data) and the subscriber re-subscribes (node-redis does that on
 * reconnect). Commands are never queued while disconnected and time out, so no socket waits on Redis.
 */
import { err, ok, type Result } from '../src/core/result.ts'
import {
  decodeServerMessage,
  isPeerId,
  isRoom,
  isSession,
  type PeerRef,
  type ServerMessage,
  type SignalData,
} from '../src/core/signaling-protocol.ts'
import { RedisClientLimits, type RedisClientLimitsOptions } from './redis-client-limits.ts'
import { batches, LUA_NOW, PREFIX, RedisLink, script, type RedisLinkOptions } from './redis-link.ts'
import { MemoryRooms, type Member, type RoomsHealth, type RouteError, type Rooms } from './rooms.ts'

/** A member nobody re-stamps for this long is gone: a dead server's members vanish within it. */
export const DEFAULT_MEMBER_TTL_MS = 5_000
export { DEFAULT_REFRESH_MS } from './redis-link.ts'
/** Members re-stamped per script call: bounds one call's arguments and its time inside Redis. */
const REFRESH_BATCH = 500

export type RedisRoomsOptions = {
  maxRoomSize: number
  memberTtlMs?: number
}

/** Shared by the scripts: Redis's clock, a sample without oneself, and one member's stamp. */
const LUA_LIB = `${LUA_NOW}
local function draw(key, self, k)
  local out = {}
  if k <= 0 then return out end
  local picked = redis.call('ZRANDMEMBER', key, k + 1)
  for _, e in ipairs(picked) do
    if e ~= self and #out < k then out[#out + 1] = e end
  end
  return out
end
local function stamp(roomKey, peerKey, sessKey, entry, session, location, expiry, ttl)
  redis.call('ZADD', roomKey, expiry, entry)
  redis.call('PEXPIRE', roomKey, ttl)
  redis.call('ZADD', peerKey, expiry, session)
  redis.call('PEXPIRE', peerKey, ttl)
  redis.call('SET', sessKey, location, 'PX', ttl)
end
`

/**
 * KEYS: room, peer, sess, oldRoom, oldPeer. ARGV: session, peerId, serverId, room, ttl, maxRoomSize,
 * k, oldEntry ('' if none). Answers nil when the room is full (the member stays where it was).
 */
const JOIN = `${LUA_LIB}
local t, ttl = now(), tonumber(ARGV[5])
local entry = ARGV[1] .. ' ' .. ARGV[2]
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t)
local occupied = redis.call('ZCARD', KEYS[1])
if ARGV[8] ~= '' and KEYS[4] == KEYS[1] and redis.call('ZSCORE', KEYS[1], ARGV[8]) then
  occupied = occupied - 1
end
if occupied >= tonumber(ARGV[6]) then return false end
if ARGV[8] ~= '' then
  redis.call('ZREM', KEYS[4], ARGV[8])
  redis.call('ZREM', KEYS[5], ARGV[1])
end
stamp(KEYS[1], KEYS[2], KEYS[3], entry, ARGV[1], ARGV[3] .. ' ' .. ARGV[4] .. ' ' .. ARGV[2], t + ttl, ttl)
return draw(KEYS[1], entry, tonumber(ARGV[7]))
`

/** KEYS: room, peer, sess. ARGV: entry, session, serverId. */
const LEAVE = `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[2])
local v = redis.call('GET', KEYS[3])
if v and string.sub(v, 1, #ARGV[3] + 1) == ARGV[3] .. ' ' then redis.call('DEL', KEYS[3]) end
return 1
`

/** ARGV: prefix, serverId, ttl, then (session, peerId, room) per member. Keys are built here. */
const REFRESH = `${LUA_LIB}
local p, server, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
local expiry = now() + ttl
for i = 4, #ARGV, 3 do
  local session, peer, room = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  stamp(p .. 'room:' .. room, p .. 'peer:' .. room .. ':' .. peer, p .. 'sess:' .. session,
    session .. ' ' .. peer, session, server .. ' ' .. room .. ' ' .. peer, expiry, ttl)
end
return (#ARGV - 3) / 3
`

/** KEYS: room. ARGV: own entry, k. */
const SAMPLE = `${LUA_LIB}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now())
return draw(KEYS[1], ARGV[1], tonumber(ARGV[2]))
`

/** KEYS: one peer key per asked id. ARGV: own session, perId. Answers one list of sessions per key. */
const LOOKUP = `${LUA_LIB}
local t, out = now(), {}
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', t)
  out[i] = draw(key, ARGV[1], tonumber(ARGV[2]))
end
return out
`

/**
 * KEYS: sess of the target. ARGV: sender's room, channel prefix, payload, own serverId. Publishes to
 * the target's server; answers its subscriber count, or -1 when the target is not in that room and
 * -2 when it was ours (it left, its entry is stale).
 */
const ROUTE = `
local v = redis.call('GET', KEYS[1])
if not v then return -1 end
local server, room = string.match(v, '^(%S+) (%S+) ')
if room ~= ARGV[1] then return -1 end
if server == ARGV[4] then return -2 end
return redis.call('PUBLISH', ARGV[2] .. server, ARGV[3])
`

/** KEYS: none. ARGV: prefix, serverId, then (session, peerId, room) per member: withdraw them all. */
const WITHDRAW = `
local p, server = ARGV[1], ARGV[2]
for i = 3, #ARGV, 3 do
  local session, peer, room = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  redis.call('ZREM', p .. 'room:' .. room, session .. ' ' .. peer)
  redis.call('ZREM', p .. 'peer:' .. room .. ':' .. peer, session)
  local v = redis.call('GET', p .. 'sess:' .. session)
  if v and string.sub(v, 1, #server + 1) == server .. ' ' then redis.call('DEL', p .. 'sess:' .. session) end
end
return 1
`

const SCRIPTS = {
  join: script(JOIN),
  leave: script(LEAVE),
  refresh: script(REFRESH),
  sample: script(SAMPLE),
  lookup: script(LOOKUP),
  route: script(ROUTE),
  withdraw: script(WITHDRAW),
}

const roomKey = (room: string) => `${PREFIX}room:${room}`
const peerKey = (room: string, peerId: string) => `${PREFIX}peer:${room}:${peerId}`
const sessKey = (session: string) => `${PREFIX}sess:${session}`
const CHANNEL_PREFIX = `${PREFIX}srv:`
const entryOf = (m: PeerRef) => `${m.session} ${m.peerId}`

/** A `"<session> <peerId>"` entry read back from Redis, if it is well-formed. */
function parseEntry(entry: unknown): PeerRef | undefined {
  if (typeof entry !== 'string') return undefined
  const [session = '', peerId = '', extra] = entry.split(' ')
  return extra === undefined && isSession(session) && isPeerId(peerId) ? { session, peerId } : undefined
}

const entries = (reply: unknown): PeerRef[] =>
  Array.isArray(reply) ? reply.map(parseEntry).filter((p) => p !== undefined) : []

/**
 * Connect to Redis (waiting at most CONNECT_WAIT_MS: an unreachable Redis means starting degraded)
 * and answer the rooms on that link; `link` is handed on for the client limits to share.
 */
export async function connectRedisRooms(
  link: RedisLinkOptions,
  opts: RedisRoomsOptions,
): Promise<RedisRooms> {
  const rooms = new RedisRooms(new RedisLink(link), opts)
  await rooms.start()
  return rooms
}

/** The `Rooms` of one server, shared through Redis with every other server on it. */
export class RedisRooms implements Rooms {
  /** This server's members, whatever Redis says: the fallback, and what each tick re-stamps. */
  private readonly local: MemoryRooms
  private readonly ttlMs: number
  private closed = false
  private readonly relayed = { relayedOut: 0, relayedIn: 0 }

  constructor(
    readonly link: RedisLink,
    private readonly opts: RedisRoomsOptions,
  ) {
    this.local = new MemoryRooms(opts.maxRoomSize)
    this.ttlMs = opts.memberTtlMs ?? DEFAULT_MEMBER_TTL_MS
    link.onTick(() => this.refresh())
    link.onClose(() => this.withdraw())
  }

  get serverId(): string {
    return this.link.serverId
  }

  /** Per-client limits counted across every server on this Redis, over this server's link. */
  clientLimits(opts: RedisClientLimitsOptions): RedisClientLimits {
    return new RedisClientLimits(this.link, opts)
  }

  /** Connect and subscribe to this server's channel; never rejects. */
  start(): Promise<void> {
    return this.link.start(CHANNEL_PREFIX + this.serverId, (m) => this.onRelay(m))
  }

  private attempt(...args: Parameters<RedisLink['attempt']>) {
    return this.closed ? Promise.resolve(undefined) : this.link.attempt(...args)
  }

  async join(member: Member, room: string, k: number): Promise<Result<PeerRef[], 'ROOM_FULL'>> {
    const previous = this.local.member(member.session)
    const previousRoom = this.local.roomOfSession(member.session)
    const old =
      previous && previousRoom !== undefined
        ? { entry: entryOf(previous), room: previousRoom, peerId: previous.peerId }
        : undefined
    const shared = await this.attempt(
      SCRIPTS.join,
      [
        roomKey(room),
        peerKey(room, member.peerId),
        sessKey(member.session),
        roomKey(old?.room ?? room),
        peerKey(old?.room ?? room, old?.peerId ?? member.peerId),
      ],
      [
        member.session,
        member.peerId,
        this.serverId,
        room,
        this.ttlMs,
        this.opts.maxRoomSize,
        k,
        old?.entry ?? '',
      ],
    )
    if (this.closed) return err('ROOM_FULL')
    if (shared && shared.reply === null) return err('ROOM_FULL')
    const joinedHere = this.local.joinNow(member, room, k)
    if (!shared || !joinedHere.ok) return joinedHere
    return ok(entries(shared.reply).slice(0, k))
  }

  async leave(session: string): Promise<boolean> {
    const m = this.local.member(session)
    const room = this.local.roomOfSession(session)
    if (!m || room === undefined) return false
    this.local.leaveNow(session)
    // If Redis does not answer, the entry simply expires (it is no longer re-stamped).
    await this.attempt(
      SCRIPTS.leave,
      [roomKey(room), peerKey(room, m.peerId), sessKey(session)],
      [entryOf(m), session, this.serverId],
    )
    return true
  }

  async sample(session: string, k: number): Promise<PeerRef[] | undefined> {
    const m = this.local.member(session)
    const room = this.local.roomOfSession(session)
    if (!m || room === undefined) return undefined
    if (k <= 0) return [] // a membership check only: no round trip
    const shared = await this.attempt(SCRIPTS.sample, [roomKey(room)], [entryOf(m), k])
    if (!shared) return this.local.sampleNow(session, k)
    return entries(shared.reply).slice(0, k)
  }

  async lookup(session: string, peerIds: readonly string[], perId: number): Promise<PeerRef[] | undefined> {
    const room = this.local.roomOfSession(session)
    if (room === undefined) return undefined
    const ids = [...new Set(peerIds)]
    const shared = await this.attempt(
      SCRIPTS.lookup,
      ids.map((id) => peerKey(room, id)),
      [session, perId],
    )
    if (!shared || !Array.isArray(shared.reply)) return this.local.lookupNow(session, ids, perId)
    const found: PeerRef[] = []
    ids.forEach((peerId, i) => {
      const sessions: unknown = (shared.reply as unknown[])[i]
      if (!Array.isArray(sessions)) return
      for (const s of sessions.slice(0, perId))
        if (typeof s === 'string' && isSession(s)) found.push({ session: s, peerId })
    })
    return found
  }

  async route(from: string, to: string, data: SignalData): Promise<Result<void, RouteError>> {
    const sender = this.local.member(from)
    const room = this.local.roomOfSession(from)
    if (!sender || room === undefined) return err('NOT_JOINED')
    // Same server: no Redis round trip (and it works while Redis is down).
    if (this.local.member(to)) return this.local.routeNow(from, to, data)
    if (to === from) return err('UNKNOWN_PEER')
    const message: ServerMessage = { type: 'signal', from: { session: from, peerId: sender.peerId }, data }
    const shared = await this.attempt(
      SCRIPTS.route,
      [sessKey(to)],
      [room, CHANNEL_PREFIX, `${to} ${room} ${JSON.stringify(message)}`, this.serverId],
    )
    // 0 subscribers: the target's server is gone, its entry not yet expired.
    if (!shared || typeof shared.reply !== 'number' || shared.reply <= 0) return err('UNKNOWN_PEER')
    this.relayed.relayedOut += 1
    return ok(undefined)
  }

  /** A signal another server published for one of our members: `"<to> <room> <signal message>"`. */
  private onRelay(payload: string): void {
    const first = payload.indexOf(' ')
    const second = payload.indexOf(' ', first + 1)
    if (first < 0 || second < 0) return
    const to = payload.slice(0, first)
    const room = payload.slice(first + 1, second)
    if (!isSession(to) || !isRoom(room)) return
    const decoded = decodeServerMessage(payload.slice(second + 1))
    if (!decoded.ok || decoded.value.type !== 'signal') return
    const target = this.local.member(to)
    // The target may have left or moved to another room since the sender's server looked it up.
    if (!target || this.local.roomOfSession(to) !== room) return
    this.relayed.relayedIn += 1
    target.deliver(decoded.value)
  }

  /** Re-stamp every local member (re-adding them after Redis lost them). */
  private async refresh(): Promise<void> {
    if (this.closed) return
    for (const batch of this.memberBatches()) {
      await this.link.run(SCRIPTS.refresh, [], [PREFIX, this.serverId, this.ttlMs, ...batch])
    }
  }

  /** Take every local member out of Redis; entries it cannot remove expire within the member TTL. */
  private async withdraw(): Promise<void> {
    if (!this.link.up()) return
    for (const batch of this.memberBatches()) {
      await this.link.run(SCRIPTS.withdraw, [], [PREFIX, this.serverId, ...batch])
    }
  }

  /** Local members as (session, peerId, room) argument triples, REFRESH_BATCH members at a time. */
  private memberBatches(): Generator<string[]> {
    return batches(this.local.members(), REFRESH_BATCH, ([m, room]) => [m.session, m.peerId, room])
  }

  roomCount(): number {
    return this.local.roomCount()
  }

  health(): RoomsHealth {
    const { up, latencyMs, commands, commandMs, errors } = this.link.stats()
    return { backend: 'redis', up, latencyMs, commands, commandMs, errors, ...this.relayed }
  }

  /** Withdraw every local member from Redis (if it answers), then close the link. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.link.close()
  }
}
