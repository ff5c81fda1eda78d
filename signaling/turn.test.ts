import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { startCoturn, type Coturn } from '../tests/nat/coturn.ts'
import { probeTurn } from '../tests/nat/turn-probe.ts'
import { parseConfig } from './config.ts'
import { SignalingClient } from '../src/core/signaling-client.ts'
import type { IceServer } from '../src/core/signaling-protocol.ts'
import { openWsSocket, realClock } from '../src/core/testing/ws-socket.ts'
import { cleanup, connect, get, joinRoom, parsePrometheus, peerId, start, until } from './test-helpers.ts'
import { expandTurnUrls, IceProvider, mintTurnCredential, parseTurnConfig } from './turn.ts'

// Built from parts at run time: tests carry no literal ICE server URLs.
const TURN = ['tu', 'rn'].join('')
const url = (host: string, port: number) => `${TURN}:${host}:${port}`
const SECRET = 'lab-secret-for-tests'

afterEach(async () => {
  vi.useRealTimers()
  await cleanup()
})

describe('TURN REST credentials', () => {
  it('are <expiry>:<name> and base64(HMAC-SHA1(secret, username))', () => {
    // Vector computed with: printf 1700000000:alice | openssl dgst -sha1 -hmac s3cret -binary | base64
    expect(mintTurnCredential('s3cret', 'alice', 1_700_000_000)).toEqual({
      username: '1700000000:alice',
      credential: 'TtElzSjT0GdnTQ9xdcRNxx96yQs=',
    })
  })

  it('expire the configured lifetime after they are minted', () => {
    let now = 1_000_000_000_000
    const ice = new IceProvider([], { secret: SECRET, urls: [url('h.invalid', 3478)], ttlS: 600 }, () => now)
    const [server] = ice.serversFor('sess1')
    expect(server?.username).toBe(`${1_000_000_000 + 600}:sess1`)
    now += 300_000
    expect(ice.serversFor('sess1')[0]?.username).toBe(`${1_000_000_000 + 900}:sess1`)
    expect(ice.refreshMs).toBe(300_000)
  })

  it('offer a transport-less TURN URL over UDP and TCP, and keep TLS URLs as given', () => {
    const tls = `${TURN}s:h.invalid:5349?transport=tcp`
    expect(expandTurnUrls([url('h.invalid', 3478), tls])).toEqual([
      `${url('h.invalid', 3478)}?transport=udp`,
      `${url('h.invalid', 3478)}?transport=tcp`,
      tls,
    ])
  })

  it('refuse bad TURN flags with a sentence', () => {
    expect(parseTurnConfig(undefined, url('h.invalid', 1), undefined)).toEqual({
      ok: false,
      error: '--turn-urls needs --turn-secret',
    })
    expect(parseTurnConfig('s', undefined, undefined).ok).toBe(false)
    expect(parseTurnConfig('s', 'http://h.invalid', undefined).ok).toBe(false)
    expect(parseTurnConfig('s', url('h.invalid', 1), '5').ok).toBe(false)
    expect(parseTurnConfig('s', url('h.invalid', 1), '600')).toEqual({
      ok: true,
      value: { secret: 's', urls: [url('h.invalid', 1)], ttlS: 600 },
    })
    const parsed = parseConfig([], {
      DCMX_TURN_SECRET: 's',
      DCMX_TURN_URLS: `${url('a.invalid', 1)}, ${url('b.invalid', 2)}`,
    })
    expect(parsed.ok && parsed.value.kind === 'run' && parsed.value.config.turnAuth?.urls).toEqual([
      url('a.invalid', 1),
      url('b.invalid', 2),
    ])
  })
})

