import type { Page } from '@playwright/test'
import { makeWav, sha256 } from './audio-fixtures.ts'
import { audioPath, expect, expectPlaysAndSeeks, test } from './fixtures.ts'

/** The script URL of the service worker controlling `page`, or null. */
const controller = (page: Page) => page.evaluate(() => navigator.serviceWorker.controller?.scriptURL ?? null)

/** A fetch of `url` from the page (so through its service worker): status, the headers we check, and the body. */
function fetchFromPage(page: Page, url: string, init: { method?: string; range?: string } = {}) {
  return page.evaluate(
    async ({ url, method, range }) => {
      const res = await fetch(url, { method: method ?? 'GET', headers: range ? { Range: range } : {} })
      const header = (name: string) => res.headers.get(name)
      const body = new Uint8Array(await res.arrayBuffer())
      return {
        status: res.status,
        contentRange: header('Content-Range'),
        contentLength: header('Content-Length'),
        contentType: header('Content-Type'),
        acceptRanges: header('Accept-Ranges'),
        length: body.length,
        // Small bodies come back whole for comparison; a MiB as a JSON array would only slow the test.
        body: body.length <= 4096 ? [...body] : [],
      }
    },
    { url, method: init.method, range: init.range },
  )
}

// 30 s at 44.1 kHz is ~2.6 MB: larger than one response, so playing and seeking take several range requests.
const long = makeWav({ name: 'streamed.wav', seconds: 30, sampleRate: 44_100, title: 'Streamed Tone' })
const hash = sha256(long.buffer)
const size = long.buffer.length

test('a local track streams through the service worker: it plays, seeks to 80% and plays on', async ({
  openNode,
}) => {
  const { page } = await openNode()
  // What the media element was answered for /content/: status, whether the worker answered, and the range.
  const served: { status: number; fromWorker: boolean; range: string | undefined }[] = []
  page.on('response', (res) => {
    if (new URL(res.url()).pathname.startsWith('/content/'))
      served.push({
        status: res.status(),
        fromWorker: res.fromServiceWorker(),
        range: res.headers()['content-range'],
      })
  })
  // The first visit is taken over by the newly installed worker without a reload.
  await expect.poll(() => controller(page)).toMatch(/\/sw\.js$/)

  await page.getByLabel('Add music files').setInputFiles([long])
  await page.getByRole('button', { name: 'Play Streamed Tone' }).click()
  const audio = page.locator('audio')
  await expect.poll(() => audioPath(audio)).toBe(`/content/${hash}`)
  await expectPlaysAndSeeks(audio, 30)
  expect(await page.getByRole('alert').count()).toBe(0)

  // The file is larger than one response, so the player asked for it in several bounded ranges.
  expect(served.length).toBeGreaterThanOrEqual(2)
  for (const response of served) {
    expect(response).toMatchObject({ status: 206, fromWorker: true })
    expect(response.range).toMatch(new RegExp(`^bytes \\d+-\\d+/${size}$`))
  }
})

test('/content/<hash> answers byte ranges, bounds open ones, and says 404 and 416', async ({ openNode }) => {
  const { page } = await openNode()
  await expect.poll(() => controller(page)).toMatch(/\/sw\.js$/)
  await page.getByLabel('Add music files').setInputFiles([long])
  await expect(
    page.getByRole('table', { name: 'Library' }).getByRole('row').filter({ hasText: 'Streamed Tone' }),
  ).toBeVisible()

  const url = `/content/${hash}`
  const exact = await fetchFromPage(page, url, { range: 'bytes=100-199' })
  expect(exact).toMatchObject({
    status: 206,
    contentRange: `bytes 100-199/${size}`,
    contentLength: '100',
    contentType: 'audio/wav',
    acceptRanges: 'bytes',
  })
  expect(exact.body).toEqual([...long.buffer.subarray(100, 200)])

  // An open range gets a bounded answer (1 MiB); the client asks again from where it stopped.
  const open = await fetchFromPage(page, url, { range: `bytes=${size - 1000}-` })
  expect(open).toMatchObject({ status: 206, contentRange: `bytes ${size - 1000}-${size - 1}/${size}` })
  expect(open.body).toEqual([...long.buffer.subarray(size - 1000)])
  const head = await fetchFromPage(page, url, { range: 'bytes=0-' })
  expect(head).toMatchObject({ status: 206, contentRange: `bytes 0-${1024 * 1024 - 1}/${size}` })
  expect(head.length).toBe(1024 * 1024)

  const suffix = await fetchFromPage(page, url, { range: 'bytes=-16' })
  expect(suffix.body).toEqual([...long.buffer.subarray(size - 16)])

  const unknown = await fetchFromPage(page, `/content/${'0'.repeat(64)}`, { range: 'bytes=0-' })
  expect(unknown.status).toBe(404)

  const beyond = await fetchFromPage(page, url, { range: `bytes=${size}-` })
  expect(beyond).toMatchObject({ status: 416, contentRange: `bytes */${size}` })
  const backwards = await fetchFromPage(page, url, { range: 'bytes=200-100' })
  expect(backwards.status).toBe(416)

  const described = await fetchFromPage(page, url, { method: 'HEAD', range: 'bytes=0-9' })
  expect(described).toMatchObject({
    status: 206,
    contentLength: '10',
    contentRange: `bytes 0-9/${size}`,
    body: [],
  })
})

test('after a reload the page is still controlled and the track still streams', async ({ openNode }) => {
  const { page } = await openNode()
  await expect.poll(() => controller(page)).toMatch(/\/sw\.js$/)
  const short = makeWav({ name: 'again.wav', seconds: 5, title: 'Again Tone' })
  await page.getByLabel('Add music files').setInputFiles([short])
  await expect(page.getByRole('button', { name: 'Play Again Tone' })).toBeVisible()

  await page.reload()
  expect(await controller(page)).toMatch(/\/sw\.js$/)
  await page.getByRole('button', { name: 'Play Again Tone' }).click()
  const audio = page.locator('audio')
  await expect.poll(() => audioPath(audio)).toBe(`/content/${sha256(short.buffer)}`)
  await expect.poll(() => audio.evaluate((a: HTMLAudioElement) => a.currentTime)).toBeGreaterThan(0.3)
})
