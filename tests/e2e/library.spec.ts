import type { Page } from '@playwright/test'
import { haveSamples, makeWav, sample, sha256, type FilePayload } from './audio-fixtures.ts'
import { expect, storedBlob, test } from './fixtures.ts'

const library = (page: Page) => page.getByRole('table', { name: 'Library' })
const row = (page: Page, title: string) => library(page).getByRole('row').filter({ hasText: title })
const imports = (page: Page) => page.getByRole('list', { name: 'Imports' })
const importItem = (page: Page, name: string) => imports(page).getByRole('listitem').filter({ hasText: name })

async function addFiles(page: Page, files: FilePayload[]) {
  await page.getByLabel('Add music files').setInputFiles(files)
}

const tagged = makeWav({
  name: 'tone.wav',
  seconds: 12,
  title: 'Generated Tone',
  artist: 'DCMX Tests',
  album: 'Fixtures',
})
const untagged = makeWav({ name: '03 - Untitled Hum.wav', seconds: 3, hz: 220 })

test('imports audio with its tags, stores it by hash under its shard, dedups, survives reload, and deletes', async ({
  openNode,
}) => {
  const { page } = await openNode()
  await addFiles(page, [tagged, untagged])

  const toneRow = row(page, 'Generated Tone')
  await expect(toneRow).toContainText('DCMX Tests')
  await expect(toneRow).toContainText('Fixtures')
  await expect(toneRow).toContainText('0:12')
  await expect(row(page, '03 - Untitled Hum')).toContainText('0:03')
  await expect(importItem(page, 'tone.wav')).toContainText(/Added/)

  // The bytes are stored once, under content/<first two hex>/<sha256 of the file>.
  for (const file of [tagged, untagged]) {
    expect(await storedBlob(page, sha256(file.buffer))).toEqual({
      size: file.buffer.length,
      sha256: sha256(file.buffer),
    })
  }

  // The same bytes under another name are the same track.
  await addFiles(page, [{ ...tagged, name: 'tone (copy).wav' }])
  await expect(importItem(page, 'tone (copy).wav')).toContainText('Already in your library')
  await expect(library(page).getByRole('row').filter({ hasText: 'Generated Tone' })).toHaveCount(1)

  await page.reload()
  await expect(row(page, 'Generated Tone')).toBeVisible()
  await expect(row(page, '03 - Untitled Hum')).toBeVisible()

  // Removing a track frees its bytes.
  // On the Network status page, read while the library shows.
  const storage = page.getByRole('region', { name: 'Storage', includeHidden: true })
  const before = await storage.textContent()
  await page.getByRole('button', { name: 'Remove Generated Tone' }).click()
  await page.getByRole('button', { name: 'Confirm remove Generated Tone' }).click()
  await expect(row(page, 'Generated Tone')).toHaveCount(0)
  expect(await storedBlob(page, sha256(tagged.buffer))).toBeNull()
  await expect(storage).not.toHaveText(before ?? '')
  await page.reload()
  await expect(row(page, '03 - Untitled Hum')).toBeVisible()
  await expect(row(page, 'Generated Tone')).toHaveCount(0)
})

test("imports still work after the store's directories were removed under the tab (as clearing site data does)", async ({
  openNode,
}) => {
  const { page } = await openNode()
  await addFiles(page, [tagged])
  await expect(importItem(page, 'tone.wav')).toContainText(/Added/)
  await page.evaluate(async () => {
    const root = await navigator.storage.getDirectory()
    await root.removeEntry('tmp', { recursive: true })
    await root.removeEntry('content', { recursive: true })
  })
  await addFiles(page, [untagged])
  await expect(importItem(page, '03 - Untitled Hum.wav')).toContainText(/Added/)
  await expect(row(page, '03 - Untitled Hum')).toContainText('0:03')
  expect(await storedBlob(page, sha256(untagged.buffer))).toEqual({
    size: untagged.buffer.length,
    sha256: sha256(untagged.buffer),
  })
})

test('a local track plays, and seeking to 80% plays on from there', async ({ openNode }) => {
  const { page } = await openNode()
  await addFiles(page, [makeWav({ name: 'long.wav', seconds: 30, title: 'Long Tone' })])
  await page.getByRole('button', { name: 'Play Long Tone' }).click()
  const audio = page.locator('audio')
  await expect(audio).toHaveCount(1)
  await expect.poll(() => audio.evaluate((a: HTMLAudioElement) => a.currentTime)).toBeGreaterThan(0.3)

  const duration = await audio.evaluate((a: HTMLAudioElement) => a.duration)
  expect(duration).toBeCloseTo(30, 0)
  await audio.evaluate((a: HTMLAudioElement) => (a.currentTime = a.duration * 0.8))
  await expect
    .poll(() => audio.evaluate((a: HTMLAudioElement) => a.currentTime))
    .toBeGreaterThan(duration * 0.8 + 0.3)
  expect(await audio.evaluate((a: HTMLAudioElement) => a.paused)).toBe(false)
})

