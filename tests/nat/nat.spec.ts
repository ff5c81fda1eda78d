import { expect, test, type Browser } from '@playwright/test'
import type { SignalingServer } from '../../signaling/server.ts'
import { makeWav, sha256 } from '../e2e/audio-fixtures.ts'
import { storedBlob } from '../e2e/fixtures.ts'
import type { Coturn } from './coturn.ts'
import {
  activity,
  labCoturn,
  labServer,
  launchHome,
  openLabNode,
  readLab,
  routeTo,
  type HomeName,
} from './lab.ts'

const lab = readLab()
let coturn: Coturn
test.beforeAll(async () => {
  coturn = await labCoturn(lab)
})
test.afterAll(async () => {
  await coturn?.close()
})

const browsers: Browser[] = []
let server: SignalingServer | undefined
test.afterEach(async () => {
  for (const b of browsers.splice(0)) await b.close().catch(() => {})
  await server?.close()
  server = undefined
})

async function twoHomes(a: HomeName, b: HomeName, opts: { turn: boolean; params?: Record<string, string> }) {
  server = await labServer(lab, coturn, { turn: opts.turn })
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
const songHash = sha256(song.buffer)

test('two tabs behind two different cone NATs link directly, and one plays the other’s track', async () => {
  const { na, nb } = await twoHomes('cone1', 'cone2', { turn: false })
  const route = await routeTo(nb, na.peerId)
  expect(route.local).not.toBe('relay')
  expect(route.remote).not.toBe('relay')
  // Across two NATs only a reflexive address reaches the other side (host addresses are private).
  expect(['srflx', 'prflx']).toContain(route.remote)
  await expect(nb.page.getByTestId('peer-route')).toHaveText('direct (through NAT)')

  await na.page.getByLabel('Add music files').setInputFiles([song])
  await nb.page.getByRole('tab', { name: 'Network' }).click()
  const row = nb.page.getByRole('table', { name: 'Network' }).getByRole('row').filter({ hasText: 'Lab Song' })
  await row.getByRole('button', { name: 'Play Lab Song' }).click()
  const audio = nb.page.locator('audio')
  await expect.poll(() => audio.evaluate((el: HTMLAudioElement) => el.currentTime)).toBeGreaterThan(0.3)
})
