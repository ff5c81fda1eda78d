/**
 * Relay latency of the signaling server: real `ws` clients spread over rooms send ICE candidates to
 * random peers in their room; each receiver measures send-to-receive time. Server and clients share
 * one process and one event loop, so the figures include client-side work and event-loop queueing
 * (an upper bound for the server's own cost). Measures only; asserts nothing.
 *
 * CLI: `tsx signaling/relay-bench.ts [--clients 200] [--rooms 10] [--messages 20]` prints JSON.
 */
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { WebSocket } from 'ws'
import { decodeServerMessage, type ClientMessage, type PeerRef } from '../src/core/signaling-protocol.ts'
import { startSignaling } from './server.ts'

/** Hard cap on one run, so a stuck bench can never hang CI. */
const BENCH_TIMEOUT_MS = 60_000
/** Each client sends at most one message per 50 ms (20/s, like trickle ICE): 200 clients ≈ 4000 msg/s. */
const SEND_INTERVAL_MS = 50
/** Upper bounds on the inputs, to keep a run bounded in memory and time. */
const MAX_CLIENTS = 2_000
const MAX_MESSAGES_PER_CLIENT = 1_000
/** Default CLI run: 200 clients in rooms of 20, 20 messages each. */
const DEFAULTS = { clients: 200, rooms: 10, messagesPerClient: 20 }

/** What to run: how many clients, spread over how many rooms, each sending how many messages. */
export type RelayBenchOptions = { clients: number; rooms: number; messagesPerClient: number }
/** Latency percentiles over all relayed messages, and the time to connect every client. */
export type RelayBenchResult = {
  clients: number
  samples: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  connectMs: number
}

type BenchClient = {
  ws: WebSocket
  index: number
  session: string
  peers: PeerRef[]
  /** Called with the type of every message while the bench waits for one kind. */
  waiting: ((type: string) => void) | undefined
}

const STAMP = /^candidate:(\d+(?:\.\d+)?) /

/** Nearest-rank percentile of an ascending array; NaN when empty. */
function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN
}

const round = (ms: number) => Math.round(ms * 1000) / 1000

