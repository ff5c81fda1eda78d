import { describe, expect, it } from 'vitest'
import { holdSignaling, SignalingClient, type SocketLike } from './signaling-client.ts'
import type { ServerMessage } from './signaling-protocol.ts'
import { FakeClock } from './testing/fake-clock.ts'

/** A socket the test drives by hand: it records what the client sends and closes. */
class HandSocket implements SocketLike {
  sent: unknown[] = []
  closed = false
  onopen: (() => void) | null = null
  onmessage: ((text: string) => void) | null = null
  onclose: ((code: number, reason: string) => void) | null = null
  send(text: string) {
    this.sent.push(JSON.parse(text))
  }
  close() {
    this.closed = true
  }
  deliver(m: ServerMessage | string) {
    this.onmessage?.(typeof m === 'string' ? m : JSON.stringify(m))
  }
}

const PEER = 'ab'.repeat(16)

function setup(random: () => number) {
  const clock = new FakeClock()
  const sockets: HandSocket[] = []
  const client = new SignalingClient({
    url: 'ws://lb/signal',
    room: 'r',
    peerId: PEER,
    openSocket: () => {
      const s = new HandSocket()
      sockets.push(s)
      return s
    },
    clock,
    random,
    backoff: { baseMs: 10_000, maxMs: 60_000 },
  })
  const online = (socket: HandSocket, session: string) => {
    socket.deliver({ type: 'welcome', session, iceServers: [] })
    socket.deliver({ type: 'joined', room: 'r', peers: [] })
  }
  return { clock, sockets, client, online }
}

describe('SignalingClient and a draining server', () => {
  it('closes at once on `reconnect`, comes back at a random moment within the spread, and re-joins', async () => {
    const { clock, sockets, client, online } = setup(() => 0.25)
    client.start()
    online(sockets[0]!, 'session-one')
    expect(client.state).toEqual({ state: 'online', session: 'session-one' })

    sockets[0]!.deliver({ type: 'reconnect', withinMs: 4_000 })
    expect(sockets[0]!.closed).toBe(true)
    expect(client.state).toMatchObject({ state: 'reconnecting', lastError: 'the server is shutting down' })
    // 0.25 of the 4 s spread, not the (much longer) backoff of a lost connection.
    await clock.advance(999)
    expect(sockets).toHaveLength(1)
    await clock.advance(1)
    expect(sockets).toHaveLength(2)
    online(sockets[1]!, 'session-two')
    expect(sockets[1]!.sent).toEqual([{ type: 'join', room: 'r', peerId: PEER }])
    expect(client.state).toEqual({ state: 'online', session: 'session-two' })
  })

  it('spreads clients over the whole window (jitter), and ignores a malformed `reconnect`', async () => {
    const delays: number[] = []
    for (const r of [0, 0.5, 0.999]) {
      const { clock, sockets, client, online } = setup(() => r)
      client.start()
      online(sockets[0]!, 'session-one')
      sockets[0]!.deliver('{"type":"reconnect","withinMs":-5}')
      sockets[0]!.deliver('{"type":"reconnect","withinMs":3600000}')
      expect(client.state.state).toBe('online')
      sockets[0]!.deliver({ type: 'reconnect', withinMs: 2_000 })
      const start = clock.now()
      while (sockets.length === 1) await clock.advance(10)
      delays.push(clock.now() - start)
      client.stop()
    }
    expect(delays[0]).toBeLessThanOrEqual(10)
    expect(delays[1]).toBeGreaterThanOrEqual(1_000)
    expect(delays[1]).toBeLessThanOrEqual(1_010)
    expect(delays[2]).toBeGreaterThan(1_990)
    expect(delays[2]).toBeLessThanOrEqual(2_000)
  })
})

describe('holdSignaling', () => {
  it('tells a node that starts late everything the server said, offers before the peers to dial', () => {
    const { sockets, client } = setup(() => 0.5)
    const held = holdSignaling(client.events)
    client.start()
    const other = { session: 'session-other', peerId: 'cd'.repeat(16) }
    sockets[0]!.deliver({ type: 'welcome', session: 'session-mine', iceServers: [] })
    sockets[0]!.deliver({ type: 'joined', room: 'r', peers: [other] })
    // The other peer learnt of us meanwhile and is already dialling.
    sockets[0]!.deliver({ type: 'signal', from: other, data: { type: 'offer', sdp: 'v=0' } })

    // The node subscribes once its WebRTC code is in; until then it heard nothing.
    const heard: string[] = []
    client.events.on('state', (state) => heard.push(`state ${state.state}`))
    client.events.on('signal', (from, data) => heard.push(`signal ${data.type} from ${from.session}`))
    client.events.on('peers', (peers) => heard.push(`peers ${peers.map((p) => p.session).join()}`))
    expect(heard).toEqual([])
    held.release()
    // The offer first: its inbound link exists by the time the join's sample is dialled.
    expect(heard).toEqual([
      'state connecting',
      'state online',
      'signal offer from session-other',
      'peers session-other',
    ])
  })
})
