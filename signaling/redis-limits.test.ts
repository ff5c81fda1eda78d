/**
 * Per-client limits across servers: one address cannot multiply its socket cap or its message budget
 * by spreading its sockets over several servers on one Redis (a real redis-server).
 */
import { createClient } from 'redis'
import { afterEach, describe, expect, it } from 'vitest'
import { DEFAULT_BUDGET_WINDOW_MS } from './redis-client-limits.ts'
import { DEFAULT_REFRESH_MS } from './redis-link.ts'
import { startRedis, type RedisProcess } from './redis-test-helpers.ts'
import { cleanup, connect, joinRoom, openSocket, start, until } from './test-helpers.ts'

const redisProcesses: RedisProcess[] = []
afterEach(async () => {
  await cleanup()
  await Promise.all(redisProcesses.splice(0).map((r) => r.stop()))
})

async function redis() {
  const r = await startRedis()
  redisProcesses.push(r)
  return r
}

/** Wait until Redis's clock is early in a budget window, so a test of a few seconds fits in one. */
async function startOfWindow(url: string) {
  const client = createClient({ url })
  await client.connect()
  try {
    for (;;) {
      const [s, us] = (await client.sendCommand(['TIME'])) as [string, string]
      const inWindow = (Number(s) * 1000 + Math.floor(Number(us) / 1000)) % DEFAULT_BUDGET_WINDOW_MS
      if (inWindow < 300) return
      await new Promise((r) => setTimeout(r, Math.min(500, DEFAULT_BUDGET_WINDOW_MS - inWindow)))
    }
  } finally {
    await client.close()
  }
}

// The budget test waits for the start of a 10 s window, then for two settling ticks.
describe('per-client limits on Redis', { timeout: 40_000 }, () => {
  it('counts one address’s sockets over all servers, and frees a slot on close', async () => {
    const { url } = await redis()
    const opts = { redis: url, maxSocketsPerIp: 3 }
    const [s1, s2] = [await start(opts), await start(opts)]
    const first = await connect(s1)
    await connect(s1)
    await connect(s2)
    // Server 2 holds only one of them, but the address is at its cap of 3.
    await expect(openSocket(s2.wsUrl)).rejects.toThrow(/429/)
    await expect(openSocket(s1.wsUrl)).rejects.toThrow(/429/)
    expect(s2.metrics().upgradesRefused.ip_full).toBe(1)
    // Closing one on server 1 frees a slot on server 2.
    first.ws.close()
    await first.closed
    await until(async () => {
      try {
        ;(await openSocket(s2.wsUrl)).close()
        return true
      } catch {
        return false
      }
    })
  })

  it('settles one address’s message budget over all servers', async () => {
    const { url } = await redis()
    // Window budget: 1/s × 10 s + 10 = 20 messages per address over all servers.
    const opts = { redis: url, ipRateLimit: { perSecond: 1, burst: 10 } }
    const [s1, s2] = [await start(opts), await start(opts)]
    await startOfWindow(url)
    const x = await joinRoom(s1, 'r')
    const y = await joinRoom(s2, 'r')
    // Each server alone sees at most 10 + 1/s: within its own budget, never refused locally.
    for (let i = 0; i < 7; i++) {
      x.send({ type: 'leave' })
      y.send({ type: 'leave' })
    }
    await new Promise((r) => setTimeout(r, 2_200))
    for (let i = 0; i < 3; i++) {
      x.send({ type: 'leave' })
      y.send({ type: 'leave' })
    }
    await x.silence()
    await y.silence()
    // 2 joins + 20 leaves > 20 in this window: once the servers have settled, both refuse.
    // Within two ticks (1.5 s each): one to settle each server's share, one to learn the total.
    await new Promise((r) => setTimeout(r, 2 * DEFAULT_REFRESH_MS + 500))
    x.send({ type: 'leave' })
    const refused = await x.expect('error')
    expect(refused).toMatchObject({ code: 'RATE_LIMITED', message: expect.stringMatching(/your network/) })
    y.send({ type: 'leave' })
    expect((await y.expect('error')).code).toBe('RATE_LIMITED')
    expect(s1.metrics().refused.ip_rate).toBeGreaterThan(0)
    expect(s2.metrics().refused.ip_rate).toBeGreaterThan(0)
  })

  it('falls back to each server’s own caps while Redis is down', async () => {
    const r = await redis()
    const opts = { redis: r.url, maxSocketsPerIp: 2 }
    const [s1, s2] = [await start(opts), await start(opts)]
    await connect(s1)
    await r.kill()
    await until(() => s1.metrics().shared.backend === 'redis' && !(s1.metrics().shared as { up: boolean }).up)
    await until(() => !(s2.metrics().shared as { up: boolean }).up)
    // Server 2 cannot see server 1's socket now: its own cap applies.
    await connect(s2)
    await connect(s2)
    await expect(openSocket(s2.wsUrl)).rejects.toThrow(/429/)
    await connect(s1)
    await expect(openSocket(s1.wsUrl)).rejects.toThrow(/429/)
  })
})
