import type { Browser } from '@playwright/test'
import { percentile, pollPage } from './browser.ts'

type Summary = { p50: number; min: number; max: number }
export type FirstLinkResult = {
  runs: number
  identityMs: Summary
  signalingMs: Summary
  channelOpenMs: Summary
  verifiedMs: Summary
  /** Ceiling: two bare RTCPeerConnections in one page, signalled in-page, to an open data channel. */
  barePairMs: Summary
}

const summary = (xs: number[]): Summary => ({
  p50: percentile(xs, 50),
  min: Math.min(...xs),
  max: Math.max(...xs),
})

const MARKS = [
  'dcmx:identity-ready',
  'dcmx:signaling-online',
  'dcmx:first-channel-open',
  'dcmx:first-peer-verified',
]

// Page scripts are strings, not functions: tsx's transform would add helpers the page does not have.
const READ_MARKS = `(() => {
  const t = ${JSON.stringify(MARKS)}.map((n) => performance.getEntriesByName(n)[0]?.startTime)
  return t.every((x) => x !== undefined) ? t : undefined
})()`

const SO_FAR = `(() => ({
  marks: Object.fromEntries(${JSON.stringify(MARKS)}.map((n) => [n, performance.getEntriesByName(n)[0]?.startTime])),
  signaling: window.dcmx?.signaling?.state,
  peers: window.dcmx?.peers?.map((p) => p.state),
}))()`

const BARE_PAIR = `(async () => {
  const t0 = performance.now()
  const a = new RTCPeerConnection({ iceServers: [] })
  const b = new RTCPeerConnection({ iceServers: [] })
  a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate)
  b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate)
  const channel = a.createDataChannel('bench')
  const opened = new Promise((resolve) => (channel.onopen = resolve))
  await a.setLocalDescription()
  await b.setRemoteDescription(a.localDescription)
  await b.setLocalDescription()
  await a.setRemoteDescription(b.localDescription)
  await opened
  const ms = performance.now() - t0
  a.close()
  b.close()
  return ms
})()`

/**
 * Time from page load (navigation start) to identity, signaling, the first open data channel and
 * the first verified peer, for a fresh node joining a room where one node already waits. Each run
 * is a new browser context (fresh storage, so a key pair is generated as on a first visit).
 */
export async function measureFirstLink(
  browser: Browser,
  baseUrl: string,
  runs: number,
): Promise<FirstLinkResult> {
  const room = `bench-first-link-${Date.now()}`
  const host = await browser.newContext()
  const hostPage = await host.newPage()
  await hostPage.goto(`${baseUrl}/?room=${room}`)
  await hostPage.getByLabel('Signaling').filter({ hasText: 'online' }).waitFor({ state: 'attached' })

  const marks: number[][] = []
  const bare: number[] = []
  for (let i = 0; i < runs; i++) {
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(`${baseUrl}/?room=${room}`)
    try {
      marks.push(await pollPage<number[]>(page, READ_MARKS))
    } catch (error) {
      // Say how far this node got (which milestones it reached, what its links were doing).
      const reached = await page.evaluate(SO_FAR).catch(() => 'unreadable')
      throw new Error(`first link, run ${i + 1}: ${String(error)}; reached ${JSON.stringify(reached)}`, {
        cause: error,
      })
    }
    bare.push((await page.evaluate(BARE_PAIR)) as number)
    await context.close()
  }
  await host.close()
  const column = (i: number) => summary(marks.map((m) => m[i]!))
  return {
    runs,
    identityMs: column(0),
    signalingMs: column(1),
    channelOpenMs: column(2),
    verifiedMs: column(3),
    barePairMs: summary(bare),
  }
}
