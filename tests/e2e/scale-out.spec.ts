import { test as base, type Browser, type Page } from '@playwright/test'
import { startRedis, type RedisProcess } from '../../signaling/redis-test-helpers.ts'
import { startSignaling, type SignalingServer } from '../../signaling/server.ts'
import { makeWav, sha256 } from './audio-fixtures.ts'
import { expect, expectHolders, peerItem, playFromNetwork, readPeerId, STATIC_DIR } from './fixtures.ts'

/** Two signaling servers sharing rooms through one real redis-server, all on loopback. */
const test = base.extend<{ cluster: { redis: RedisProcess; servers: SignalingServer[] } }>({
  // eslint-disable-next-line no-empty-pattern
  cluster: async ({}, use) => {
    const redis = await startRedis()
    const start = () =>
      startSignaling({ port: 0, host: '127.0.0.1', staticDir: STATIC_DIR, redis: redis.url, log: () => {} })
    const servers = [await start(), await start()]
    try {
      await use({ redis, servers })
    } finally {
      for (const s of servers) await s.close()
      await redis.stop()
    }
  },
})

const song = makeWav({ name: 'across.wav', seconds: 8, sampleRate: 22_050, title: 'Across Servers' })
const songHash = sha256(song.buffer)

async function openNodeAt(
  browser: Browser,
  base: string,
  room: string,
): Promise<{ page: Page; peerId: string }> {
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto(`${base}/?${new URLSearchParams({ room, gossip: '500' })}`)
  return { page, peerId: await readPeerId(page) }
}

test('tab A on server 1 and tab B on server 2 link over WebRTC, and B plays A’s track', async ({
  browser,
  cluster,
}) => {
  const [s1, s2] = cluster.servers as [SignalingServer, SignalingServer]
  const room = `scale-${Date.now() % 100_000}`
  const a = await openNodeAt(browser, s1.url, room)
  await a.page.getByLabel('Add music files').setInputFiles([song])
  await expect(
    a.page.getByRole('list', { name: 'Imports' }).getByRole('listitem').filter({ hasText: song.name }),
  ).toContainText('Added')

  const b = await openNodeAt(browser, s2.url, room)
  // The first WebRTC set-up of a run may be slow: allow for it.
  await expect(peerItem(b.page, a.peerId).getByTestId('peer-state')).toHaveText('connected', {
    timeout: 45_000,
  })
  await expect(peerItem(a.page, b.peerId).getByTestId('peer-state')).toHaveText('connected')
  // The offer and answer crossed servers through Redis.
  expect(s1.metrics().shared).toMatchObject({ backend: 'redis', up: true })
  const crossed = (s: SignalingServer) => {
    const shared = s.metrics().shared
    return shared.backend === 'redis' ? shared.relayedIn + shared.relayedOut : 0
  }
  expect(crossed(s1)).toBeGreaterThan(0)
  expect(crossed(s2)).toBeGreaterThan(0)

  await expectHolders(b.page, songHash, 1)
  await playFromNetwork(b.page, 'Across Servers', songHash)
})
