import { expect, test, type Browser, type Page } from '@playwright/test'
import type { SignalingServer } from '../../signaling/server.ts'
import { makeWav, sha256 } from '../e2e/audio-fixtures.ts'
import { storedBlob } from '../e2e/fixtures.ts'
import type { Coturn } from './coturn.ts'
import {
  activity,
  cutHalfRelayedPaths,
  labCoturn,
  labServer,
  launchHome,
  openLabNode,
  readLab,
  routeTo,
  type HomeName,
} from './lab.ts'

const lab = readLab()
let turnServer: Coturn
test.beforeAll(async () => {
  turnServer = await labCoturn(lab)
})
test.afterAll(async () => {
  await turnServer?.close()
})

const browsers: Browser[] = []
let server: SignalingServer | undefined
test.afterEach(async () => {
  for (const b of browsers.splice(0)) await b.close().catch(() => {})
  await server?.close()
  server = undefined
})

async function twoHomes(
  a: HomeName,
  b: HomeName,
  opts: { withTurn: boolean; params?: Record<string, string> },
) {
  server = await labServer(lab, turnServer, { withTurn: opts.withTurn })
  const origin = new URL(server.url).origin
  const room = `nat${Date.now() % 100_000}`
  const [ba, bb] = await Promise.all([launchHome(lab, a, origin), launchHome(lab, b, origin)])
  browsers.push(ba, bb)
  const na = await openLabNode(ba, server, { room, gossip: '500', ...opts.params })
  const nb = await openLabNode(bb, server, { room, gossip: '500' })
  return { na, nb }
}

// ~2.6 MB of audio (30 s, 44.1 kHz mono): past the 2–3 MiB where a half-relayed path stalled.
const song = makeWav({ name: 'lab.wav', seconds: 30, sampleRate: 44_100, title: 'Lab Song', artist: 'NAT' })
// ~7.9 MB (90 s): long enough that a path cut after its first verified bytes cuts it mid-transfer.
const bigSong = makeWav({
  name: 'big.wav',
  seconds: 90,
  sampleRate: 44_100,
  title: 'Big Song',
  artist: 'NAT',
})

test('two tabs behind two different cone NATs link directly, and one plays the other’s track', async () => {
  const { na, nb } = await twoHomes('cone1', 'cone2', { withTurn: false })
  const route = await routeTo(nb, na.peerId)
  expect(route.local).not.toBe('relay')
  expect(route.remote).not.toBe('relay')
  // Across two NATs only a reflexive address reaches the other side (host addresses are private).
  expect(['srflx', 'prflx']).toContain(route.remote)
  await expect(nb.page.getByTestId('peer-route')).toHaveText('direct (through NAT)')

  await na.page.getByLabel('Add music files').setInputFiles([song])
  await nb.page.getByRole('tab', { name: 'Network', exact: true }).click()
  const row = nb.page.getByRole('table', { name: 'Network' }).getByRole('row').filter({ hasText: 'Lab Song' })
  await row.getByRole('button', { name: 'Play Lab Song' }).click()
  const audio = nb.page.locator('audio')
  await expect.poll(() => audio.evaluate((el: HTMLAudioElement) => el.currentTime)).toBeGreaterThan(0.3)
})

/** Import `file` on `from` and wait until `to` lists it described; its hash. */
async function offer(from: { page: Page }, to: { page: Page }, file: typeof song): Promise<string> {
  const hash = sha256(file.buffer)
  await from.page.getByLabel('Add music files').setInputFiles([file])
  await expect
    .poll(
      () =>
        to.page.evaluate((h) => window.dcmx!.network.some((t) => t.contentHash === h && t.described), hash),
      { timeout: 20_000 },
    )
    .toBe(true)
  return hash
}

/** Wait until `to`'s download of `file` is done, and check that the stored copy is verified. */
async function finished(to: { page: Page }, file: typeof song) {
  const hash = sha256(file.buffer)
  await expect
    .poll(
      () => to.page.evaluate((h) => window.dcmx!.fetcher!.downloads.find((d) => d.hash === h)?.state, hash),
      { timeout: 60_000 },
    )
    .toBe('done')
  expect(await storedBlob(to.page, hash)).toEqual({ size: file.buffer.length, sha256: hash })
}

/** Import the song on `from`, fetch it on `to`, and check that the stored copy is verified. */
async function transfer(from: { page: Page }, to: { page: Page }, file = song) {
  const hash = await offer(from, to, file)
  await to.page.evaluate((h) => window.dcmx!.fetcher!.fetch(h), hash)
  await finished(to, file)
}

