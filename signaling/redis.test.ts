/**
 * Scale-out on a real Redis: two signaling server processes share one `redis-server`, each started and
 * stopped here on free loopback ports. No mocks: the faults are real kills of real processes.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { SignalingClient, type SocketLike } from '../src/core/signaling-client.ts'
import type { PeerRef, SignalData } from '../src/core/signaling-protocol.ts'
import { openWsSocket, realClock } from '../src/core/testing/ws-socket.ts'
import { DEFAULT_MEMBER_TTL_MS, DEFAULT_REFRESH_MS } from './redis-rooms.ts'
import {
  freePort,
  removeAppDir,
  startRedis,
  startServerProcess,
  type RedisProcess,
  type ServerProcess,
} from './redis-test-helpers.ts'
import {
  cleanup,
  get,
  joinRoom,
  parsePrometheus,
  peerId,
  sessions,
  start,
  until,
  type Joined,
} from './test-helpers.ts'

/** Long enough for a dead server's entries to expire and be noticed. */
const EXPIRY_WAIT_MS = DEFAULT_MEMBER_TTL_MS + 2 * DEFAULT_REFRESH_MS + 2_000

const started: { redis: RedisProcess[]; servers: ServerProcess[]; clients: SignalingClient[] } = {
  redis: [],
  servers: [],
  clients: [],
}

afterEach(async () => {
  for (const c of started.clients.splice(0)) c.stop()
  await cleanup()
  await Promise.all(started.servers.splice(0).map((s) => s.kill()))
  await Promise.all(started.redis.splice(0).map((r) => r.stop()))
})
afterAll(removeAppDir)

async function cluster() {
  const redis = await startRedis()
  started.redis.push(redis)
  const [s1, s2] = await Promise.all([
    startServerProcess(['--redis', redis.url]),
    startServerProcess([], { DCMX_REDIS_URL: redis.url }),
  ])
  started.servers.push(s1!, s2!)
  return { redis, s1: s1!, s2: s2! }
}

const candidate = (n: number): SignalData => ({
  type: 'candidate',
  candidate: { candidate: `candidate:${n} 1 udp 1 192.0.2.1 9 typ host`, sdpMid: '0', sdpMLineIndex: 0 },
})

async function relays(from: Joined, to: Joined, n: number) {
  from.send({ type: 'signal', to: to.session, data: candidate(n) })
  const got = await to.expect('signal')
  expect(got).toEqual({
    type: 'signal',
    from: { session: from.session, peerId: from.peerId },
    data: candidate(n),
  })
}

/** A SignalingClient in room `r` whose every new socket goes to the next server (a load balancer's part). */
function balancedClient(servers: ServerProcess[], id: string): SignalingClient {
  let next = 0
  const client = new SignalingClient({
    url: 'lb',
    room: 'r',
    peerId: id,
    openSocket: (): SocketLike => openWsSocket(servers[next++ % servers.length]!.wsUrl),
    clock: realClock,
    random: Math.random,
    backoff: { baseMs: 50, maxMs: 400 },
  })
  started.clients.push(client)
  return client
}

/** Pause between polls that cost a message each, to stay within the per-client rate limit. */
const pace = () => new Promise((r) => setTimeout(r, 200))

const health = async (s: Pick<ServerProcess, 'url'>) =>
  (await get(s, '/healthz')).json() as Promise<Record<string, unknown>>
const metrics = async (s: Pick<ServerProcess, 'url'>) =>
  parsePrometheus(await (await get(s, '/metrics')).text())

