import { existsSync } from 'node:fs'

/**
 * The Chromium the tests and benchmarks drive: the system one (Debian's `chromium`), or
 * DCMX_CHROMIUM. Playwright never downloads a browser; with neither present, it falls back to a
 * browser of its own only if one is already installed.
 */
export function chromiumExecutable(): string | undefined {
  const path = process.env.DCMX_CHROMIUM ?? '/usr/bin/chromium'
  return existsSync(path) ? path : undefined
}

/** Flags for every run: real host candidates (in the test namespace) and no background traffic. */
export const CHROMIUM_ARGS = [
  // Show real host candidates (inside the private network namespace) instead of mDNS names.
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-gpu',
]

/** Launch options for Playwright's chromium.launch / launchPersistentContext. */
export function chromiumLaunchOptions() {
  const executablePath = chromiumExecutable()
  return { headless: true, ...(executablePath ? { executablePath } : {}), args: CHROMIUM_ARGS }
}
