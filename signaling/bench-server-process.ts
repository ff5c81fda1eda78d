/**
 * One signaling server in a process of its own, for the scale-out bench (relay-bench.ts forks it):
 * started with the bench's raised limits, answering `rss` requests over the IPC channel.
 */
import { startSignaling } from './server.ts'

type Command = { cmd: 'rss' } | { cmd: 'close' }

const redis = process.env.DCMX_BENCH_REDIS
const maxConnections = Number(process.env.DCMX_BENCH_MAX_CONNECTIONS ?? '25000')
const server = await startSignaling({
  host: '127.0.0.1',
  port: 0,
  log: () => {},
  ...(redis ? { redis } : {}),
  // Raised for the bench: it measures what one process holds, not where the defaults stop it.
  maxConnections,
  maxRoomSize: maxConnections,
  rateLimit: { perSecond: 100_000, burst: 100_000 },
  // Every bench client comes from 127.0.0.1: the per-address limits would be what is measured.
  maxSocketsPerIp: maxConnections,
  ipRateLimit: { perSecond: 1_000_000, burst: 1_000_000 },
  relayPairLimit: { perSecond: 100_000, burst: 100_000 },
})
const send = (m: unknown) => process.send?.(m)
send({ ready: true, wsUrl: server.wsUrl })
process.on('message', (m: Command) => {
  if (m.cmd === 'rss') {
    // With --expose-gc, collect first so the figure is what the sockets hold, not garbage.
    ;(globalThis as { gc?: () => void }).gc?.()
    const { rss, heapUsed } = process.memoryUsage()
    send({ rss, heapUsed, connections: server.metrics().connections })
  } else if (m.cmd === 'close') {
    void server.close().then(() => process.exit(0))
  }
})
process.on('disconnect', () => process.exit(0))
