import { expect, test } from '@playwright/test'
import type { SignalData } from '../../src/core/signaling-protocol.ts'
import { HIGH_WATER, NodeRtcLink } from '../../src/node/rtc-link.ts'

/**
 * The Node link's flow control over real WebRTC (@roamhq/wrtc on both ends, inside the test's
 * network namespace). wrtc never fires `bufferedamountlow` and counts a frame in `bufferedAmount`
 * only once its network thread has taken it: a sender that waited for the event would stall, and one
 * that trusted the figure in a burst would queue without bound. The link must do neither.
 */
function linkedPair() {
  const created: { a?: NodeRtcLink; b?: NodeRtcLink } = {}
  const a = new NodeRtcLink({
    initiator: true,
    iceServers: [],
    onSignal: (d: SignalData) => created.b?.signal(d),
  })
  const b = new NodeRtcLink({
    initiator: false,
    iceServers: [],
    onSignal: (d: SignalData) => created.a?.signal(d),
  })
  created.a = a
  created.b = b
  const open = Promise.all([a, b].map((l) => new Promise<void>((r) => l.events.on('open', () => r()))))
  return { a, b, open }
}

test('a 48 MiB pump through a Node link arrives whole and in order, with the queue bounded near its high-water mark', async () => {
  test.setTimeout(120_000)
  const { a, b, open } = linkedPair()
  await open
  const FRAME = 60 * 1024
  const FRAMES = Math.ceil((48 * 1024 * 1024) / FRAME)
  let received = 0
  let inOrder = true
  b.events.on('message', (frame) => {
    const index = new DataView(frame.buffer, frame.byteOffset).getUint32(0)
    if (index !== received) inOrder = false
    received++
  })
  let closed = ''
  a.events.on('close', (reason) => (closed = reason))
  // The native figure, sampled independently of the link's own accounting.
  let peakNative = 0
  const sampler = setInterval(() => (peakNative = Math.max(peakNative, a.nativeBufferedAmount)), 1)
  const started = Date.now()
  for (let i = 0; i < FRAMES; i++) {
    const frame = new Uint8Array(FRAME)
    new DataView(frame.buffer).setUint32(0, i)
    await a.send(frame)
  }
  await expect.poll(() => received, { timeout: 60_000 }).toBe(FRAMES)
  clearInterval(sampler)
  const seconds = (Date.now() - started) / 1000
  console.log(
    `48 MiB Node → Node in ${seconds.toFixed(1)} s; peak queue ${(Math.max(peakNative, a.peakBuffered) / 1024).toFixed(0)} KiB`,
  )
  expect(inOrder).toBe(true)
  expect(closed).toBe('')
  expect(a.open).toBe(true)
  expect(Math.max(peakNative, a.peakBuffered)).toBeLessThanOrEqual(2 * HIGH_WATER)
  a.close()
  b.close()
})

test('many sends issued at once (not awaited one by one) all arrive and the link stays up', async () => {
  test.setTimeout(120_000)
  const { a, b, open } = linkedPair()
  await open
  const FRAME = 60 * 1024
  const FRAMES = 400
  let received = 0
  b.events.on('message', () => received++)
  let peakNative = 0
  const sampler = setInterval(() => (peakNative = Math.max(peakNative, a.nativeBufferedAmount)), 1)
  // 24 MiB issued in one synchronous burst, during which wrtc's bufferedAmount still reads 0 (the
  // sampler cannot run inside the burst, so this bounds what is left queued after it).
  const sends = Array.from({ length: FRAMES }, () => a.send(new Uint8Array(FRAME)))
  await Promise.all(sends)
  await expect.poll(() => received, { timeout: 60_000 }).toBe(FRAMES)
  clearInterval(sampler)
  console.log(`burst: peak native queue ${(peakNative / 1024).toFixed(0)} KiB`)
  expect(a.open).toBe(true)
  expect(peakNative).toBeLessThanOrEqual(2 * HIGH_WATER)
  a.close()
  b.close()
})

test('a Node link exposes both DTLS fingerprints, each side’s local one being the other’s remote one', async () => {
  const { a, b, open } = linkedPair()
  await open
  expect(a.fingerprints?.local).toMatch(/^sha-256 ([0-9a-f]{2}:){31}[0-9a-f]{2}$/)
  expect(a.fingerprints?.local).toBe(b.fingerprints?.remote)
  expect(b.fingerprints?.local).toBe(a.fingerprints?.remote)
  expect(a.fingerprints?.local).not.toBe(b.fingerprints?.local)
  a.close()
  b.close()
})
