import { defineConfig } from '@playwright/test'

/**
 * The NAT lab (tests/nat): run by `npm run test:nat`, which builds the app and starts Playwright
 * inside the lab's "internet" namespace (scripts/nat-lab.mjs). Each test launches its own
 * Chromium per home namespace (tests/nat/lab.ts).
 */
export default defineConfig({
  testDir: 'tests/nat',
  timeout: 120_000,
  projects: [
    { name: 'nat', testMatch: '*.spec.ts' },
    { name: 'bench', testMatch: '*.bench.ts' },
  ],
  expect: { timeout: 20_000 },
  workers: 1,
  retries: 0,
  reporter: [['list']],
})