test('a text file named .mp3 and an MP3 cut mid-header are refused with a message; the rest imports', async ({
  openNode,
}) => {
  const { page } = await openNode()
  const text: FilePayload = {
    name: 'notes.mp3',
    mimeType: 'audio/mpeg',
    buffer: Buffer.from('Shopping list:\n- milk\n- eggs\n'.repeat(200)),
  }
  const cutSource = haveSamples ? sample('id3v23.mp3').buffer : tagged.buffer
  const cut: FilePayload = {
    name: 'cut-header.mp3',
    mimeType: 'audio/mpeg',
    buffer: cutSource.subarray(0, 24),
  }
  const good = makeWav({ name: 'fine.wav', seconds: 2, title: 'Still Fine' })
  await addFiles(page, [text, cut, good])

  await expect(importItem(page, 'notes.mp3')).toContainText('not an audio file')
  await expect(importItem(page, 'cut-header.mp3')).toContainText(/not an audio file|damaged|empty/)
  await expect(row(page, 'Still Fine')).toBeVisible()
  await expect(library(page).getByRole('row').filter({ hasText: 'notes' })).toHaveCount(0)
})

test('two tabs importing the same file at once store it once', async ({ openNode, signaling, room }) => {
  const first = await openNode()
  const second = await first.context.newPage()
  await second.goto(`${signaling.server.url}/?room=${room}`)
  const file = makeWav({ name: 'both.wav', seconds: 20, title: 'Both Tabs' })
  await Promise.all([addFiles(first.page, [file]), addFiles(second, [file])])
  for (const page of [first.page, second]) {
    await expect(importItem(page, 'both.wav')).toContainText(/Added|Already in your library/)
  }
  await first.page.reload()
  await expect(library(first.page).getByRole('row').filter({ hasText: 'Both Tabs' })).toHaveCount(1)
  expect(await storedBlob(first.page, sha256(file.buffer))).toEqual({
    size: file.buffer.length,
    sha256: sha256(file.buffer),
  })
  // Nothing is left in tmp/. Polled: a tab's start-up probe of OPFS (a locked temporary, deleted
  // when it answers) may be in flight right after the reload; a leftover would never go.
  const tmp = () =>
    first.page.evaluate(async () => {
      const root = await navigator.storage.getDirectory()
      const names: string[] = []
      try {
        for await (const name of (await root.getDirectoryHandle('tmp')).keys()) names.push(name)
      } catch {
        // no tmp directory at all
      }
      return names
    })
  await expect.poll(tmp, { timeout: 10_000 }).toEqual([])
})

// The shared samples sit beside the repository (as in CI); a bare clone has only the generated fixtures.
if (haveSamples) {
  test('import with their real tags; damaged ones are refused or imported, never crash', async ({
    openNode,
  }) => {
    const { page } = await openNode()
    const names = [
      'id3v24.mp3',
      'tagged.flac',
      'vorbis.ogg',
      'opus.ogg',
      'aac.m4a',
      'pcm.wav',
      'notags-silence-2s.mp3',
      'sine-1k.mp3',
      'id3v2-utf16.mp3',
      'truncated.mp3',
      'outofbounds.mp3',
    ]
    await addFiles(
      page,
      names.map((n) => sample(n)),
    )
    for (const name of names)
      await expect(importItem(page, name)).toContainText(/Added|Already|audio|damaged/)

    // The table renders only the rows near the screen: on a tall one every track is in the DOM,
    // so a row that is missing (the refused file's) is missing from the library, not scrolled away.
    await page.setViewportSize({ width: 1280, height: 2400 })
    const count = Number(await library(page).getAttribute('aria-rowcount'))
    await expect(library(page).getByRole('row')).toHaveCount(count)
    await expect(row(page, 'Brian Eno')).toContainText('MGMT')
    await expect(row(page, 'Brian Eno')).toContainText('Congratulations')
    await expect(row(page, 'Brian Eno')).toContainText('4:31')
    await expect(row(page, 'Home')).toContainText('Friday Night Lights')
    await expect(row(page, 'New Track #2 (Live)')).toContainText('They Say We')
    // All tag and no audio frames: it could never play, so it is refused.
    await expect(importItem(page, 'id3v2-utf16.mp3')).toContainText('not an audio file')
    await expect(row(page, 'Redial')).toHaveCount(0)
    await expect(row(page, 'notags-silence-2s')).toContainText('0:02')
    await expect(row(page, 'sine-1k')).toContainText('0:08')
    for (const name of ['tagged.flac', 'vorbis.ogg', 'pcm.wav']) {
      const bytes = sample(name).buffer
      expect(await storedBlob(page, sha256(bytes))).toEqual({ size: bytes.length, sha256: sha256(bytes) })
    }
  })
}
