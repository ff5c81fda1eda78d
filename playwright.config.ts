import { defineConfig } from '@playwright/test'
import { chromiumLaunchOptions } from './tests/chromium.ts'

/**
 * End-to-end tests drive the built app (dist/) served by the real signaling server, in the
 * system Chromium (see tests/chromium.ts; set DCMX_CHROMIUM to use another binary).
 */
export default defineConfig({
  testDir: 'tests/e2e',
  timeout: 90_000,
  expect: { timeout: 20_000 },
  // Each test runs several browser contexts (each a node); on two cores one test at a time is fastest.
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    headless: true,
    launchOptions: chromiumLaunchOptions(),
    trace: 'retain-on-failure',
  },
})
