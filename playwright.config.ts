import { existsSync } from 'node:fs'
import { defineConfig } from '@playwright/test'

/**
 * End-to-end tests drive the built app (dist/) served by the real signaling server, in the
 * system Chromium. Playwright never downloads a browser: set DCMX_CHROMIUM to use another binary;
 * with neither, Playwright's own browser is used only if one is already installed.
 */
const systemChromium = process.env.DCMX_CHROMIUM ?? '/usr/bin/chromium'
const executablePath = existsSync(systemChromium) ? systemChromium : undefined

export default defineConfig({
  testDir: 'tests/e2e',
  timeout: 90_000,
  expect: { timeout: 20_000 },
  // Each test runs several browser contexts (each a node); on two cores one test at a time is fastest.
  workers: 1,
  retries: 0,
  reporter: process.env.CI ? [['list']] : [['list']],
  use: {
    headless: true,
    launchOptions: {
      ...(executablePath ? { executablePath } : {}),
      args: [
        // Show real host candidates (inside the test namespace) instead of mDNS names.
        '--disable-features=WebRtcHideLocalIpsWithMdns',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-gpu',
      ],
    },
    trace: 'retain-on-failure',
  },
})
