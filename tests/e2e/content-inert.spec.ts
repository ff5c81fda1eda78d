import type { Page } from '@playwright/test'
import { makeWav, sha256 } from './audio-fixtures.ts'
import { audioPath, expect, expectPlaysAndSeeks, readPeerId, test } from './fixtures.ts'

/**
 * Issue 10: /content/<hash> is in the app's origin, and its bytes and type come from peers. A link
 * to it opened as a page must run nothing and land on the app, while <audio> keeps streaming it.
 */

/** A WAV whose title tag is a script: rendered as HTML, the bytes would run it in the app's origin. */
const PAYLOAD = '<script>localStorage.setItem("pwned", "1")</script>'
const polyglot = makeWav({
  name: 'polyglot.wav',
  seconds: 30,
  sampleRate: 44_100,
  title: `Polyglot ${PAYLOAD}`,
})
const hash = sha256(polyglot.buffer)

const controller = (page: Page) => page.evaluate(() => navigator.serviceWorker.controller?.scriptURL ?? null)

/** What a peer could have put in the catalog before issue 10: metadata saying the track is a page (read at the next start). */
function claimHtml(page: Page, contentHash: string) {
  return page.evaluate(async (contentHash) => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const open = indexedDB.open('dcmx')
      open.onsuccess = () => resolve(open.result)
      open.onerror = () => reject(open.error)
    })
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction('tracks', 'readwrite')
      const tracks = tx.objectStore('tracks')
      const get = tracks.get(contentHash)
      get.onsuccess = () => tracks.put({ ...get.result, mime: 'text/html' })
      tx.oncomplete = () => resolve()
      tx.onerror = () => reject(tx.error)
    })
    db.close()
  }, contentHash)
}

/** The headers a fetch of the track from the page (so through the worker) comes back with. */
function contentHeaders(page: Page, url: string) {
  return page.evaluate(async (url) => {
    const res = await fetch(url, { headers: { Range: 'bytes=0-99' } })
    const h = (name: string) => res.headers.get(name)
    return {
      status: res.status,
      type: h('Content-Type'),
      csp: h('Content-Security-Policy'),
      nosniff: h('X-Content-Type-Options'),
      disposition: h('Content-Disposition'),
    }
  }, url)
}

test('opening /content/<hash> as a page runs nothing and lands on the app, while <audio> streams and seeks it', async ({
  openNode,
  signaling,
}) => {
  const { page } = await openNode()
  const dialogs: string[] = []
  page.on('dialog', (d) => {
    dialogs.push(d.message())
    void d.dismiss()
  })
  await expect.poll(() => controller(page)).toMatch(/\/sw\.js$/)
  await page.getByLabel('Add music files').setInputFiles([polyglot])
  const play = page.getByRole('button', { name: `Play Polyglot ${PAYLOAD}` })
  await expect(play).toBeVisible()
  await claimHtml(page, hash)
  // Such a catalog is what the app loads when it starts (the tab describes tracks from its list).
  await page.reload()
  await expect(play).toBeVisible()

  const url = `/content/${hash}`
  expect(await contentHeaders(page, url)).toEqual({
    status: 206,
    type: 'application/octet-stream',
    csp: "default-src 'none'; sandbox",
    nosniff: 'nosniff',
    disposition: 'inline',
  })

  // A link someone sent: opened in the tab, it is the app again, and the bytes' script never ran.
  await page.goto(`${signaling.server.url}${url}`)
  await expect.poll(() => new URL(page.url()).pathname).toBe('/')
  await readPeerId(page)
  expect(await page.evaluate(() => localStorage.getItem('pwned'))).toBeNull()
  expect(dialogs).toEqual([])

  // The same track still streams into the media element, and seeks.
  await play.click()
  const audio = page.locator('audio')
  await expect.poll(() => audioPath(audio)).toBe(url)
  await expectPlaysAndSeeks(audio, 30)
  expect(await page.evaluate(() => localStorage.getItem('pwned'))).toBeNull()
})

test('a frame or a script pointing at /content/<hash> is refused', async ({ openNode }) => {
  const { page } = await openNode()
  await expect.poll(() => controller(page)).toMatch(/\/sw\.js$/)
  await page.getByLabel('Add music files').setInputFiles([polyglot])
  await expect(page.getByRole('button', { name: `Play Polyglot ${PAYLOAD}` })).toBeVisible()
  await claimHtml(page, hash)
  const statuses: number[] = []
  page.on('response', (res) => {
    if (new URL(res.url()).pathname === `/content/${hash}`) statuses.push(res.status())
  })
  await page.evaluate((url) => {
    const script = document.createElement('script')
    script.src = url
    document.body.append(script)
  }, `/content/${hash}`)
  await expect.poll(() => statuses).toEqual([403])
  await page.evaluate((url) => {
    const frame = document.createElement('iframe')
    frame.src = url
    document.body.append(frame)
  }, `/content/${hash}`)
  await expect.poll(() => statuses).toEqual([403, 403])
  expect(await page.evaluate(() => localStorage.getItem('pwned'))).toBeNull()
})
