import { chromium, type Browser, type BrowserContext } from '@playwright/test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromiumLaunchOptions } from '../chromium.ts'

/** A browser whose contexts are off-the-record (storage in memory), as in the e2e tests. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch(chromiumLaunchOptions())
}

/**
 * A browser with a profile on disk, as a user's is. Storage benchmarks need it: Chromium keeps an
 * off-the-record context's OPFS in memory, which would measure RAM instead of the disk.
 */
export async function launchPersistent(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'dcmx-bench-profile-'))
  const context = await chromium.launchPersistentContext(dir, chromiumLaunchOptions())
  return {
    context,
    async close() {
      await context.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** The p-th percentile by nearest rank of a list of numbers. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}
