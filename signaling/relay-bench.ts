/**
 * Relay latency of the signaling server. Two benches, both measuring only (they assert nothing):
 *
 * - `measureRelayLatency`: real `ws` clients spread over rooms send ICE candidates to random peers in
 *   their room; each receiver measures send-to-receive time. Server and clients share one process
 *   and one event loop, so the figures include client-side work and event-loop queueing (an upper
 *   bound for the server's own cost).
 * - `measureScaleOut` (`--scale-out`): servers and clients in processes of their own
 *   (bench-server-process.ts, bench-client-process.ts), one real redis-server: idle sockets one
 *   server holds and its RSS per socket; relay latency at a fixed rate for same-server and
 *   cross-server pairs, and the rate at which p99 passes 50 ms. Writes its section of
 *   docs/benchmarks.md.
 *
 * CLI: `tsx signaling/relay-bench.ts [--clients 200] [--rooms 10] [--messages 20]` prints JSON;
 * `tsx signaling/relay-bench.ts --scale-out [--idle 10000]` (`npm run bench:scale-out`) writes the doc.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { cpus, loadavg, totalmem } from 'node:os'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { WebSocket } from 'ws'
import { decodeServerMessage, type ClientMessage, type PeerRef } from '../src/core/signaling-protocol.ts'
import { writeBenchSection } from '../tests/bench/doc-section.ts'
import type { ClientCommand, IdleReport, RelayReport } from './bench-client-process.ts'
import { percentile } from './percentile.ts'
import { exited, startRedis } from './redis-test-helpers.ts'
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

/** Hard cap on a whole scale-out run: every child is killed past it. */
const SCALE_OUT_TIMEOUT_MS = 10 * 60_000
/** The fixed rate of the latency rows, in signals per second. */
const FIXED_RATE = 1_000
/** Sender/receiver pairs per latency run (each pair shares one room). */
const RELAY_PAIRS = 100
/** Rates tried, in order, until p99 passes the ceiling; bounded so a fast machine still stops. */
const SWEEP_RATES = [1_000, 2_000, 4_000, 6_000, 8_000, 12_000, 16_000, 24_000, 32_000]
const P99_CEILING_MS = 50
const WARMUP_MS = 500
const RUN_MS = 3_000
/** Most idle sockets the bench opens (the server process is given room for them). */
const MAX_IDLE = 18_000

export type ScaleOutOptions = { idle: number }
/** Runs per rate: the run with the median p99 is reported, so one pause of a shared machine does not decide. */
const RUNS_PER_RATE = 3
/** The median run at one rate, with the p99 of every run beside it. */
type RelayRow = RelayReport & { rate: number; p99Runs: number[] }
const overCeiling = (r: RelayRow) => !(r.p99Ms <= P99_CEILING_MS) || r.received < r.sent * 0.99
export type ScaleOutResult = {
  /** 1-minute load average at the start and the end of the run (other work on the machine). */
  load: [number, number]
  idle: IdleReport & { rssBeforeMiB: number; rssAfterMiB: number; bytesPerSocket: number }
  fixed: { memory: RelayRow; sameServer: RelayRow; crossServer: RelayRow }
  sweep: { sameServer: RelayRow[]; crossServer: RelayRow[] }
}

type Child = {
  proc: ChildProcess
  ask<T>(m: unknown, reply: (r: Record<string, unknown>) => boolean): Promise<T>
}