// Each test starts two server processes (tsx compiles them: seconds on a loaded machine) and waits
// out member expiry (about 10 s), more than the default test timeout.
describe('rooms on Redis', { timeout: 60_000 }, () => {
  it('two servers on one Redis: members see each other in samples and lookups, relay both ways, see departures', async () => {
    const { s1, s2 } = await cluster()
    const a = await joinRoom(s1, 'r')
    const b = await joinRoom(s2, 'r')
    expect(b.joined.peers).toEqual([{ session: a.session, peerId: a.peerId }])
    const other = await joinRoom(s2, 'elsewhere')
    expect(other.joined.peers).toEqual([])

    a.send({ type: 'sample' })
    expect((await a.expect('sample')).peers).toEqual([{ session: b.session, peerId: b.peerId }])
    a.send({ type: 'lookup', peerIds: [b.peerId, other.peerId, peerId()] })
    expect((await a.expect('sample')).peers).toEqual([{ session: b.session, peerId: b.peerId }])
    b.send({ type: 'lookup', peerIds: [a.peerId] })
    expect((await b.expect('sample')).peers).toEqual([{ session: a.session, peerId: a.peerId }])

    await relays(a, b, 1)
    await relays(b, a, 2)
    // Rooms stay apart across servers too.
    a.send({ type: 'signal', to: other.session, data: candidate(3) })
    expect((await a.expect('error')).code).toBe('UNKNOWN_PEER')
    await other.silence()

    const m1 = await metrics(s1)
    expect(m1.value('dcmx_signaling_cross_server_relayed_total', '{direction="out"}')).toBe(1)
    expect(m1.value('dcmx_signaling_cross_server_relayed_total', '{direction="in"}')).toBe(1)
    expect(m1.value('dcmx_signaling_redis_up')).toBe(1)
    expect(m1.value('dcmx_signaling_redis_commands_total')).toBeGreaterThan(0)
    await until(
      async () => ((await metrics(s1)).value('dcmx_signaling_redis_latency_seconds') ?? NaN) >= 0,
      5_000,
    )
    expect(await health(s1)).toMatchObject({ ok: true, degraded: false, redis: 'up' })

    // A departure (socket closed on server 2) is visible on server 1 at once.
    b.ws.close()
    await until(async () => {
      await pace()
      a.send({ type: 'sample' })
      return (await a.expect('sample')).peers.length === 0
    })
    a.send({ type: 'lookup', peerIds: [b.peerId] })
    expect((await a.expect('sample')).peers).toEqual([])
    a.send({ type: 'signal', to: b.session, data: candidate(4) })
    expect((await a.expect('error')).code).toBe('UNKNOWN_PEER')
  })

  it('Redis killed mid-session: both servers serve their local members; restarted: cross-server relay resumes', async () => {
    const { redis, s1, s2 } = await cluster()
    const a = await joinRoom(s1, 'r')
    const b = await joinRoom(s2, 'r')
    await relays(a, b, 1)

    await redis.kill()
    await until(async () => (await health(s1)).degraded === true && (await health(s2)).degraded === true)
    expect(await health(s1)).toMatchObject({ ok: true, redis: 'down' })
    expect((await metrics(s2)).value('dcmx_signaling_redis_up')).toBe(0)
    // Local members still meet and signal each other on each server.
    const a2 = await joinRoom(s1, 'r')
    expect(a2.joined.peers).toEqual([{ session: a.session, peerId: a.peerId }])
    await relays(a2, a, 2)
    const b2 = await joinRoom(s2, 'r')
    b2.send({ type: 'lookup', peerIds: [b.peerId, a.peerId] })
    expect((await b2.expect('sample')).peers).toEqual([{ session: b.session, peerId: b.peerId }])
    await relays(b, b2, 3)
    // A member on the other server cannot be reached now: a clear error, and the socket stays usable.
    a.send({ type: 'signal', to: b.session, data: candidate(4) })
    expect((await a.expect('error')).code).toBe('UNKNOWN_PEER')

    // Redis comes back empty; both servers re-add their members without a restart.
    await redis.restart()
    await until(async () => (await health(s1)).redis === 'up' && (await health(s2)).redis === 'up', 10_000)
    await until(async () => {
      await pace()
      a.send({ type: 'sample' })
      return (await a.expect('sample')).peers.length === 3
    }, 10_000)
    await relays(a, b, 5)
    await relays(b2, a2, 6)
    expect(s1.child.exitCode).toBeNull()
    expect(s2.child.exitCode).toBeNull()
  })

  it('one server killed: its members reconnect to the other, re-link, and its stale entries expire', async () => {
    const { s1, s2 } = await cluster()
    const b = await joinRoom(s2, 'r')
    const id = peerId()
    const a = balancedClient([s1, s2], id)
    const signals: [PeerRef, SignalData][] = []
    a.events.on('signal', (from, data) => signals.push([from, data]))
    a.start()
    await until(() => a.state.state === 'online', 5_000)
    const firstSession = a.state.state === 'online' ? a.state.session : ''
    b.send({ type: 'signal', to: firstSession, data: candidate(1) })
    await until(() => signals.length === 1)

    await s1.kill()
    await until(() => a.state.state === 'online' && a.state.session !== firstSession, 10_000)
    const secondSession = a.state.state === 'online' ? a.state.session : ''
    // The dead server's entry lingers until its TTL, then only the new session remains.
    await until(async () => {
      await pace()
      b.send({ type: 'lookup', peerIds: [id] })
      return sessions((await b.expect('sample')).peers).join() === secondSession
    }, EXPIRY_WAIT_MS)
    b.send({ type: 'signal', to: secondSession, data: candidate(2) })
    await until(() => signals.length === 2)
    expect(signals[1]![0]).toEqual({ session: b.session, peerId: b.peerId })
    a.signal(b.session, candidate(3))
    expect((await b.expect('signal')).from.session).toBe(secondSession)
  })

  it('SIGTERM drains: members are withdrawn at once, told to reconnect, and come back through the other server', async () => {
    const { s1, s2 } = await cluster()
    const b = await joinRoom(s2, 'r')
    const id = peerId()
    const a = balancedClient([s1, s2], id)
    const states: string[] = []
    a.events.on('state', (s) =>
      states.push(s.state === 'reconnecting' ? `reconnecting: ${s.lastError}` : s.state),
    )
    a.start()
    await until(() => a.state.state === 'online', 5_000)
    const firstSession = a.state.state === 'online' ? a.state.session : ''

    const exit = s1.terminate()
    // Withdrawn before the client is even back: b no longer finds the old session.
    await until(async () => {
      await pace()
      b.send({ type: 'lookup', peerIds: [id] })
      return !sessions((await b.expect('sample')).peers).includes(firstSession)
    }, 3_000)
    expect(await exit).toBe(0)
    expect(states).toContain('reconnecting: the server is shutting down')
    await until(() => a.state.state === 'online' && a.state.session !== firstSession, 10_000)
    const secondSession = a.state.state === 'online' ? a.state.session : ''
    b.send({ type: 'lookup', peerIds: [id] })
    expect(sessions((await b.expect('sample')).peers)).toEqual([secondSession])
  })

  it('starts while Redis is unreachable, serves locally, and joins the shared rooms once Redis is there', async () => {
    const port = await freePort()
    const url = `redis://127.0.0.1:${port}`
    const lonely = await start({ redis: url })
    expect(await health(lonely)).toMatchObject({ ok: true, degraded: true, redis: 'down' })
    const a = await joinRoom(lonely, 'r')
    const a2 = await joinRoom(lonely, 'r')
    expect(a2.joined.peers).toEqual([{ session: a.session, peerId: a.peerId }])
    await relays(a, a2, 1)

    const redis = await startRedis(port)
    started.redis.push(redis)
    await until(async () => (await health(lonely)).redis === 'up', 10_000)
    const other = await start({ redis: url })
    // The members that joined while Redis was away are in the shared room by the next refresh.
    await until(async () => {
      await pace()
      const b = await joinRoom(other, 'r')
      b.ws.close()
      return b.joined.peers.length === 2
    }, 5_000)
    const b = await joinRoom(other, 'r')
    await relays(b, a, 2)
    await relays(a2, b, 3)
  })
})
