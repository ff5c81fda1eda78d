import { test as base, expect, type BrowserContext, type Locator, type Page } from '@playwright/test'
import { resolve } from 'node:path'
import { startSignaling, type SignalingServer } from '../../signaling/server.ts'
import type { FilePayload } from './audio-fixtures.ts'

/** The build the server serves: dist/, or DCMX_DIST (a build of its own, safe from a concurrent `vite build`). */
export const STATIC_DIR = process.env.DCMX_DIST ?? resolve(import.meta.dirname, '..', '..', 'dist')

/** One browser context (its own storage) running the app: one DCMX node. */
export type TestNode = { context: BrowserContext; page: Page; peerId: string }

type Fixtures = {
  /** The real signaling server serving the built app, on an ephemeral port. */
  signaling: {
    server: SignalingServer
    restart(): Promise<void>
    stop(): Promise<void>
    /** Serve another build from `staticDir`, on the same port (so the same origin): a deploy. */
    deploy(staticDir: string): Promise<void>
  }
  /** A fresh room per test, so tests never see each other's nodes. */
  room: string
  /** Open a new node in `room` (or `opts.room`) and wait until it shows its peer id. */
  openNode: (opts?: {
    room?: string
    links?: number
    /** Mean ms between gossip rounds (the app's ?gossip=). */
    gossip?: number
    initScript?: () => void
  }) => Promise<TestNode>
}

export const test = base.extend<Fixtures>({
  // eslint-disable-next-line no-empty-pattern
  signaling: async ({}, use) => {
    let staticDir = STATIC_DIR
    const start = (port = 0) => startSignaling({ port, host: '127.0.0.1', staticDir, log: () => {} })
    let server: SignalingServer | undefined = await start()
    const port = server.port
    const handle = {
      get server() {
        if (!server) throw new Error('signaling server is stopped')
        return server
      },
      async stop() {
        await server?.close()
        server = undefined
      },
      async restart() {
        await handle.stop()
        server = await start(port)
      },
      async deploy(dir: string) {
        staticDir = dir
        await handle.restart()
      },
    }
    await use(handle)
    await server?.close()
  },

  // eslint-disable-next-line no-empty-pattern
  room: async ({}, use, testInfo) => {
    await use(`t${testInfo.testId.replace(/[^A-Za-z0-9]/g, '').slice(0, 20)}-${Date.now() % 100_000}`)
  },

  openNode: async ({ browser, signaling, room }, use) => {
    const contexts: BrowserContext[] = []
    const base = signaling.server.url
    await use(async (opts = {}) => {
      const context = await browser.newContext()
      contexts.push(context)
      const page = await context.newPage()
      if (opts.initScript) await page.addInitScript(opts.initScript)
      const params = new URLSearchParams({ room: opts.room ?? room })
      if (opts.links) params.set('links', String(opts.links))
      if (opts.gossip) params.set('gossip', String(opts.gossip))
      await page.goto(`${base}/?${params}`)
      const peerId = await readPeerId(page)
      return { context, page, peerId }
    })
    for (const context of contexts) await context.close().catch(() => {})
  },
})

export { expect }

/** The node's own peer id, as the page shows it. */
export async function readPeerId(page: Page): Promise<string> {
  const output = page.getByLabel('Your peer id')
  await expect(output).toHaveText(/^[0-9a-f]{32}$/)
  return (await output.textContent()) ?? ''
}

/**
 * The page's Peers list. It lives on the Network status page, which is hidden while a music view
 * shows: tests read it there (includeHidden) without leaving the view they drive.
 */
export function peerList(page: Page) {
  return page.getByRole('list', { name: 'Peers', includeHidden: true })
}

/** The item for `peerId` in the page's Peers list. */
export function peerItem(page: Page, peerId: string) {
  return peerList(page).getByRole('listitem', { includeHidden: true }).filter({ hasText: peerId })
}

/** The activity log (on the Network status page, read even while it is hidden). */
export function activityLog(page: Page) {
  return page.getByRole('log', { name: 'Activity', includeHidden: true })
}

