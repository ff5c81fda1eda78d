import type { ConsoleMessage, Page } from '@playwright/test'
import { contentSecurityPolicy, PERMISSIONS_POLICY, REFERRER_POLICY } from '../../signaling/headers.ts'
import { makeWav, sha256, type FilePayload } from './audio-fixtures.ts'
import { expect, expectConnected, readPeerId, test } from './fixtures.ts'

type Violation = { directive: string; blocked: string; source: string; sample: string }
type Recorder = { __cspViolations?: Violation[] }

/** Init script: keep every CSP violation the document sees (registered before any app script runs). */
function recordViolations() {
  const seen: Violation[] = []
  ;(globalThis as Recorder).__cspViolations = seen
  window.addEventListener('securitypolicyviolation', (e) => {
    seen.push({
      directive: e.effectiveDirective,
      blocked: e.blockedURI,
      source: e.sourceFile,
      sample: e.sample,
    })
  })
}

const violations = (page: Page) => page.evaluate(() => (globalThis as Recorder).__cspViolations ?? null)

/**
 * Console lines about a refused load or a bad policy header. Workers and the service worker report
 * their own violations only to their own global and the console, which is why this is watched too.
 */
const isPolicyComplaint = (m: ConsoleMessage) =>
  /Content Security Policy|Refused to|Permissions-Policy|wasm-unsafe-eval/i.test(m.text())

/** A 1×1 PNG: the cover a track carries, shown as a blob: URL. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
)

/** An ID3v2.3 tag with a title and a front cover (APIC), for a RIFF `id3 ` chunk. */
function id3WithCover(title: string, png: Buffer): Buffer {
  const frame = (id: string, body: Buffer) => {
    const header = Buffer.alloc(10)
    header.write(id, 0, 'ascii')
    header.writeUInt32BE(body.length, 4)
    return Buffer.concat([header, body])
  }
  const tit2 = frame('TIT2', Buffer.concat([Buffer.from([0]), Buffer.from(title, 'latin1')]))
  // encoding 0, MIME, NUL, picture type 3 (front cover), empty description, data
  const apic = frame('APIC', Buffer.concat([Buffer.from('\0image/png\0\x03\0', 'latin1'), png]))
  const frames = Buffer.concat([tit2, apic])
  const size = frames.length
  const syncsafe = [(size >> 21) & 0x7f, (size >> 14) & 0x7f, (size >> 7) & 0x7f, size & 0x7f]
  return Buffer.concat([Buffer.from('ID3'), Buffer.from([3, 0, 0, ...syncsafe]), frames])
}

/** `file` (a RIFF/WAVE) with an `id3 ` chunk appended and the RIFF size fixed up. */
function withId3(file: FilePayload, tag: Buffer): FilePayload {
  const header = Buffer.alloc(8)
  header.write('id3 ', 0, 'ascii')
  header.writeUInt32LE(tag.length, 4)
  const pad = tag.length % 2 ? Buffer.alloc(1) : Buffer.alloc(0)
  const buffer = Buffer.concat([file.buffer, header, tag, pad])
  buffer.writeUInt32LE(buffer.length - 8, 4)
  return { ...file, buffer }
}

const TITLE = 'Policy Tone'
const track = withId3(makeWav({ name: 'policy.wav', seconds: 4, title: TITLE }), id3WithCover(TITLE, PNG))
const trackHash = sha256(track.buffer)
const GOSSIP_MS = 500

