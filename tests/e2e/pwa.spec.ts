import { chromium, type Locator, type Page } from '@playwright/test'
import { createHash } from 'node:crypto'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromiumLaunchOptions } from '../chromium.ts'
import { makeWav } from './audio-fixtures.ts'
import { expect, readPeerId, STATIC_DIR, test } from './fixtures.ts'

/** The script URL of the service worker controlling `page`, or null. */
const controller = (page: Page) => page.evaluate(() => navigator.serviceWorker.controller?.scriptURL ?? null)
/** When the page made mark `name` (ms since navigation), or 0 if it has not. */
const marked = (page: Page, name: string) =>
  page.evaluate((n) => performance.getEntriesByName(n)[0]?.startTime ?? 0, name)

const row = (page: Page, title: string) =>
  page.getByRole('table', { name: 'Library' }).getByRole('row').filter({ hasText: title })

const currentTime = (audio: Locator) => audio.evaluate((a: HTMLAudioElement) => a.currentTime)

/** Wait until `audio` has played past `seconds`. */
const playsPast = (audio: Locator, seconds: number) =>
  expect.poll(() => currentTime(audio), { timeout: 20_000 }).toBeGreaterThan(seconds)

// 30 s: long enough to keep playing through an update, and larger than one streamed response.
const long = makeWav({
  name: 'offline.wav',
  seconds: 30,
  sampleRate: 44_100,
  title: 'Offline Tone',
  artist: 'DCMX Tests',
  album: 'Fixtures',
})

test('offline, with the signaling server gone: the app reloads from its cache, lists the library, and a cached track plays and seeks', async ({
  openNode,
  signaling,
}) => {
  const { page, context } = await openNode()
  // A first visit's worker takes control before it has the app shell; the page then asks it to cache
  // the shell, and is offline-ready once it has.
  await expect.poll(() => controller(page)).toMatch(/\/sw\.js$/)
  await expect.poll(() => marked(page, 'dcmx:offline-ready'), { timeout: 15_000 }).toBeGreaterThan(0)
  expect(await marked(page, 'dcmx:offline-ready')).toBeGreaterThan(await marked(page, 'dcmx:sw-controlled'))
  await page.getByLabel('Add music files').setInputFiles([long])
  await expect(row(page, 'Offline Tone')).toBeVisible()
  const offline = page.getByRole('status').filter({ hasText: 'Offline' })
  await expect(offline).toHaveCount(0)

  // The signaling server goes and no peer is linked: the page says it is offline, network or not.
  await signaling.stop()
  await expect(offline).toBeVisible()
  await context.setOffline(true)
  // Hashed assets are immutable in the HTTP cache too; empty it, so only the precache can answer.
  await (await context.newCDPSession(page)).send('Network.clearBrowserCache')
  const reloaded = await page.reload()
  // Nothing answers on the network: the page, its scripts and its styles came from the precache.
  expect(reloaded?.fromServiceWorker()).toBe(true)
  await expect(offline).toBeVisible()
  await expect(row(page, 'Offline Tone')).toContainText('DCMX Tests')

  await page.getByRole('button', { name: 'Play Offline Tone' }).click()
  const audio = page.locator('audio')
  await playsPast(audio, 0.3)
  const duration = await audio.evaluate((a: HTMLAudioElement) => a.duration)
  expect(duration).toBeCloseTo(30, 0)
  await audio.evaluate((a: HTMLAudioElement) => (a.currentTime = a.duration * 0.7))
  await playsPast(audio, duration * 0.7 + 0.3)
  expect(await audio.evaluate((a: HTMLAudioElement) => a.paused)).toBe(false)

  // The network comes back: the node reconnects by itself and says so.
  await signaling.restart()
  await context.setOffline(false)
  await expect(offline).toHaveCount(0)
  await expect(page.getByLabel('Signaling')).toHaveText('online')
})

test('the app is installable: a valid manifest, a controlling worker, and no installability errors', async ({
  signaling,
  room,
}) => {
  // A profile on disk: Chromium never offers to install from an incognito context (newContext's kind).
  const profile = mkdtempSync(join(tmpdir(), 'dcmx-profile-'))
  const context = await chromium.launchPersistentContext(profile, chromiumLaunchOptions())
  try {
    const page = context.pages()[0] ?? (await context.newPage())
    await page.goto(`${signaling.server.url}/?room=${room}`)
    await readPeerId(page)
    await expect.poll(() => controller(page)).toMatch(/\/sw\.js$/)
    await expectInstallable(page, signaling.server.url)
  } finally {
    await context.close()
    rmSync(profile, { recursive: true, force: true })
  }
})

async function expectInstallable(page: Page, base: string) {
  const href = await page.locator('link[rel="manifest"]').getAttribute('href')
  const response = await page.request.get(new URL(href ?? '', base).href)
  expect(response.ok()).toBe(true)
  expect(response.headers()['content-type']).toContain('application/manifest+json')
  const manifest = (await response.json()) as {
    icons: { src: string; sizes: string; type: string; purpose?: string }[]
  }
  expect(manifest).toMatchObject({
    name: 'DCMX',
    short_name: 'DCMX',
    description: expect.stringMatching(/\w+/),
    start_url: '/',
    scope: '/',
    display: 'standalone',
    theme_color: '#111418',
    background_color: '#111418',
  })
  // Each icon is a PNG of the size it claims (the width and height in its IHDR chunk).
  const icons: string[] = []
  for (const icon of manifest.icons) {
    const bytes = await (await page.request.get(new URL(icon.src, base).href)).body()
    expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG')
    expect(`${bytes.readUInt32BE(16)}x${bytes.readUInt32BE(20)}`).toBe(icon.sizes)
    icons.push(`${icon.sizes} ${icon.purpose ?? 'any'}`)
  }
  expect(icons).toEqual(expect.arrayContaining(['192x192 any', '512x512 any', '512x512 maskable']))

  // The worker script is revalidated on every check, so a deploy is seen at once; hashed files are immutable.
  const sw = await page.request.get(`${base}/sw.js`)
  expect(sw.headers()['cache-control']).toContain('no-cache')

  const cdp = await page.context().newCDPSession(page)
  const parsed = await cdp.send('Page.getAppManifest')
  expect(parsed.errors).toEqual([])
  const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors')
  expect(installabilityErrors).toEqual([])
}

