import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { MAX_SIGNAL_FRAME, SIGNALING_PATH, type SignalData } from '../src/core/signaling-protocol.ts'
import { CLOSE_POLICY_VIOLATION, FLOOD_MAX_STRIKES } from './options.ts'
import { startSignaling } from './server.ts'
import {
  cleanup,
  connect,
  get,
  joinRoom,
  openSocket,
  parsePrometheus,
  peerId,
  sessions,
  start,
  until,
  type Msg,
} from './test-helpers.ts'

const SESSION = /^[A-Za-z0-9_-]{8,64}$/
const OFFER: SignalData = { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' }

afterEach(cleanup)

describe('welcome', () => {
  it('gives each socket a distinct session and the default empty ICE server list', async () => {
    const server = await start()
    const a = await connect(server)
    const b = await connect(server)
    expect(a.session).toMatch(SESSION)
    expect(b.session).toMatch(SESSION)
    expect(a.session).not.toBe(b.session)
    expect(a.welcome.iceServers).toEqual([])
  })

  it('sends the configured ICE servers', async () => {
    // Placeholders: the server hands these to browsers verbatim and never contacts them.
    const iceServers = [
      { urls: 'ice-server-a.invalid:3478' },
      { urls: ['ice-server-b.invalid:3478'], username: 'u', credential: 'p' },
    ]
    const server = await start({ iceServers })
    const a = await connect(server)
    expect(a.welcome.iceServers).toEqual(iceServers)
  })

  it('refuses invalid options instead of starting', async () => {
    const bad = [{ urls: 42 }] as unknown as { urls: string }[]
    await expect(startSignaling({ port: 0, host: '127.0.0.1', iceServers: bad })).rejects.toThrow(
      /iceServers/,
    )
    await expect(startSignaling({ port: 0, host: '127.0.0.1', sampleSize: 65 })).rejects.toThrow(/sampleSize/)
  })
})

describe('join and sample', () => {
  it('answers a join with a random sample of at most K others, never self', async () => {
    const K = 4
    // 40 samples of 4 are far over the default introductions budget, which is not under test here.
    const server = await start({ sampleSize: K, introductionLimit: { perSecond: 1, burst: 1_000 } })
    const members = []
    for (let i = 0; i < 12; i++) {
      const m = await joinRoom(server, 'big')
      const peers = sessions(m.joined.peers)
      expect(m.joined.room).toBe('big')
      expect(peers).toHaveLength(Math.min(i, K))
      expect(new Set(peers).size).toBe(peers.length)
      expect(peers).not.toContain(m.session)
      // Every sampled peer is an earlier member, reported with the peer id it joined with.
      for (const p of m.joined.peers)
        expect(members.find((x) => x.session === p.session)?.peerId).toBe(p.peerId)
      members.push(m)
    }
    const last = members[members.length - 1]!
    const others = new Set(members.filter((m) => m !== last).map((m) => m.session))
    const seen = new Set<string>()
    const distinctSets = new Set<string>()
    // 40 draws of 4 out of 11: each peer is missed by all of them with probability (7/11)^40 ≈ 1e-8.
    for (let i = 0; i < 40; i++) {
      last.send({ type: 'sample' })
      const { peers } = await last.expect('sample')
      const s = sessions(peers)
      expect(s).toHaveLength(K)
      expect(new Set(s).size).toBe(K)
      for (const x of s) expect(others.has(x)).toBe(true)
      s.forEach((x) => seen.add(x))
      distinctSets.add(s.join(','))
    }
    expect(seen.size).toBe(11)
    expect(distinctSets.size).toBeGreaterThan(1)
  })

  it('does not notify the other members of a join', async () => {
    const server = await start()
    const a = await joinRoom(server, 'r')
    const b = await joinRoom(server, 'r')
    expect(sessions(b.joined.peers)).toEqual([a.session])
    await a.silence()
  })

  it('moves a member that joins another room', async () => {
    const server = await start()
    const a = await joinRoom(server, 'one')
    const b = await joinRoom(server, 'one')
    a.send({ type: 'join', room: 'two', peerId: a.peerId })
    expect((await a.expect('joined')).peers).toEqual([])
    b.send({ type: 'sample' })
    expect((await b.expect('sample')).peers).toEqual([])
    expect(server.metrics().rooms).toBe(2)
  })
})

describe('signal', () => {
  it('relays to a peer in the same room with the sender as `from`', async () => {
    const server = await start()
    const a = await joinRoom(server, 'r')
    const b = await joinRoom(server, 'r')
    const candidate: SignalData = {
      type: 'candidate',
      candidate: { candidate: 'candidate:1 1 udp 1 192.0.2.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0 },
    }
    a.send({ type: 'signal', to: b.session, data: OFFER })
    a.send({ type: 'signal', to: b.session, data: candidate })
    expect(await b.expect('signal')).toEqual({
      type: 'signal',
      from: { session: a.session, peerId: a.peerId },
      data: OFFER,
    })
    expect((await b.expect('signal')).data).toEqual(candidate)
    b.send({ type: 'signal', to: a.session, data: { type: 'answer', sdp: 'v=0\r\n' } })
    expect((await a.expect('signal')).from).toEqual({ session: b.session, peerId: b.peerId })
    expect(server.metrics().relayed).toBe(3)
  })

  it('answers UNKNOWN_PEER for a session in another room, exactly as for one that does not exist', async () => {
    const server = await start()
    const a = await joinRoom(server, 'r1')
    const c = await joinRoom(server, 'r2')
    a.send({ type: 'signal', to: c.session, data: OFFER })
    const elsewhere = await a.expect('error')
    a.send({ type: 'signal', to: 'AAAAAAAAAAAAAAAAAAAAAA', data: OFFER })
    const nowhere = await a.expect('error')
    expect(elsewhere.code).toBe('UNKNOWN_PEER')
    expect(nowhere).toEqual(elsewhere)
    await c.silence()
    expect(server.metrics().relayed).toBe(0)
  })

  it('refuses signal and sample before join, and after leave, with NOT_JOINED', async () => {
    const server = await start()
    const a = await connect(server)
    const b = await joinRoom(server, 'r')
    a.send({ type: 'signal', to: b.session, data: OFFER })
    expect((await a.expect('error')).code).toBe('NOT_JOINED')
    a.send({ type: 'sample' })
    expect((await a.expect('error')).code).toBe('NOT_JOINED')
    b.send({ type: 'leave' })
    b.send({ type: 'sample' })
    expect((await b.expect('error')).code).toBe('NOT_JOINED')
    await b.silence()
  })
})

describe('untrusted input', () => {
  it('answers malformed JSON, unknown types, bad fields and binary frames with BAD_MESSAGE', async () => {
    const server = await start()
    const a = await connect(server)
    const errors: Msg<'error'>[] = []
    a.ws.send('{not json')
    errors.push(await a.expect('error'))
    a.send({ type: 'shout', text: 'hi' })
    errors.push(await a.expect('error'))
    a.send({ type: 'join', room: 'r', peerId: 'NOT-HEX' })
    errors.push(await a.expect('error'))
    a.send({ type: 'join', room: 'r', peerId: peerId(), extra: 1 })
    errors.push(await a.expect('error'))
    a.ws.send(Buffer.from('{"type":"sample"}'), { binary: true })
    errors.push(await a.expect('error'))
    expect(errors.map((e) => e.code)).toEqual(Array(5).fill('BAD_MESSAGE'))
    expect(server.metrics().rejected.BAD_MESSAGE).toBe(5)
    // The socket stays usable.
    a.send({ type: 'join', room: 'r', peerId: peerId() })
    expect((await a.expect('joined')).room).toBe('r')
  })

  it('closes a socket that sends a frame over MAX_SIGNAL_FRAME with 1009, and keeps serving others', async () => {
    const server = await start()
    const other = await joinRoom(server, 'r')
    const big = await connect(server)
    big.ws.send(JSON.stringify({ type: 'sample', pad: 'x'.repeat(MAX_SIGNAL_FRAME) }))
    expect((await big.closed).code).toBe(1009)
    await until(() => server.metrics().rejected.TOO_LARGE === 1)
    const late = await joinRoom(server, 'r')
    expect(sessions(late.joined.peers)).toEqual([other.session])
    expect(server.metrics().connections).toBe(2)
  })
})

describe('limits', () => {
  it('rate-limits a flooding client, closes it with 1008, and leaves other clients alone', async () => {
    const burst = 10
    const server = await start({ rateLimit: { perSecond: 5, burst } })
    const victim = await joinRoom(server, 'r')
    const flooder = await joinRoom(server, 'r')
    for (let i = 0; i < 200; i++) flooder.send({ type: 'sample' })
    const { code } = await flooder.closed
    expect(code).toBe(CLOSE_POLICY_VIOLATION)
    const got: string[] = []
    while (flooder.pending() > 0) {
      const m = await flooder.next()
      got.push(m.type === 'error' ? m.code : m.type)
    }
    // The join took one token; the rest of the burst was served, then errors until the flood limit.
    expect(got.filter((t) => t === 'sample')).toHaveLength(burst - 1)
    expect(got.filter((t) => t === 'RATE_LIMITED').length).toBeGreaterThan(FLOOD_MAX_STRIKES - 5)
    expect(server.metrics().rejected.RATE_LIMITED).toBeGreaterThan(FLOOD_MAX_STRIKES)

    // The victim's own budget is untouched by the flood (its join took one token too).
    for (let i = 0; i < burst - 1; i++) victim.send({ type: 'sample' })
    for (let i = 0; i < burst - 1; i++) expect((await victim.next()).type).toBe('sample')
    const late = await joinRoom(server, 'r')
    expect(sessions(late.joined.peers)).toEqual([victim.session])
  })

  it('refuses a join into a full room with ROOM_FULL and leaves the member where it was', async () => {
    const server = await start({ maxRoomSize: 2 })
    const a = await joinRoom(server, 'small')
    await joinRoom(server, 'small')
    const c = await joinRoom(server, 'other')
    const d = await joinRoom(server, 'other')
    c.send({ type: 'join', room: 'small', peerId: c.peerId })
    expect((await c.expect('error')).code).toBe('ROOM_FULL')
    c.send({ type: 'sample' })
    expect(sessions((await c.expect('sample')).peers)).toEqual([d.session])
    // Re-joining one's own full room is not refused.
    a.send({ type: 'join', room: 'small', peerId: a.peerId })
    expect((await a.expect('joined')).peers).toHaveLength(1)
    expect(server.metrics().rejected.ROOM_FULL).toBe(1)
  })

  it('refuses upgrades over maxConnections with HTTP 503 until a slot frees', async () => {
    const server = await start({ maxConnections: 2 })
    const a = await connect(server)
    await connect(server)
    await expect(connect(server)).rejects.toThrow(/503/)
    expect(server.metrics().upgradesRefused.server_full).toBe(1)
    a.ws.close()
    await until(() => server.metrics().connections === 1)
    await expect(connect(server)).resolves.toBeDefined()
  })

  it('refuses upgrades from origins not in allowedOrigins, and on other paths', async () => {
    const server = await start({ allowedOrigins: ['https://dcmx.example.org'] })
    await expect(connect(server, { origin: 'https://evil.example.org' })).rejects.toThrow(/403/)
    await expect(connect(server)).rejects.toThrow(/403/)
    await expect(connect(server, { origin: 'https://dcmx.example.org' })).resolves.toBeDefined()
    const wrongPath = server.wsUrl.replace(SIGNALING_PATH, '/elsewhere')
    await expect(openSocket(wrongPath, { origin: 'https://dcmx.example.org' })).rejects.toThrow(/404/)
    expect(server.metrics().upgradesRefused).toEqual({ path: 1, origin: 2, server_full: 0, ip_full: 0 })
  })
})

describe('HTTP timeouts', () => {
  it('apply to requests only: a joined socket outlives headersTimeout and requestTimeout', async () => {
    const server = await start({ headersTimeoutMs: 200, requestTimeoutMs: 300 })
    const a = await joinRoom(server, 'r')
    await new Promise((r) => setTimeout(r, 1_500))
    expect(a.ws.readyState).toBe(WebSocket.OPEN)
    a.send({ type: 'sample' })
    expect((await a.expect('sample')).peers).toEqual([])
  })
})

describe('heartbeat', () => {
  it('terminates a socket that stops answering pings, and keeps one that answers', async () => {
    const server = await start({ heartbeatMs: 100 })
    const healthy = await joinRoom(server, 'r')
    const silent = await connect(server, { autoPong: false })
    const started = performance.now()
    expect((await silent.closed).code).toBe(1006)
    // Dropped after the first unanswered round: between one and two intervals (plus scheduling slack).
    expect(performance.now() - started).toBeLessThan(1_000)
    expect(server.metrics().heartbeatDrops).toBe(1)
    await new Promise((r) => setTimeout(r, 350))
    expect(healthy.ws.readyState).toBe(WebSocket.OPEN)
    healthy.send({ type: 'sample' })
    expect((await healthy.expect('sample')).peers).toEqual([])
    expect(server.metrics().heartbeatDrops).toBe(1)
    expect(await (await get(server, '/metrics')).text()).toMatch(/^dcmx_signaling_heartbeat_drops_total 1$/m)
  })
})

describe('HTTP endpoints and state', () => {
  it('frees rooms on leave and close; /healthz and /metrics report the counts', async () => {
    const server = await start()
    const a = await joinRoom(server, 'r1')
    const b = await joinRoom(server, 'r1')
    const c = await joinRoom(server, 'r2')
    const health = async () => (await get(server, '/healthz')).json() as Promise<Record<string, unknown>>
    expect(await health()).toMatchObject({ ok: true, connections: 3, rooms: 2 })
    expect((await health()).uptimeS).toEqual(expect.any(Number))

    a.send({ type: 'leave' })
    b.send({ type: 'sample' })
    expect((await b.expect('sample')).peers).toEqual([])
    c.ws.close()
    await until(async () => (await health()).rooms === 1)
    b.ws.terminate()
    await until(() => server.metrics().rooms === 0)
    const m = parsePrometheus(await (await get(server, '/metrics')).text())
    expect(m.value('dcmx_signaling_rooms')).toBe(0)
    expect(m.value('dcmx_signaling_connections')).toBe(1)
    expect(await health()).toMatchObject({ ok: true, connections: 1, rooms: 0 })
  })

  it('serves valid Prometheus text whose counters move', async () => {
    const server = await start()
    const res = await get(server, '/metrics')
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
    const before = parsePrometheus(await res.text())
    expect(Object.fromEntries(before.types)).toMatchObject({
      dcmx_signaling_connections: 'gauge',
      dcmx_signaling_rooms: 'gauge',
      dcmx_signaling_messages_relayed_total: 'counter',
      dcmx_signaling_messages_rejected_total: 'counter',
      dcmx_signaling_joins_total: 'counter',
      dcmx_signaling_heartbeat_drops_total: 'counter',
    })
    expect(before.value('dcmx_signaling_messages_relayed_total')).toBe(0)
    expect(before.value('dcmx_signaling_messages_rejected_total', '{reason="BAD_MESSAGE"}')).toBe(0)

    const a = await joinRoom(server, 'r')
    const b = await joinRoom(server, 'r')
    a.send({ type: 'signal', to: b.session, data: OFFER })
    await b.expect('signal')
    a.ws.send('nope')
    await a.expect('error')
    a.send({ type: 'signal', to: 'AAAAAAAAAAAAAAAAAAAAAA', data: OFFER })
    await a.expect('error')

    const after = parsePrometheus(await (await get(server, '/metrics')).text())
    expect(after.value('dcmx_signaling_messages_relayed_total')).toBe(1)
    expect(after.value('dcmx_signaling_messages_rejected_total', '{reason="BAD_MESSAGE"}')).toBe(1)
    expect(after.value('dcmx_signaling_messages_rejected_total', '{reason="UNKNOWN_PEER"}')).toBe(1)
    expect(after.value('dcmx_signaling_joins_total')).toBe(2)
    expect(after.value('dcmx_signaling_connections')).toBe(2)
    expect(after.value('dcmx_signaling_rooms')).toBe(1)
  })

  it('serves the built app with SPA fallback and the right caching, or 404 without one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dcmx-static-'))
    try {
      mkdirSync(join(dir, 'assets'))
      writeFileSync(join(dir, 'index.html'), '<!doctype html><title>dcmx</title>')
      writeFileSync(join(dir, 'assets', 'app-1a2b3c.js'), 'console.log(1)')
      const server = await start({ staticDir: dir })
      const index = await get(server, '/')
      expect(index.status).toBe(200)
      expect(await index.text()).toContain('<title>dcmx</title>')
      expect(index.headers.get('cache-control')).toBe('no-cache')
      const deep = await get(server, '/library/album/42')
      expect(deep.status).toBe(200)
      expect(await deep.text()).toContain('<title>dcmx</title>')
      expect(deep.headers.get('cache-control')).toBe('no-cache')
      const asset = await get(server, '/assets/app-1a2b3c.js')
      expect(asset.status).toBe(200)
      expect(asset.headers.get('cache-control')).toContain('immutable')
      expect((await get(server, '/assets/missing-000.js')).status).toBe(404)
      expect((await get(server, '/healthz')).headers.get('content-type')).toBe('application/json')
      expect((await get(server, SIGNALING_PATH)).status).toBe(426)
      expect((await get(server, '/', { method: 'POST' })).status).toBe(405)

      const bare = await start()
      expect((await get(bare, '/')).status).toBe(404)
      expect((await get(bare, '/healthz')).status).toBe(200)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('can be closed and started again on the same port', async () => {
    const first = await start()
    const client = await joinRoom(first, 'r')
    await first.close()
    expect((await client.closed).code).toBe(1006)
    const second = await start({ port: first.port })
    expect(second.port).toBe(first.port)
    const again = await joinRoom(second, 'r')
    expect(again.joined.peers).toEqual([])
    expect(second.metrics().connections).toBe(1)
    await second.close()
    await second.close() // idempotent
  })
})
