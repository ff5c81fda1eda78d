/**
 * Bench-only helpers of the transfer benchmark (tests/bench/transfer.ts): a rate limit put on a
 * page's data channels from the test driver (nothing of it ships in the app), and the node's
 * bulk-path counters (`window.dcmx.stats.content`) read around a fetch.
 */
import type { Page } from '@playwright/test'
import type { ContentStats } from '../../src/core/content-stats.ts'

/**
 * Installed in a holder's page with page.evaluate: every RTCDataChannel but the bench's own pump
 * sends at most `window.__throttle.bytesPerMs` (0: unlimited). What is over the rate waits in a
 * JS queue that `bufferedAmount` includes, and `bufferedamountlow` fires when the queue and the
 * channel's own buffer together fall to the threshold, so the app's backpressure sees a slow
 * link, as it would a slow uplink. The queue is a link of that rate: each frame is handed to the
 * channel at the time such a link would have finished sending it (it starts when the frame before
 * it is through, or when it was queued, whichever is later). So a timer that fires late, as on a
 * busy machine, sends what is due at once instead of losing the link's time; an idle queue
 * accrues no credit.
 */
export const THROTTLE = `(() => {
  if (window.__throttle) return
  const t = (window.__throttle = { bytesPerMs: 0 })
  const proto = RTCDataChannel.prototype
  const send = proto.send
  const buffered = Object.getOwnPropertyDescriptor(proto, 'bufferedAmount').get
  const queues = new WeakMap()
  const sizeOf = (d) => d.byteLength ?? d.size ?? d.length
  const release = (ch, q) => {
    q.timer = undefined
    const now = performance.now()
    while (q.frames.length > 0 && ch.readyState === 'open') {
      const n = sizeOf(q.frames[0])
      const done = t.bytesPerMs > 0 ? Math.max(q.free, q.queuedAt[0]) + n / t.bytesPerMs : now
      if (done > now) break
      q.free = done
      q.bytes -= n
      q.queuedAt.shift()
      send.call(ch, q.frames.shift())
    }
    if (ch.readyState !== 'open') {
      q.frames = []
      q.queuedAt = []
      q.bytes = 0
    }
    if (q.frames.length > 0) q.timer = setTimeout(() => release(ch, q), 2)
    if (q.above && buffered.call(ch) + q.bytes <= ch.bufferedAmountLowThreshold) {
      q.above = false
      ch.dispatchEvent(new Event('bufferedamountlow'))
    }
  }
  proto.send = function (data) {
    let q = queues.get(this)
    if (this.label === 'bench-pump' || (!(t.bytesPerMs > 0) && !(q && q.frames.length > 0))) return send.call(this, data)
    if (!q) queues.set(this, (q = { frames: [], queuedAt: [], bytes: 0, free: 0, timer: undefined, above: false }))
    // The real send copies what it is given at once (the app reuses its frame buffers after it
    // returns): so does this queue.
    q.frames.push(ArrayBuffer.isView(data) ? data.slice() : data instanceof ArrayBuffer ? data.slice(0) : data)
    q.queuedAt.push(performance.now())
    q.bytes += sizeOf(data)
    if (buffered.call(this) + q.bytes > this.bufferedAmountLowThreshold) q.above = true
    if (q.timer === undefined) release(this, q)
  }
  Object.defineProperty(proto, 'bufferedAmount', {
    configurable: true,
    get() {
      return buffered.call(this) + (queues.get(this)?.bytes ?? 0)
    },
  })
})()`

/** Set a page's rate limit (bytes per ms; 0 lifts it). */
export async function throttle(page: Page, bytesPerMs: number) {
  await page.evaluate(THROTTLE)
  await page.evaluate(`window.__throttle.bytesPerMs = ${JSON.stringify(bytesPerMs)}`)
}

export const contentStats = async (page: Page) =>
  (await page.evaluate(`window.dcmx.stats.content`)) as ContentStats

/** What happened between two readings, summed over nodes. */
export function statsDelta(before: ContentStats[], after: ContentStats[]): ContentStats {
  const out = { ...after[0]! }
  for (const key of Object.keys(out) as (keyof ContentStats)[])
    out[key] = after.reduce((s, a, i) => s + a[key] - before[i]![key], 0)
  return out
}
