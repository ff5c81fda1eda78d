import type { Page } from '@playwright/test'
import { makeWav, sha256, type FilePayload } from './audio-fixtures.ts'
import { expect, expectConnected, test } from './fixtures.ts'

/** How often at most, during a batch, the library tells its listeners (src/core/library.ts BATCH_TRACKS_EVENT_MS). */
const BATCH_TRACKS_EVENT_MS = 500
const FILES = 300

/** The library view's count ("300 tracks, 109 KB"); the table itself may render only the rows on screen. */
const listed = (page: Page, n: number) =>
  page.getByRole('region', { name: 'Library', exact: true }).getByText(new RegExp(`^${n} tracks,`))

const queue = (page: Page) => page.getByRole('list', { name: 'Imports' })
const importItem = (page: Page, name: string) => queue(page).getByRole('listitem').filter({ hasText: name })

/**
 * The queue renders only the rows scrolled into view: page down its scroller (a bounded number of
 * times) until `name`'s row is there, as a keyboard user looks for it.
 */
async function pageDownTo(page: Page, name: string) {
  await queue(page).locator('..').focus()
  for (let i = 0; i < 200 && (await importItem(page, name).count()) === 0; i++) {
    await page.keyboard.press('PageDown')
    await page.waitForTimeout(50)
  }
  await expect(importItem(page, name)).toBeVisible()
}

/** Discover frames this node has sent (each new announcement is pushed to every link as one). */
const discoversSent = (page: Page) => page.evaluate(() => window.dcmx!.stats.sent['discover']?.messages ?? 0)

test('a batch of 300 small WAVs with a broken file among them: every good one listed and announced, the broken one fails alone, and listeners hear per batch, not per file', async ({
  openNode,
  signaling,
}) => {
  test.setTimeout(300_000)
  const a = await openNode()
  const b = await openNode()
  await expectConnected(a.page, [b.peerId])

  // Another tab of A's origin hears every catalog change A commits (the channel tabs keep in step
  // by: each message makes a tab re-list the whole catalog). Any page of the origin will do.
  const tab = await a.context.newPage()
  await tab.goto(`${signaling.server.url}/icon-192.png`)
  await tab.evaluate(() => {
    const heard = { count: 0 }
    Object.assign(window, { heard })
    new BroadcastChannel('dcmx-library').onmessage = () => heard.count++
  })

  const files: FilePayload[] = Array.from({ length: FILES }, (_, i) =>
    makeWav({ name: `bulk-${String(i).padStart(3, '0')}.wav`, seconds: 0.02, hz: 100 + i }),
  )
  const broken: FilePayload = {
    name: 'broken.wav',
    mimeType: 'audio/wav',
    buffer: Buffer.from('RIFF\x10\x00\x00\x00WAVEthis is no fmt chunk at all'),
  }
  files.splice(FILES / 2, 0, broken)
  const hashes = files.filter((f) => f !== broken).map((f) => sha256(f.buffer))
  expect(new Set(hashes).size).toBe(FILES)

  await a.page.getByRole('tab', { name: 'My library' }).click()
  const sentBefore = await discoversSent(a.page)
  const started = Date.now()
  await a.page.getByLabel('Add music files').setInputFiles(files)
  await expect(a.page.getByRole('status').filter({ hasText: /^Import/ })).toHaveText(
    `Import finished: ${FILES} added, 1 failed.`,
    { timeout: 240_000 },
  )
  const elapsed = Date.now() - started

  // The queue keeps only the rows in view in the DOM, each telling where it sits in the whole batch.
  const rendered = await queue(a.page).getByRole('listitem').count()
  expect(rendered).toBeGreaterThan(0)
  expect(rendered).toBeLessThanOrEqual(40)
  await expect(queue(a.page).getByRole('listitem').first()).toHaveAttribute('aria-setsize', String(FILES + 1))
  // The broken file has its own sentence, in reach without scrolling (and told as it failed)…
  const failed = a.page.locator('[aria-live="polite"]').getByRole('list', { name: 'Not imported' })
  const failures = failed.getByRole('listitem')
  await expect(failures).toHaveCount(1)
  await expect(failures).toContainText('broken.wav')
  await expect(failures).toContainText(/not an audio file|damaged|empty/)
  // …and in its row, halfway down the queue; the files after it went on, to the last one.
  await pageDownTo(a.page, 'broken.wav')
  await expect(importItem(a.page, 'broken.wav')).toContainText('Failed')
  await expect(importItem(a.page, 'broken.wav')).toContainText(/not an audio file|damaged|empty/)
  // One End goes all the way down (a scroll under way is not cut short by the rows' window moving).
  await a.page.keyboard.press('End')
  await expect(importItem(a.page, `bulk-${FILES - 1}.wav`)).toContainText('Added')
  await expect(importItem(a.page, `bulk-${FILES - 1}.wav`)).toHaveAttribute(
    'aria-posinset',
    String(FILES + 1),
  )
  // Every good one is listed here…
  await expect(listed(a.page, FILES)).toBeVisible()
  // …and announced: the other node's network lists each of them.
  await expect
    .poll(
      () =>
        b.page.evaluate((wanted) => {
          const seen = new Set(window.dcmx!.network.map((t) => t.contentHash))
          return wanted.filter((h) => seen.has(h)).length
        }, hashes),
      { timeout: 60_000 },
    )
    .toBe(FILES)

  // Per batch, not per file: the other tab re-listed the catalog and the node re-signed and pushed
  // its record at most once per BATCH_TRACKS_EVENT_MS (the first and the last file told at once).
  // Told once per file, as before, both would be about FILES.
  const bound = Math.ceil(elapsed / BATCH_TRACKS_EVENT_MS) + 2
  const heard = await tab.evaluate(() => (window as unknown as { heard: { count: number } }).heard.count)
  expect(heard).toBeGreaterThan(0)
  expect(heard).toBeLessThanOrEqual(bound)
  expect(heard).toBeLessThan(FILES)
  const pushed = (await discoversSent(a.page)) - sentBefore
  // Gossip rounds send discovers of their own, every few seconds at most.
  expect(pushed).toBeLessThanOrEqual(bound + Math.ceil(elapsed / 2_000) + 2)
  expect(pushed).toBeLessThan(FILES)

  // The other tab (a second app tab now) lists them all from the catalog in one read.
  await tab.goto(
    `${signaling.server.url}/?room=${encodeURIComponent(new URL(a.page.url()).searchParams.get('room')!)}`,
  )
  await tab.getByRole('tab', { name: 'My library' }).click()
  await expect(listed(tab, FILES)).toBeVisible()
})
