/** The in-process parts of scale-out: the --redis option, and a drain (which works without Redis too). */
import { afterEach, describe, expect, it } from 'vitest'
import { parseConfig } from './config.ts'
import { DRAIN_GRACE_MS } from './drain.ts'
import { startSignaling } from './server.ts'
import { cleanup, get, joinRoom, openSocket, start } from './test-helpers.ts'

afterEach(cleanup)

describe('--redis / DCMX_REDIS_URL', () => {
  const config = (argv: string[], env: Record<string, string> = {}) => {
    const r = parseConfig(argv, env)
    return r.ok && r.value.kind === 'run' ? r.value.config : r
  }

  it('is off by default, read from the flag or the environment, the flag first', () => {
    expect(config([])).not.toHaveProperty('redis')
    expect(config([], { DCMX_REDIS_URL: 'redis://10.0.0.5:6379' })).toMatchObject({
      redis: 'redis://10.0.0.5:6379',
    })
    expect(
      config(['--redis', 'rediss://user:pw@cache.internal:6380/2'], { DCMX_REDIS_URL: 'redis://x:1' }),
    ).toMatchObject({ redis: 'rediss://user:pw@cache.internal:6380/2' })
  })

  it('refuses anything but a redis:// or rediss:// URL, with a sentence naming the source', () => {
    expect(config(['--redis', 'http://cache:6379'])).toEqual({
      ok: false,
      error: '--redis: expected a redis:// or rediss:// URL, got "http://cache:6379"',
    })
    expect(config([], { DCMX_REDIS_URL: 'cache:6379' })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^DCMX_REDIS_URL: /),
    })
    expect(config(['--redis'])).toMatchObject({ ok: false })
  })

  it('is validated by startSignaling too', async () => {
    await expect(startSignaling({ port: 0, redis: 'nonsense', log: () => {} })).rejects.toThrow(
      /redis must be a redis:\/\/ or rediss:\/\/ URL/,
    )
  })
})

describe('drain', () => {
  it('tells every member to reconnect within the spread, answers 503 on /healthz meanwhile, and refuses new sockets', async () => {
    const server = await start()
    const a = await joinRoom(server, 'r')
    const b = await joinRoom(server, 'r')
    const t0 = performance.now()
    const closed = server.close({ drainMs: 400 })
    expect(await a.expect('reconnect')).toEqual({ type: 'reconnect', withinMs: 400 })
    expect(await b.expect('reconnect')).toEqual({ type: 'reconnect', withinMs: 400 })
    const health = await get(server, '/healthz')
    expect(health.status).toBe(503)
    expect(await health.json()).toMatchObject({ ok: false, draining: true })
    await expect(openSocket(server.wsUrl)).rejects.toThrow(/503/)
    // Frames sent while draining are ignored: the member is already out of its room.
    b.send({ type: 'sample' })
    a.ws.close() // a well-behaved client goes at once ...
    await closed // ... b does not, and is cut after the spread and the grace.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(400 + DRAIN_GRACE_MS - 50)
    expect((await b.closed).code).toBe(1006)
    expect(b.pending()).toBe(0)
  })

  it('returns as soon as every member has gone', async () => {
    const server = await start()
    const a = await joinRoom(server, 'r')
    a.ws.on('message', (text) => {
      if (String(text).includes('"reconnect"')) a.ws.close()
    })
    const t0 = performance.now()
    await server.close({ drainMs: 5_000 })
    expect(performance.now() - t0).toBeLessThan(2_000)
  })
})
