import { chromium, type Browser } from '@playwright/test'
import { networkInterfaces } from 'node:os'
import { startSignaling, type SignalingServer } from '../../signaling/server.ts'
import { selfSignedTls } from '../../signaling/tls.ts'
import { chromiumLaunchOptions } from '../chromium.ts'
import { expect, expectConnected, readPeerId, STATIC_DIR, test } from './fixtures.ts'

/** A non-loopback IPv4 address of this machine: inside the test namespace, the veth's address. */
function lanAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address
  }
  throw new Error('no non-loopback IPv4 address (run the e2e tests through scripts/netns-run.mjs)')
}

let server: SignalingServer | undefined
let browser: Browser | undefined
test.afterEach(async () => {
  await browser?.close()
  await server?.close()
  browser = server = undefined
})

test('a second device opens the app by its LAN address over HTTPS and links to a localhost tab', async () => {
  const address = lanAddress()
  // What `npm start -- --tls-self-signed <address>` does, and the fingerprint it prints.
  const tls = await selfSignedTls([address])
  server = await startSignaling({ host: '0.0.0.0', port: 0, staticDir: STATIC_DIR, log: () => {}, tls })
  // The user accepts this certificate after checking its fingerprint; the test accepts its key.
  const options = chromiumLaunchOptions()
  browser = await chromium.launch({
    ...options,
    args: [...options.args, `--ignore-certificate-errors-spki-list=${tls.spki}`],
  })
  const room = `lan${Date.now() % 100_000}`
  const lan = await (await browser.newContext()).newPage()
  await lan.goto(`https://${address}:${server.port}/?room=${room}`)
  expect(await lan.evaluate(() => isSecureContext)).toBe(true)
  const local = await (await browser.newContext()).newPage()
  await local.goto(`https://localhost:${server.port}/?room=${room}`)
  const [lanId, localId] = [await readPeerId(lan), await readPeerId(local)]
  await expectConnected(lan, [localId])
  await expectConnected(local, [lanId])
})

test('opened by its LAN address over plain http, the app says it needs https and how to get there', async ({
  browser: shared,
}) => {
  const address = lanAddress()
  server = await startSignaling({ host: '0.0.0.0', port: 0, staticDir: STATIC_DIR, log: () => {} })
  const page = await (await shared.newContext()).newPage()
  await page.goto(`http://${address}:${server.port}/`)
  const alert = page.getByRole('alert')
  await expect(alert.getByRole('heading')).toHaveText('DCMX needs a secure (https) page')
  await expect(alert).toContainText(`--tls-self-signed ${address}`)
  await expect(alert.getByRole('link', { name: `https://${address}:${server.port}/` })).toBeVisible()
  await expect(alert).not.toContainText('signature algorithm')
})
