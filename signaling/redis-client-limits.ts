/**
 * Per-client limits across every server on one Redis (the `ClientLimits` of client-limits.ts), so a
 * client address cannot multiply its caps by spreading its sockets over several servers.
 *
 * - Sockets: each admitted socket is a lease in the sorted set `dcmx:ip:<client>`, scored by its
 *   expiry (Redis time). A socket is admitted only while the address holds fewer live leases than the
 *   cap, counted over all servers, atomically (one Lua script). Each server re-stamps its own leases
 *   on every link tick; a dead server's leases expire within `leaseTtlMs`.
 * - Messages: each server spends from its own in-memory bucket (the same budget, so one server alone
 *   enforces it as before), and on every tick adds what each address spent to a counter shared per
 *   window (`dcmx:spend:<client>:<window>`). An address whose total over all servers passes the
 *   window's budget (`perSecond` × window + `burst`) is refused until the window ends, by every server
 *   where it spent in the last window (they settle it each tick, with 0 if it spent nothing new). The
 *   per-message path stays synchronous; the shared part lags by at most two ticks.
 *
 * While Redis does not answer, the local limits alone apply (the caps of one server), and leases are
 * re-stamped when it is back.
 */
import { MemoryClientLimits, type ClientLimits, type SocketLease } from './client-limits.ts'
import type { RateLimit } from './rate-limit.ts'
import { batches, LUA_NOW, PREFIX, script, type RedisLink } from './redis-link.ts'

/** A lease nobody re-stamps for this long is gone (its server died). */
export const DEFAULT_LEASE_TTL_MS = 5_000
/** The shared message budget is settled over windows of this length. */
export const DEFAULT_BUDGET_WINDOW_MS = 10_000
/** Leases or addresses per script call. */
const BATCH = 500

/** KEYS: the address's lease set. ARGV: lease id, ttl, cap. Answers 1 (admitted) or 0 (at the cap). */
const ADMIT = script(`${LUA_NOW}
local t = now()
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], t + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`)

/** ARGV: prefix, ttl, then (client, lease id) pairs: re-stamp them (re-adding any Redis lost). */
const RESTAMP = script(`${LUA_NOW}
local p, ttl = ARGV[1], tonumber(ARGV[2])
local expiry = now() + ttl
for i = 3, #ARGV, 2 do
  local key = p .. 'ip:' .. ARGV[i]
  redis.call('ZADD', key, expiry, ARGV[i + 1])
  redis.call('PEXPIRE', key, ttl)
end
return 1
`)

/** ARGV: prefix, then (client, lease id) pairs: remove those leases. */
const RELEASE = script(`
for i = 2, #ARGV, 2 do redis.call('ZREM', ARGV[1] .. 'ip:' .. ARGV[i], ARGV[i + 1]) end
return 1
`)

/**
 * ARGV: prefix, window ms, budget per window, then (client, spent) pairs. Adds to each address's
 * counter of the current window; answers the ms left in the window and the addresses over budget.
 */
const SETTLE = script(`${LUA_NOW}
local p, window, budget = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local t = now()
local index = math.floor(t / window)
local over = {}
for i = 4, #ARGV, 2 do
  local key = p .. 'spend:' .. ARGV[i] .. ':' .. index
  local total = redis.call('INCRBY', key, ARGV[i + 1])
  redis.call('PEXPIRE', key, 2 * window)
  if total > budget then over[#over + 1] = ARGV[i] end
end
return { (index + 1) * window - t, over }
`)

export type RedisClientLimitsOptions = {
  maxSockets: number
  budget: RateLimit
  leaseTtlMs?: number
  windowMs?: number
  now?: () => number
}

