import { makeWav, sha256 } from './audio-fixtures.ts'
import {
  activityLog,
  addFiles,
  audioPath,
  download,
  expect,
  networkRow,
  peerItem,
  seesHolders,
  storedBlob,
  test,
  type TestNode,
} from './fixtures.ts'

const GOSSIP_MS = 500

// 90 s of 44.1 kHz mono: ~7.9 MB, 31 pieces — several range requests and a transfer that takes a while.
const song = makeWav({
  name: 'remote.wav',
  seconds: 90,
  sampleRate: 44_100,
  title: 'Remote Song',
  artist: 'Far Away',
})
const songHash = sha256(song.buffer)

const piecesSent = (node: TestNode) =>
  node.page.evaluate(() => window.dcmx!.stats.sent['content-piece']?.messages ?? 0)

test('a remote track plays while it downloads, seeks to 80 % early, ends verified, and is then served by its new holder too', async ({
  openNode,
}) => {
  const a = await openNode({ gossip: GOSSIP_MS })
  await addFiles(a.page, [song])
  // A slow holder (test-only): the download takes seconds, so the seek lands before it ends.
  await a.page.evaluate(() => (window.dcmx!.server.delayMs = 150))
  const b = await openNode({ gossip: GOSSIP_MS })
  // The first test of a run also pays for the browser's first WebRTC set-up: allow for it.
  await expect(peerItem(b.page, a.peerId).getByTestId('peer-state')).toHaveText('connected', {
    timeout: 45_000,
  })
  await seesHolders(b, songHash, 1)

  await b.page.getByRole('tab', { name: 'Network', exact: true }).click()
  await networkRow(b.page, 'Remote Song').getByRole('button', { name: 'Play Remote Song' }).click()
  const audio = b.page.locator('audio')
  await expect.poll(() => audio.evaluate((el: HTMLAudioElement) => el.currentTime)).toBeGreaterThan(0.3)
  expect(await audioPath(audio)).toBe(`/content/${songHash}`)

  // Seek to 80 % while pieces are still missing: the pieces there are fetched first, and it plays on.
  const before = await download(b, songHash)
  expect(before?.state).toBe('fetching')
  expect(before!.have).toBeLessThan(before!.total)
  await audio.evaluate((el: HTMLAudioElement) => (el.currentTime = el.duration * 0.8))
  const seekedTo = await audio.evaluate((el: HTMLAudioElement) => el.currentTime)
  await expect
    .poll(() => audio.evaluate((el: HTMLAudioElement) => el.currentTime), { timeout: 15_000 })
    .toBeGreaterThan(seekedTo + 0.5)

  // The download ends with a verified, byte-identical copy in B's own store and library.
  await expect.poll(async () => (await download(b, songHash))?.state, { timeout: 60_000 }).toBe('done')
  expect(await storedBlob(b.page, songHash)).toEqual({ size: song.buffer.length, sha256: songHash })
  await b.page.getByRole('tab', { name: 'My library' }).click()
  await expect(b.page.getByRole('table', { name: 'Library' })).toContainText('Remote Song')

  // B now announces it; a third node fetches from A and B in parallel: both serve pieces.
  await a.page.evaluate(() => (window.dcmx!.server.delayMs = 40))
  await b.page.evaluate(() => (window.dcmx!.server.delayMs = 40))
  const c = await openNode({ gossip: GOSSIP_MS })
  await seesHolders(c, songHash, 2)
  const [fromA, fromB] = [await piecesSent(a), await piecesSent(b)]
  await c.page.evaluate((hash) => window.dcmx!.fetcher!.fetch(hash).finished, songHash)
  expect(await storedBlob(c.page, songHash)).toEqual({ size: song.buffer.length, sha256: songHash })
  expect(await piecesSent(a)).toBeGreaterThan(fromA)
  expect(await piecesSent(b)).toBeGreaterThan(fromB)
})

