/**
 * Socket-level attacks from one address: a flood of sockets, sockets that never join, a message
 * flood spread over many sockets, a forged X-Forwarded-For, and a foreign web page's Origin.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import {
  ATTACKER,
  client,
  expectServerHealthy,
  member,
  metric,
  startTarget,
  stopAll,
  track,
  type Target,
} from './harness.ts'

afterEach(stopAll)

/** Try to open `n` sockets from `from`, `batch` at a time; resolves with the ones that opened. */
async function flood(
  target: Target,
  n: number,
  opts: { from?: string; batch?: number; headers?: (i: number) => Record<string, string> } = {},
): Promise<WebSocket[]> {
  const opened: WebSocket[] = []
  const batch = opts.batch ?? 250
  for (let i = 0; i < n; i += batch) {
    const round = Array.from({ length: Math.min(batch, n - i) }, (_, j) => {
      const ws = new WebSocket(target.wsUrl, {
        localAddress: opts.from ?? ATTACKER,
        ...(opts.headers ? { headers: opts.headers(i + j) } : {}),
      })
      track({ destroy: () => ws.terminate() })
      return new Promise<void>((resolve) => {
        ws.once('open', () => {
          opened.push(ws)
          resolve()
        })
        ws.once('error', () => resolve())
        ws.once('close', () => resolve())
      })
    })
    await Promise.all(round)
  }
  // Anything the server cut after opening does not count as held.
  await new Promise((r) => setTimeout(r, 200))
  return opened.filter((ws) => ws.readyState === WebSocket.OPEN)
}

describe('a flood of sockets from one address', () => {
  it('cuts 5,000 sockets from one address to the per-IP cap (32), and others still get in', async () => {
    const target = await startTarget()
    const held = await flood(target, 5_000)
    expect(held.length).toBe(32)
    expect(await metric(target, 'dcmx_signaling_upgrades_refused_total{reason="ip_full"}')).toBeGreaterThan(0)
    await expectServerHealthy(target)
    // A slot freed is a slot the same address may use again.
    held[0]!.close()
    await new Promise((r) => setTimeout(r, 200))
    expect((await flood(target, 5)).length).toBe(1)
  })
})

describe('sockets that never join', () => {
  it('closes a socket that has not joined within the deadline, and keeps one that joined', async () => {
    const target = await startTarget({ joinTimeoutMs: 800 })
    const idle = await Promise.all(Array.from({ length: 10 }, () => client(target, ATTACKER)))
    const joined = await member(target, ATTACKER, 'r')
    const codes = await Promise.race([
      Promise.all(idle.map((c) => c.closed)),
      new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 3_000)),
    ])
    expect(codes).toEqual(Array(10).fill(4008))
    expect(joined.isOpen()).toBe(true)
    // Leaving the room starts the clock again: a member cannot park a socket by joining once.
    joined.send({ type: 'leave' })
    expect(await joined.closed).toBe(4008)
    expect(await metric(target, 'dcmx_signaling_refused_total{reason="join_timeout"}')).toBe(11)
    await expectServerHealthy(target)
  })

  it('uses a 10 s join deadline by default', async () => {
    const target = await startTarget()
    const idle = await client(target, ATTACKER)
    const started = performance.now()
    expect(await idle.closed).toBe(4008)
    const took = performance.now() - started
    expect(took).toBeGreaterThan(9_000)
    expect(took).toBeLessThan(13_000)
    await expectServerHealthy(target)
  }, 20_000)
})

describe('a message flood spread over many sockets of one address', () => {
  it('holds one address to its message budget, whatever the number of sockets, and spares others', async () => {
    const target = await startTarget()
    const sockets = await Promise.all(Array.from({ length: 32 }, () => client(target, ATTACKER)))
    // Each socket stays within its own burst (120); together they are far over the address's budget.
    for (const s of sockets) for (let i = 0; i < 110; i++) s.send({ type: 'leave' })
    await new Promise((r) => setTimeout(r, 500))
    expect(await metric(target, 'dcmx_signaling_refused_total{reason="ip_rate"}')).toBeGreaterThan(1_000)
    await expectServerHealthy(target)
  })
})

describe('X-Forwarded-For and Forwarded', () => {
  const forwarded = (i: number) => ({ 'X-Forwarded-For': `198.51.100.${i % 250}` })

  it('ignores forwarding headers unless told to trust a proxy', async () => {
    const target = await startTarget()
    // 40 sockets claiming 40 different clients are still 40 sockets from one address.
    expect((await flood(target, 40, { headers: forwarded })).length).toBe(32)
    await expectServerHealthy(target)
  })

  it('with trustProxy, counts the address the proxy saw (the last entry) against the cap', async () => {
    const target = await startTarget({ trustProxy: true })
    const spoofed = (i: number) => ({ 'X-Forwarded-For': `198.51.100.${i}, 203.0.113.7` })
    expect((await flood(target, 40, { headers: spoofed })).length).toBe(32)
    const other = await flood(target, 3, { headers: () => ({ Forwarded: 'for="203.0.113.8:4711"' }) })
    expect(other.length).toBe(3)
    await expectServerHealthy(target)
  })
})

describe('Origin', () => {
  it('refuses a foreign web page by default and accepts the app’s own origin', async () => {
    const target = await startTarget()
    await expect(client(target, ATTACKER, { origin: 'https://evil.example' })).rejects.toThrow(/403/)
    await expect(
      client(target, ATTACKER, { origin: `http://127.0.0.1:${target.port}` }),
    ).resolves.toBeDefined()
    expect(await metric(target, 'dcmx_signaling_upgrades_refused_total{reason="origin"}')).toBe(1)
    await expectServerHealthy(target)
  })

  it("accepts any origin with allowedOrigins ['*']", async () => {
    const target = await startTarget({ allowedOrigins: ['*'] })
    await expect(client(target, ATTACKER, { origin: 'https://evil.example' })).resolves.toBeDefined()
  })
})
