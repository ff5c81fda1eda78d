/**
 * The clients of the scale-out bench, in a process of their own (relay-bench.ts forks it), so the
 * server's figures are not shared with client work. Commands arrive over the IPC channel:
 *  - `idle`: open `count` sockets to `url`, each joining one of `rooms` rooms, and keep them open
 *  - `relay`: `pairs` sender/receiver pairs (receiver on `toUrl`, sender on `fromUrl`, one room per
 *    pair) send ICE candidates at `rate` signals/s in all for `durationMs`; the receiver times each
 *  - `close`: close every socket
 * Sender and receiver share this process's clock, so a latency is one `performance.now()` difference.
 */
import { WebSocket } from 'ws'
import { decodeServerMessage, type ClientMessage } from '../src/core/signaling-protocol.ts'
import { percentile } from './percentile.ts'

export type IdleCommand = { cmd: 'idle'; url: string; count: number; rooms: number }
export type RelayCommand = {
  cmd: 'relay'
  fromUrl: string
  toUrl: string
  pairs: number
  rate: number
  warmupMs: number
  durationMs: number
}
export type ClientCommand = IdleCommand | RelayCommand | { cmd: 'close' }
export type IdleReport = { opened: number; failed: number; ms: number }
export type RelayReport = { sent: number; received: number; p50Ms: number; p99Ms: number; maxMs: number }

/** Sockets opened at once: more would overflow the server's accept backlog and cost retries. */
const CONNECT_CONCURRENCY = 200
/** A socket not welcomed and joined by then counts as failed. */
const CONNECT_TIMEOUT_MS = 15_000
/** Send loop granularity. */
const TICK_MS = 5
/** After the last send, how long stragglers may take before they count as lost. */
const DRAIN_MS = 2_000
const STAMP = /^candidate:(\d+(?:\.\d+)?) /

const open: WebSocket[] = []
const hex = (i: number) => i.toString(16).padStart(32, '0')
const sendJson = (ws: WebSocket, m: ClientMessage) => {
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m))
}

/** Connect and join; resolves with the socket and its session, or undefined on failure/timeout. */
function member(url: string, room: string, id: number, onSignal?: (stamp: number) => void) {
  return new Promise<{ ws: WebSocket; session: string } | undefined>((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false })
    open.push(ws)
    let session = ''
    const timer = setTimeout(() => done(undefined), CONNECT_TIMEOUT_MS)
    const done = (r: { ws: WebSocket; session: string } | undefined) => {
      clearTimeout(timer)
      resolve(r)
    }
    ws.on('error', () => done(undefined))
    ws.on('close', () => done(undefined))
    ws.on('message', (raw) => {
      const text = String(raw)
      if (onSignal && text.startsWith('{"type":"signal"')) {
        const m = decodeServerMessage(text)
        if (m.ok && m.value.type === 'signal' && m.value.data.type === 'candidate') {
          const sent = STAMP.exec(m.value.data.candidate.candidate)?.[1]
          if (sent !== undefined) onSignal(Number(sent))
        }
        return
      }
      const m = decodeServerMessage(text)
      if (!m.ok) return
      if (m.value.type === 'welcome') {
        session = m.value.session
        sendJson(ws, { type: 'join', room, peerId: hex(id) })
      } else if (m.value.type === 'joined') done({ ws, session })
    })
  })
}

/** Run `count` tasks, at most `limit` at a time. */
async function pool<T>(count: number, limit: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array<T>(count)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(limit, count) }, async () => {
      while (next < count) {
        const i = next++
        out[i] = await task(i)
      }
    }),
  )
  return out
}

async function idle(c: IdleCommand): Promise<IdleReport> {
  const t0 = performance.now()
  const got = await pool(c.count, CONNECT_CONCURRENCY, (i) => member(c.url, `idle-${i % c.rooms}`, i))
  const opened = got.filter(Boolean).length
  return { opened, failed: c.count - opened, ms: Math.round(performance.now() - t0) }
}

async function relay(c: RelayCommand): Promise<RelayReport> {
  const latencies: number[] = []
  let measuring = false
  /** Only signals sent after the warm-up are timed. */
  let measureFrom = Infinity
  const onSignal = (sentAt: number) => {
    if (sentAt >= measureFrom) latencies.push(performance.now() - sentAt)
  }
  const pairs = await pool(c.pairs, CONNECT_CONCURRENCY, async (i) => {
    const to = await member(c.toUrl, `relay-${i}`, 2 * i, onSignal)
    const from = await member(c.fromUrl, `relay-${i}`, 2 * i + 1)
    return to && from ? { from: from.ws, to: to.session } : undefined
  })
  const live = pairs.filter((p) => p !== undefined)
  if (live.length === 0) throw new Error('no relay pair could connect')
  let sent = 0
  let total = 0
  let next = 0
  const start = performance.now()
  const end = start + c.warmupMs + c.durationMs
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now()
      if (now >= end) return resolve()
      if (!measuring && now >= start + c.warmupMs) {
        measuring = true
        measureFrom = now
      }
      // Catch up on what the rate asks for by now, whatever the timer's actual period was.
      const target = Math.floor((c.rate * (now - start)) / 1000)
      for (; total < target; total += 1) {
        const pair = live[next++ % live.length]!
        const candidate = `candidate:${performance.now().toFixed(4)} 1 udp 2122260223 192.0.2.1 9 typ host`
        sendJson(pair.from, {
          type: 'signal',
          to: pair.to,
          data: { type: 'candidate', candidate: { candidate, sdpMid: '0', sdpMLineIndex: 0 } },
        })
        if (measuring) sent += 1
      }
      setTimeout(tick, TICK_MS)
    }
    tick()
  })
  const waitUntil = performance.now() + DRAIN_MS
  while (latencies.length < sent && performance.now() < waitUntil) await new Promise((r) => setTimeout(r, 20))
  measureFrom = Infinity
  for (const ws of open.splice(0)) ws.terminate()
  const sorted = latencies.sort((a, b) => a - b)
  const r3 = (x: number) => Math.round(x * 1000) / 1000
  return {
    sent,
    received: sorted.length,
    p50Ms: r3(percentile(sorted, 0.5)),
    p99Ms: r3(percentile(sorted, 0.99)),
    maxMs: r3(sorted[sorted.length - 1] ?? NaN),
  }
}

process.on('message', (c: ClientCommand) => {
  const reply = (m: unknown) => process.send?.(m)
  if (c.cmd === 'close') {
    for (const ws of open.splice(0)) ws.terminate()
    return reply({ closed: true })
  }
  const run = c.cmd === 'idle' ? idle(c) : relay(c)
  run.then(
    (r) => reply({ ok: true, result: r }),
    (e: unknown) => reply({ ok: false, error: String(e) }),
  )
})
process.on('disconnect', () => process.exit(0))
process.send?.({ ready: true })