/** Wait until `page` lists every one of `peerIds` as connected with a measured round-trip time. */
export async function expectConnected(page: Page, peerIds: string[]) {
  for (const id of peerIds) {
    const item = peerItem(page, id)
    await expect(item.getByTestId('peer-state')).toHaveText('connected')
    await expect(item.getByTestId('peer-rtt')).toHaveText(/^\d+(\.\d)? ms$/)
  }
}

/** Import files from the library view and wait until each is added (or already there). */
export async function addFiles(page: Page, files: FilePayload[]) {
  await page.getByRole('tab', { name: 'My library' }).click()
  await page.getByLabel('Add music files').setInputFiles(files)
  for (const file of files) {
    await expect(
      page.getByRole('list', { name: 'Imports' }).getByRole('listitem').filter({ hasText: file.name }),
    ).toContainText(/Added|Already/)
  }
}

/** Wait until `node` lists the track with `holders` holders, described. */
export async function seesHolders(node: TestNode, hash: string, holders: number, timeout = 20_000) {
  await expectHolders(node.page, hash, holders, timeout)
}

/** The stored blob at content/<2 hex>/<hash> in this origin's OPFS: its size and SHA-256, or null. */
export async function storedBlob(page: Page, hash: string) {
  return page.evaluate(async (hash) => {
    try {
      const root = await navigator.storage.getDirectory()
      const shard = await (await root.getDirectoryHandle('content')).getDirectoryHandle(hash.slice(0, 2))
      const file = await (await shard.getFileHandle(hash)).getFile()
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await file.arrayBuffer()))
      return { size: file.size, sha256: [...digest].map((b) => b.toString(16).padStart(2, '0')).join('') }
    } catch {
      return null
    }
  }, hash)
}

/** Wait until `page` sees the track `hash` described, with `holders` holders, in its network view. */
export async function expectHolders(page: Page, hash: string, holders: number, timeout = 20_000) {
  await expect
    .poll(
      () =>
        page.evaluate(
          (hash) => window.dcmx!.network.find((t) => t.contentHash === hash && t.described)?.holders ?? 0,
          hash,
        ),
      { timeout },
    )
    .toBe(holders)
}

/** The path the `<audio>` element plays from, or '' while it has no source yet (a poll can wait on it). */
export const audioPath = (audio: Locator) =>
  audio.evaluate((a: HTMLAudioElement) => (a.src ? new URL(a.src).pathname : ''))

/** Play the network track `title` on `page`; resolves once it plays, streamed from /content/<hash>. */
export async function playFromNetwork(page: Page, title: string, hash: string) {
  await page.getByRole('tab', { name: 'Network', exact: true }).click()
  await page
    .getByRole('table', { name: 'Network' })
    .getByRole('row')
    .filter({ hasText: title })
    .getByRole('button', { name: `Play ${title}` })
    .click()
  const audio = page.locator('audio')
  await expect.poll(() => audio.evaluate((a: HTMLAudioElement) => a.currentTime)).toBeGreaterThan(0.3)
  expect(await audioPath(audio)).toBe(`/content/${hash}`)
}

/** The `<audio>` element plays a `seconds`-long track, seeks to 80% and plays on from there. */
export async function expectPlaysAndSeeks(audio: Locator, seconds: number) {
  await expect.poll(() => audio.evaluate((a: HTMLAudioElement) => a.currentTime)).toBeGreaterThan(0.3)
  const duration = await audio.evaluate((a: HTMLAudioElement) => a.duration)
  expect(duration).toBeCloseTo(seconds, 0)
  await audio.evaluate((a: HTMLAudioElement) => (a.currentTime = a.duration * 0.8))
  await expect
    .poll(() => audio.evaluate((a: HTMLAudioElement) => a.currentTime))
    .toBeGreaterThan(duration * 0.8 + 0.3)
  expect(await audio.evaluate((a: HTMLAudioElement) => a.paused)).toBe(false)
}

/** The Network view's row for a track. */
export const networkRow = (page: Page, title: string) =>
  page.getByRole('table', { name: 'Network' }).getByRole('row').filter({ hasText: title })

/** A node's download of `hash`, as its fetcher shows it. */
export const download = (node: TestNode, hash: string) =>
  node.page.evaluate((hash) => window.dcmx?.fetcher?.downloads.find((d) => d.hash === hash), hash)
