import type { Page } from '@playwright/test'
import { makeWav, sha256, type FilePayload } from './audio-fixtures.ts'
import { expect, test } from './fixtures.ts'

const library = (page: Page) => page.getByRole('table', { name: 'Library' })
const row = (page: Page, title: string) => library(page).getByRole('row').filter({ hasText: title })
const importItem = (page: Page, name: string) =>
  page.getByRole('list', { name: 'Imports' }).getByRole('listitem').filter({ hasText: name })
// The storage panel is on the Network status page: read there even while hidden, used once shown.
const storage = (page: Page) => page.getByRole('region', { name: 'Storage', includeHidden: true })
const show = (page: Page, view: 'My library' | 'Network status') =>
  page.getByRole('tab', { name: view }).click()
const freeSpaceForm = (page: Page) => storage(page).getByRole('form', { name: 'Free space' })
const planned = (page: Page) =>
  freeSpaceForm(page).getByRole('list', { name: 'Tracks to remove' }).getByRole('listitem')
const audio = (page: Page) => page.locator('audio')

async function addFiles(page: Page, files: FilePayload[]) {
  await page.getByLabel('Add music files').setInputFiles(files)
  for (const file of files) await expect(importItem(page, file.name)).toContainText('Added')
}

/** Whether content/<2 hex>/<hash> exists in this origin's OPFS. */
async function isStored(page: Page, hash: string): Promise<boolean> {
  return page.evaluate(async (hash) => {
    try {
      const root = await navigator.storage.getDirectory()
      const shard = await (await root.getDirectoryHandle('content')).getDirectoryHandle(hash.slice(0, 2))
      await shard.getFileHandle(hash)
      return true
    } catch {
      return false
    }
  }, hash)
}

/** Play a track from its row and wait until the audio is really running. */
async function play(page: Page, title: string) {
  await page.getByRole('button', { name: `Play ${title}`, exact: true }).click()
  await expect(row(page, title)).toHaveAttribute('aria-current', 'true')
  await expect.poll(() => audio(page).evaluate((a: HTMLAudioElement) => a.currentTime)).toBeGreaterThan(0.2)
}

/** Open "Free space" in the storage panel and ask to free `bytes`. */
async function askToFree(page: Page, bytes: number) {
  await show(page, 'Network status')
  await storage(page).getByRole('button', { name: 'Free space', exact: true }).click()
  await freeSpaceForm(page)
    .getByLabel('Space to free, in MB')
    .fill(String(bytes / 1e6))
}

// 20 s each, so none ends (and moves the player on) while the test runs; 8 kHz mono PCM, ~320 KB.
const tones = ['Alpha', 'Bravo', 'Charlie'].map((name, i) =>
  makeWav({ name: `${name.toLowerCase()}.wav`, seconds: 20, hz: 300 + 100 * i, title: `${name} Tone` }),
)
const [alpha, bravo, charlie] = tones as [FilePayload, FilePayload, FilePayload]

