/**
 * One server's connection to Redis (node-redis): a command client and a subscriber, shared by the
 * Redis-backed rooms (redis-rooms.ts) and client limits (redis-client-limits.ts).
 *
 * Commands are never queued while Redis is away and time out, so a caller waits at most
 * `commandTimeoutMs` and then falls back to local state; node-redis reconnects in the background and
 * re-subscribes on its own. Every `refreshMs` the link measures a PING and calls its `onTick`
 * handlers while Redis is up (that is where the users re-stamp what they own), and once right after
 * Redis comes back.
 */
import { createHash, randomBytes } from 'node:crypto'
import { createClient, type RedisClientType } from 'redis'

/** A command Redis has not answered by then has failed; the caller falls back to local state. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 1_000
/** How often owners re-stamp their entries (and latency is measured): well inside any TTL. */
export const DEFAULT_REFRESH_MS = 1_500
/** How long startup waits for Redis before it serves degraded (and keeps trying in the background). */
export const CONNECT_WAIT_MS = 2_000
/** Longest pause between reconnection attempts, so a returning Redis is used again within it. */
const MAX_RECONNECT_DELAY_MS = 1_000
/** Prefix of every key and channel DCMX uses. */
export const PREFIX = 'dcmx:'

/** A Lua script, run by its hash (and by its text when Redis's script cache is empty). */
export type Script = { lua: string; sha: string }
export const script = (lua: string): Script => ({ lua, sha: createHash('sha1').update(lua).digest('hex') })

/** Redis's clock in ms, for scripts: every server agrees on it, whatever their own clocks say. */
export const LUA_NOW = `
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`

export type RedisLinkOptions = {
  url: string
  log: (line: string) => void
  serverId?: string
  refreshMs?: number
  commandTimeoutMs?: number
}

/** Health and counters of the link, for /healthz and /metrics. */
export type RedisLinkStats = {
  up: boolean
  latencyMs: number
  commands: number
  commandMs: number
  errors: number
}

export class RedisLink {
  /** This server's id in Redis: names its channel and tags what it owns. */
  readonly serverId: string
  readonly refreshMs: number
  private readonly cmd: RedisClientType
  private readonly sub: RedisClientType
  private readonly ticks: (() => Promise<void>)[] = []
  private readonly closers: (() => Promise<void>)[] = []
  private timer: NodeJS.Timeout | undefined
  private closed = false
  private ticking = false
  private wasUp = false
  private readonly counters = { latencyMs: NaN, commands: 0, commandMs: 0, errors: 0 }

  constructor(private readonly opts: RedisLinkOptions) {
    this.serverId = opts.serverId ?? randomBytes(9).toString('base64url')
    this.refreshMs = opts.refreshMs ?? DEFAULT_REFRESH_MS
    const timeout = opts.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS
    const reconnectStrategy = (retries: number) =>
      Math.min(MAX_RECONNECT_DELAY_MS, 50 * 2 ** Math.min(retries, 10)) * (0.5 + Math.random() / 2)
    this.cmd = createClient({
      url: opts.url,
      disableOfflineQueue: true,
      commandOptions: { timeout },
      socket: { reconnectStrategy, connectTimeout: timeout },
    }) as RedisClientType
    this.sub = this.cmd.duplicate() as RedisClientType
    let lastError = ''
    const onError = (e: Error) => {
      // node-redis reconnects by itself; log each distinct failure once, not every retry.
      if (e.message !== lastError) opts.log(`redis: ${e.message || e.name}`)
      lastError = e.message
    }
    this.cmd.on('error', onError)
    this.sub.on('error', onError)
    this.cmd.on('ready', () => {
      lastError = ''
      void this.tick()
    })
  }

  /** Call `fn` on every tick while Redis is up (re-stamping what the caller owns). */
  onTick(fn: () => Promise<void>): void {
    this.ticks.push(fn)
  }

  /** Call `fn` once before the link closes, while Redis may still answer (withdrawing what it owns). */
  onClose(fn: () => Promise<void>): void {
    this.closers.push(fn)
  }