export class RedisClientLimits implements ClientLimits {
  /** The limits of this process: always applied, and all there is while Redis is away. */
  private readonly local: MemoryClientLimits
  /** Live leases of this server: lease id → client. */
  private readonly leases = new Map<string, string>()
  /** Messages spent per client since the last settle. */
  private pending = new Map<string, number>()
  /** When each client last spent here: settled (with 0 if need be) for a window after, to learn of its total. */
  private readonly lastSpent = new Map<string, number>()
  /** Clients over the shared budget → until when (local clock) they are refused. */
  private readonly blocked = new Map<string, number>()
  private readonly ttlMs: number
  private readonly windowMs: number
  private readonly now: () => number
  private seq = 0

  constructor(
    private readonly link: RedisLink,
    private readonly opts: RedisClientLimitsOptions,
  ) {
    this.now = opts.now ?? (() => performance.now())
    this.local = new MemoryClientLimits(opts.maxSockets, opts.budget, this.now)
    this.ttlMs = opts.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS
    this.windowMs = opts.windowMs ?? DEFAULT_BUDGET_WINDOW_MS
    link.onTick(() => this.tick())
    link.onClose(() => this.withdraw())
  }

  async admit(client: string): Promise<SocketLease | undefined> {
    const lease = await this.local.admit(client)
    if (!lease) return undefined
    const id = `${this.link.serverId}:${(this.seq += 1)}`
    const shared = await this.link.attempt(
      ADMIT,
      [`${PREFIX}ip:${client}`],
      [id, this.ttlMs, this.opts.maxSockets],
    )
    if (shared && shared.reply === 0) {
      lease.release()
      return undefined
    }
    // Without an answer the local count alone admitted it; the next tick stamps it into Redis.
    this.leases.set(id, client)
    let released = false
    return {
      release: () => {
        if (released) return
        released = true
        lease.release()
        this.leases.delete(id)
        void this.link.attempt(RELEASE, [], [PREFIX, client, id])
      },
    }
  }

  spend(client: string, now: number): boolean {
    const until = this.blocked.get(client)
    if (until !== undefined) {
      if (now < until) return false
      this.blocked.delete(client)
    }
    if (!this.local.spend(client, now)) return false
    this.pending.set(client, (this.pending.get(client) ?? 0) + 1)
    this.lastSpent.set(client, now)
    return true
  }

  sweep(now: number): void {
    this.local.sweep(now)
    for (const [client, until] of this.blocked) if (until <= now) this.blocked.delete(client)
    for (const [client, at] of this.lastSpent) if (now - at > this.windowMs) this.lastSpent.delete(client)
  }

  /** Re-stamp this server's leases and settle what its clients spent with the other servers. */
  private async tick(): Promise<void> {
    for (const batch of batches(this.leases, BATCH, ([id, client]) => [client, id])) {
      await this.link.run(RESTAMP, [], [PREFIX, this.ttlMs, ...batch])
    }
    const spent = this.pending
    this.pending = new Map()
    // Also the clients that spent here earlier in the window: another server may have pushed them over.
    const now = this.now()
    for (const [client, at] of this.lastSpent) {
      if (now - at <= this.windowMs && !spent.has(client)) spent.set(client, 0)
    }
    const budget = Math.floor((this.opts.budget.perSecond * this.windowMs) / 1000 + this.opts.budget.burst)
    for (const batch of batches(spent, BATCH, ([client, n]) => [client, String(n)])) {
      const reply = await this.link.run(SETTLE, [], [PREFIX, this.windowMs, budget, ...batch])
      if (!Array.isArray(reply)) continue
      const [left, over] = reply as [unknown, unknown]
      if (typeof left !== 'number' || !Array.isArray(over)) continue
      const until = now + left
      for (const client of over) if (typeof client === 'string') this.blocked.set(client, until)
    }
  }

  /** Remove this server's leases (it is closing); those left expire within the lease TTL. */
  private async withdraw(): Promise<void> {
    if (!this.link.up()) return
    for (const batch of batches(this.leases, BATCH, ([id, client]) => [client, id])) {
      await this.link.run(RELEASE, [], [PREFIX, ...batch])
    }
  }
}
