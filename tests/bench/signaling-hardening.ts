/**
 * `npm run bench:signaling-hardening`: what issue 10's limits cost. Measures, never asserts.
 *
 * - Relay latency (signaling/relay-bench.ts, 200 clients in 10 rooms) against the server as it was
 *   before the hardening (commit BEFORE, extracted by tests/adversary/before.ts) and as it is now,
 *   alternating runs in one process.
 * - Resident memory of a server process, idle, with one address's cap (32) of idle joined sockets,
 *   and with 1,024 (32 addresses × 32), before and after.
 */
import { cpus, loadavg, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { WebSocket } from 'ws'
import { measureRelayLatency, type RelayBenchResult } from '../../signaling/relay-bench.ts'
import { DEFAULT_MAX_SOCKETS_PER_IP } from '../../signaling/options.ts'
import { extractServerAt, removeExtracted } from '../adversary/before.ts'
import { startTarget, stopAll, type Target } from '../adversary/target.ts'
import { writeBenchSection } from './doc-section.ts'

/** The last commit before issue 10's server changes. */
const BEFORE = 'ff3bd32'
const RELAY = { clients: 200, rooms: 10, messagesPerClient: 20 }
const RELAY_RUNS = 5
/** Addresses for the larger memory figure: 32 loopback addresses, each at its cap. */
const ADDRESSES = 32
const SETTLE_MS = 1_500

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1)
const fmt = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(0))
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Open `count` sockets from `from` and join each to a room; resolves with them once all joined. */
async function idleMembers(target: Target, from: string, count: number): Promise<WebSocket[]> {
  return Promise.all(
    Array.from(
      { length: count },
      (_, i) =>
        new Promise<WebSocket>((resolveSocket, reject) => {
          const ws = new WebSocket(target.wsUrl, { localAddress: from })
          ws.on('error', reject)
          ws.on('message', (raw) => {
            const m = JSON.parse(String(raw)) as { type: string }
            if (m.type === 'welcome')
              ws.send(
                JSON.stringify({
                  type: 'join',
                  room: 'idle',
                  peerId: (i + 1).toString(16).padStart(32, '0'),
                }),
              )
            if (m.type === 'joined') resolveSocket(ws)
          })
        }),
    ),
  )
}

type Memory = { idle: number; oneAddress: number; many: number }

/** RSS of a server process: idle, with one address's cap of idle members, then with ADDRESSES × cap. */
async function measureMemory(serverModule: string | undefined): Promise<Memory> {
  const target = await startTarget({ heartbeatMs: 60_000, maxConnections: 5_000 }, serverModule)
  const sockets: WebSocket[] = []
  try {
    await pause(SETTLE_MS)
    const idle = await target.rss()
    sockets.push(...(await idleMembers(target, '127.0.3.1', DEFAULT_MAX_SOCKETS_PER_IP)))
    await pause(SETTLE_MS)
    const oneAddress = await target.rss()
    for (let a = 2; a <= ADDRESSES; a++)
      sockets.push(...(await idleMembers(target, `127.0.3.${a}`, DEFAULT_MAX_SOCKETS_PER_IP)))
    await pause(SETTLE_MS)
    return { idle, oneAddress, many: await target.rss() }
  } finally {
    for (const ws of sockets) ws.terminate()
    await stopAll()
  }
}

const beforeServer = extractServerAt(BEFORE)
const { measureRelayLatency: measureBefore } = (await import(
  join(dirname(beforeServer), 'relay-bench.ts')
)) as {
  measureRelayLatency: typeof measureRelayLatency
}

/** A relay run with the CPU time the whole process spent on it (clients and server share it). */
type Run = RelayBenchResult & { cpuUs: number }
async function timed(measure: typeof measureRelayLatency): Promise<Run> {
  const cpu = process.cpuUsage()
  const result = await measure(RELAY)
  const used = process.cpuUsage(cpu)
  return { ...result, cpuUs: used.user + used.system }
}

