import { chromium, type Browser, type BrowserContext, type Page } from '@playwright/test'
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

/**
 * Evaluate `expression` in the page until it yields something other than undefined/false, and
 * return that. Not page.waitForFunction: it compiles its string with eval inside the page, which
 * the app's CSP (no 'unsafe-eval') refuses.
 */
export async function pollPage<T>(
  page: Page,
  expression: string,
  timeoutMs = 30_000,
  everyMs = 10,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = (await page.evaluate(expression)) as T | undefined | false
    if (value !== undefined && value !== false) return value as T
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${expression.slice(0, 80)}`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}

/** CPU a page's renderer has spent so far (ms): its main thread, and the whole process (its workers too), from CDP. */
export type PageCpu = { mainMs: number; processMs: number }

/** A reader of the page's CPU so far; differences of two reads give what happened between them. */
export async function pageCpu(page: Page): Promise<() => Promise<PageCpu>> {
  const cdp = await page.context().newCDPSession(page)
  await cdp.send('Performance.enable')
  return async () => {
    const { metrics } = await cdp.send('Performance.getMetrics')
    const value = (name: string) => (metrics.find((m) => m.name === name)?.value ?? NaN) * 1000
    return { mainMs: value('ThreadTime'), processMs: value('ProcessTime') }
  }
}

/** CPU per item between two reads. */
export const cpuPer = (a: PageCpu, b: PageCpu, n: number): PageCpu => ({
  mainMs: (b.mainMs - a.mainMs) / n,
  processMs: (b.processMs - a.processMs) / n,
})
