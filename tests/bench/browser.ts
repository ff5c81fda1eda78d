import { chromium, type Browser } from '@playwright/test'
import { existsSync } from 'node:fs'

/** The same Chromium and flags as the end-to-end tests (see playwright.config.ts). */
export async function launchChromium(): Promise<Browser> {
  const path = process.env.DCMX_CHROMIUM ?? '/usr/bin/chromium'
  return chromium.launch({
    headless: true,
    ...(existsSync(path) ? { executablePath: path } : {}),
    args: [
      '--disable-features=WebRtcHideLocalIpsWithMdns',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-gpu',
    ],
  })
}

/** Median, and the p-th percentile by nearest rank, of a list of numbers. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}