/**
 * A copy of dist/ changed the way a deploy changes it: a new index.html (marked with `version`)
 * and a new sw.js whose precache list carries index.html's new revision. Fast: no second build.
 */
function changedBuild(version: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'dcmx-deploy-'))
  cpSync(STATIC_DIR, dir, { recursive: true })
  const indexPath = join(dir, 'index.html')
  const html = readFileSync(indexPath, 'utf8').replace(
    '</head>',
    `<meta name="dcmx-deploy" content="${version}"></head>`,
  )
  writeFileSync(indexPath, html)
  const revision = createHash('md5').update(html).digest('hex')
  const swPath = join(dir, 'sw.js')
  const sw = readFileSync(swPath, 'utf8')
  const entry = /\{"revision":"[0-9a-f]+","url":"index\.html"\}/
  if (!entry.test(sw)) throw new Error(`index.html is not in the precache list of ${swPath}`)
  writeFileSync(swPath, sw.replace(entry, `{"revision":"${revision}","url":"index.html"}`))
  // The build's precompressed copies of the two changed files would be served in their place.
  for (const path of [indexPath, swPath])
    for (const ext of ['.br', '.gz']) rmSync(path + ext, { force: true })
  return dir
}

test('a deployed update is offered while a song plays, does not interrupt it, and the button reloads into it', async ({
  openNode,
  signaling,
}) => {
  const { page } = await openNode()
  await expect.poll(() => controller(page)).toMatch(/\/sw\.js$/)
  await page.getByLabel('Add music files').setInputFiles([long])
  await page.getByRole('button', { name: 'Play Offline Tone' }).click()
  const audio = page.locator('audio')
  await playsPast(audio, 0.3)
  const deployed = page.locator('meta[name="dcmx-deploy"]')
  await expect(deployed).toHaveCount(0)

  const next = changedBuild('2')
  try {
    await signaling.deploy(next)
    // Browsers look for a new worker on navigation and the page checks hourly; here, ask now.
    await page.evaluate(async () => {
      await (await navigator.serviceWorker.getRegistration())?.update()
    })
    const banner = page.getByRole('region', { name: 'Update available' })
    await expect(banner).toBeVisible()
    await expect(banner).toContainText('Update available — reload')
    await expect(banner).toContainText('stops when you reload')

    // Nothing switched behind the user's back: the new worker waits, the song plays on.
    const atBanner = await currentTime(audio)
    await playsPast(audio, atBanner + 1.5)
    expect(await audio.evaluate((a: HTMLAudioElement) => a.paused)).toBe(false)
    const waiting = await page.evaluate(
      async () => (await navigator.serviceWorker.getRegistration())?.waiting?.state ?? null,
    )
    expect(waiting).toBe('installed')
    await expect(deployed).toHaveCount(0)

    await banner.getByRole('button', { name: 'Reload to update' }).click()
    // The reloaded page is the new version, controlled by the new worker, with nothing waiting.
    await expect(deployed).toHaveAttribute('content', '2')
    await expect(page.getByLabel('Your peer id')).toHaveText(/^[0-9a-f]{32}$/)
    expect(await controller(page)).toMatch(/\/sw\.js$/)
    expect(
      await page.evaluate(async () => {
        const registration = await navigator.serviceWorker.getRegistration()
        return { waiting: registration?.waiting ?? null, active: registration?.active?.state }
      }),
    ).toEqual({ waiting: null, active: 'activated' })
    await expect(page.getByRole('region', { name: 'Update available' })).toHaveCount(0)
    // The library survived the update.
    await expect(row(page, 'Offline Tone')).toBeVisible()
  } finally {
    rmSync(next, { recursive: true, force: true })
  }
})

test('the system media controls show the track that plays, and follow play and pause', async ({
  openNode,
}) => {
  const { page } = await openNode()
  const other = makeWav({ name: 'other.wav', seconds: 8, title: 'Second Tone', artist: 'Another Artist' })
  await page.getByLabel('Add music files').setInputFiles([long, other])
  await expect(row(page, 'Second Tone')).toBeVisible()

  const session = () =>
    page.evaluate(() => {
      const { metadata, playbackState } = navigator.mediaSession
      return metadata
        ? {
            title: metadata.title,
            artist: metadata.artist,
            album: metadata.album,
            artwork: metadata.artwork.length > 0,
            playbackState,
          }
        : null
    })
  expect(await session()).toBeNull()

  await page.getByRole('button', { name: 'Play Offline Tone' }).click()
  await playsPast(page.locator('audio'), 0.2)
  await expect.poll(session).toEqual({
    title: 'Offline Tone',
    artist: 'DCMX Tests',
    album: 'Fixtures',
    artwork: true,
    playbackState: 'playing',
  })

  await page.getByRole('button', { name: 'Pause Offline Tone' }).click()
  await expect.poll(session).toMatchObject({ title: 'Offline Tone', playbackState: 'paused' })

  await page.getByRole('button', { name: 'Play Second Tone' }).click()
  await expect.poll(session).toEqual({
    title: 'Second Tone',
    artist: 'Another Artist',
    album: '',
    artwork: true,
    playbackState: 'playing',
  })
})