const loadAtStart = loadavg()[0] ?? NaN
const runs: { before: Run[]; after: Run[] } = { before: [], after: [] }
for (let i = 0; i < RELAY_RUNS; i++) {
  console.log(`relay run ${i + 1}/${RELAY_RUNS}…`)
  // Alternate which goes first, so neither always inherits the other's garbage.
  if (i % 2 === 0) {
    runs.before.push(await timed(measureBefore))
    runs.after.push(await timed(measureRelayLatency))
  } else {
    runs.after.push(await timed(measureRelayLatency))
    runs.before.push(await timed(measureBefore))
  }
}
const loadAtEnd = loadavg()[0] ?? NaN
console.log(JSON.stringify(runs))
console.log('memory…')
const memory = { before: await measureMemory(beforeServer), after: await measureMemory(undefined) }
console.log(JSON.stringify(memory))
removeExtracted(beforeServer)

const relayRow = (name: string, rs: Run[]) =>
  `| ${name} | ${fmt(median(rs.map((r) => r.p50Ms)))} | ${fmt(median(rs.map((r) => r.p99Ms)))} | ${median(rs.map((r) => r.cpuUs / r.samples)).toFixed(0)} | ${rs.map((r) => `${fmt(r.p50Ms)}/${fmt(r.p99Ms)}`).join(', ')} |`
const perSocketKiB = (m: Memory) =>
  ((m.many - m.idle) / (ADDRESSES * DEFAULT_MAX_SOCKETS_PER_IP) / 1024).toFixed(1)
const memoryRow = (name: string, m: Memory) =>
  `| ${name} | ${mib(m.idle)} | ${mib(m.oneAddress)} | ${mib(m.many)} | ${perSocketKiB(m)} |`

writeBenchSection(
  'signaling-hardening',
  `## Signaling hardening: relay latency and memory, before and after (issue 10)

\`npm run bench:signaling-hardening\` (tests/bench/signaling-hardening.ts) on ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'},
${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}. Taken while other engineers' builds
and tests ran on the same machine (parallel load: 1-minute load average ${loadAtStart.toFixed(1)} at the start of the relay
runs, ${loadAtEnd.toFixed(1)} at their end, on ${cpus().length} cores), so read the before/after pairs, not the absolute values.
"Before" is the server at commit ${BEFORE} (the last one before this issue), extracted and run from the same process;
runs alternate before/after (and which of the two goes first) so load drifts hit both.

Relay latency: ${RELAY.clients} WebSocket clients in ${RELAY.rooms} rooms, ${RELAY.messagesPerClient} ICE candidates each to random
peers of their room (${RELAY.clients * RELAY.messagesPerClient} relays a run), send-to-receive in one process (signaling/relay-bench.ts). Latency
under this load is mostly queueing behind other processes; the CPU time the process spent per relayed message (connect,
join and relay phases; clients and server alike, the clients' share being the same code in both) is the steadier figure. "After" runs with the per-address caps raised
(all clients share 127.0.0.1) but the per-pair relay budget and the recipient buffer check on the path.

| server | p50 ms (median of ${RELAY_RUNS}) | p99 ms (median of ${RELAY_RUNS}) | CPU µs per relayed message (median) | each run p50/p99 ms |
|---|---|---|---|---|
${relayRow('before', runs.before)}
${relayRow('after', runs.after)}

Resident memory (VmRSS, read after a forced garbage collection) of the server process: idle, with one address's cap (${DEFAULT_MAX_SOCKETS_PER_IP}) of idle joined sockets,
and with ${ADDRESSES * DEFAULT_MAX_SOCKETS_PER_IP} (${ADDRESSES} addresses at their cap); the last column is the marginal cost of one socket.

| server | idle MiB | ${DEFAULT_MAX_SOCKETS_PER_IP} sockets MiB | ${ADDRESSES * DEFAULT_MAX_SOCKETS_PER_IP} sockets MiB | KiB per socket |
|---|---|---|---|---|
${memoryRow('before', memory.before)}
${memoryRow('after', memory.after)}
`,
)
console.log('wrote the signaling-hardening section of docs/benchmarks.md')