/** Start a private server, run the relay workload against it, close everything, return percentiles. */
export async function measureRelayLatency(opts: RelayBenchOptions): Promise<RelayBenchResult> {
  const clients = Math.max(2, Math.min(MAX_CLIENTS, Math.floor(opts.clients)))
  const roomCount = Math.max(1, Math.min(clients, Math.floor(opts.rooms)))
  const perClient = Math.max(0, Math.min(MAX_MESSAGES_PER_CLIENT, Math.floor(opts.messagesPerClient)))
  const deadline = performance.now() + BENCH_TIMEOUT_MS
  const server = await startSignaling({
    host: '127.0.0.1',
    port: 0,
    log: () => {},
    maxConnections: clients + 16,
    maxRoomSize: clients,
    // The bench paces itself; the server's per-client budget must not be what is measured.
    rateLimit: { perSecond: 10_000, burst: 10_000 },
    // Every client comes from 127.0.0.1: one address's caps would be what is measured otherwise.
    // The per-pair relay budget and the recipient's buffer check stay on the relay path.
    maxSocketsPerIp: clients + 16,
    maxHttpConnectionsPerIp: clients + 16,
    ipRateLimit: { perSecond: 1_000_000, burst: 1_000_000 },
  })
  const latencies: number[] = []
  const open: BenchClient[] = []
  let timedOut = false
  const timeLeft = () => deadline - performance.now()

  /** Wait for each client to receive a message of `type` (welcome, joined, sample). */
  const awaitAll = (list: BenchClient[], type: string, send?: (c: BenchClient) => void) =>
    Promise.all(
      list.map(
        (c) =>
          new Promise<void>((resolve) => {
            c.waiting = (t) => {
              if (t !== type) return
              c.waiting = undefined
              resolve()
            }
            send?.(c)
          }),
      ),
    )

  const withDeadline = async (p: Promise<unknown>) => {
    let timer: NodeJS.Timeout | undefined
    const expired = new Promise<void>((resolve) => {
      timer = setTimeout(
        () => {
          timedOut = true
          resolve()
        },
        Math.max(0, timeLeft()),
      )
    })
    await Promise.race([p, expired])
    clearTimeout(timer)
  }

  try {
    const connectStart = performance.now()
    const connecting = Array.from({ length: clients }, (_, index) => {
      const c: BenchClient = {
        ws: new WebSocket(server.wsUrl),
        index,
        session: '',
        peers: [],
        waiting: undefined,
      }
      open.push(c)
      c.ws.on('error', () => {})
      c.ws.on('message', (raw) => {
        const decoded = decodeServerMessage(String(raw))
        if (!decoded.ok) return
        const m = decoded.value
        if (m.type === 'welcome') c.session = m.session
        if (m.type === 'sample') c.peers = m.peers
        if (m.type === 'signal' && m.data.type === 'candidate') {
          const sent = STAMP.exec(m.data.candidate.candidate)?.[1]
          if (sent !== undefined) latencies.push(performance.now() - Number(sent))
        }
        c.waiting?.(m.type)
      })
      return c
    })
    await withDeadline(awaitAll(connecting, 'welcome'))
    const connectMs = performance.now() - connectStart
    const send = (c: BenchClient, m: ClientMessage) => {
      if (c.ws.readyState === WebSocket.OPEN) c.ws.send(JSON.stringify(m))
    }
    const hex = (i: number) => i.toString(16).padStart(32, '0')
    if (!timedOut) {
      await withDeadline(
        awaitAll(open, 'joined', (c) =>
          send(c, {
            type: 'join',
            room: `bench-${c.index % roomCount}`,
            peerId: hex(c.index),
          }),
        ),
      )
    }
    // Sample after everyone has joined, so early joiners see a full room too.
    if (!timedOut) await withDeadline(awaitAll(open, 'sample', (c) => send(c, { type: 'sample' })))

    let sent = 0
    if (!timedOut) {
      const sending = open.map(
        (c) =>
          new Promise<void>((resolve) => {
            let left = c.peers.length > 0 ? perClient : 0
            const tick = () => {
              if (left <= 0 || timedOut) return resolve()
              left -= 1
              const peer = c.peers[Math.floor(Math.random() * c.peers.length)]
              if (peer) {
                const stamp = performance.now().toFixed(4)
                const candidate = `candidate:${stamp} 1 udp 2122260223 192.0.2.1 9 typ host`
                send(c, {
                  type: 'signal',
                  to: peer.session,
                  data: { type: 'candidate', candidate: { candidate, sdpMid: '0', sdpMLineIndex: 0 } },
                })
                sent += 1
              }
              setTimeout(tick, SEND_INTERVAL_MS)
            }
            // Spread the first sends over one interval so clients do not fire in lockstep.
            setTimeout(tick, Math.random() * SEND_INTERVAL_MS)
          }),
      )
      await withDeadline(Promise.all(sending))
      await withDeadline(
        new Promise<void>((resolve) => {
          const check = () => (latencies.length >= sent || timedOut ? resolve() : setTimeout(check, 5))
          check()
        }),
      )
    }
    const sorted = latencies.slice().sort((a, b) => a - b)
    return {
      clients,
      samples: sorted.length,
      p50Ms: round(percentile(sorted, 0.5)),
      p99Ms: round(percentile(sorted, 0.99)),
      maxMs: round(sorted[sorted.length - 1] ?? NaN),
      connectMs: round(connectMs),
    }
  } finally {
    timedOut = true // stops any pending send loop
    for (const c of open) c.ws.terminate()
    await server.close()
  }
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href
if (invokedDirectly) {
  const { values } = parseArgs({
    options: {
      clients: { type: 'string', default: String(DEFAULTS.clients) },
      rooms: { type: 'string', default: String(DEFAULTS.rooms) },
      messages: { type: 'string', default: String(DEFAULTS.messagesPerClient) },
    },
  })
  const result = await measureRelayLatency({
    clients: Number(values.clients),
    rooms: Number(values.rooms),
    messagesPerClient: Number(values.messages),
  })
  console.log(JSON.stringify(result, null, 2))
}