describe('the signaling server with TURN', () => {
  it('mints distinct credentials per session in welcome, beside the static servers', async () => {
    const stun = { urls: `st${'un'}:stun.invalid:3478` }
    const server = await start({
      iceServers: [stun],
      turnAuth: { secret: SECRET, urls: [url('turn.invalid', 3478)], ttlS: 600 },
    })
    const a = await connect(server)
    const b = await connect(server)
    expect(a.welcome.iceServers[0]).toEqual(stun)
    const turnA = a.welcome.iceServers[1]
    const turnB = b.welcome.iceServers[1]
    expect(turnA?.username).toMatch(new RegExp(`^\\d+:${a.session}$`))
    expect(turnB?.username).toMatch(new RegExp(`^\\d+:${b.session}$`))
    const expiry = Number(turnA?.username?.split(':')[0])
    expect(expiry * 1000 - Date.now()).toBeGreaterThan(590_000)
    expect(expiry * 1000 - Date.now()).toBeLessThanOrEqual(600_000)
    expect(turnA?.credential).toBe(mintTurnCredential(SECRET, a.session, expiry).credential)
  })

  it('sends fresh credentials before the old ones expire, for as long as the socket lives', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] })
    const server = await start({
      turnAuth: { secret: SECRET, urls: [url('turn.invalid', 3478)], ttlS: 120 },
      heartbeatMs: 3_600_000,
    })
    const a = await connect(server)
    const first = a.welcome.iceServers[0]
    vi.advanceTimersByTime(59_000)
    await a.silence()
    vi.advanceTimersByTime(1_000)
    const refreshed = await a.expect('ice')
    const second = refreshed.iceServers[0]
    expect(second?.username).not.toBe(first?.username)
    // Issued half a lifetime later: it outlives the first by that much.
    expect(Number(second?.username?.split(':')[0]) - Number(first?.username?.split(':')[0])).toBe(60)
    vi.advanceTimersByTime(60_000)
    await a.expect('ice')
  })

  it('reach the client: it swaps in the fresh servers for new links, and its link reports are counted', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] })
    const server = await start({
      turnAuth: { secret: SECRET, urls: [url('turn.invalid', 3478)], ttlS: 120 },
      heartbeatMs: 3_600_000,
    })
    const client = new SignalingClient({
      url: server.wsUrl,
      room: 'r',
      peerId: peerId(),
      openSocket: openWsSocket,
      clock: realClock,
      random: Math.random,
    })
    const fresh: IceServer[][] = []
    client.events.on('ice', (servers) => fresh.push(servers))
    client.start()
    try {
      await until(() => client.state.state === 'online')
      const first = client.iceServers[0]?.username
      expect(first).toMatch(/^\d+:/)
      vi.advanceTimersByTime(60_000)
      await until(() => fresh.length === 1)
      expect(client.iceServers).toEqual(fresh[0])
      expect(client.iceServers[0]?.username).not.toBe(first)
      client.report({ local: 'relay', remote: 'srflx' })
      await until(() => server.metrics().linksByType['relay-srflx'] === 1)
    } finally {
      client.stop()
    }
  })

  it('counts links in /metrics by the candidate types clients report, refusing unknown types', async () => {
    const server = await start()
    const a = await joinRoom(server, 'r')
    a.send({ type: 'link-report', link: { local: 'srflx', remote: 'relay' } })
    a.send({ type: 'link-report', link: { local: 'host', remote: 'host' } })
    a.send({ type: 'link-report', link: { local: 'evil"}', remote: 'host' } })
    await a.expect('error')
    const metrics = parsePrometheus(await (await get(server, '/metrics')).text())
    expect(metrics.value('dcmx_signaling_links_reported_total', '{pair="srflx-relay"}')).toBe(1)
    expect(metrics.value('dcmx_signaling_links_reported_total', '{pair="host-host"}')).toBe(1)
  })
})

describe('a real coturn with use-auth-secret', () => {
  let relay: Coturn
  beforeAll(async () => {
    relay = await startCoturn({ ip: '127.0.0.1', secret: SECRET, realm: 'dcmx.test' })
  })
  afterAll(async () => {
    await relay.close()
  })

  it('accepts a credential the signaling server minted', async () => {
    const [server] = new IceProvider([], { secret: SECRET, urls: [url('127.0.0.1', relay.port)] }).serversFor(
      'alice',
    )
    const result = await probeTurn('127.0.0.1', relay.port, server?.username ?? '', server?.credential ?? '')
    expect(result, relay.log()).toEqual({ ok: true })
  })

  it('refuses a forged credential', async () => {
    const expiry = Math.floor(Date.now() / 1000) + 600
    const forged = mintTurnCredential('not-the-secret', 'mallory', expiry)
    const result = await probeTurn('127.0.0.1', relay.port, forged.username, forged.credential)
    expect(result).toMatchObject({ ok: false, code: 401 })
  })

  it('refuses an expired credential, even with the right secret', async () => {
    const expired = mintTurnCredential(SECRET, 'alice', Math.floor(Date.now() / 1000) - 60)
    const result = await probeTurn('127.0.0.1', relay.port, expired.username, expired.credential)
    expect(result).toMatchObject({ ok: false, code: 401 })
  })
})