  /** Connect both clients and subscribe to `channel`; waits at most CONNECT_WAIT_MS, never rejects. */
  async start(channel: string, onMessage: (message: string) => void): Promise<void> {
    const connecting = Promise.all([
      this.cmd.connect(),
      this.sub.connect().then(() => this.sub.subscribe(channel, onMessage)),
    ]).catch((e: unknown) => this.opts.log(`redis: ${String(e)}`))
    let wait: NodeJS.Timeout | undefined
    await Promise.race([connecting, new Promise((r) => (wait = setTimeout(r, CONNECT_WAIT_MS)))])
    clearTimeout(wait)
    if (!this.up()) {
      this.opts.log(`redis at ${redactUrl(this.opts.url)} is not answering; serving local members only`)
    }
    this.timer = setInterval(() => void this.tick(), this.refreshMs)
    this.timer.unref()
  }

  up(): boolean {
    return !this.closed && this.cmd.isReady && this.sub.isReady
  }

  stats(): RedisLinkStats {
    return { up: this.up(), ...this.counters }
  }

  /** Run a script (by hash; by text after a Redis restart emptied its script cache). */
  async run(s: Script, keys: string[], args: (string | number)[]): Promise<unknown> {
    const started = performance.now()
    const tail = [String(keys.length), ...keys, ...args.map(String)]
    try {
      try {
        return await this.cmd.sendCommand(['EVALSHA', s.sha, ...tail])
      } catch (e) {
        if (!(e instanceof Error) || !e.message.startsWith('NOSCRIPT')) throw e
        return await this.cmd.sendCommand(['EVAL', s.lua, ...tail])
      }
    } catch (e) {
      this.counters.errors += 1
      throw e
    } finally {
      this.counters.commands += 1
      this.counters.commandMs += performance.now() - started
    }
  }

  /** Run a script if Redis is up; undefined (and the caller falls back to local state) otherwise. */
  async attempt(
    s: Script,
    keys: string[],
    args: (string | number)[],
  ): Promise<{ reply: unknown } | undefined> {
    if (!this.up()) return undefined
    try {
      return { reply: await this.run(s, keys, args) }
    } catch {
      return undefined
    }
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.closed) return
    const up = this.up()
    if (up !== this.wasUp) {
      this.opts.log(
        up ? 'redis is answering; state is shared again' : 'redis is not answering; serving locally',
      )
    }
    this.wasUp = up
    if (!up) return
    this.ticking = true
    try {
      const started = performance.now()
      await this.cmd.ping()
      this.counters.latencyMs = performance.now() - started
      for (const fn of this.ticks) await fn()
    } catch {
      // Counted in errors; the next tick tries again.
    } finally {
      this.ticking = false
    }
  }

  /** Stop ticking, let every user withdraw what it owns, and disconnect. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return
    clearInterval(this.timer)
    for (const fn of this.closers.splice(0)) await fn().catch(() => {})
    this.closed = true
    for (const c of [this.cmd, this.sub]) {
      // A client still retrying would wait for Redis to close politely: drop it at once instead.
      if (c.isReady) await c.close().catch(() => c.destroy())
      else if (c.isOpen) c.destroy()
    }
  }

  /** Stop ticking, but keep the connection for a last withdrawal. */
  stopTicking(): void {
    clearInterval(this.timer)
  }
}

/** Items in batches of `size`, flattened by `flat` (bounds one script call's arguments). */
export function* batches<T>(
  items: Iterable<T>,
  size: number,
  flat: (item: T) => string[],
): Generator<string[]> {
  let batch: string[] = []
  let n = 0
  for (const item of items) {
    batch.push(...flat(item))
    if (++n >= size) {
      yield batch
      batch = []
      n = 0
    }
  }
  if (n > 0) yield batch
}

/** The URL without its password, for logs. */
function redactUrl(url: string): string {
  const u = new URL(url)
  if (u.password) u.password = '***'
  return u.toString()
}
