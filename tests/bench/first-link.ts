import type { Browser } from '@playwright/test'
import { percentile } from './browser.ts'

export type FirstLinkResult = {
  runs: number
  channelOpenMs: { p50: number; min: number; max: number }
  verifiedMs: { p50: number; min: number; max: number }
}

const summary = (xs: number[]) => ({ p50: percentile(xs, 50), min: Math.min(...xs), max: Math.max(...xs) })

/**
 * Time from page load (navigation start) to the first open data channel, and to the first
 * verified peer, for a fresh node joining a room where one node already waits. Each run is a new
 * browser context (fresh storage: a new identity is generated, as on a first visit).
 */
export async function measureFirstLink(browser: Browser, baseUrl: string, runs: number): Promise<FirstLinkResult> {
  const room = `bench-first-link-${Date.now()}`
  const host = await browser.newContext()
  const hostPage = await host.newPage()
  await hostPage.goto(`${baseUrl}/?room=${room}`)
  await hostPage.getByLabel('Signaling').filter({ hasText: 'online' }).waitFor()

  const open: number[] = []
  const verified: number[] = []
  for (let i = 0; i < runs; i++) {
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(`${baseUrl}/?room=${room}`)
    // A string, not a function: tsx's transform would add helpers the page does not have.
    const marks = await page.waitForFunction(
      `(() => {
        const channel = performance.getEntriesByName('dcmx:first-channel-open')[0]?.startTime
        const peer = performance.getEntriesByName('dcmx:first-peer-verified')[0]?.startTime
        return channel !== undefined && peer !== undefined ? { channel, peer } : undefined
      })()`,
      undefined,
      { timeout: 30_000, polling: 20 },
    )
    const { channel, peer } = (await marks.jsonValue()) as { channel: number; peer: number }
    open.push(channel)
    verified.push(peer)
    await context.close()
  }
  await host.close()
  return { runs, channelOpenMs: summary(open), verifiedMs: summary(verified) }
}