test('a holder serving corrupt pieces is detected and banned; the download completes from the honest one', async ({
  openNode,
}) => {
  const liar = await openNode({ gossip: GOSSIP_MS })
  const honest = await openNode({ gossip: GOSSIP_MS })
  await addFiles(liar.page, [song])
  await addFiles(honest.page, [song])
  // Test-only fault injection in the liar's context: every piece it serves has flipped bytes.
  await liar.page.evaluate(() => (window.dcmx!.server.corrupt = true))
  const c = await openNode({ gossip: GOSSIP_MS })
  await seesHolders(c, songHash, 2)
  await c.page.evaluate((hash) => window.dcmx!.fetcher!.fetch(hash).finished, songHash)
  // What reached the store is the real file: the corrupt bytes were discarded before any write.
  expect(await storedBlob(c.page, songHash)).toEqual({ size: song.buffer.length, sha256: songHash })
  const log = activityLog(c.page)
  await expect(log).toContainText(`Rejected peer ${liar.peerId.slice(0, 8)}`)
  await expect(log).not.toContainText(`Rejected peer ${honest.peerId.slice(0, 8)}`)
})

test('a holder closing mid-transfer costs nothing; with no holder left the user is told so', async ({
  openNode,
}) => {
  const a = await openNode({ gossip: GOSSIP_MS })
  const b = await openNode({ gossip: GOSSIP_MS })
  await addFiles(a.page, [song])
  await addFiles(b.page, [song])
  for (const holder of [a, b]) await holder.page.evaluate(() => (window.dcmx!.server.delayMs = 100))
  const c = await openNode({ gossip: GOSSIP_MS })
  await seesHolders(c, songHash, 2)
  await c.page.evaluate((hash) => void window.dcmx!.fetcher!.fetch(hash), songHash)
  await expect.poll(async () => (await download(c, songHash))?.have ?? 0).toBeGreaterThan(3)
  await a.context.close()
  await expect.poll(async () => (await download(c, songHash))?.state, { timeout: 60_000 }).toBe('done')
  expect(await storedBlob(c.page, songHash)).toEqual({ size: song.buffer.length, sha256: songHash })

  // A track whose only holder is gone: the row says so, and a fetch fails with a sentence in bounded time.
  const lonely = makeWav({ name: 'lonely.wav', seconds: 5, hz: 523, title: 'Lonely Tone' })
  const lonelyHash = sha256(lonely.buffer)
  await addFiles(b.page, [lonely])
  await seesHolders(c, lonelyHash, 1)
  await b.context.close()
  await c.page.getByRole('tab', { name: 'Network', exact: true }).click()
  const row = networkRow(c.page, 'Lonely Tone')
  await expect(row).toContainText('Unavailable', { timeout: 20_000 })
  await expect(row.getByRole('button', { name: 'Play Lonely Tone' })).toBeDisabled()
  const error = await c.page.evaluate(
    (hash) =>
      window.dcmx!.fetcher!.fetch(hash).finished.then(
        () => 'completed',
        (e: Error) => e.message,
      ),
    lonelyHash,
  )
  expect(error).toMatch(/No peer/)
})

test('a partial download survives a reload and resumes where it stopped', async ({ openNode }) => {
  const a = await openNode({ gossip: GOSSIP_MS })
  await addFiles(a.page, [song])
  await a.page.evaluate(() => (window.dcmx!.server.delayMs = 150))
  const b = await openNode({ gossip: GOSSIP_MS })
  await seesHolders(b, songHash, 1)
  await b.page.evaluate((hash) => void window.dcmx!.fetcher!.fetch(hash), songHash)
  await expect.poll(async () => (await download(b, songHash))?.have ?? 0).toBeGreaterThan(15)
  const sentBefore = await piecesSent(a)
  await b.page.reload()
  await expect.poll(async () => (await download(b, songHash))?.state, { timeout: 60_000 }).toBe('done')
  expect(await storedBlob(b.page, songHash)).toEqual({ size: song.buffer.length, sha256: songHash })
  // Resumed, not restarted: A served fewer than the track's 31 pieces (5 frames each) after the
  // reload — at most the 15 missing plus those that were in flight when the page went away.
  const piecesAfter = ((await piecesSent(a)) - sentBefore) / 5
  expect(piecesAfter).toBeLessThan(31 - 5)
})