test('a tab behind a symmetric NAT links to a cone NAT only through coturn, and the transfer completes', async () => {
  const { na, nb } = await twoHomes('symmetric', 'cone1', { withTurn: true })
  const route = await routeTo(na, nb.peerId)
  expect(route.local === 'relay' || route.remote === 'relay', JSON.stringify(route)).toBe(true)
  await transfer(nb, na)
})

test('without TURN, symmetric ↔ cone fails within a bounded time with a sentence the user can act on', async () => {
  const started = Date.now()
  const { na } = await twoHomes('symmetric', 'cone1', { withTurn: false })
  await expect(activity(na)).toContainText(
    'Could not reach this peer directly, and the server offers no relay',
    { timeout: 30_000 },
  )
  expect(Date.now() - started).toBeLessThan(45_000)
  expect(await na.page.evaluate(() => window.dcmx!.peers.filter((p) => p.state === 'connected').length)).toBe(
    0,
  )
})

test('a relayed path that breaks mid-transfer is restarted relay-only, and the transfer completes', async () => {
  const { na, nb } = await twoHomes('symmetric', 'cone1', { withTurn: true })
  const before = await routeTo(na, nb.peerId)
  expect((before.local === 'relay') !== (before.remote === 'relay'), JSON.stringify(before)).toBe(true)
  const hash = await offer(nb, na, bigSong)
  const received = () =>
    na.page.evaluate((h) => window.dcmx!.fetcher!.downloads.find((d) => d.hash === h)?.bytes ?? 0, hash)
  // The path breaks once the first verified bytes are in, so the transfer is under way when it does.
  await na.page.evaluate((h) => void window.dcmx!.fetcher!.fetch(h), hash)
  await expect.poll(received, { intervals: [10], timeout: 20_000 }).toBeGreaterThan(0)
  const cut = cutHalfRelayedPaths(lab)
  try {
    const atCut = await received()
    expect(atCut).toBeLessThan(bigSong.buffer.length)
    await finished(na, bigSong)
    // The fault did eat packets, and the link came back over a relay ↔ relay pair (which the
    // fault leaves alone): the restart went relay-only on both sides.
    expect(cut.dropped()).toBeGreaterThan(0)
    expect(await routeTo(na, nb.peerId)).toMatchObject({ local: 'relay', remote: 'relay' })
    expect(await routeTo(nb, na.peerId)).toMatchObject({ local: 'relay', remote: 'relay' })
    await expect(activity(na)).not.toContainText('closed')
  } finally {
    cut.remove()
  }
})

test('a tab on a network that blocks UDP links through TURN over TCP', async () => {
  const { na, nb } = await twoHomes('udpblocked', 'cone1', { withTurn: true })
  const route = await routeTo(na, nb.peerId)
  expect(route).toMatchObject({ local: 'relay', relayProtocol: 'tcp' })
  await expect(na.page.getByTestId('peer-route')).toHaveText('relayed (TCP)')
})

test('in relay-only mode no host or reflexive candidate of the tab ever reaches the other peer', async () => {
  const { na, nb } = await twoHomes('cone1', 'cone2', { withTurn: true, params: { relay: '1' } })
  const route = await routeTo(na, nb.peerId)
  expect(route.local).toBe('relay')
  await expect(na.page.getByRole('checkbox', { name: /Relay-only mode/, includeHidden: true })).toBeChecked()
  // What of `na` reached `nb`: every description and trickled candidate nb's connections were given.
  const seen = await nb.page.evaluate(async () => {
    const r = (
      window as unknown as { __remote: { sdp: string[]; candidates: string[]; pcs: RTCPeerConnection[] } }
    ).__remote
    const remoteTypes: string[] = []
    for (const pc of r.pcs) {
      for (const s of (await pc.getStats()).values())
        if (s.type === 'remote-candidate') remoteTypes.push(s.candidateType)
    }
    return { sdp: r.sdp, candidates: r.candidates, remoteTypes }
  })
  const lines = [
    ...seen.candidates,
    ...seen.sdp.flatMap((sdp) => sdp.split(/\r?\n/).filter((l) => l.startsWith('a=candidate'))),
  ]
  expect(lines.length).toBeGreaterThan(0)
  for (const line of lines) expect(line).toMatch(/ typ relay /)
  for (const address of [lab.homes.cone1.address, lab.homes.cone1.wan]) {
    for (const line of lines) expect(line.split(' ')).not.toContain(address)
  }
  expect(seen.remoteTypes.length).toBeGreaterThan(0)
  expect(new Set(seen.remoteTypes)).toEqual(new Set(['relay']))
})
