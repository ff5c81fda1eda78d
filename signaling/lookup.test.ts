import { afterEach, describe, expect, it } from 'vitest'
import { SignalingClient } from '../src/core/signaling-client.ts'
import { MAX_LOOKUP_IDS, type PeerRef } from '../src/core/signaling-protocol.ts'
import { openWsSocket, realClock } from '../src/core/testing/ws-socket.ts'
import { cleanup, connect, joinRoom, peerId, SILENCE_MS, start, until } from './test-helpers.ts'

afterEach(cleanup)

const byPeer = (peers: PeerRef[]) => [...peers].sort((a, b) => a.peerId.localeCompare(b.peerId))

describe('lookup', () => {
  it('answers with the sessions of the asked peer ids in the room, never self or other rooms', async () => {
    const server = await start()
    const a = await joinRoom(server, 'r')
    const b = await joinRoom(server, 'r')
    const c = await joinRoom(server, 'r')
    const elsewhere = await joinRoom(server, 'r2')
    a.send({ type: 'lookup', peerIds: [b.peerId, c.peerId, a.peerId, elsewhere.peerId, peerId()] })
    const answer = await a.expect('sample')
    expect(byPeer(answer.peers)).toEqual(
      byPeer([
        { session: b.session, peerId: b.peerId },
        { session: c.session, peerId: c.peerId },
      ]),
    )
    // Nobody else hears about it.
    await b.silence()
  })

  it('answers an empty sample when none of the ids is in the room', async () => {
    const server = await start()
    const a = await joinRoom(server, 'r')
    const gone = await joinRoom(server, 'r')
    gone.send({ type: 'leave' })
    await until(() => server.metrics().rooms === 1)
    a.send({ type: 'lookup', peerIds: [gone.peerId, peerId()] })
    expect((await a.expect('sample')).peers).toEqual([])
  })

  it('refuses more than MAX_LOOKUP_IDS ids, none, or malformed ones with BAD_MESSAGE', async () => {
    const server = await start()
    const a = await joinRoom(server, 'r')
    const bad = [
      Array.from({ length: MAX_LOOKUP_IDS + 1 }, peerId),
      [],
      ['NOT-HEX'],
      [peerId().toUpperCase()],
      [42],
    ]
    for (const peerIds of bad) {
      a.send({ type: 'lookup', peerIds })
      expect((await a.expect('error')).code).toBe('BAD_MESSAGE')
    }
    a.send({ type: 'lookup', peerIds: Array.from({ length: MAX_LOOKUP_IDS }, peerId) })
    expect((await a.expect('sample')).peers).toEqual([])
  })

  it('refuses a lookup before join, and after leave, with NOT_JOINED', async () => {
    const server = await start()
    const a = await connect(server)
    const b = await joinRoom(server, 'r')
    a.send({ type: 'lookup', peerIds: [b.peerId] })
    expect((await a.expect('error')).code).toBe('NOT_JOINED')
    b.send({ type: 'leave' })
    b.send({ type: 'lookup', peerIds: [b.peerId] })
    expect((await b.expect('error')).code).toBe('NOT_JOINED')
  })

  it('counts against the per-connection rate limit', async () => {
    const server = await start({ rateLimit: { perSecond: 1, burst: 3 } })
    const a = await joinRoom(server, 'r') // the join took one token
    for (let i = 0; i < 3; i++) a.send({ type: 'lookup', peerIds: [peerId()] })
    expect((await a.expect('sample')).type).toBe('sample')
    expect((await a.expect('sample')).type).toBe('sample')
    expect((await a.expect('error')).code).toBe('RATE_LIMITED')
  })
})

describe('SignalingClient.lookup', () => {
  it('emits the looked-up peers, skipping malformed ids and splitting long lists', async () => {
    const server = await start()
    const b = await joinRoom(server, 'r')
    const c = await joinRoom(server, 'r')
    const client = new SignalingClient({
      url: server.wsUrl,
      room: 'r',
      peerId: peerId(),
      openSocket: openWsSocket,
      clock: realClock,
      random: Math.random,
    })
    const batches: PeerRef[][] = []
    client.events.on('peers', (peers) => batches.push(peers))
    client.lookup([b.peerId]) // offline: dropped, not queued for later
    client.start()
    await until(() => client.state.state === 'online')
    await new Promise((r) => setTimeout(r, SILENCE_MS))
    expect(batches).toHaveLength(1) // the answer to join
    const strangers = Array.from({ length: MAX_LOOKUP_IDS }, peerId)
    client.lookup([b.peerId, 'NOT-HEX', b.peerId, ...strangers, c.peerId])
    await until(() => batches.length === 3)
    await new Promise((r) => setTimeout(r, SILENCE_MS))
    client.stop()
    expect(batches).toHaveLength(3)
    expect(byPeer(batches.slice(1).flat())).toEqual(
      byPeer([
        { session: b.session, peerId: b.peerId },
        { session: c.session, peerId: c.peerId },
      ]),
    )
    expect(server.metrics().rejected.BAD_MESSAGE).toBe(0)
  })
})
