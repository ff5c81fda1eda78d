import { writeFileSync } from 'node:fs'
import type { Page } from '@playwright/test'
import { makeWav, sha256 } from './audio-fixtures.ts'
import { download, expect, seesHolders, storedBlob, test } from './fixtures.ts'

/** 64 MiB of 16-bit mono PCM at 44.1 kHz (~12.7 min): 256 pieces of 256 KiB. */
const SECONDS = Math.ceil((64 * 1024 * 1024) / (2 * 44_100))
const big = makeWav({ name: 'big.wav', seconds: SECONDS, sampleRate: 44_100, hz: 523, title: 'Big One' })
const bigHash = sha256(big.buffer)

/** The receiving side's storage: IndexedDB download records, and OPFS files outside content/. */
function storage(page: Page, hash: string) {
  return page.evaluate(async (hash) => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const open = indexedDB.open('dcmx')
      open.onsuccess = () => resolve(open.result)
      open.onerror = () => reject(open.error)
    })
    const count = (name: string) =>
      new Promise<number>((resolve, reject) => {
        const request = db.transaction(name).objectStore(name).count()
        request.onsuccess = () => resolve(request.result)
        request.onerror = () => reject(request.error)
      })
    const [pieces, downloads] = [await count('pieces'), await count('downloads')]
    db.close()
    const root = await navigator.storage.getDirectory()
    const partial: Record<string, number> = {}
    try {
      const dir = await root.getDirectoryHandle('partial')
      for await (const [name, entry] of dir.entries()) {
        if (entry.kind === 'file') partial[name] = (await (entry as FileSystemFileHandle).getFile()).size
      }
    } catch {
      // No download has started yet.
    }
    return { pieces, downloads, partial, partialSize: partial[hash] }
  }, hash)
}

test('a 64 MiB download is received into one OPFS file and committed at content/<ab>/<hash>, leaving no IndexedDB piece records', async ({
  openNode,
}, testInfo) => {
  test.setTimeout(240_000)
  const a = await openNode({ gossip: 500 })
  // Larger than Playwright takes as an in-memory buffer: imported from a file.
  const path = testInfo.outputPath(big.name)
  writeFileSync(path, big.buffer)
  await a.page.getByRole('tab', { name: 'My library' }).click()
  await a.page.getByLabel('Add music files').setInputFiles(path)
  await expect(
    a.page.getByRole('list', { name: 'Imports' }).getByRole('listitem').filter({ hasText: big.name }),
  ).toContainText(/Added/, { timeout: 120_000 })

  const b = await openNode({ gossip: 500 })
  await seesHolders(b, bigHash, 1, 60_000)
  await a.page.evaluate(() => (window.dcmx!.server.delayMs = 20)) // slow enough to look mid-way
  await b.page.evaluate((hash) => void window.dcmx!.fetcher!.fetch(hash), bigHash)
  await expect
    .poll(async () => (await download(b, bigHash))?.have ?? 0, { timeout: 60_000 })
    .toBeGreaterThan(20)

  // Mid-way: one file of the track's full size under partial/, nothing in IndexedDB, nothing stored.
  const during = await storage(b.page, bigHash)
  expect(during).toMatchObject({ pieces: 0, downloads: 0, partialSize: big.buffer.length })
  expect(await storedBlob(b.page, bigHash)).toBeNull()

  await a.page.evaluate(() => (window.dcmx!.server.delayMs = 0))
  await expect.poll(async () => (await download(b, bigHash))?.state, { timeout: 180_000 }).toBe('done')
  expect(await storedBlob(b.page, bigHash)).toEqual({ size: big.buffer.length, sha256: bigHash })
  expect(await storage(b.page, bigHash)).toEqual({ pieces: 0, downloads: 0, partial: {} })
  await b.page.getByRole('tab', { name: 'My library' }).click()
  await expect(b.page.getByRole('table', { name: 'Library' }).getByText('Big One')).toBeVisible()
})
