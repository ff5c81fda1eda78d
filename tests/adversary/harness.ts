/**
 * The adversary suite's clients and its honest-client check. The server under attack runs in a child
 * process (target.ts), so a crasher shows as a dead PID instead of a dead test runner.
 * Attackers and honest clients come from different loopback addresses (127.0.0.0/8 is all local),
 * so per-IP limits on the attacker never touch the honest client.
 */
import { connect as tcpConnect } from 'node:net'
import { expect } from 'vitest'
import { WebSocket, type ClientOptions } from 'ws'
import {
  decodeServerMessage,
  type ClientMessage,
  type ServerMessage,
} from '../../src/core/signaling-protocol.ts'
import { track, type Target } from './target.ts'

export { FAVICON, INDEX, startTarget, stopAll, track, type Target } from './target.ts'

const MESSAGE_TIMEOUT_MS = 3_000

/** Where attacks come from, and where the honest client connects from. */
export const ATTACKER = '127.0.0.2'
export const HONEST = '127.0.0.250'

/** One raw HTTP exchange over TCP: send `request` verbatim, resolve with what came back before close. */
export function rawRequest(
  target: Target,
  request: string | Buffer,
  opts: { localAddress?: string; timeoutMs?: number } = {},
): Promise<{ status: number | undefined; head: string; bytes: number }> {
  return new Promise((resolveReply) => {
    const socket = track(
      tcpConnect({ host: '127.0.0.1', port: target.port, localAddress: opts.localAddress ?? ATTACKER }),
    )
    const chunks: Buffer[] = []
    const done = () => {
      clearTimeout(timer)
      socket.destroy()
      const text = Buffer.concat(chunks)
      const end = text.indexOf('\r\n\r\n')
      const head = text.subarray(0, end < 0 ? text.length : end).toString('latin1')
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1]
      resolveReply({
        status: status === undefined ? undefined : Number(status),
        head,
        bytes: end < 0 ? 0 : text.length - end - 4,
      })
    }
    const timer = setTimeout(done, opts.timeoutMs ?? 2_000)
    socket.on('data', (d: Buffer) => chunks.push(d))
    socket.on('error', done)
    socket.on('close', done)
    socket.write(request)
  })
}

/** A `ws` client with a queue of decoded server messages. */
export type Client = {
  ws: WebSocket
  session: string
  next(timeoutMs?: number): Promise<ServerMessage>
  expect<T extends ServerMessage['type']>(
    type: T,
    timeoutMs?: number,
  ): Promise<Extract<ServerMessage, { type: T }>>
  send(message: ClientMessage | Record<string, unknown>): void
  closed: Promise<number>
  isOpen(): boolean
}

/** Open a socket from `localAddress` and wait for `welcome`; rejects on an HTTP refusal or a close. */
export async function client(
  target: Target,
  localAddress: string,
  options: ClientOptions = {},
): Promise<Client> {
  const ws = new WebSocket(target.wsUrl, { localAddress, ...options })
  track({ destroy: () => ws.terminate() })
  ws.binaryType = 'nodebuffer'
  const queue: ServerMessage[] = []
  const waiters: ((m: ServerMessage) => void)[] = []
  ws.on('message', (data) => {
    const decoded = decodeServerMessage(String(data))
    if (!decoded.ok) throw new Error(`server sent an invalid message: ${decoded.error.message}`)
    const waiter = waiters.shift()
    if (waiter) waiter(decoded.value)
    else queue.push(decoded.value)
  })
  const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)))
  await new Promise<void>((resolveOpen, reject) => {
    ws.once('open', () => resolveOpen())
    ws.once('error', reject)
    ws.once('close', (code) => reject(new Error(`closed with ${code} before opening`)))
  })
  ws.on('error', () => {})
  const next = (timeoutMs = MESSAGE_TIMEOUT_MS) =>
    new Promise<ServerMessage>((resolveMsg, reject) => {
      const queued = queue.shift()
      if (queued) return resolveMsg(queued)
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(settle), 1)
        reject(new Error(`no message within ${timeoutMs} ms`))
      }, timeoutMs)
      const settle = (m: ServerMessage) => {
        clearTimeout(timer)
        resolveMsg(m)
      }
      waiters.push(settle)
    })
  const expectType = async <T extends ServerMessage['type']>(type: T, timeoutMs?: number) => {
    const m = await next(timeoutMs)
    if (m.type !== type) throw new Error(`expected ${type}, got ${JSON.stringify(m).slice(0, 200)}`)
    return m as Extract<ServerMessage, { type: T }>
  }
  const welcome = await expectType('welcome')
  return {
    ws,
    session: welcome.session,
    next,
    expect: expectType,
    send: (m) => ws.send(JSON.stringify(m)),
    closed,
    isOpen: () => ws.readyState === WebSocket.OPEN,
  }
}

const hexId = () =>
  Array.from({ length: 32 }, () => '0123456789abcdef'[Math.floor(Math.random() * 16)]).join('')

/** A client from `localAddress` that has joined `room` (under `id`, or a fresh peer id). */
export async function member(
  target: Target,
  localAddress: string,
  room: string,
  id = hexId(),
): Promise<Client> {
  const c = await client(target, localAddress)
  c.send({ type: 'join', room, peerId: id })
  await c.expect('joined')
  return c
}

let honestRooms = 0
/**
 * The verdict of every attack: the same process still runs and answers /healthz, and two honest
 * clients can still join a room, find each other and relay an offer and an answer.
 */
export async function expectServerHealthy(target: Target): Promise<void> {
  expect(target.alive(), `server process ${target.pid} died:\n${target.stderr()}`).toBe(true)
  const health = await fetch(`${target.url}/healthz`)
  expect(health.status).toBe(200)
  expect(((await health.json()) as { ok: boolean }).ok).toBe(true)
  const room = `honest-${++honestRooms}`
  const a = await member(target, HONEST, room)
  const b = await client(target, HONEST)
  b.send({ type: 'join', room, peerId: hexId() })
  const joined = await b.expect('joined')
  expect(joined.peers.map((p) => p.session)).toEqual([a.session])
  b.send({ type: 'signal', to: a.session, data: { type: 'offer', sdp: 'v=0\r\n' } })
  expect((await a.expect('signal')).from.session).toBe(b.session)
  a.send({ type: 'signal', to: b.session, data: { type: 'answer', sdp: 'v=0\r\n' } })
  expect((await b.expect('signal')).from.session).toBe(a.session)
  a.ws.close()
  b.ws.close()
  expect(target.alive()).toBe(true)
}

/** GET /metrics of the target as text. */
export const metricsText = async (target: Target) => (await fetch(`${target.url}/metrics`)).text()

/** The value of one Prometheus sample (`name` or `name{reason="x"}`), or undefined. */
export async function metric(target: Target, sample: string): Promise<number | undefined> {
  const text = await metricsText(target)
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `))
  return line === undefined ? undefined : Number(line.slice(sample.length + 1))
}

export { hexId as peerId }