test('the app runs under its strict CSP: two nodes link, a track with a cover imports, plays locally and remotely, and nothing is refused', async ({
  page,
  openNode,
  signaling,
  room,
}) => {
  const complaints: string[] = []
  const watch = (p: Page) => p.on('console', (m) => void (isPolicyComplaint(m) && complaints.push(m.text())))
  watch(page)
  await page.addInitScript(recordViolations)

  // The document response carries the whole policy, with the socket's origin in connect-src.
  const host = new URL(signaling.server.url).host
  const doc = await page.goto(`${signaling.server.url}/?room=${room}&gossip=${GOSSIP_MS}`)
  expect(doc?.status()).toBe(200)
  const headers = (await doc?.allHeaders()) ?? {}
  const csp = headers['content-security-policy'] ?? ''
  expect(csp).toBe(contentSecurityPolicy(host))
  expect(csp).toContain(`connect-src 'self' ws://${host} wss://${host}`)
  expect(csp).not.toMatch(/'unsafe-inline'|'unsafe-eval'/)
  expect(headers['referrer-policy']).toBe(REFERRER_POLICY)
  expect(headers['x-content-type-options']).toBe('nosniff')
  expect(headers['permissions-policy']).toBe(PERMISSIONS_POLICY)
  // The built page has no inline script for the policy to refuse.
  expect(await page.locator('script:not([src])').count()).toBe(0)
  const aId = await readPeerId(page)

  // Signaling over ws:, then a WebRTC link to a second node.
  const b = await openNode({ gossip: GOSSIP_MS, initScript: recordViolations })
  watch(b.page)
  await expect(page.getByLabel('Signaling')).toHaveText('online')
  await expectConnected(page, [b.peerId])
  await expectConnected(b.page, [aId])

  // The import runs in the module worker and hashes with hash-wasm (WebAssembly): a worker's violations
  // never reach the page's listener, but a refused WASM compile fails the import with the CSP message.
  // The cover is a blob: image.
  await page.getByLabel('Add music files').setInputFiles([track])
  await expect(
    page.getByRole('list', { name: 'Imports' }).getByRole('listitem').filter({ hasText: 'policy.wav' }),
  ).toContainText(/Added/)
  const row = page.getByRole('table', { name: 'Library' }).getByRole('row').filter({ hasText: TITLE })
  await expect(row.locator('img')).toHaveAttribute('src', /^blob:/)
  await expect.poll(() => row.locator('img').evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(1)

  // It plays here (an object URL or /content/ through the service worker)…
  await row.getByRole('button', { name: `Play ${TITLE}` }).click()
  const audio = page.locator('audio')
  await expect.poll(() => audio.evaluate((a: HTMLAudioElement) => a.currentTime)).toBeGreaterThan(0.3)
  await audio.evaluate((a: HTMLAudioElement) => a.pause())

  // …and on the other node, fetched over the data channel and streamed from /content/<hash>.
  await expect
    .poll(
      () =>
        b.page.evaluate(
          (hash) => window.dcmx!.network.find((t) => t.contentHash === hash && t.described)?.holders ?? 0,
          trackHash,
        ),
      { timeout: 20_000 },
    )
    .toBe(1)
  await b.page.getByRole('tab', { name: 'Network', exact: true }).click()
  await b.page
    .getByRole('table', { name: 'Network' })
    .getByRole('row')
    .filter({ hasText: TITLE })
    .getByRole('button', { name: `Play ${TITLE}` })
    .click()
  const remote = b.page.locator('audio')
  await expect.poll(() => remote.evaluate((a: HTMLAudioElement) => a.currentTime)).toBeGreaterThan(0.3)
  expect(await remote.evaluate((a: HTMLAudioElement) => new URL(a.src).pathname)).toBe(
    `/content/${trackHash}`,
  )

  expect(await violations(page)).toEqual([])
  expect(await violations(b.page)).toEqual([])
  expect(complaints).toEqual([])

  // The watch works, and the policy refuses what it must: an inline script and eval().
  // (Page code runs them from a timer: code evaluated by the test itself is exempt from the policy.)
  const ran = await page.evaluate(
    () =>
      new Promise<{ inline: boolean; eval: boolean }>((resolve) =>
        setTimeout(() => {
          const script = document.createElement('script')
          script.textContent = 'globalThis.__inlineRan = true'
          document.head.append(script)
          let evalRan = true
          try {
            ;(0, eval)('1')
          } catch {
            evalRan = false
          }
          resolve({ inline: (globalThis as { __inlineRan?: boolean }).__inlineRan === true, eval: evalRan })
        }),
      ),
  )
  expect(ran).toEqual({ inline: false, eval: false })
  await expect
    .poll(async () => (await violations(page))?.map((v) => `${v.directive} ${v.blocked}`))
    .toEqual(['script-src-elem inline', 'script-src eval'])
  expect(complaints.join('\n')).toContain('inline script')
})

test('every kind of app response carries the policy: the worker script, the service worker, assets and 404s', async ({
  page,
  signaling,
}) => {
  const base = signaling.server.url
  const host = new URL(base).host
  const doc = await page.goto(base)
  const html = (await doc?.text()) ?? ''
  const script = /src="(\/assets\/index-[^"]+\.js)"/.exec(html)?.[1]
  expect(script).toBeDefined()
  const entry = await (await page.request.get(base + script)).text()
  const worker = /\/assets\/content\.worker-[^"'`]+\.js/.exec(entry)?.[0]
  expect(worker).toBeDefined()
  for (const path of [script!, worker!, '/sw.js', '/favicon.svg', '/assets/missing.js', '/some/route']) {
    const res = await page.request.get(base + path)
    const headers = res.headers()
    expect(headers['content-security-policy'], path).toBe(contentSecurityPolicy(host))
    expect(headers['x-content-type-options'], path).toBe('nosniff')
    expect(headers['referrer-policy'], path).toBe(REFERRER_POLICY)
  }
})