test('free space removes the least recently played unpinned tracks, never the pinned or playing one; pins survive reload', async ({
  openNode,
}) => {
  const { page } = await openNode()
  // Persistent storage is not asked for on load, only once there is music to keep.
  await expect(storage(page)).toContainText('Not persistent')
  await addFiles(page, tones)
  await expect(storage(page)).toContainText(/Persistent:|declined/)

  // Played: Alpha, then Bravo (still playing). Never played: Charlie, imported before either play.
  await play(page, 'Alpha Tone')
  await play(page, 'Bravo Tone')
  await page.getByRole('button', { name: 'Pin Alpha Tone' }).click()
  await expect(page.getByRole('button', { name: 'Unpin Alpha Tone' })).toHaveAttribute('aria-pressed', 'true')
  await expect(page.getByRole('button', { name: 'Pin Charlie Tone' })).toHaveAttribute(
    'aria-pressed',
    'false',
  )

  // Enough to need two tracks. While Bravo plays, only Charlie may go: the plan says it falls short.
  const twoTracks = alpha.buffer.length * 1.5
  await askToFree(page, twoTracks)
  await expect(planned(page)).toHaveCount(1)
  await expect(planned(page).first()).toContainText('Charlie Tone')
  await expect(freeSpaceForm(page)).toContainText(
    /Remove 1 track \(\d+ KB\)\? That is every track not pinned/,
  )
  await freeSpaceForm(page).getByRole('button', { name: 'Cancel' }).click()
  await expect(freeSpaceForm(page)).toHaveCount(0)

  // Paused, Bravo may go too: least recently played first, the pinned Alpha skipped.
  await show(page, 'My library')
  await page.getByRole('button', { name: 'Pause Bravo Tone' }).click()
  await expect.poll(() => audio(page).evaluate((a: HTMLAudioElement) => a.paused)).toBe(true)
  await askToFree(page, twoTracks)
  await expect(planned(page)).toHaveText([/Charlie Tone/, /Bravo Tone/])
  await expect(freeSpaceForm(page)).toContainText(/^.*Remove 2 tracks \(\d+ KB\)\?/)
  await freeSpaceForm(page).getByRole('button', { name: 'Confirm free space' }).click()

  await expect(storage(page).getByRole('status')).toHaveText(/^Removed 2 tracks \(\d+ KB\)\.$/)
  await show(page, 'My library')
  await expect(row(page, 'Alpha Tone')).toBeVisible()
  await expect(row(page, 'Charlie Tone')).toHaveCount(0)
  await expect(row(page, 'Bravo Tone')).toHaveCount(0)
  await expect(row(page, 'Alpha Tone')).toBeVisible()
  expect(await isStored(page, sha256(charlie.buffer))).toBe(false)
  expect(await isStored(page, sha256(bravo.buffer))).toBe(false)
  expect(await isStored(page, sha256(alpha.buffer))).toBe(true)

  await page.reload()
  await expect(row(page, 'Alpha Tone')).toBeVisible()
  await expect(library(page).getByRole('row')).toHaveCount(2) // the header and Alpha
  await expect(page.getByRole('button', { name: 'Unpin Alpha Tone' })).toHaveAttribute('aria-pressed', 'true')
  // Nothing else may go now.
  await show(page, 'Network status')
  await storage(page).getByRole('button', { name: 'Free space', exact: true }).click()
  await expect(freeSpaceForm(page)).toContainText('Nothing can be removed')
  await expect(freeSpaceForm(page).getByRole('button', { name: 'Confirm free space' })).toBeDisabled()
  await freeSpaceForm(page).getByRole('button', { name: 'Cancel' }).click()

  // Unpinning is kept too.
  await show(page, 'My library')
  await page.getByRole('button', { name: 'Unpin Alpha Tone' }).click()
  await expect(page.getByRole('button', { name: 'Pin Alpha Tone' })).toHaveAttribute('aria-pressed', 'false')
  await page.reload()
  await expect(page.getByRole('button', { name: 'Pin Alpha Tone' })).toHaveAttribute('aria-pressed', 'false')
})

test('an import that runs out of space offers Free space; once freed, the file imports', async ({
  openNode,
}) => {
  const { page, context } = await openNode()
  const old = makeWav({ name: 'old.wav', seconds: 8, hz: 330, title: 'Old Tone' })
  const kept = makeWav({ name: 'kept.wav', seconds: 8, hz: 440, title: 'Kept Tone' })
  const big = makeWav({ name: 'big.wav', seconds: 7, hz: 550, title: 'Big Tone' })
  await addFiles(page, [old, kept])
  await page.getByRole('button', { name: 'Pin Kept Tone' }).click()
  await expect(page.getByRole('button', { name: 'Unpin Kept Tone' })).toBeVisible()

  // Chromium enforces a quota set through the DevTools protocol: leave less room than the new file needs.
  // The app shell the service worker caches counts towards the origin's usage: wait until it is in.
  await expect
    .poll(() => page.evaluate(() => performance.getEntriesByName('dcmx:offline-ready').length), {
      timeout: 15_000,
    })
    .toBe(1)
  const { usage, origin } = await page.evaluate(async () => ({
    usage: (await navigator.storage.estimate()).usage ?? 0,
    origin: location.origin,
  }))
  const cdp = await context.newCDPSession(page)
  await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: usage + big.buffer.length / 2 })

  await page.getByLabel('Add music files').setInputFiles([big])
  const failed = importItem(page, 'big.wav')
  await expect(failed).toContainText('Not enough storage space for this file')
  await failed.getByRole('button', { name: 'Free space', exact: true }).click()

  // The same confirmation, for what the file needs: the unpinned track goes, the pinned one stays.
  await expect(freeSpaceForm(page).getByLabel('Space to free, in MB')).toBeFocused()
  await expect(planned(page)).toHaveText([/Old Tone/])
  await freeSpaceForm(page).getByRole('button', { name: 'Confirm free space' }).click()
  await expect(storage(page).getByRole('status')).toHaveText(/^Removed 1 track/)
  await show(page, 'My library')
  await expect(row(page, 'Kept Tone')).toBeVisible()
  await expect(row(page, 'Old Tone')).toHaveCount(0)

  await page.getByRole('button', { name: 'Clear finished' }).click()
  await addFiles(page, [big])
  await expect(row(page, 'Big Tone')).toBeVisible()
  await expect(row(page, 'Kept Tone')).toBeVisible()
  await cdp.send('Storage.overrideQuotaForOrigin', { origin })
})
