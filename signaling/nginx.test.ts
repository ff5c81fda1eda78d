/**
 * The README's deployment, tested as written: nginx (docs/deploy/nginx-dcmx.conf) in front of two
 * signaling server processes on one redis-server, all real and on loopback.
 */
import { afterAll, afterEach, expect, it } from 'vitest'
import { SignalingClient } from '../src/core/signaling-client.ts'
import type { PeerRef } from '../src/core/signaling-protocol.ts'
import { openWsSocket, realClock } from '../src/core/testing/ws-socket.ts'
import {
  removeAppDir,
  startNginx,
  startRedis,
  startServerProcess,
  type NginxProcess,
  type RedisProcess,
  type ServerProcess,
} from './redis-test-helpers.ts'
import { get, parsePrometheus, peerId, until } from './test-helpers.ts'

const running: {
  nginx?: NginxProcess
  redis?: RedisProcess
  servers: ServerProcess[]
  clients: SignalingClient[]
} = {
  servers: [],
  clients: [],
}
afterEach(async () => {
  for (const c of running.clients.splice(0)) c.stop()
  await running.nginx?.stop()
  await Promise.all(running.servers.splice(0).map((s) => s.kill()))
  await running.redis?.stop()
})
afterAll(removeAppDir)

const connections = async (s: ServerProcess) =>
  parsePrometheus(await (await get(s, '/metrics')).text()).value('dcmx_signaling_connections')

/** Redis, two servers and nginx in front, as the README sets them up; `node()` joins a client through nginx. */
async function deployment() {
  const redis = (running.redis = await startRedis())
  running.servers.push(
    ...(await Promise.all([
      startServerProcess(['--trust-proxy', '--redis', redis.url]),
      startServerProcess(['--trust-proxy', '--redis', redis.url]),
    ])),
  )
  const [s1, s2] = running.servers as [ServerProcess, ServerProcess]
  const lb = (running.nginx = await startNginx([s1, s2].map((s) => new URL(s.url).host)))
  const node = () => {
    const client = new SignalingClient({
      url: lb.wsUrl,
      room: 'r',
      peerId: peerId(),
      openSocket: openWsSocket,
      clock: realClock,
      random: Math.random,
      backoff: { baseMs: 50, maxMs: 400 },
    })
    running.clients.push(client)
    const heard: PeerRef[] = []
    client.events.on('signal', (from) => heard.push(from))
    client.start()
    return { client, heard }
  }
  return { s1, s2, node }
}

const session = (c: SignalingClient) => (c.state.state === 'online' ? c.state.session : '')
/** x's signal reaches y (a renegotiate: the smallest valid signal). */
async function signals(x: { client: SignalingClient }, y: { client: SignalingClient; heard: PeerRef[] }) {
  x.client.signal(session(y.client), { type: 'renegotiate', renegotiate: true })
  await until(() => y.heard.some((p) => p.session === session(x.client)))
}

it('behind nginx: members spread over both servers, link across them, and survive one server dying', async () => {
  const { s1, s2, node } = await deployment()
  const a = node()
  await until(() => a.client.state.state === 'online', 5_000)
  const b = node()
  await until(() => b.client.state.state === 'online', 5_000)
  // least_conn: the second socket went to the other server.
  expect([await connections(s1), await connections(s2)]).toEqual([1, 1])

  await signals(a, b)
  await signals(b, a)

  // Server 1 dies; nginx sends its member's reconnect to server 2, and the two link again.
  const before = [session(a.client), session(b.client)]
  await s1.kill()
  const moved = () =>
    [a, b].find((n, i) => n.client.state.state === 'online' && session(n.client) !== before[i])
  await until(() => moved() !== undefined, 10_000)
  const onS1 = moved()!
  const other = onS1 === a ? b : a
  expect(session(other.client)).toBe(before[other === a ? 0 : 1])
  expect(await connections(s2)).toBe(2)
  await signals(onS1, other)
  await signals(other, onS1)
}, 60_000) // two server processes, nginx and Redis start first

it('behind nginx: a server draining on SIGTERM is skipped, and its member comes back through the other', async () => {
  const { s1, s2, node } = await deployment()
  const a = node()
  await until(() => a.client.state.state === 'online', 5_000)
  const b = node()
  await until(() => b.client.state.state === 'online', 5_000)
  const before = [session(a.client), session(b.client)]
  const exit = s2.terminate()
  // While s2 drains (it refuses new sockets with 503), nginx passes its member's new socket to s1.
  await until(
    () =>
      [a, b].every((n) => n.client.state.state === 'online') &&
      before.some((s, i) => s !== session([a, b][i]!.client)),
    10_000,
  )
  expect(await exit).toBe(0)
  expect(await connections(s1)).toBe(2)
  await signals(a, b)
  await signals(b, a)
}, 60_000)