/** Fork a TypeScript module with an IPC channel; resolves once it reports `ready`. */
async function child(
  file: string,
  env: Record<string, string> = {},
): Promise<Child & { ready: Record<string, unknown> }> {
  const proc = fork(resolve(import.meta.dirname, file), [], {
    execArgv: ['--import', 'tsx', '--expose-gc'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const next = (accept: (r: Record<string, unknown>) => boolean) =>
    new Promise<Record<string, unknown>>((resolveReply, reject) => {
      const onMessage = (r: Record<string, unknown>) => {
        if (!accept(r)) return
        proc.off('message', onMessage)
        proc.off('exit', onExit)
        resolveReply(r)
      }
      const onExit = (code: number | null) => reject(new Error(`${file} exited (${code})`))
      proc.on('message', onMessage)
      proc.once('exit', onExit)
    })
  const ready = await next((r) => r.ready === true)
  return {
    proc,
    ready,
    ask: async <T>(m: unknown, accept: (r: Record<string, unknown>) => boolean) => {
      const reply = next(accept)
      proc.send(m as never)
      return (await reply) as T
    },
  }
}

const server = (redis?: string, maxConnections = 2_000) =>
  child('bench-server-process.ts', {
    DCMX_BENCH_REDIS: redis ?? '',
    DCMX_BENCH_MAX_CONNECTIONS: String(maxConnections),
  })
const clients = () => child('bench-client-process.ts')
const rssOf = (s: Child) => s.ask<{ rss: number }>({ cmd: 'rss' }, (r) => typeof r.rss === 'number')

async function clientRun<T>(c: Child, command: ClientCommand): Promise<T> {
  const r = await c.ask<{ ok: boolean; result?: T; error?: string }>(command, (m) => 'ok' in m)
  if (!r.ok) throw new Error(r.error)
  return r.result as T
}

async function stop(...children: Child[]) {
  for (const c of children) {
    c.proc.kill('SIGKILL')
    await exited(c.proc)
  }
}

/** Run the scale-out bench (see the top of this file); every process it starts is stopped again. */
export async function measureScaleOut(opts: ScaleOutOptions, log = console.log): Promise<ScaleOutResult> {
  const idleCount = Math.max(1, Math.min(MAX_IDLE, Math.floor(opts.idle)))
  const spawned: Child[] = []
  const watchdog = setTimeout(() => {
    log(`scale-out bench: over ${SCALE_OUT_TIMEOUT_MS} ms, stopping`)
    for (const c of spawned) c.proc.kill('SIGKILL')
  }, SCALE_OUT_TIMEOUT_MS)
  const loadAtStart = loadavg()[0] ?? NaN
  const redis = await startRedis()
  try {
    const track = async <C extends Child>(p: Promise<C>) => {
      const c = await p
      spawned.push(c)
      return c
    }
    // 1. Idle sockets on one server process (memory rooms: what a single server holds).
    log(`idle: ${idleCount} sockets on one server process…`)
    const lone = await track(server(undefined, idleCount + 1_000))
    const idleClients = await track(clients())
    const before = await rssOf(lone)
    const idle = await clientRun<IdleReport>(idleClients, {
      cmd: 'idle',
      url: String(lone.ready.wsUrl),
      count: idleCount,
      rooms: 100,
    })
    const after = await rssOf(lone)
    await stop(idleClients, lone)
    const mib = (b: number) => Math.round((b / 2 ** 20) * 10) / 10

    // 2. Relay latency: memory rooms, and two servers on one Redis.
    const memory = await track(server())
    const s1 = await track(server(redis.url))
    const s2 = await track(server(redis.url))
    const relayClients = await track(clients())
    const relayAt = async (fromUrl: unknown, toUrl: unknown, rate: number): Promise<RelayRow> => {
      const runs: RelayReport[] = []
      for (let i = 0; i < RUNS_PER_RATE; i++) {
        const r = await clientRun<RelayReport>(relayClients, {
          cmd: 'relay',
          fromUrl: String(fromUrl),
          toUrl: String(toUrl),
          pairs: RELAY_PAIRS,
          rate,
          warmupMs: WARMUP_MS,
          durationMs: RUN_MS,
        })
        log(`  ${rate}/s: p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, ${r.received}/${r.sent} delivered`)
        runs.push(r)
      }
      // NaN (nothing received) sorts last, as the worst.
      const byP99 = [...runs].sort((x, y) => (x.p99Ms || Infinity) - (y.p99Ms || Infinity))
      const median = byP99[Math.floor(byP99.length / 2)]!
      return { ...median, rate, p99Runs: runs.map((r) => r.p99Ms) }
    }
    const [m, a, b] = [memory.ready.wsUrl, s1.ready.wsUrl, s2.ready.wsUrl]
    log(`relay at ${FIXED_RATE}/s: memory rooms, same server on Redis, across servers…`)
    const fixed = {
      memory: await relayAt(m, m, FIXED_RATE),
      sameServer: await relayAt(a, a, FIXED_RATE),
      crossServer: await relayAt(a, b, FIXED_RATE),
    }
    const sweepOf = async (fromUrl: unknown, toUrl: unknown) => {
      const rows: RelayRow[] = []
      for (const rate of SWEEP_RATES) {
        const row = await relayAt(fromUrl, toUrl, rate)
        rows.push(row)
        if (overCeiling(row)) break
      }
      return rows
    }
    log('sweep, same server on Redis:')
    const sameServer = await sweepOf(a, a)
    log('sweep, across servers:')
    const crossServer = await sweepOf(a, b)
    await stop(relayClients, memory, s1, s2)
    return {
      load: [loadAtStart, loadavg()[0] ?? NaN],
      idle: {
        ...idle,
        rssBeforeMiB: mib(before.rss),
        rssAfterMiB: mib(after.rss),
        bytesPerSocket: Math.round((after.rss - before.rss) / Math.max(1, idle.opened)),
      },
      fixed,
      sweep: { sameServer, crossServer },
    }
  } finally {
    clearTimeout(watchdog)
    for (const c of spawned) c.proc.kill('SIGKILL')
    await redis.stop()
  }
}

/** The first rate whose median p99 passed the ceiling (or that lost signals), and the last one under it. */
function knee(rows: RelayRow[]): string {
  const over = rows.find(overCeiling)
  const under = [...rows].reverse().find((r) => !overCeiling(r))
  if (!over) return `not reached up to ${rows[rows.length - 1]?.rate ?? 0}/s (the highest rate tried)`
  return `between ${under?.rate ?? 0}/s and ${over.rate}/s (p99 ${over.p99Ms} ms at ${over.rate}/s)`
}

/** The docs/benchmarks.md section of a scale-out run. */
export function scaleOutSection(r: ScaleOutResult, command: string): string {
  const row = (name: string, x: RelayRow) =>
    `| ${name} | ${x.rate} | ${Math.round(x.sent / (RUN_MS / 1000))} | ${x.p50Ms} | ${x.p99Ms} | ${x.p99Runs.join(', ')} | ${x.maxMs} | ${x.received}/${x.sent} |`
  const sweepRows = (name: string, rows: RelayRow[]) => rows.map((x) => row(name, x)).join('\n')
  return `## Signaling scale-out (Redis)

Produced by \`${command}\` on ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, redis-server from Debian, all on loopback. Servers and clients run in processes of their own (one client process, so its own event loop is part of every latency); the machine was shared with other engineers' builds and tests during the run (parallel load), so figures are noisy and on the high side: the 1-minute load average was ${r.load[0].toFixed(1)} at the start of the run and ${r.load[1].toFixed(1)} at its end, on ${cpus().length} cores.

**Idle sockets held by one server process** (memory rooms, each socket welcomed and joined to one of 100 rooms; the server's connection cap raised for the bench): ${r.idle.opened} of ${r.idle.opened + r.idle.failed} opened in ${r.idle.ms} ms; server RSS ${r.idle.rssBeforeMiB} MiB before, ${r.idle.rssAfterMiB} MiB after: **${(r.idle.bytesPerSocket / 1024).toFixed(1)} KiB per socket**. Target ≥ 10,000.

**Relay latency** (ICE candidates between ${RELAY_PAIRS} sender/receiver pairs, one room each; timed from send to receipt in the client process after a ${WARMUP_MS} ms warm-up, ${RUNS_PER_RATE} runs of ${RUN_MS / 1000} s per rate, the run with the median p99 shown; ceiling ${P99_CEILING_MS} ms p99):

| path | asked /s | sent /s | p50 ms | p99 ms | p99 of each run | max ms | delivered |
| --- | --- | --- | --- | --- | --- | --- | --- |
${row('same server, memory rooms', r.fixed.memory)}
${row('same server, Redis rooms', r.fixed.sameServer)}
${row('across two servers (Redis pub/sub)', r.fixed.crossServer)}

**Rate at which p99 passes ${P99_CEILING_MS} ms** (each rate is run ${RUNS_PER_RATE} times; the run with the median p99 is shown and decides) — same server on Redis: ${knee(r.sweep.sameServer)}; across servers: ${knee(r.sweep.crossServer)}.

| sweep | asked /s | sent /s | p50 ms | p99 ms | p99 of each run | max ms | delivered |
| --- | --- | --- | --- | --- | --- | --- | --- |
${sweepRows('same server', r.sweep.sameServer)}
${sweepRows('across servers', r.sweep.crossServer)}
`
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href
if (invokedDirectly) {
  const { values } = parseArgs({
    options: {
      clients: { type: 'string', default: String(DEFAULTS.clients) },
      rooms: { type: 'string', default: String(DEFAULTS.rooms) },
      messages: { type: 'string', default: String(DEFAULTS.messagesPerClient) },
      'scale-out': { type: 'boolean', default: false },
      idle: { type: 'string', default: '10000' },
    },
  })
  if (values['scale-out']) {
    const result = await measureScaleOut({ idle: Number(values.idle) })
    console.log(JSON.stringify(result, null, 2))
    writeBenchSection('signaling-scale-out', scaleOutSection(result, 'npm run bench:scale-out'))
    process.exit(0)
  }
  const result = await measureRelayLatency({
    clients: Number(values.clients),
    rooms: Number(values.rooms),
    messagesPerClient: Number(values.messages),
  })
  console.log(JSON.stringify(result, null, 2))
}
