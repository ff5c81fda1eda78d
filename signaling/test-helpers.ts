/** Test helpers: real servers on ephemeral ports and real `ws` clients with an awaitable message queue. */
import { randomBytes } from 'node:crypto'
import { expect } from 'vitest'
import { WebSocket, type ClientOptions } from 'ws'
import {
  decodeServerMessage,
  type ClientMessage,
  type PeerRef,
  type ServerMessage,
} from '../src/core/signaling-protocol.ts'
import { startSignaling, type SignalingOptions, type SignalingServer } from './server.ts'

/** How long a test waits for an expected message before failing. */
const MESSAGE_TIMEOUT_MS = 2_000
/** How long a test listens to conclude that nothing arrives; relays on loopback take well under 10 ms. */
export const SILENCE_MS = 150

type Welcome = Extract<ServerMessage, { type: 'welcome' }>
/** Narrow a ServerMessage union member by its `type`. */
export type Msg<T extends ServerMessage['type']> = Extract<ServerMessage, { type: T }>

/** A connected client that has received its `welcome`. */
export type TestClient = {
  ws: WebSocket
  welcome: Welcome
  session: string
  /** The next message from the server, decoded and validated against the protocol. */
  next(timeoutMs?: number): Promise<ServerMessage>
  /** The next message, which must be of the given type. */
  expect<T extends ServerMessage['type']>(type: T, timeoutMs?: number): Promise<Msg<T>>
  /** Resolve if no message arrives within `ms`; reject with the message otherwise. */
  silence(ms?: number): Promise<void>
  send(message: ClientMessage | Record<string, unknown>): void
  /** Resolves with the close code and reason once the socket is closed. */
  closed: Promise<{ code: number; reason: string }>
  /** Messages received but not yet taken with next(). */
  pending(): number
}

const servers: SignalingServer[] = []
const sockets: WebSocket[] = []

/** Start a server on 127.0.0.1, an ephemeral port and a silent log; closed by `cleanup()`. */
export async function start(opts: SignalingOptions = {}): Promise<SignalingServer> {
  const server = await startSignaling({ host: '127.0.0.1', port: 0, log: () => {}, ...opts })
  servers.push(server)
  return server
}

/** Close every client and server the helpers opened; call from afterEach. */
export async function cleanup(): Promise<void> {
  for (const ws of sockets.splice(0)) ws.terminate()
  await Promise.all(servers.splice(0).map((s) => s.close()))
}

/** A fresh random peer id in the protocol's format. */
export const peerId = () => randomBytes(16).toString('hex')

/** Open a raw `ws` socket (tracked for cleanup) and wait for it to open; rejects on an HTTP refusal. */
export function openSocket(url: string, options: ClientOptions = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, options)
  sockets.push(ws)
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws))
    ws.once('error', reject)
  })
}

/** Connect, and resolve once the server's `welcome` has arrived. */
export async function connect(
  server: Pick<SignalingServer, 'wsUrl'>,
  options: ClientOptions = {},
): Promise<TestClient> {
  const ws = new WebSocket(server.wsUrl, options)
  sockets.push(ws)
  const queue: (ServerMessage | Error)[] = []
  const waiters: ((m: ServerMessage | Error) => void)[] = []
  const push = (m: ServerMessage | Error) => {
    const waiter = waiters.shift()
    if (waiter) waiter(m)
    else queue.push(m)
  }
  ws.on('message', (data, isBinary) => {
    if (isBinary) return push(new Error('server sent a binary frame'))
    const decoded = decodeServerMessage(String(data))
    push(decoded.ok ? decoded.value : new Error(`server sent an invalid message: ${decoded.error.message}`))
  })
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }))
  })
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  ws.on('error', () => {}) // surfaced through `closed`

  const next = (timeoutMs = MESSAGE_TIMEOUT_MS) =>
    new Promise<ServerMessage>((resolve, reject) => {
      const settle = (m: ServerMessage | Error) => {
        clearTimeout(timer)
        if (m instanceof Error) reject(m)
        else resolve(m)
      }
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(settle), 1)
        reject(new Error(`no message within ${timeoutMs} ms`))
      }, timeoutMs)
      const queued = queue.shift()
      if (queued) settle(queued)
      else waiters.push(settle)
    })

  const expect = async <T extends ServerMessage['type']>(type: T, timeoutMs?: number): Promise<Msg<T>> => {
    const m = await next(timeoutMs)
    if (m.type !== type) throw new Error(`expected ${type}, got ${JSON.stringify(m)}`)
    return m as Msg<T>
  }

  await opened
  const welcome = await expect('welcome')
  return {
    ws,
    welcome,
    session: welcome.session,
    next,
    expect,
    silence: async (ms = SILENCE_MS) => {
      await new Promise((r) => setTimeout(r, ms))
      const m = queue.shift()
      if (m) throw new Error(`expected silence, got ${m instanceof Error ? m.message : JSON.stringify(m)}`)
    },
    send: (message) => ws.send(JSON.stringify(message)),
    closed,
    pending: () => queue.length,
  }
}

/** A client that has joined `room`, with its peer id and the `joined` answer. */
export type Joined = TestClient & { peerId: string; joined: Msg<'joined'> }

/** Connect and join `room` under a fresh peer id. */
export async function joinRoom(server: Pick<SignalingServer, 'wsUrl'>, room: string): Promise<Joined> {
  const client = await connect(server)
  const id = peerId()
  client.send({ type: 'join', room, peerId: id })
  const joined = await client.expect('joined')
  return Object.assign(client, { peerId: id, joined })
}

/** Sessions of a list of peer refs, as a sorted array (easy to compare). */
export const sessions = (peers: PeerRef[]) => peers.map((p) => p.session).sort()

/** Poll until `check` returns true, or fail after `timeoutMs`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs = MESSAGE_TIMEOUT_MS,
): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** GET a path of the server over HTTP. */
export const get = (server: Pick<SignalingServer, 'url'>, path: string, init?: RequestInit) =>
  fetch(server.url + path, init)

type Sample = { name: string; labels: string; value: number }

/** Parse Prometheus text format 0.0.4 strictly enough to catch malformed output. */
export function parsePrometheus(text: string) {
  const types = new Map<string, string>()
  const helps = new Set<string>()
  const samples: Sample[] = []
  expect(text.endsWith('\n')).toBe(true)
  for (const line of text.trimEnd().split('\n')) {
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line)
    if (meta) {
      if (meta[1] === 'HELP') helps.add(meta[2]!)
      else types.set(meta[2]!, meta[3]!)
      continue
    }
    const sample =
      /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_]\w*="[^"\\\n]*",?)*\})? (-?[0-9.e+]+|NaN)$/.exec(line)
    if (!sample) throw new Error(`malformed line: ${line}`)
    const name = sample[1]!
    // Every sample must come after the HELP and TYPE of its family.
    expect(helps.has(name), `HELP before ${name}`).toBe(true)
    expect(['gauge', 'counter']).toContain(types.get(name))
    if (types.get(name) === 'counter') expect(name.endsWith('_total')).toBe(true)
    samples.push({ name, labels: sample[2] ?? '', value: Number(sample[3]) })
  }
  const value = (name: string, labels = '') =>
    samples.find((s) => s.name === name && s.labels === labels)?.value
  return { types, value }
}
