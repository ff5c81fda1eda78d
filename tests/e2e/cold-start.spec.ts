import { createHash } from 'node:crypto'
import { noteInteractive } from '../interactive-probe.ts'
import { makeWav } from './audio-fixtures.ts'
import { expect, readPeerId, test } from './fixtures.ts'

/**
 * Issue 15, item 5: the first render needs neither the content worker (the OPFS probe) nor the
 * WebRTC code; both load after it, and nothing is stored before the store is chosen.
 */

/** Before any page script: note the moment the peer id shows and Add music is enabled. */
const NOTE_INTERACTIVE = noteInteractive('__interactive')

const READ_TIMING = `(() => ({
  interactive: window.__interactive,
  resources: performance.getEntriesByType('resource').map((e) => ({ path: new URL(e.name).pathname, start: e.startTime })),
}))()`

type Timing = { interactive: number | undefined; resources: { path: string; start: number }[] }

test('a first visit is interactive before it asks for the content worker or the WebRTC code, then links up', async ({
  browser,
  signaling,
  room,
  openNode,
}) => {
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.addInitScript({ content: NOTE_INTERACTIVE })
  await page.goto(`${signaling.server.url}/?room=${room}`)
  const a = { page, peerId: await readPeerId(page) }
  const b = await openNode()
  await expect
    .poll(() =>
      a.page.evaluate(
        `window.dcmx.peers.some((p) => p.peerId === ${JSON.stringify(b.peerId)} && p.state === 'connected')`,
      ),
    )
    .toBe(true)
  // The worker starts with the store's probe, after the first render; wait until it has.
  await expect
    .poll(async () =>
      ((await a.page.evaluate(READ_TIMING)) as Timing).resources.some((r) =>
        r.path.includes('content.worker'),
      ),
    )
    .toBe(true)
  const { interactive, resources } = (await a.page.evaluate(READ_TIMING)) as Timing
  expect(interactive).toBeGreaterThan(0)
  const late = resources.filter((r) => /content\.worker|rtc-link/.test(r.path))
  for (const name of ['/assets/content.worker-', '/assets/rtc-link-'])
    expect(
      late.some((r) => r.path.startsWith(name)),
      name,
    ).toBe(true)
  for (const r of late) expect(r.start, r.path).toBeGreaterThan(interactive!)
  await context.close()
})

test('an import started before the store is chosen waits for the choice and lands in OPFS', async ({
  browser,
  signaling,
  room,
}) => {
  // No service worker (it could serve the worker script from its precache), and the content
  // worker's script held back for 2 s: the probe, and so the store's choice, waits that long.
  const context = await browser.newContext({ serviceWorkers: 'block' })
  try {
    let held = false
    let released = false
    await context.route(/\/assets\/content\.worker-[\w-]+\.js$/, async (route) => {
      held = true
      await new Promise((resolve) => setTimeout(resolve, 2000))
      released = true
      await route.continue()
    })
    const page = await context.newPage()
    await page.goto(`${signaling.server.url}/?room=${room}`)
    await readPeerId(page)
    await expect(page.getByRole('button', { name: 'Add music', exact: true })).toBeEnabled()
    // The app is usable while the worker's script (so the probe, so the store) is still held back.
    await expect.poll(() => held).toBe(true)
    expect(released).toBe(false)
    const tone = makeWav({ name: 'early.wav', seconds: 2, hz: 440, title: 'Early Tone' })
    await page.getByLabel('Add music files').setInputFiles([tone])
    const item = page
      .getByRole('list', { name: 'Imports' })
      .getByRole('listitem')
      .filter({ hasText: 'early.wav' })
    await expect(item).toContainText('Added', { timeout: 20_000 })
    expect(released).toBe(true)
    const hash = createHash('sha256').update(tone.buffer).digest('hex')
    const inOpfs = await page.evaluate(async (hash) => {
      const root = await navigator.storage.getDirectory()
      const shard = await (await root.getDirectoryHandle('content')).getDirectoryHandle(hash.slice(0, 2))
      return (await (await shard.getFileHandle(hash)).getFile()).size
    }, hash)
    expect(inOpfs).toBe(tone.buffer.length)
  } finally {
    await context.close()
  }
})
